// Open311 GeoReport v2 <-> Lapor: form fields to a submission, our states to open/closed, ISO
// 8601 times, and our field names back to Open311's. Pure, so every mapping is unit-tested.
#pragma once

#include "domain/validation.h"
#include "lapor/v1/complaint.pb.h"
#include "lapor/v1/intake.pb.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lapor::intake::open311 {

using Params = std::multimap<std::string, std::string>;

struct FormSubmission {
  v1::SubmitComplaintRequest request;
  std::vector<FieldViolation> violations;  // fields that could not even be read (e.g. lat=abc)
};

// POST /requests.json form -> submission (channel open311). Lapor extensions ride in
// attribute[...]: priority, title, kecamatan, desa, confidential, anonymous, external_ref.
FormSubmission fromForm(const Params& form, bool category_is_emergency);

// "open" until resolved or closed.
std::string status(v1::ComplaintStatus s);
// What the status means in words, for status_notes when an agency said nothing.
std::string statusWords(v1::ComplaintStatus s);

// Our field path -> the Open311 parameter the caller sent (location.lat -> lat, category ->
// service_code, ...).
std::string parameterName(const std::string& field);

// W3C / ISO 8601: 2026-11-29T10:15:00Z, 2026-11-29T18:15:00+08:00, 2026-11-29 (midnight UTC).
std::optional<int64_t> parseTime(const std::string& text);
// 2026-11-29T18:15:00+08:00 in the given offset from UTC.
std::string formatTime(int64_t ms, int utc_offset_minutes);

// GeoReport v2's XML form of a JSON answer: `root` is the outer element (services,
// service_requests, service_definition, errors); array items are named in the singular
// (service, request, attribute, value, error); null becomes an empty element.
std::string toXml(const nlohmann::json& j, const std::string& root);

}  // namespace lapor::intake::open311
