// Open311 GeoReport v2 mapping (http://wiki.open311.org/GeoReport_v2).
#include "domain/open311_mapping.h"

#include "events/names.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace lapor::intake::open311 {

namespace {
const std::string* param(const Params& p, const std::string& name) {
  auto it = p.find(name);
  return it == p.end() ? nullptr : &it->second;
}

std::optional<double> number(const std::string& s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool truthy(const std::string& s) {
  return s == "true" || s == "1" || s == "yes" || s == "on";
}

std::optional<v1::Priority> priorityFrom(const std::string& s) {
  if (s == "emergency") return v1::PRIORITY_EMERGENCY;
  if (s == "high") return v1::PRIORITY_HIGH;
  if (s == "normal") return v1::PRIORITY_NORMAL;
  if (s == "low") return v1::PRIORITY_LOW;
  return std::nullopt;
}

// The first `n` characters of UTF-8 text, never cutting a character in two.
std::string prefixChars(const std::string& s, size_t n) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == n) return s.substr(0, i);
      ++chars;
    }
  }
  return s;
}

int digits(const std::string& s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}
}  // namespace

FormSubmission fromForm(const Params& form, bool category_is_emergency) {
  FormSubmission out;
  auto& r = out.request;
  r.set_channel(v1::CHANNEL_OPEN311);
  if (auto* v = param(form, "service_code")) r.set_category(*v);
  if (auto* v = param(form, "description")) r.set_description(*v);
  const auto* title = param(form, "attribute[title]");
  r.set_title(title ? *title : prefixChars(r.description(), 80));
  r.set_priority(category_is_emergency ? v1::PRIORITY_EMERGENCY : v1::PRIORITY_NORMAL);
  if (auto* v = param(form, "attribute[priority]")) {
    if (auto p = priorityFrom(*v))
      r.set_priority(*p);
    else
      out.violations.push_back({"attribute[priority]", "must be emergency, high, normal or low"});
  }
  if (auto* v = param(form, "attribute[report_type]"); v && !v->empty()) {
    if (auto t = events::reportTypeFromName(*v))
      r.set_report_type(*t);
    else
      out.violations.push_back({"attribute[report_type]",
                                "must be complaint, complaint_light, complaint_normative, "
                                "complaint_oversight, aspiration or information_request"});
  }
  auto* loc = r.mutable_location();
  const auto* lat = param(form, "lat");
  const auto* lon = param(form, "long");
  if (lat || lon) {
    auto la = lat ? number(*lat) : std::nullopt;
    auto lo = lon ? number(*lon) : std::nullopt;
    if (!la) out.violations.push_back({"lat", "must be a decimal number (WGS84 degrees)"});
    if (!lo) out.violations.push_back({"long", "must be a decimal number (WGS84 degrees)"});
    if (la && lo) {
      loc->set_has_coordinates(true);
      loc->set_lat(*la);
      loc->set_lon(*lo);
    }
  }
  if (auto* v = param(form, "address_string")) loc->set_address(*v);
  if (auto* v = param(form, "attribute[kecamatan]")) loc->set_kecamatan(*v);
  if (auto* v = param(form, "attribute[desa]")) loc->set_desa(*v);
  auto* rep = r.mutable_reporter();
  std::string name;
  if (auto* v = param(form, "first_name")) name = *v;
  if (auto* v = param(form, "last_name")) name += (name.empty() ? "" : " ") + *v;
  rep->set_name(name);
  if (auto* v = param(form, "phone")) rep->set_phone(*v);
  if (auto* v = param(form, "email")) rep->set_email(*v);
  if (auto* v = param(form, "device_id")) rep->set_device_id(*v);
  if (auto* v = param(form, "media_url"); v && !v->empty()) r.add_attachments()->set_url(*v);
  if (auto* v = param(form, "attribute[confidential]")) r.set_confidential(truthy(*v));
  if (auto* v = param(form, "attribute[anonymous]")) r.set_anonymous(truthy(*v));
  if (auto* v = param(form, "attribute[external_ref]")) r.set_external_ref(*v);
  if (auto* v = param(form, "idempotency_key")) r.set_idempotency_key(*v);
  return out;
}

std::string status(v1::ComplaintStatus s) {
  return (s == v1::COMPLAINT_STATUS_RESOLVED || s == v1::COMPLAINT_STATUS_CLOSED) ? "closed"
                                                                                  : "open";
}

