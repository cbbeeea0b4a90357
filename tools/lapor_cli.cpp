// lapor-cli: a small gRPC client for operators and the local demo: submit a complaint, follow
// it (get, list, watch, feedback, reopen, answer), subscribe as an agency, acknowledge,
// delegate, ask the reporter, verify reports, read SLA clocks and the monthly summary, check
// health. Exit codes: 0 done, 1 the call failed, 2 a usage error (flag named).
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lapor/v1/agency_service.grpc.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "lapor/v1/routing_admin.grpc.pb.h"
#include "lapor/v1/sla.grpc.pb.h"
#include "app/usage_exit.h"
#include "build_info.h"
#include "events/names.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace v1 = lapor::v1;
using namespace std::chrono_literals;

namespace {

// `export NAME=value` lines of the local stack's endpoints file (deploy/local/stack.sh writes
// it with printf %q quoting; ports and hosts need none).
std::map<std::string, std::string> readStackEnv(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("export ", 0) == 0) line = line.substr(7);
    auto eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    out[line.substr(0, eq)] = value;
  }
  return out;
}

// A service's gRPC address when no flag gives one: LAPOR_<SERVICE>_GRPC_PORT from the
// environment (`source .run/stack.env`), else from the file $LAPOR_STACK_ENV or .run/stack.env
// of the current directory, else the fixed port of a hand-started service.
std::string defaultAddress(const std::string& service, const std::string& fixed) {
  std::string var = "LAPOR_";
  for (char c : service) var += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  var += "_GRPC_PORT";
  if (const char* v = std::getenv(var.c_str()); v && *v) return std::string("127.0.0.1:") + v;
  const char* file = std::getenv("LAPOR_STACK_ENV");
  auto env = readStackEnv(file && *file ? file : ".run/stack.env");
  if (auto it = env.find(var); it != env.end() && !it->second.empty())
    return "127.0.0.1:" + it->second;
  return fixed;
}

std::shared_ptr<grpc::Channel> channel(const std::string& target) {
  return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> context(std::chrono::milliseconds timeout = 10s) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

// AgencyService calls carry the agency's token. Without --token or LAPOR_AGENCY_TOKEN the
// local demo token of deploy/config/notification.yaml ("lapor-demo-<agency>") is used.
std::string agencyToken(const std::string& given, const std::string& agency) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("LAPOR_AGENCY_TOKEN"); env && *env) return env;
  return "lapor-demo-" + agency;
}

