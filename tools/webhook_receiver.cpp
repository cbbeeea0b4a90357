// lapor-webhook-receiver: the agencies' side of Lapor's webhooks in the local stack and the
// end-to-end tests. It takes POST /hooks/<agency>, checks each delivery the way
// docs/agencies.md tells an agency to (HMAC-SHA256 signature over the raw body, timestamp at
// most --max-age old, the agency and event id consistent), answers 200 once it has the item,
// and logs one JSON line per item received (agency, complaint, tracking id, kind). A repeated
// event id (a retry whose first answer got lost) is answered 200 again but not logged twice.
#include "app/shutdown_signal.h"
#include "app/usage_exit.h"
#include "build_info.h"
#include "config/secret_file.h"
#include "log/logger.h"
#include "webhook/webhook_signature.h"

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace {

using lapor::webhook::SignatureCheck;

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Event ids seen within the signature's lifetime: older ones cannot come back with a valid
// signature anyway, so the set stays bounded by what arrives in that time.
class RecentEvents {
 public:
  explicit RecentEvents(int64_t keep_seconds) : keep_(keep_seconds) {}
  // True when `id` is new (and remembers it).
  bool firstTime(const std::string& id, int64_t now) {
    std::lock_guard lk(mu_);
    while (!order_.empty() && (order_.front().first < now - keep_ || order_.size() > kMax)) {
      ids_.erase(order_.front().second);
      order_.pop_front();
    }
    if (!ids_.insert(id).second) return false;
    order_.emplace_back(now, id);
    return true;
  }

 private:
  static constexpr size_t kMax = 100'000;
  const int64_t keep_;
  std::mutex mu_;
  std::set<std::string> ids_;
  std::deque<std::pair<int64_t, std::string>> order_;
};

struct Settings {
  std::string host = "127.0.0.1";
  int port = 8787;
  std::vector<std::string> agencies;
  std::string secret_env = "LAPOR_DEMO_WEBHOOK_SECRET";
  std::string secret_file;
  int64_t max_age = 300;
};

// The HMAC key: from --secret-file when given, else from the variable --secret-env names.
std::string readSecret(const Settings& s, std::string& error) {
  if (!s.secret_file.empty()) {
    auto secret = lapor::config::readSecretFile(s.secret_file).value_or("");
    if (secret.empty()) error = "--secret-file " + s.secret_file + ": cannot be read or is empty";
    return secret;
  }
  const char* v = std::getenv(s.secret_env.c_str());
  if (!v || !*v) error = "environment variable " + s.secret_env + " (--secret-env) is not set";
  return v ? v : "";
}

void answer(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

int main(int argc, char** argv) {
  lapor::app::ShutdownSignal signals;  // before any thread exists
  Settings s;
  CLI::App app{
      "Lapor webhook receiver: takes the signed webhooks of the agencies that receive their "
      "assignments by webhook (POST /hooks/<agency>), verifies each signature, answers 200 and "
      "logs one JSON line per item.",
      "lapor-webhook-receiver"};
  app.set_version_flag("--version", std::string("lapor-webhook-receiver ") + lapor::build::kVersion +
                                        " (" + lapor::build::kRevision + ")");
  app.add_option("--host", s.host, "address to listen on")
      ->envname("LAPOR_WEBHOOK_RECEIVER_HOST")
      ->capture_default_str();
  app.add_option("--port", s.port, "port to listen on (0: any free port, logged)")
      ->envname("LAPOR_WEBHOOK_RECEIVER_PORT")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--agency", s.agencies,
                 "agency ids to accept, comma-separated or repeated (none: any agency)")
      ->envname("LAPOR_WEBHOOK_RECEIVER_AGENCIES")
      ->delimiter(',');
  app.add_option("--secret-env", s.secret_env,
                 "environment variable holding the HMAC secret shared with notification")
      ->capture_default_str();
  app.add_option("--secret-file", s.secret_file,
                 "file holding the HMAC secret (wins over --secret-env)")
      ->envname("LAPOR_WEBHOOK_RECEIVER_SECRET_FILE");
  app.add_option("--max-age", s.max_age,
                 "seconds a signature's timestamp may be away from now (older: a replay)")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return lapor::app::usageExit(app, e);
  }
  lapor::log::Logger log("webhook-receiver");
  std::string error;
  const std::string secret = readSecret(s, error);
  if (!error.empty()) {
    log.error("invalid configuration", {{"error", error}});
    return 2;
  }
  std::set<std::string> accepted;
  for (const auto& a : s.agencies)
    if (!a.empty()) accepted.insert(a);
  RecentEvents recent(2 * s.max_age);

  httplib::Server server;
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    answer(res, 200, {{"status", "ok"}});
  });
  server.Post(R"(/hooks/([a-z0-9][a-z0-9-]{0,62}))", [&](const httplib::Request& req,
                                                         httplib::Response& res) {
    const std::string agency = req.matches[1];
    const auto event_id = req.get_header_value("X-Lapor-Event-Id");
    auto refuse = [&](int status, const std::string& reason) {
      log.warn("webhook refused", {{"agency", agency},
                                   {"event_id", event_id},
                                   {"reason", reason},
                                   {"status", status}});
      answer(res, status, {{"error", reason}});
    };
    if (!accepted.empty() && !accepted.count(agency)) return refuse(404, "unknown-agency");
    if (req.get_header_value("X-Lapor-Agency") != agency) return refuse(400, "agency-mismatch");
    // Over the raw bytes as received, before any parsing.
    const auto check = lapor::webhook::verifySignature(
        secret, req.get_header_value(lapor::webhook::kSignatureHeader), req.body, nowSeconds(),
        s.max_age);
    if (check != SignatureCheck::Valid)
      return refuse(401, std::string("signature-") + lapor::webhook::signatureCheckName(check));
    const auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return refuse(400, "body-not-json");
    const auto item = body.value("item", nlohmann::json::object());
    const auto assignment = item.value("assignment", nlohmann::json::object());
    const auto complaint = item.value("complaint", nlohmann::json::object());
    if (event_id.empty() || body.value("eventId", "") != event_id)
      return refuse(400, "event-id-mismatch");
    if (assignment.value("agencyId", "") != agency) return refuse(400, "agency-mismatch");
    if (!recent.firstTime(event_id, nowSeconds())) {
      log.info("webhook repeat dropped", {{"agency", agency}, {"event_id", event_id}});
      answer(res, 200, {{"stored", false}, {"repeat", true}});
      return;
    }
    auto complaint_id = assignment.value("complaintId", complaint.value("complaintId", ""));
    log.info("webhook received", {{"agency", agency},
                                  {"complaint_id", complaint_id},
                                  {"tracking_id", complaint.value("trackingId", "")},
                                  {"kind", item.value("kind", "DISPATCH_KIND_NEW")},
                                  {"assignment_id", assignment.value("assignmentId", "")},
                                  {"role", assignment.value("role", "")},
                                  {"event_id", event_id},
                                  {"cursor", body.value("cursor", "")}});
    answer(res, 200, {{"stored", true}});
  });

  int port = s.port;
  if (port == 0) {
    port = server.bind_to_any_port(s.host);
  } else if (!server.bind_to_port(s.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    log.error("cannot listen", {{"host", s.host}, {"port", s.port}});
    return 1;
  }
  std::thread listener([&] { server.listen_after_bind(); });
  log.info("receiver listening", {{"host", s.host},
                                  {"port", port},
                                  {"agencies", accepted},
                                  {"max_age_s", s.max_age}});
  while (true) {
    const int sig = signals.wait();
    if (sig == SIGHUP) continue;
    log.info("shutting down", {{"signal", sig}});
    break;
  }
  server.stop();
  listener.join();
  log.info("receiver stopped");
  return 0;
}
