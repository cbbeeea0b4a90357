// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): errors are Open311's array of
// {code, description} with the HTTP status 400, 403, 404, 405 (with Allow), 415, 429 (with
// Retry-After) or 503.
#include "open311_handler.h"

#include "events/names.h"

#include "domain/open311_mapping.h"
#include "domain/tracking_id.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <set>
#include <sstream>
#include <string_view>

namespace lapor::intake {

namespace {
using nlohmann::json;

bool wantsXml(const httplib::Request& req) {
  return req.path.size() > 4 && req.path.compare(req.path.size() - 4, 4, ".xml") == 0;
}

// Writes `body` as JSON, or as GeoReport XML under `root` when the path ends in .xml.
void answer(const httplib::Request& req, httplib::Response& res, int status, const json& body,
            const std::string& root) {
  res.status = status;
  if (wantsXml(req))
    res.set_content(open311::toXml(body, root), "text/xml; charset=utf-8");
  else
    res.set_content(body.dump(), "application/json; charset=utf-8");
}

void errors(const httplib::Request& req, httplib::Response& res, int status,
            const std::vector<std::string>& descriptions) {
  json arr = json::array();
  for (const auto& d : descriptions) arr.push_back({{"code", status}, {"description", d}});
  answer(req, res, status, arr, "errors");
}

const std::string* param(const open311::Params& params, const std::string& name) {
  auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

const std::string* param(const httplib::Request& req, const std::string& name) {
  return param(req.params, name);
}

// GeoReport's "can be declared multiple times, comma delimited": the items, trimmed, no empties.
std::vector<std::string> commaList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string one; std::getline(in, one, ',');) {
    const auto b = one.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    out.push_back(one.substr(b, one.find_last_not_of(" \t") - b + 1));
  }
  return out;
}

bool startsWithNoCase(const std::string& text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

// The fields of a POST: a form-encoded body (httplib puts it in params with the query), or the
// non-file parts of a multipart/form-data body (an HTML form with a photo, `three.post(media=)`).
// `file_parts` counts the file uploads, which are not stored: GeoReport v2 takes media_url.
open311::Params postFields(const httplib::Request& req, int* file_parts) {
  open311::Params out = req.params;
  *file_parts = 0;
  for (const auto& [name, part] : req.files) {
    if (!part.filename.empty())
      ++*file_parts;
    else
      out.emplace(name, part.content);
  }
  return out;
}

json attributes(const agencies::CategoryInfo& c) {
  json priority = {
      {"variable", true},
      {"code", "priority"},
      {"datatype", "singlevaluelist"},
      {"required", false},
      {"datatype_description", std::string("default: ") + (c.emergency ? "emergency" : "normal")},
      {"order", 1},
      {"description", "How urgent it is"},
      {"values", json::array({{{"key", "emergency"}, {"name", "Emergency"}},
                              {{"key", "high"}, {"name", "High"}},
                              {{"key", "normal"}, {"name", "Normal"}},
                              {{"key", "low"}, {"name", "Low"}}})}};
  auto text = [](const std::string& code, int order, const std::string& what) {
    return json{{"variable", true},   {"code", code},   {"datatype", "string"},
                {"required", false},  {"order", order}, {"datatype_description", ""},
                {"description", what}};
  };
  auto flag = [](const std::string& code, int order, const std::string& what) {
    return json{{"variable", true},
                {"code", code},
                {"datatype", "singlevaluelist"},
                {"required", false},
                {"order", order},
                {"datatype_description", ""},
                {"description", what},
                {"values", json::array({{{"key", "true"}, {"name", "Yes"}},
                                        {{"key", "false"}, {"name", "No"}}})}};
  };
  json types = json::array();
  for (auto t : events::kReportTypes)
    types.push_back({{"key", events::reportTypeName(t)}, {"name", events::reportTypeName(t)}});
  json report_type = {
      {"variable", true},
      {"code", "report_type"},
      {"datatype", "singlevaluelist"},
      {"required", false},
      {"datatype_description",
       "default: " + events::reportTypeName(events::knownReportType(c.report_type))},
      {"order", 8},
      {"description", "Complaint (and its class), aspiration or information request"},
      {"values", types}};
  return json{
      {"service_code", c.code},
      {"attributes",
       json::array({priority, text("title", 2, "Short title (default: the description's start)"),
                    text("kecamatan", 3, "Kecamatan (district)"),
                    text("desa", 4, "Desa / kelurahan (village)"),
                    flag("anonymous", 5, "Hide the reporter's identity from agencies"),
                    flag("confidential", 6, "Keep the content out of public listings"),
                    text("external_ref", 7, "The publishing system's own reference"),
                    report_type})}};
}

std::string leadAgency(const v1::ComplaintView& v) {
  for (const auto& a : v.assignments())
    if (a.role() == "lead" && a.state() != "withdrawn" && a.state() != "rejected")
      return a.agency_id();
  return v.agencies_size() > 0 ? v.agencies(0) : "";
}

json requestJson(const v1::ComplaintView& v, const agencies::AgencyDirectory& dir, int offset) {
  const auto* cat = dir.category(v.category());
  const auto lead = leadAgency(v);
  const auto* agency = dir.find(lead);
  const auto& loc = v.location();
  std::string address = loc.address();
  for (const auto* part : {&loc.desa(), &loc.kecamatan()})
    if (!part->empty()) address += (address.empty() ? "" : ", ") + *part;
  json j{{"service_request_id", v.tracking_id()},
         {"status", open311::status(v.status())},
         {"status_notes",
          v.status_note().empty() ? open311::statusWords(v.status()) : v.status_note()},
         {"service_name", cat ? cat->name : v.category()},
         {"service_code", v.category()},
         {"description", v.description()},
         {"agency_responsible", agency ? agency->name : lead},
         {"service_notice", ""},
         {"requested_datetime", open311::formatTime(v.submitted_at_ms(), offset)},
         {"updated_datetime",
          open311::formatTime(std::max(v.updated_at_ms(), v.submitted_at_ms()), offset)},
         {"expected_datetime", v.expected_response_by_ms() > 0
                                   ? json(open311::formatTime(v.expected_response_by_ms(), offset))
                                   : json(nullptr)},
         {"address", address},
         {"address_id", nullptr},
         {"zipcode", nullptr},
         {"lat", loc.has_coordinates() ? json(loc.lat()) : json(nullptr)},
         {"long", loc.has_coordinates() ? json(loc.lon()) : json(nullptr)},
         {"media_url", v.media_url()}};
  return j;
}
}  // namespace

Open311Server::Open311Server(const Open311Options& options, SubmissionService& submissions,
                             ComplaintViews& views, const time::Clock& clock,
                             IntakeMetrics& metrics, log::Logger logger)
    : opt_(options),
      submissions_(submissions),
      views_(views),
      clock_(clock),
      metrics_(metrics),
      log_(std::move(logger)),
      server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  s.set_payload_max_length(opt_.max_body_bytes);
  auto route = [this](const char* resource,
                      void (Open311Server::*fn)(const httplib::Request&, httplib::Response&)) {
    return [this, resource, fn](const httplib::Request& req, httplib::Response& res) {
      try {
        (this->*fn)(req, res);
      } catch (const redis::RedisError& e) {
        log_.error("open311: complaint store unavailable", {{"error", e.what()}});
        errors(req, res, 503, {"complaint store unavailable, retry later"});
      }
      metrics_.open311_requests.Add({{"resource", resource}, {"code", std::to_string(res.status)}})
          .Increment();
    };
  };
  started_ms_ = clock_.nowMs();
  s.Get(R"(/discovery\.(json|xml))", route("discovery", &Open311Server::discovery));
  s.Get(R"(/services\.(json|xml))", route("services", &Open311Server::services));
  s.Get(R"(/services/([^/]+)\.(json|xml))", route("service", &Open311Server::serviceDefinition));
  s.Post(R"(/requests\.(json|xml))", route("post-request", &Open311Server::postRequest));
  s.Get(R"(/requests\.(json|xml))", route("requests", &Open311Server::listRequests));
  s.Get(R"(/requests/([^/]+)\.(json|xml))", route("request", &Open311Server::getRequest));
  // The methods GeoReport does not define on a resource: 405 naming the ones it does (OPTIONS
  // answers with them); HEAD is served with every GET.
  const std::pair<const char*, const char*> allowed[] = {
      {R"(/discovery\.(json|xml))", "GET, HEAD"},
      {R"(/services\.(json|xml))", "GET, HEAD"},
      {R"(/services/([^/]+)\.(json|xml))", "GET, HEAD"},
      {R"(/requests\.(json|xml))", "GET, HEAD, POST"},
      {R"(/requests/([^/]+)\.(json|xml))", "GET, HEAD"}};
  for (const auto& [pattern, allow] : allowed) {
    auto refuse = [this, allow = std::string(allow)](const httplib::Request& req,
                                                     httplib::Response& res) {
      res.set_header("Allow", allow + ", OPTIONS");
      if (req.method == "OPTIONS")
        res.status = 204;
      else
        errors(req, res, 405,
               {req.method + " is not allowed on " + req.path + " (allowed: " + allow + ")"});
      metrics_.open311_requests.Add({{"resource", "method"}, {"code", std::to_string(res.status)}})
          .Increment();
    };
    s.Delete(pattern, refuse);
    s.Put(pattern, refuse);
    s.Patch(pattern, refuse);
    s.Options(pattern, refuse);
    if (std::string_view(allow).find("POST") == std::string_view::npos) s.Post(pattern, refuse);
  }
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 404)
          errors(req, res, 404,
                 {"no such resource: " + req.method + " " + req.path +
                  " (/services.json, /requests.json, ... or .xml)"});
        else if (res.status == 413)
          errors(req, res, 413, {"request body too large"});
        else
          errors(req, res, res.status, {"request could not be handled"});
        return httplib::Server::HandlerResponse::Handled;
      }));
  if (opt_.port == 0)
    port_ = s.bind_to_any_port(opt_.host);
  else if (s.bind_to_port(opt_.host, opt_.port))
    port_ = opt_.port;
  else
    port_ = -1;
  if (port_ <= 0)
    throw std::runtime_error("open311: cannot listen on " + opt_.host + ":" +
                             std::to_string(opt_.port) + " (config key open311.port)");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  log_.info("open311 listening", {{"address", opt_.host + ":" + std::to_string(port_)}});
}

