// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): errors are Open311's array of
// {code, description} with the HTTP status 400, 403, 404, 429 (with Retry-After) or 503.
#include "open311_handler.h"

#include "domain/open311_mapping.h"
#include "domain/tracking_id.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <sstream>

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

const std::string* param(const httplib::Request& req, const std::string& name) {
  auto it = req.params.find(name);
  return it == req.params.end() ? nullptr : &it->second;
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
  return json{
      {"service_code", c.code},
      {"attributes",
       json::array({priority, text("title", 2, "Short title (default: the description's start)"),
                    text("kecamatan", 3, "Kecamatan (district)"),
                    text("desa", 4, "Desa / kelurahan (village)"),
                    flag("anonymous", 5, "Hide the reporter's identity from agencies"),
                    flag("confidential", 6, "Keep the content out of public listings"),
                    text("external_ref", 7, "The publishing system's own reference")})}};
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
  s.Get(R"(/services\.(json|xml))", route("services", &Open311Server::services));
  s.Get(R"(/services/([^/]+)\.(json|xml))", route("service", &Open311Server::serviceDefinition));
  s.Post(R"(/requests\.(json|xml))", route("post-request", &Open311Server::postRequest));
  s.Get(R"(/requests\.(json|xml))", route("requests", &Open311Server::listRequests));
  s.Get(R"(/requests/([^/]+)\.(json|xml))", route("request", &Open311Server::getRequest));
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
  const auto* key = param(req, "api_key");
  if (!key || key->empty())
    return errors(req, res, 403, {"api_key is required to submit a service request"});
  const auto* code = param(req, "service_code");
  const auto* cat = code ? submissions_.directory().category(*code) : nullptr;
  auto form = open311::fromForm(req.params, cat && cat->emergency);
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
                        {"service_notice", "expected response " + out.response.expected_response()},
                        {"account_id", nullptr}}}),
          "service_requests");
    case K::Invalid: {
      std::vector<std::string> d;
      const bool own_title = param(req, "attribute[title]") != nullptr;
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
    std::stringstream in(*ids);
    std::string one;
    while (std::getline(in, one, ',')) {
      auto tid = TrackingId::normalize(one);
      if (!tid) continue;
      auto cid = views_.complaintIdOf(*tid);
      if (!cid) continue;
      auto v = views_.read(*cid, *tid);
      if (!v.confidential()) arr.push_back(requestJson(v, dir, opt_.utc_offset_minutes));
    }
    return answer(req, res, 200, arr, "service_requests");
  }
  std::vector<std::string> bad;
  ListFilter f;
  if (const auto* c = param(req, "service_code")) f.category = *c;
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
  std::string status;
  if (const auto* s = param(req, "status")) {
    status = *s;
    if (status != "open" && status != "closed") bad.push_back("status: must be open or closed");
  }
  if (!bad.empty()) return errors(req, res, 400, bad);
  if (f.category.size() > 0 && !dir.category(f.category))
    return errors(req, res, 404, {"service_code '" + f.category + "' not found"});
  // Open311's default window: the last 90 days, at most 1000 requests.
  constexpr size_t kLimit = 1000;
  std::string cursor;
  for (int round = 0; round < 20 && arr.size() < kLimit; ++round) {
    auto page = views_.list(f, 200, cursor);
    for (const auto& v : page.complaints)
      if (status.empty() || open311::status(v.status()) == status) {
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
  auto v = views_.read(*cid, *tid);
  // Confidential content is not public: to Open311 it does not exist.
  if (v.confidential() || v.submitted_at_ms() == 0)
    return errors(req, res, 404, {"service_request_id '" + id + "' not found"});
  answer(req, res, 200,
         json::array({requestJson(v, submissions_.directory(), opt_.utc_offset_minutes)}),
         "service_requests");
}

}  // namespace lapor::intake