std::unique_ptr<grpc::ClientContext> agencyContext(const std::string& token,
                                                   std::chrono::milliseconds timeout = 10s) {
  auto ctx = context(timeout);
  ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

// RoutingAdmin and SlaService calls carry an operator's token: LAPOR_OPERATOR_TOKEN, or the
// local demo's token of deploy/config/operators.yaml for the role the call needs.
std::unique_ptr<grpc::ClientContext> operatorContext(const std::string& role = "auditor",
                                                     std::chrono::milliseconds timeout = 10s) {
  const char* env = std::getenv("LAPOR_OPERATOR_TOKEN");
  return agencyContext(env && *env ? env : "lapor-demo-" + role, timeout);
}

// The reporter's secret for feedback and reopening: --secret or LAPOR_REPORTER_SECRET.
std::string reporterSecret(const std::string& given) {
  if (!given.empty()) return given;
  const char* env = std::getenv("LAPOR_REPORTER_SECRET");
  return env ? env : "";
}

// Confirms every item up to `item` as stored; it also opens the stream's window.
grpc::Status confirmStored(v1::AgencyService::Stub& stub, const std::string& agency,
                           const std::string& token, const v1::AgencyFeedItem& item) {
  v1::ConfirmDeliveryRequest req;
  req.set_agency_id(agency);
  req.set_cursor(item.cursor());
  req.set_stream_id(item.stream_id());
  v1::ConfirmDeliveryResponse resp;
  return stub.ConfirmDelivery(agencyContext(token).get(), req, &resp);
}

std::string json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = false;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

int fail(const std::string& what, const grpc::Status& s) {
  std::cerr << what << ": " << s.error_code() << " " << s.error_message() << "\n";
  // The google.rpc details intake sends: one line per field violation, the retry hint.
  google::rpc::Status details;
  if (!s.error_details().empty() && details.ParseFromString(s.error_details())) {
    for (const auto& any : details.details()) {
      google::rpc::BadRequest br;
      google::rpc::RetryInfo ri;
      if (any.UnpackTo(&br))
        for (const auto& v : br.field_violations())
          std::cerr << "  " << v.field() << ": " << v.description() << "\n";
      else if (any.UnpackTo(&ri))
        std::cerr << "  retry in " << ri.retry_delay().seconds() << " s\n";
    }
  }
  return 1;
}

// The publisher's API key (x-api-key), from --api-key or LAPOR_API_KEY; none when empty.
std::string g_api_key = [] {
  const char* k = std::getenv("LAPOR_API_KEY");
  return std::string(k ? k : "");
}();

std::unique_ptr<grpc::ClientContext> intakeContext(std::chrono::milliseconds timeout = 10s) {
  auto ctx = context(timeout);
  if (!g_api_key.empty()) ctx->AddMetadata("x-api-key", g_api_key);
  return ctx;
}

v1::Priority parsePriority(const std::string& p) {
  if (p == "emergency") return v1::PRIORITY_EMERGENCY;
  if (p == "high") return v1::PRIORITY_HIGH;
  if (p == "low") return v1::PRIORITY_LOW;
  return v1::PRIORITY_NORMAL;
}

struct SubmitArgs {
  std::string category = "fire";
  std::string priority = "emergency";
  std::string title = "Kebakaran rumah warga";
  std::string description = "Api membesar di rumah warga, satu orang luka bakar.";
  std::string kecamatan = "Sangatta Utara";
  std::string address = "Jl. Yos Sudarso II, Sangatta";
  double lat = 0.5108, lon = 117.6422;
  std::string idempotency_key, external_ref, name, phone, email;
  bool anonymous = false, confidential = false;
};

grpc::Status submit(v1::IntakeService::Stub& stub, const SubmitArgs& a,
                    v1::SubmitComplaintResponse* resp) {
  v1::SubmitComplaintRequest req;
  req.set_channel(v1::CHANNEL_CALL_CENTRE_112);
  req.set_category(a.category);
  req.set_priority(parsePriority(a.priority));
  req.set_title(a.title);
  req.set_description(a.description);
  auto* loc = req.mutable_location();
  loc->set_has_coordinates(true);
  loc->set_lat(a.lat);
  loc->set_lon(a.lon);
  loc->set_kecamatan(a.kecamatan);
  loc->set_address(a.address);
  req.set_idempotency_key(a.idempotency_key);
  req.set_external_ref(a.external_ref);
  req.mutable_reporter()->set_name(a.name);
  req.mutable_reporter()->set_phone(a.phone);
  req.mutable_reporter()->set_email(a.email);
  req.set_anonymous(a.anonymous);
  req.set_confidential(a.confidential);
  return stub.SubmitComplaint(intakeContext(30s).get(), req, resp);
}

// The walk of one complaint, printed step by step: what `make run` shows.
int demo(const std::string& intake, const std::string& notification, const std::string& sla,
         const std::string& agency, const std::string& token, const SubmitArgs& args) {
  auto intake_stub = v1::IntakeService::NewStub(channel(intake));
  auto agency_stub = v1::AgencyService::NewStub(channel(notification));
  auto sla_stub = v1::SlaService::NewStub(channel(sla));

  v1::SubmitComplaintResponse submitted;
  if (auto s = submit(*intake_stub, args, &submitted); !s.ok()) return fail("submit", s);
  std::cout << "1. submitted  tracking_id=" << submitted.tracking_id()
            << " complaint_id=" << submitted.complaint_id() << " (Kafka acknowledged)\n"
            << "   reporter_secret=" << submitted.reporter_secret()
            << " (for the reporter only: feedback and reopening need it)\n";

  // Read the agency's feed until this complaint arrives.
  grpc::ClientContext sub_ctx;
  sub_ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  sub_ctx.AddMetadata("authorization", "Bearer " + token);
  v1::SubscribeRequest sreq;
  sreq.set_agency_id(agency);
  auto reader = agency_stub->Subscribe(&sub_ctx, sreq);
  v1::AgencyFeedItem item;
  std::optional<v1::AgencyFeedItem> mine;
  while (reader->Read(&item)) {
    // Every item read is confirmed as it goes, so the stream never waits on its window.
    if (auto s = confirmStored(*agency_stub, agency, token, item); !s.ok())
      return fail("confirm delivery", s);
    if (item.item().assignment().complaint_id() == submitted.complaint_id()) {
      mine = item;
      break;
    }
  }
  sub_ctx.TryCancel();
  reader->Finish();
  if (!mine) {
    std::cerr << "the complaint did not reach agency " << agency << " within 60 s\n";
    return 1;
  }
  std::cout << "2. delivered  agency=" << agency
            << " assignment_id=" << mine->item().assignment().assignment_id()
            << " role=" << v1::AssignmentRole_Name(mine->item().assignment().role())
            << " cursor=" << mine->cursor() << "\n";

  v1::AcknowledgeRequest ack;
  ack.set_agency_id(agency);
  ack.set_assignment_id(mine->item().assignment().assignment_id());
  ack.set_operator_("demo-operator");
  v1::AcknowledgeResponse ack_resp;
  if (auto s = agency_stub->Acknowledge(agencyContext(token).get(), ack, &ack_resp); !s.ok())
    return fail("acknowledge", s);
  std::cout << "3. acknowledged by " << agency << "\n";
  // An emergency's lead also reports its units on scene, which stops its 15-minute clock.
  if (mine->item().complaint().priority() == v1::PRIORITY_EMERGENCY &&
      mine->item().assignment().role() == v1::ASSIGNMENT_ROLE_LEAD) {
    v1::UpdateStatusRequest scene;
    scene.set_agency_id(agency);
    scene.set_assignment_id(ack.assignment_id());
    scene.set_state(v1::ASSIGNMENT_STATE_ON_SCENE);
    scene.set_message("Unit tiba di lokasi");
    scene.set_operator_("demo-operator");
    v1::UpdateStatusResponse scene_resp;
    if (auto s = agency_stub->UpdateStatus(agencyContext(token).get(), scene, &scene_resp);
        !s.ok())
      return fail("on scene", s);
    std::cout << "   units on scene, reported by " << agency << "\n";
  }

  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    v1::GetObligationsRequest oreq;
    oreq.set_complaint_id(submitted.complaint_id());
    v1::GetObligationsResponse oresp;
    if (auto s = sla_stub->GetObligations(operatorContext().get(), oreq, &oresp); !s.ok())
      return fail("obligations", s);
    for (const auto& o : oresp.obligations()) {
      if (o.assignment_id() == ack.assignment_id() && o.state() == v1::OBLIGATION_STATE_MET) {
        std::cout << "4. SLA clock stopped: acknowledge obligation met in "
                  << (o.ended_at_ms() - o.started_at_ms()) << " ms (limit "
                  << (o.due_at_ms() - o.started_at_ms()) / 1000 << " s)\n";
        v1::GetComplaintRequest greq;
        greq.set_tracking_id(submitted.tracking_id());
        v1::ComplaintView view;
        if (intake_stub->GetComplaint(context().get(), greq, &view).ok())
          std::cout << "5. tracking view: " << json(view) << "\n";
        return 0;
      }
    }
    std::this_thread::sleep_for(200ms);  // polling a query with a deadline
  }
  std::cerr << "the SLA clock did not stop within 30 s\n";
  return 1;
}