Open311Server::~Open311Server() {
  stop();
}

void Open311Server::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void Open311Server::discovery(const httplib::Request& req, httplib::Response& res) {
  std::string host = req.get_header_value("Host");
  if (host.empty()) host = opt_.host + ":" + std::to_string(port_);
  const auto changeset = open311::formatTime(started_ms_, opt_.utc_offset_minutes);
  answer(req, res, 200,
         json{{"changeset", changeset},
              {"contact", opt_.contact},
              {"key_service", opt_.key_service},
              {"endpoints", json::array({{{"specification", "http://wiki.open311.org/GeoReport_v2"},
                                          {"url", "http://" + host},
                                          {"changeset", changeset},
                                          {"type", "production"},
                                          {"formats", json::array({"application/json",
                                                                   "text/xml"})}}})}},
         "discovery");
}

void Open311Server::services(const httplib::Request& req, httplib::Response& res) {
  json arr = json::array();
  for (const auto& c : submissions_.directory().categories())
    arr.push_back({{"service_code", c.code},
                   {"service_name", c.name.empty() ? c.code : c.name},
                   {"description", c.name},
                   {"metadata", true},
                   {"type", c.emergency ? "realtime" : "batch"},
                   {"keywords", c.emergency ? "emergency" : ""},
                   {"group", c.emergency ? "emergency" : "public service"}});
  answer(req, res, 200, arr, "services");
}

