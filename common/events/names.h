// The names channels and report types go by in configuration, metrics, CSV and the docs, and the
// enum values they stand for: one spelling for every service.
#pragma once

#include "lapor/v1/complaint.pb.h"

#include <optional>
#include <string>
#include <string_view>

namespace lapor::events {

// web, app, sms, call-centre-112, open311, external; "unknown" for anything else.
std::string channelName(v1::Channel c);
std::optional<v1::Channel> channelFromName(std::string_view name);

// complaint, complaint_light, complaint_normative, complaint_oversight, aspiration,
// information_request; UNSPECIFIED reads as complaint.
std::string reportTypeName(v1::ReportType t);
std::optional<v1::ReportType> reportTypeFromName(std::string_view name);
// UNSPECIFIED -> COMPLAINT; every other value as it is.
v1::ReportType knownReportType(v1::ReportType t);

// Every report type (without UNSPECIFIED), in enum order.
inline constexpr v1::ReportType kReportTypes[] = {
    v1::REPORT_TYPE_COMPLAINT,          v1::REPORT_TYPE_COMPLAINT_LIGHT,
    v1::REPORT_TYPE_COMPLAINT_NORMATIVE, v1::REPORT_TYPE_COMPLAINT_OVERSIGHT,
    v1::REPORT_TYPE_ASPIRATION,         v1::REPORT_TYPE_INFORMATION_REQUEST};

}  // namespace lapor::events
