// Submission rules: required fields, lengths, coordinate ranges, known category, UTF-8.
#include "domain/validation.h"

#include <cmath>
#include <cstdint>

namespace lapor::intake {

bool isUtf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
      return false;  // overlong, surrogate
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
    i += len;
  }
  return true;
}

namespace {
size_t utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

void text(std::vector<FieldViolation>& out, const std::string& field, const std::string& value,
          size_t max, bool required) {
  if (!isUtf8(value)) {
    out.push_back({field, "must be valid UTF-8"});
    return;
  }
  if (required && value.find_first_not_of(" \t\r\n") == std::string::npos) {
    out.push_back({field, "is required"});
    return;
  }
  if (utf8Length(value) > max)
    out.push_back({field, "is longer than " + std::to_string(max) + " characters"});
}
}  // namespace

std::vector<FieldViolation> validateSubmission(const v1::SubmitComplaintRequest& req,
                                               const agencies::AgencyDirectory& directory,
                                               const ValidationLimits& limits, int64_t now_ms) {
  std::vector<FieldViolation> out;
  if (req.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(req.channel()))
    out.push_back({"channel", "is required (web, app, sms, call-centre-112, open311, external)"});
  if (!isUtf8(req.category()))
    out.push_back({"category", "must be valid UTF-8"});
  else if (req.category().empty())
    out.push_back({"category", "is required"});
  else if (!directory.category(req.category()))
    out.push_back({"category", "'" + req.category() + "' is not a known category"});
  if (req.priority() == v1::PRIORITY_UNSPECIFIED || !v1::Priority_IsValid(req.priority()))
    out.push_back({"priority", "is required (emergency, high, normal, low)"});
  if (!v1::ReportType_IsValid(req.report_type()))
    out.push_back({"report_type", "is not a report type (complaint, complaint_light, "
                                  "complaint_normative, complaint_oversight, aspiration, "
                                  "information_request)"});
  text(out, "title", req.title(), limits.title_max, true);
  text(out, "description", req.description(), limits.description_max, true);
  const auto& loc = req.location();
  if (loc.has_coordinates()) {
    if (!std::isfinite(loc.lat()) || loc.lat() < -90 || loc.lat() > 90)
      out.push_back({"location.lat", "must be between -90 and 90"});
    if (!std::isfinite(loc.lon()) || loc.lon() < -180 || loc.lon() > 180)
      out.push_back({"location.lon", "must be between -180 and 180"});
  }
  text(out, "location.kecamatan", loc.kecamatan(), 100, false);
  text(out, "location.desa", loc.desa(), 100, false);
  text(out, "location.address", loc.address(), 500, false);
  if (!loc.has_coordinates() && loc.address().empty() && loc.kecamatan().empty())
    out.push_back({"location", "needs coordinates, an address or a kecamatan"});
  text(out, "reporter.name", req.reporter().name(), 200, false);
  text(out, "reporter.phone", req.reporter().phone(), 40, false);
  text(out, "reporter.email", req.reporter().email(), 254, false);
  text(out, "reporter.device_id", req.reporter().device_id(), 200, false);
  if (!req.reporter().email().empty() && isUtf8(req.reporter().email()) &&
      req.reporter().email().find('@') == std::string::npos)
    out.push_back({"reporter.email", "is not an e-mail address"});
  // Before 2000 is a unit mistake (seconds for milliseconds); the future beyond clock skew is
  // a wrong clock.
  if (req.observed_at_ms() != 0) {
    if (req.observed_at_ms() < kEarliestObservedMs)
      out.push_back({"observed_at_ms", "is before 2000-01-01 (milliseconds since the epoch?)"});
    else if (now_ms > 0 && req.observed_at_ms() > now_ms + limits.clock_skew_ms)
      out.push_back({"observed_at_ms", "is in the future"});
  }
  text(out, "external_ref", req.external_ref(), 200, false);
  text(out, "idempotency_key", req.idempotency_key(), 200, false);
  if (static_cast<size_t>(req.attachments_size()) > limits.attachments_max)
    out.push_back({"attachments", "at most " + std::to_string(limits.attachments_max)});
  for (int i = 0; i < req.attachments_size(); ++i) {
    const auto field = "attachments[" + std::to_string(i) + "].url";
    if (req.attachments(i).url().empty())
      out.push_back({field, "is required"});
    else
      text(out, field, req.attachments(i).url(), 2000, false);
  }
  return out;
}

}  // namespace lapor::intake