// The monthly summary as CSV (header, a line per row, then the total) or as an aligned table.
std::string csvField(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::vector<std::string>> summaryLines(const v1::GetMonthlySummaryResponse& r) {
  std::vector<std::vector<std::string>> lines{
      {"report_type", "category", "received", "verified", "dispatched", "answered_on_time",
       "answered_late", "ratings", "average_rating"}};
  auto line = [&](const std::string& type, const std::string& category,
                  const v1::SummaryFigures& f) {
    std::ostringstream avg;
    avg.setf(std::ios::fixed);
    avg.precision(2);
    avg << f.average_rating();
    lines.push_back({type, category, std::to_string(f.received()), std::to_string(f.verified()),
                     std::to_string(f.dispatched()), std::to_string(f.answered_on_time()),
                     std::to_string(f.answered_late()), std::to_string(f.ratings()), avg.str()});
  };
  for (const auto& row : r.rows())
    line(lapor::events::reportTypeName(row.report_type()), row.category(), row.figures());
  line("total", "", r.total());
  return lines;
}

void printSummary(const v1::GetMonthlySummaryResponse& r, bool csv) {
  const auto lines = summaryLines(r);
  if (csv) {
    for (const auto& l : lines) {
      for (size_t i = 0; i < l.size(); ++i) std::cout << (i ? "," : "") << csvField(l[i]);
      std::cout << "\n";
    }
    return;
  }
  std::cout << "month " << r.month() << ", "
            << (r.agency_id().empty() ? "the whole regency" : "agency " + r.agency_id()) << "\n";
  std::vector<size_t> width(lines[0].size(), 0);
  for (const auto& l : lines)
    for (size_t i = 0; i < l.size(); ++i) width[i] = std::max(width[i], l[i].size());
  for (const auto& l : lines) {
    for (size_t i = 0; i < l.size(); ++i) {
      const auto pad = std::string(width[i] - l[i].size(), ' ');
      // Names left, numbers right.
      std::cout << (i ? "  " : "") << (i < 2 ? l[i] + pad : pad + l[i]);
    }
    std::cout << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lapor command-line client (gRPC). Addresses default to the local stack's "
               "(LAPOR_<SERVICE>_GRPC_PORT, from `source .run/stack.env` or that file itself).",
               "lapor-cli"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lapor-cli ") + lapor::build::kVersion + " (" +
                                        lapor::build::kRevision + ")");
  std::string intake = defaultAddress("intake", "127.0.0.1:50051"),
              notification = defaultAddress("notification", "127.0.0.1:50053"),
              sla = defaultAddress("sla-monitor", "127.0.0.1:50054"), target,
              agency = "disdamkar", cursor, tracking, assignment, complaint, token;
  SubmitArgs sargs;
  int count = 0;
  int timeout_s = 30;

  auto* c_submit = app.add_subcommand("submit", "Submit a complaint through IntakeService");
  c_submit->add_option("--intake", intake, "intake gRPC address");
  c_submit->add_option("--category", sargs.category);
  c_submit->add_option("--priority", sargs.priority, "emergency, high, normal, low");
  c_submit->add_option("--title", sargs.title);
  c_submit->add_option("--description", sargs.description);
  c_submit->add_option("--kecamatan", sargs.kecamatan);
  c_submit->add_option("--address", sargs.address);
  c_submit->add_option("--lat", sargs.lat);
  c_submit->add_option("--lon", sargs.lon);
  c_submit->add_option("--idempotency-key", sargs.idempotency_key,
                       "a retry with the same key returns the same tracking id");
  c_submit->add_option("--external-ref", sargs.external_ref, "the publisher's own reference");
  c_submit->add_option("--name", sargs.name, "reporter's name (kept in intake only)");
  c_submit->add_option("--phone", sargs.phone, "reporter's phone (kept in intake only)");
  c_submit->add_option("--email", sargs.email, "reporter's e-mail (kept in intake only)");
  c_submit->add_flag("--anonymous", sargs.anonymous, "hide the reporter from agencies");
  c_submit->add_flag("--confidential", sargs.confidential, "keep out of public listings");

  auto* c_list = app.add_subcommand("list", "List complaints, newest first (one JSON per line)");
  c_list->add_option("--intake", intake, "intake gRPC address");
  std::string list_status, list_agency, list_category;
  int page_size = 50, pages = 1;
  c_list->add_option("--status", list_status,
                     "submitted, routed, in-progress, resolved, closed, reopened, triage");
  c_list->add_option("--agency", list_agency);
  c_list->add_option("--category", list_category);
  c_list->add_option("--page-size", page_size);
  c_list->add_option("--pages", pages, "how many pages to follow (cursor)");

  auto* c_watch = app.add_subcommand("watch", "Stream a complaint's timeline as it happens");
  c_watch->add_option("--intake", intake, "intake gRPC address");
  c_watch->add_option("tracking_id", tracking)->required();
  c_watch->add_option("--timeout", timeout_s, "seconds");

  auto* c_feedback = app.add_subcommand("feedback", "Rate the answer; --not-solved reopens");
  c_feedback->add_option("--intake", intake, "intake gRPC address");
  c_feedback->add_option("tracking_id", tracking)->required();
  int rating = 5;
  std::string comment;
  bool not_solved = false;
  c_feedback->add_option("--rating", rating, "1..5")->required();
  c_feedback->add_option("--comment", comment);
  c_feedback->add_flag("--not-solved", not_solved, "the problem is still there: reopen");
  std::string secret, request_id;
  c_feedback->add_option("--secret", secret,
                         "the reporter secret of the submission (env LAPOR_REPORTER_SECRET)");
  c_feedback->add_option("--request-id", request_id, "a retry with the same id records once");

  auto* c_reopen = app.add_subcommand("reopen", "Reopen a resolved or closed complaint");
  c_reopen->add_option("--intake", intake, "intake gRPC address");
  c_reopen->add_option("tracking_id", tracking)->required();
  std::string reason;
  c_reopen->add_option("--reason", reason)->required();
  c_reopen->add_option("--secret", secret,
                       "the reporter secret of the submission (env LAPOR_REPORTER_SECRET)");
  c_reopen->add_option("--request-id", request_id, "a retry with the same id reopens once");

  for (auto* c : {c_submit, c_list, c_watch, c_feedback, c_reopen})
    c->add_option("--api-key", g_api_key, "publisher API key (env LAPOR_API_KEY)");

  auto* c_get = app.add_subcommand("get", "Show a complaint by tracking id");
  c_get->add_option("--intake", intake, "intake gRPC address");
  c_get->add_option("tracking_id", tracking)->required();

  auto* c_sub = app.add_subcommand("subscribe", "Print an agency's feed (one JSON line per item)");
  c_sub->add_option("--notification", notification, "notification gRPC address");
  c_sub->add_option("--agency", agency)->required();
  c_sub->add_option("--token", token, "agency token (env LAPOR_AGENCY_TOKEN)");
  c_sub->add_option("--cursor", cursor, "resume after this cursor");
  c_sub->add_option("--count", count, "stop after this many items (0: run until timeout)");
  c_sub->add_option("--timeout", timeout_s, "seconds");
  std::string only_complaint;
  c_sub->add_option("--complaint", only_complaint,
                    "print (and count, and confirm) only the items of this complaint id; the "
                    "others are read past unconfirmed");
  bool no_confirm = false;
  c_sub->add_flag("--no-confirm", no_confirm,
                  "do not confirm printed items as delivered (the server then sends at most its "
                  "window of items, stream.window)");

  auto* c_ack = app.add_subcommand("ack", "Acknowledge an assignment as an agency");
  c_ack->add_option("--notification", notification, "notification gRPC address");
  c_ack->add_option("--agency", agency)->required();
  c_ack->add_option("--token", token, "agency token (env LAPOR_AGENCY_TOKEN)");
  c_ack->add_option("assignment_id", assignment)->required();

  auto* c_obl = app.add_subcommand("obligations", "Show the SLA clocks of a complaint");
  c_obl->add_option("--sla", sla, "sla-monitor gRPC address");
  c_obl->add_option("complaint_id", complaint)->required();

  auto* c_health = app.add_subcommand("health", "grpc.health.v1 Check against an address");
  c_health->add_option("target", target)->required();

  std::string routing = defaultAddress("routing", "127.0.0.1:50052"), operator_name, note;
  auto* c_assign = app.add_subcommand("assign", "Assign a triaged complaint to an agency");
  c_assign->add_option("--routing", routing, "routing gRPC address");
  c_assign->add_option("--agency", agency)->required();
  c_assign->add_option("--operator", operator_name,
                       "who decides (default: the operator of the credential)");
  c_assign->add_option("--note", note);
  c_assign->add_option("--request-id", request_id, "idempotency key: a retry assigns once");
  c_assign->add_option("complaint_id", complaint)->required();

  std::string close_reason, duplicate_of;
  auto* c_close = app.add_subcommand(
      "close", "Close a report the triage desk will not pass on (operator role)");
  c_close->add_option("--routing", routing, "routing gRPC address");
  c_close->add_option("--reason", close_reason,
                      "spam, out-of-scope, duplicate or insufficient-information")
      ->required();
  c_close->add_option("--duplicate-of", duplicate_of, "tracking id it repeats (duplicate)");
  c_close->add_option("--note", note, "shown to the reporter");
  c_close->add_option("--operator", operator_name, "who decides");
  c_close->add_option("--request-id", request_id, "idempotency key: a retry closes once");
  c_close->add_option("complaint_id", complaint)->required();

  auto* c_back = app.add_subcommand(
      "return-to-triage", "Take a routed complaint back to the triage desk (supervisor role)");
  c_back->add_option("--routing", routing, "routing gRPC address");
  c_back->add_option("--note", note, "why")->required();
  c_back->add_option("--operator", operator_name, "who decides");
  c_back->add_option("--request-id", request_id, "idempotency key: a retry returns once");
  c_back->add_option("complaint_id", complaint)->required();

  std::string month;
  bool csv = false;
  auto* c_summary = app.add_subcommand(
      "summary",
      "One month of complaint handling per report type and category (SlaService."
      "GetMonthlySummary, auditor role): received, verified, dispatched, answered on time and "
      "late, ratings and their average, of one agency or the whole regency");
  c_summary->add_option("--sla", sla, "sla-monitor gRPC address");
  c_summary->add_option("--month", month, "YYYY-MM in the regency's time zone")->required();
  c_summary->add_option("--agency", agency, "agency id (default: the whole regency)");
  c_summary->add_flag("--csv", csv, "CSV: a header, one line per row, then the total line");

  int queue_size = 50;
  auto* c_queue = app.add_subcommand(
      "verify-queue", "List the reports waiting for verification, oldest first (operator role; "
                      "one JSON line per report)");
  c_queue->add_option("--routing", routing, "routing gRPC address");
  c_queue->add_option("--page-size", queue_size, "1..500");
  c_queue->add_option("--pages", pages, "how many pages to follow");

  std::string title, description, type_name;
  bool confidential = false, is_public = false, anonymous = false, named = false;
  auto* c_verify = app.add_subcommand(
      "verify", "Verify a report so routing dispatches it, optionally editing its title and "
                "summary, its confidential/anonymous flags and its report type (operator role)");
  c_verify->add_option("--routing", routing, "routing gRPC address");
  c_verify->add_option("--title", title, "edited title (default: keep)");
  c_verify->add_option("--description", description, "edited summary (default: keep)");
  auto* f_conf = c_verify->add_flag("--confidential", confidential, "keep out of public listings");
  c_verify->add_flag("--public", is_public, "may be listed publicly")->excludes(f_conf);
  auto* f_anon = c_verify->add_flag("--anonymous", anonymous, "hide the reporter from agencies");
  c_verify->add_flag("--named", named, "show the reporter to agencies")->excludes(f_anon);
  c_verify->add_option("--type", type_name,
                       "report type: complaint, complaint_light, complaint_normative, "
                       "complaint_oversight, aspiration, information_request (default: keep)");
  c_verify->add_option("--note", note);
  c_verify->add_option("--operator", operator_name, "who decides");
  c_verify->add_option("--request-id", request_id, "idempotency key: a retry verifies once");
  c_verify->add_option("complaint_id", complaint)->required();

  std::string question, forward_to, answer_text;
  auto* c_postpone = app.add_subcommand(
      "postpone", "Postpone a report in verification, asking the reporter for what is missing "
                  "(operator role); the reporter's answer puts it back in the queue");
  c_postpone->add_option("--routing", routing, "routing gRPC address");
  c_postpone->add_option("--question", question, "to the reporter")->required();
  c_postpone->add_option("--operator", operator_name, "who decides");
  c_postpone->add_option("--request-id", request_id, "idempotency key: a retry postpones once");
  c_postpone->add_option("complaint_id", complaint)->required();

  auto* c_notours = app.add_subcommand(
      "not-ours", "Close a report in verification as not the regency's, recording the body it "
                  "belongs to for forwarding (operator role)");
  c_notours->add_option("--routing", routing, "routing gRPC address");
  c_notours->add_option("--forward-to", forward_to, "the body it belongs to")->required();
  c_notours->add_option("--note", note, "to the reporter");
  c_notours->add_option("--operator", operator_name, "who decides");
  c_notours->add_option("--request-id", request_id, "idempotency key");
  c_notours->add_option("complaint_id", complaint)->required();

  auto* c_archive = app.add_subcommand(
      "archive", "Archive a report in verification with a reason the reporter sees (operator "
                 "role)");
  c_archive->add_option("--routing", routing, "routing gRPC address");
  c_archive->add_option("--reason", reason, "shown to the reporter")->required();
  c_archive->add_option("--operator", operator_name, "who decides");
  c_archive->add_option("--request-id", request_id, "idempotency key");
  c_archive->add_option("complaint_id", complaint)->required();

  auto* c_answer = app.add_subcommand(
      "answer", "Answer the question an agency or the verifiers asked, as the reporter "
                "(IntakeService.AnswerAgency)");
  c_answer->add_option("--intake", intake, "intake gRPC address");
  c_answer->add_option("--secret", secret,
                       "the reporter secret of the submission (env LAPOR_REPORTER_SECRET)");
  c_answer->add_option("--answer", answer_text, "the answer, 1..4000 characters")->required();
  c_answer->add_option("--api-key", g_api_key, "publisher API key (env LAPOR_API_KEY)");
  c_answer->add_option("--request-id", request_id, "a retry with the same id answers once");
  c_answer->add_option("tracking_id", tracking)->required();

  std::string unit;
  auto* c_delegate = app.add_subcommand(
      "delegate", "Pass an assignment on to one of the agency's work units, with a note (the "
                  "agency's token); delegating to another unit moves it");
  c_delegate->add_option("--notification", notification, "notification gRPC address");
  c_delegate->add_option("--agency", agency)->required();
  c_delegate->add_option("--unit", unit, "the unit's id (agencies.yaml units)")->required();
  c_delegate->add_option("--note", note, "the agency's instruction to the unit");
  c_delegate->add_option("--token", token, "agency token (env LAPOR_AGENCY_TOKEN)");
  c_delegate->add_option("--operator", operator_name, "who decides");
  c_delegate->add_option("assignment_id", assignment)->required();

  auto* c_takeback = app.add_subcommand(
      "take-back", "Take a delegated assignment back from the unit (the agency's token)");
  c_takeback->add_option("--notification", notification, "notification gRPC address");
  c_takeback->add_option("--agency", agency)->required();
  c_takeback->add_option("--note", note, "why");
  c_takeback->add_option("--token", token, "agency token (env LAPOR_AGENCY_TOKEN)");
  c_takeback->add_option("--operator", operator_name, "who decides");
  c_takeback->add_option("assignment_id", assignment)->required();

  auto* c_ask = app.add_subcommand(
      "ask", "Ask the reporter a question about an assignment (the agency's or the unit's "
             "token); the answer arrives on the asker's feed");
  c_ask->add_option("--notification", notification, "notification gRPC address");
  c_ask->add_option("--agency", agency, "the agency, or the unit holding the assignment")
      ->required();
  c_ask->add_option("--question", question, "shown to the reporter, 1..2000 bytes")->required();
  c_ask->add_option("--token", token, "agency token (env LAPOR_AGENCY_TOKEN)");
  c_ask->add_option("--operator", operator_name, "who asks");
  c_ask->add_option("--request-id", request_id, "idempotency key: a retry asks once");
  c_ask->add_option("assignment_id", assignment)->required();

  auto* c_demo = app.add_subcommand("demo", "Submit a complaint and follow it to the agency");
  c_demo->add_option("--intake", intake);
  c_demo->add_option("--notification", notification);
  c_demo->add_option("--sla", sla);
  c_demo->add_option("--agency", agency, "agency that should receive it (lead of the rule)");
  c_demo->add_option("--token", token, "agency token (env LAPOR_AGENCY_TOKEN)");
  c_demo->add_option("--category", sargs.category);
  c_demo->add_option("--priority", sargs.priority);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return lapor::app::usageExit(app, e);
  }

  if (*c_submit) {
    auto stub = v1::IntakeService::NewStub(channel(intake));
    v1::SubmitComplaintResponse resp;
    if (auto s = submit(*stub, sargs, &resp); !s.ok()) return fail("submit", s);
    std::cout << json(resp) << "\n";
  } else if (*c_get) {
    auto stub = v1::IntakeService::NewStub(channel(intake));
    v1::GetComplaintRequest req;
    req.set_tracking_id(tracking);
    v1::ComplaintView view;
    if (auto s = stub->GetComplaint(context().get(), req, &view); !s.ok()) return fail("get", s);
    std::cout << json(view) << "\n";
  } else if (*c_list) {
    auto stub = v1::IntakeService::NewStub(channel(intake));
    v1::ListComplaintsRequest req;
    if (!list_status.empty()) {
      std::string name = "COMPLAINT_STATUS_";
      for (char c : list_status) name += c == '-' ? '_' : static_cast<char>(std::toupper(c));
      v1::ComplaintStatus st;
      if (!v1::ComplaintStatus_Parse(name, &st)) {
        std::cerr << "unknown status " << list_status << "\n";
        return 2;
      }
      req.set_status(st);
    }
    req.set_agency_id(list_agency);
    req.set_category(list_category);
    req.set_page_size(page_size);
    for (int page = 0; page < pages; ++page) {
      v1::ListComplaintsResponse resp;
      // Listing by agency is for operators (any role).
      auto ctx = intakeContext();
      if (!list_agency.empty()) {
        const char* env = std::getenv("LAPOR_OPERATOR_TOKEN");
        ctx->AddMetadata("authorization",
                         std::string("Bearer ") + (env && *env ? env : "lapor-demo-auditor"));
      }
      if (auto s = stub->ListComplaints(ctx.get(), req, &resp); !s.ok())
        return fail("list", s);
      for (const auto& c : resp.complaints()) std::cout << json(c) << "\n";
      if (resp.next_cursor().empty()) break;
      std::cerr << "next cursor: " << resp.next_cursor() << "\n";
      req.set_cursor(resp.next_cursor());
    }
  } else if (*c_watch) {
    auto stub = v1::IntakeService::NewStub(channel(intake));
    auto ctx = intakeContext(std::chrono::seconds(timeout_s));
    v1::WatchComplaintRequest req;
    req.set_tracking_id(tracking);
    auto reader = stub->WatchComplaint(ctx.get(), req);
    v1::TimelineEntry entry;
    while (reader->Read(&entry)) std::cout << json(entry) << std::endl;
    auto s = reader->Finish();
    if (!s.ok() && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) return fail("watch", s);
  } else if (*c_feedback) {
    auto stub = v1::IntakeService::NewStub(channel(intake));
    v1::AddFeedbackRequest req;
    req.set_tracking_id(tracking);
    req.set_rating(rating);
    req.set_comment(comment);
    req.set_solved(!not_solved);
    req.set_reporter_secret(reporterSecret(secret));
    req.set_request_id(request_id);
    v1::AddFeedbackResponse resp;
    if (auto s = stub->AddFeedback(intakeContext(30s).get(), req, &resp); !s.ok())
      return fail("feedback", s);
    std::cout << json(resp) << "\n";
  } else if (*c_reopen) {
    auto stub = v1::IntakeService::NewStub(channel(intake));
    v1::ReopenComplaintRequest req;
    req.set_tracking_id(tracking);
    req.set_reason(reason);
    req.set_reporter_secret(reporterSecret(secret));
    req.set_request_id(request_id);
    v1::ReopenComplaintResponse resp;
    if (auto s = stub->ReopenComplaint(intakeContext(30s).get(), req, &resp); !s.ok())
      return fail("reopen", s);
    std::cout << json(resp) << "\n";
  } else if (*c_sub) {
    auto stub = v1::AgencyService::NewStub(channel(notification));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
    ctx.AddMetadata("authorization", "Bearer " + agencyToken(token, agency));
    v1::SubscribeRequest req;
    req.set_agency_id(agency);
    req.set_resume_cursor(cursor);
    auto reader = stub->Subscribe(&ctx, req);
    v1::AgencyFeedItem item;
    int n = 0;
    while (reader->Read(&item)) {
      if (!only_complaint.empty() && item.item().assignment().complaint_id() != only_complaint)
        continue;
      std::cout << json(item) << std::endl;
      if (!no_confirm)
        if (auto s = confirmStored(*stub, agency, agencyToken(token, agency), item); !s.ok())
          return fail("confirm", s);
      if (count > 0 && ++n >= count) {
        ctx.TryCancel();
        break;
      }
    }
    auto s = reader->Finish();
    if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED &&
        s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED)
      return fail("subscribe", s);
  } else if (*c_ack) {
    auto stub = v1::AgencyService::NewStub(channel(notification));
    v1::AcknowledgeRequest req;
    req.set_agency_id(agency);
    req.set_assignment_id(assignment);
    v1::AcknowledgeResponse resp;
    auto actx = agencyContext(agencyToken(token, agency));
    if (auto s = stub->Acknowledge(actx.get(), req, &resp); !s.ok()) return fail("ack", s);
    std::cout << json(resp) << "\n";
  } else if (*c_obl) {
    auto stub = v1::SlaService::NewStub(channel(sla));
    v1::GetObligationsRequest req;
    req.set_complaint_id(complaint);
    v1::GetObligationsResponse resp;
    if (auto s = stub->GetObligations(operatorContext().get(), req, &resp); !s.ok())
      return fail("obligations", s);
    std::cout << json(resp) << "\n";
  } else if (*c_health) {
    auto stub = grpc::health::v1::Health::NewStub(channel(target));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    if (auto s = stub->Check(context(5s).get(), req, &resp); !s.ok()) return fail("health", s);
    std::cout << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()) << "\n";
    return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
  } else if (*c_assign) {
    auto stub = v1::RoutingAdmin::NewStub(channel(routing));
    v1::AssignRequest req;
    req.set_complaint_id(complaint);
    req.set_agency_id(agency);
    req.set_operator_(operator_name);
    req.set_note(note);
    req.set_request_id(request_id);
    v1::AssignResponse resp;
    if (auto s = stub->Assign(operatorContext("operator").get(), req, &resp); !s.ok())
      return fail("assign", s);
    std::cout << json(resp) << "\n";
  } else if (*c_close) {
    auto stub = v1::RoutingAdmin::NewStub(channel(routing));
    v1::CloseComplaintRequest req;
    req.set_complaint_id(complaint);
    req.set_reason_code(close_reason);
    req.set_duplicate_of(duplicate_of);
    req.set_note(note);
    req.set_operator_(operator_name);
    req.set_request_id(request_id);
    v1::CloseComplaintResponse resp;
    if (auto s = stub->CloseComplaint(operatorContext("operator").get(), req, &resp); !s.ok())
      return fail("close", s);
    std::cout << "closed\n";
  } else if (*c_back) {
    auto stub = v1::RoutingAdmin::NewStub(channel(routing));
    v1::ReturnToTriageRequest req;
    req.set_complaint_id(complaint);
    req.set_note(note);
    req.set_operator_(operator_name);
    req.set_request_id(request_id);
    v1::ReturnToTriageResponse resp;
    if (auto s = stub->ReturnToTriage(operatorContext("supervisor").get(), req, &resp); !s.ok())
      return fail("return-to-triage", s);
    std::cout << json(resp) << "\n";
  } else if (*c_summary) {
    auto stub = v1::SlaService::NewStub(channel(sla));
    v1::GetMonthlySummaryRequest req;
    req.set_month(month);
    if (c_summary->count("--agency") > 0) req.set_agency_id(agency);
    v1::GetMonthlySummaryResponse resp;
    if (auto s = stub->GetMonthlySummary(operatorContext("auditor").get(), req, &resp); !s.ok())
      return fail("summary", s);
    printSummary(resp, csv);
  } else if (*c_queue) {
    auto stub = v1::RoutingAdmin::NewStub(channel(routing));
    v1::ListVerificationQueueRequest req;
    req.set_page_size(queue_size);
    for (int page = 0; page < pages; ++page) {
      v1::ListVerificationQueueResponse resp;
      if (auto s = stub->ListVerificationQueue(operatorContext("operator").get(), req, &resp);
          !s.ok())
        return fail("verify-queue", s);
      for (const auto& r : resp.reports()) std::cout << json(r) << "\n";
      if (resp.next_page_token().empty()) break;
      std::cerr << "next page: " << resp.next_page_token() << "\n";
      req.set_page_token(resp.next_page_token());
    }
  } else if (*c_verify) {
    auto stub = v1::RoutingAdmin::NewStub(channel(routing));
    v1::VerifyRequest req;
    req.set_complaint_id(complaint);
    req.set_title(title);
    req.set_description(description);
    if (!type_name.empty()) {
      auto t = lapor::events::reportTypeFromName(type_name);
      if (!t) {
        std::cerr << "--type: unknown report type '" << type_name
                  << "' (complaint, complaint_light, complaint_normative, complaint_oversight, "
                     "aspiration, information_request)\n";
        return 2;
      }
      req.set_report_type(*t);
    }
    const bool flags = confidential || is_public || anonymous || named;
    if (flags) {
      // Both flags are sent together: the one not given on the command line must stay as the
      // reporter chose it, which only the queue shows; ask for both then.
      if (!(confidential || is_public) || !(anonymous || named)) {
        std::cerr << "--confidential/--public and --anonymous/--named: give one of each pair "
                     "when changing either\n";
        return 2;
      }
      req.set_set_flags(true);
      req.set_confidential(confidential);
      req.set_anonymous(anonymous);
    }
    req.set_note(note);
    req.set_operator_(operator_name);
    req.set_request_id(request_id);
    v1::VerifyResponse resp;
    if (auto s = stub->Verify(operatorContext("operator").get(), req, &resp); !s.ok())
      return fail("verify", s);
    std::cout << "verified\n";
  } else if (*c_postpone) {
    auto stub = v1::RoutingAdmin::NewStub(channel(routing));
    v1::PostponeRequest req;
    req.set_complaint_id(complaint);
    req.set_question(question);
    req.set_operator_(operator_name);
    req.set_request_id(request_id);
    v1::PostponeResponse resp;
    if (auto s = stub->Postpone(operatorContext("operator").get(), req, &resp); !s.ok())
      return fail("postpone", s);
    std::cout << "postponed\n";
  } else if (*c_notours) {
    auto stub = v1::RoutingAdmin::NewStub(channel(routing));
    v1::NotOursRequest req;
    req.set_complaint_id(complaint);
    req.set_forward_to(forward_to);
    req.set_note(note);
    req.set_operator_(operator_name);
    req.set_request_id(request_id);
    v1::NotOursResponse resp;
    if (auto s = stub->NotOurs(operatorContext("operator").get(), req, &resp); !s.ok())
      return fail("not-ours", s);
    std::cout << "not ours: forward to " << forward_to << "\n";
  } else if (*c_archive) {
    auto stub = v1::RoutingAdmin::NewStub(channel(routing));
    v1::ArchiveRequest req;
    req.set_complaint_id(complaint);
    req.set_reason(reason);
    req.set_operator_(operator_name);
    req.set_request_id(request_id);
    v1::ArchiveResponse resp;
    if (auto s = stub->Archive(operatorContext("operator").get(), req, &resp); !s.ok())
      return fail("archive", s);
    std::cout << "archived\n";
  } else if (*c_answer) {
    auto stub = v1::IntakeService::NewStub(channel(intake));
    v1::AnswerAgencyRequest req;
    req.set_tracking_id(tracking);
    req.set_answer(answer_text);
    req.set_reporter_secret(reporterSecret(secret));
    req.set_request_id(request_id);
    v1::AnswerAgencyResponse resp;
    if (auto s = stub->AnswerAgency(intakeContext(30s).get(), req, &resp); !s.ok())
      return fail("answer", s);
    std::cout << json(resp) << "\n";
  } else if (*c_delegate) {
    auto stub = v1::AgencyService::NewStub(channel(notification));
    v1::DelegateRequest req;
    req.set_agency_id(agency);
    req.set_assignment_id(assignment);
    req.set_unit_id(unit);
    req.set_note(note);
    req.set_operator_(operator_name);
    v1::DelegateResponse resp;
    if (auto s = stub->Delegate(agencyContext(agencyToken(token, agency)).get(), req, &resp);
        !s.ok())
      return fail("delegate", s);
    std::cout << json(resp) << "\n";
  } else if (*c_takeback) {
    auto stub = v1::AgencyService::NewStub(channel(notification));
    v1::TakeBackRequest req;
    req.set_agency_id(agency);
    req.set_assignment_id(assignment);
    req.set_note(note);
    req.set_operator_(operator_name);
    v1::TakeBackResponse resp;
    if (auto s = stub->TakeBack(agencyContext(agencyToken(token, agency)).get(), req, &resp);
        !s.ok())
      return fail("take-back", s);
    std::cout << "taken back\n";
  } else if (*c_ask) {
    auto stub = v1::AgencyService::NewStub(channel(notification));
    v1::AskReporterRequest req;
    req.set_agency_id(agency);
    req.set_assignment_id(assignment);
    req.set_question(question);
    req.set_operator_(operator_name);
    req.set_request_id(request_id);
    v1::AskReporterResponse resp;
    if (auto s = stub->AskReporter(agencyContext(agencyToken(token, agency)).get(), req, &resp);
        !s.ok())
      return fail("ask", s);
    std::cout << json(resp) << "\n";
  } else if (*c_demo) {
    return demo(intake, notification, sla, agency, agencyToken(token, agency), sargs);
  }
  return 0;
}