void Open311Server::serviceDefinition(const httplib::Request& req, httplib::Response& res) {
  const auto code = req.matches[1].str();
  const auto* c = submissions_.directory().category(code);
  if (!c) return errors(req, res, 404, {"service_code '" + code + "' not found"});
  answer(req, res, 200, attributes(*c), "service_definition");
}

void Open311Server::postRequest(const httplib::Request& req, httplib::Response& res) {
  // GeoReport v2 POSTs are form-encoded; multipart carries the same fields. JSON or anything
  // else is refused before the key check, so the caller learns what is wrong with its request.
  const auto type = req.get_header_value("Content-Type");
  if (!type.empty() && !startsWithNoCase(type, "application/x-www-form-urlencoded") &&
      !startsWithNoCase(type, "multipart/form-data"))
    return errors(req, res, 415,
                  {"POST " + req.path +
                   " takes application/x-www-form-urlencoded or multipart/form-data fields "
                   "(GeoReport v2), not " +
                   type});
  int file_parts = 0;
  const auto fields = postFields(req, &file_parts);
  const auto* key = param(fields, "api_key");
  if (!key || key->empty())
    return errors(req, res, 403, {"api_key is required to submit a service request"});
  const auto* code = param(fields, "service_code");
  const auto* cat = code ? submissions_.directory().category(*code) : nullptr;
  auto form = open311::fromForm(fields, cat && cat->emergency);
  if (!form.violations.empty()) {
    std::vector<std::string> d;
    for (const auto& v : form.violations) d.push_back(v.field + ": " + v.description);
    return errors(req, res, 400, d);
  }
  if (auto idem = req.get_header_value("Idempotency-Key"); !idem.empty())
    form.request.set_idempotency_key(idem);
  auto out = submissions_.submit(form.request, *key, req.get_header_value("X-Trace-Id"));
  using K = SubmitOutcome::Kind;
  switch (out.kind) {
    case K::Accepted:
      return answer(
          req, res, 200,
          json::array({{{"service_request_id", out.response.tracking_id()},
                        // The reporter's secret for feedback and reopening: for the reporter
                        // only (GeoReport's token field; Lapor never lists it).
                        {"token", out.response.reporter_secret()},
                        {"service_notice",
                         "expected response " + out.response.expected_response() +
                             (file_parts > 0 ? "; the uploaded file was not kept (send media_url)"
                                             : "")},
                        {"account_id", nullptr}}}),
          "service_requests");
    case K::Invalid: {
      std::vector<std::string> d;
      const bool own_title = param(fields, "attribute[title]") != nullptr;
      for (const auto& v : out.violations) {
        // Without attribute[title] the title is cut from the description: one error is enough.
        if (v.field == "title" && !own_title) continue;
        d.push_back(open311::parameterName(v.field) + ": " + v.description);
      }
      return errors(req, res, 400, d);
    }
    case K::Unauthenticated:
      return errors(req, res, 403, {out.message});
    case K::Conflict:
      return errors(req, res, 400, {out.message});
    case K::RateLimited:
      res.set_header("Retry-After", std::to_string((out.retry_after.count() + 999) / 1000));
      return errors(req, res, 429, {out.message});
    case K::Unavailable:
      break;
  }
  errors(req, res, 503, {out.message});
}

