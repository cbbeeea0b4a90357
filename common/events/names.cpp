#include "events/names.h"

#include <utility>

namespace lapor::events {

namespace {
constexpr std::pair<v1::Channel, std::string_view> kChannels[] = {
    {v1::CHANNEL_WEB, "web"},
    {v1::CHANNEL_APP, "app"},
    {v1::CHANNEL_SMS, "sms"},
    {v1::CHANNEL_CALL_CENTRE_112, "call-centre-112"},
    {v1::CHANNEL_OPEN311, "open311"},
    {v1::CHANNEL_EXTERNAL, "external"},
};
constexpr std::pair<v1::ReportType, std::string_view> kTypeNames[] = {
    {v1::REPORT_TYPE_COMPLAINT, "complaint"},
    {v1::REPORT_TYPE_COMPLAINT_LIGHT, "complaint_light"},
    {v1::REPORT_TYPE_COMPLAINT_NORMATIVE, "complaint_normative"},
    {v1::REPORT_TYPE_COMPLAINT_OVERSIGHT, "complaint_oversight"},
    {v1::REPORT_TYPE_ASPIRATION, "aspiration"},
    {v1::REPORT_TYPE_INFORMATION_REQUEST, "information_request"},
};
}  // namespace

std::string channelName(v1::Channel c) {
  for (const auto& [v, n] : kChannels)
    if (v == c) return std::string(n);
  return "unknown";
}

std::optional<v1::Channel> channelFromName(std::string_view name) {
  for (const auto& [v, n] : kChannels)
    if (n == name) return v;
  return std::nullopt;
}

v1::ReportType knownReportType(v1::ReportType t) {
  return t == v1::REPORT_TYPE_UNSPECIFIED ? v1::REPORT_TYPE_COMPLAINT : t;
}

std::string reportTypeName(v1::ReportType t) {
  const auto k = knownReportType(t);
  for (const auto& [v, n] : kTypeNames)
    if (v == k) return std::string(n);
  return "complaint";
}

std::optional<v1::ReportType> reportTypeFromName(std::string_view name) {
  for (const auto& [v, n] : kTypeNames)
    if (n == name) return v;
  return std::nullopt;
}

}  // namespace lapor::events