std::string statusWords(v1::ComplaintStatus s) {
  switch (s) {
    case v1::COMPLAINT_STATUS_SUBMITTED:
      return "received, waiting to be passed to an agency";
    case v1::COMPLAINT_STATUS_ROUTED:
      return "passed to the responsible agency";
    case v1::COMPLAINT_STATUS_IN_PROGRESS:
      return "the agency is working on it";
    case v1::COMPLAINT_STATUS_RESOLVED:
      return "resolved by the agency";
    case v1::COMPLAINT_STATUS_CLOSED:
      return "closed";
    case v1::COMPLAINT_STATUS_REOPENED:
      return "reopened at the reporter's request";
    case v1::COMPLAINT_STATUS_TRIAGE:
      return "with an operator, who will pass it to the right agency";
    default:
      return "";
  }
}

std::string parameterName(const std::string& field) {
  static const std::map<std::string, std::string> names{
      {"category", "service_code"},
      {"location.lat", "lat"},
      {"location.lon", "long"},
      {"location.address", "address_string"},
      {"location", "lat/long or address_string"},
      {"location.kecamatan", "attribute[kecamatan]"},
      {"location.desa", "attribute[desa]"},
      {"title", "attribute[title]"},
      {"priority", "attribute[priority]"},
      {"report_type", "attribute[report_type]"},
      {"reporter.name", "first_name/last_name"},
      {"reporter.phone", "phone"},
      {"reporter.email", "email"},
      {"reporter.device_id", "device_id"},
      {"attachments[0].url", "media_url"},
      {"external_ref", "attribute[external_ref]"},
  };
  auto it = names.find(field);
  return it == names.end() ? field : it->second;
}

std::optional<int64_t> parseTime(const std::string& s) {
  std::tm tm{};
  tm.tm_year = digits(s, 0, 4) - 1900;
  tm.tm_mon = digits(s, 5, 2) - 1;
  tm.tm_mday = digits(s, 8, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      s[4] != '-' || s[7] != '-')
    return std::nullopt;
  int64_t offset_s = 0;
  if (s.size() > 10) {
    if (s[10] != 'T' && s[10] != ' ') return std::nullopt;
    tm.tm_hour = digits(s, 11, 2);
    tm.tm_min = digits(s, 14, 2);
    tm.tm_sec = digits(s, 17, 2);
    if (tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 ||
        tm.tm_sec > 60 || s.size() < 19 || s[13] != ':' || s[16] != ':')
      return std::nullopt;
    size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    }
    const std::string zone = s.substr(pos);
    if (zone == "Z" || zone.empty()) {
      offset_s = 0;
    } else if ((zone[0] == '+' || zone[0] == '-') && zone.size() == 6 && zone[3] == ':') {
      const int h = digits(zone, 1, 2), m = digits(zone, 4, 2);
      if (h < 0 || h > 14 || m < 0 || m > 59) return std::nullopt;
      offset_s = (h * 3600 + m * 60) * (zone[0] == '+' ? 1 : -1);
    } else {
      return std::nullopt;
    }
  }
  const time_t t = timegm(&tm);
  return (static_cast<int64_t>(t) - offset_s) * 1000;
}

std::string formatTime(int64_t ms, int utc_offset_minutes) {
  const time_t t = static_cast<time_t>(ms / 1000 + int64_t{utc_offset_minutes} * 60);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  const int off = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                utc_offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
  return buf;
}

namespace {
std::string singular(const std::string& plural) {
  if (plural == "service_requests") return "request";
  if (!plural.empty() && plural.back() == 's') return plural.substr(0, plural.size() - 1);
  return plural + "_item";
}

void escape(std::string& out, const std::string& text) {
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
}

void element(std::string& out, const std::string& name, const nlohmann::json& j) {
  if (j.is_null()) {
    out += "<" + name + "/>";
    return;
  }
  out += "<" + name + ">";
  if (j.is_array()) {
    for (const auto& item : j) element(out, singular(name), item);
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) element(out, k, v);
  } else if (j.is_string()) {
    escape(out, j.get<std::string>());
  } else {
    out += j.dump();
  }
  out += "</" + name + ">";
}
}  // namespace

std::string toXml(const nlohmann::json& j, const std::string& root) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
  element(out, root, j);
  return out;
}

}  // namespace lapor::intake::open311