void Open311Server::listRequests(const httplib::Request& req, httplib::Response& res) {
  const auto& dir = submissions_.directory();
  json arr = json::array();
  if (const auto* ids = param(req, "service_request_id")) {
    for (const auto& one : commaList(*ids)) {
      auto tid = TrackingId::normalize(one);
      if (!tid) continue;
      auto cid = views_.complaintIdOf(*tid);
      if (!cid) continue;
      if (auto v = views_.readPublic(*cid, *tid))
        arr.push_back(requestJson(*v, dir, opt_.utc_offset_minutes));
    }
    return answer(req, res, 200, arr, "service_requests");
  }
  std::vector<std::string> bad;
  ListFilter f;
  std::vector<std::string> codes;
  if (const auto* c = param(req, "service_code")) codes = commaList(*c);
  if (codes.size() == 1) f.category = codes[0];  // several: filtered below
  if (const auto* s = param(req, "start_date")) {
    if (auto t = open311::parseTime(*s))
      f.from_ms = *t;
    else
      bad.push_back("start_date: not a W3C date-time (e.g. 2026-11-29T08:00:00+08:00)");
  }
  if (const auto* s = param(req, "end_date")) {
    if (auto t = open311::parseTime(*s))
      f.to_ms = *t + 1;
    else
      bad.push_back("end_date: not a W3C date-time (e.g. 2026-11-29T17:00:00+08:00)");
  }
  // GeoReport v2: without dates, the last 90 days.
  if (!param(req, "start_date") && !param(req, "end_date"))
    f.from_ms = clock_.nowMs() - int64_t{90} * 86'400'000;
  if (f.from_ms > 0 && f.to_ms > 0 && f.to_ms <= f.from_ms)
    bad.push_back("end_date: must be after start_date");
  std::set<std::string> statuses;  // empty: any
  if (const auto* s = param(req, "status"))
    for (const auto& one : commaList(*s)) {
      if (one != "open" && one != "closed")
        bad.push_back("status: '" + one + "' is not open or closed (a comma list of them)");
      statuses.insert(one);
    }
  if (!bad.empty()) return errors(req, res, 400, bad);
  for (const auto& c : codes)
    if (!dir.category(c)) return errors(req, res, 404, {"service_code '" + c + "' not found"});
  const std::set<std::string> code_set(codes.begin(), codes.end());
  // Open311's default window: the last 90 days, at most 1000 requests.
  constexpr size_t kLimit = 1000;
  std::string cursor;
  for (int round = 0; round < 20 && arr.size() < kLimit; ++round) {
    auto page = views_.list(f, 200, cursor);
    for (const auto& v : page.complaints)
      if ((statuses.empty() || statuses.count(open311::status(v.status()))) &&
          (code_set.size() <= 1 || code_set.count(v.category()))) {
        if (arr.size() < kLimit) arr.push_back(requestJson(v, dir, opt_.utc_offset_minutes));
      }
    if (page.next_cursor.empty()) break;
    cursor = page.next_cursor;
  }
  answer(req, res, 200, arr, "service_requests");
}

void Open311Server::getRequest(const httplib::Request& req, httplib::Response& res) {
  const auto id = req.matches[1].str();
  auto tid = TrackingId::normalize(id);
  std::optional<std::string> cid;
  if (tid) cid = views_.complaintIdOf(*tid);
  if (!cid) return errors(req, res, 404, {"service_request_id '" + id + "' not found"});
  // Confidential or unverified content is not public: to Open311 it does not exist.
  auto v = views_.readPublic(*cid, *tid);
  if (!v) return errors(req, res, 404, {"service_request_id '" + id + "' not found"});
  answer(req, res, 200,
         json::array({requestJson(*v, submissions_.directory(), opt_.utc_offset_minutes)}),
         "service_requests");
}

}  // namespace lapor::intake
