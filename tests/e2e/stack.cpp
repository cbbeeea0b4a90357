// Starts the services and waits until each answers gRPC health checks, with a deadline.
#include "stack.h"

#include "grpc/health/v1/health.grpc.pb.h"
#include "wait.h"

#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <random>
#include <stdexcept>

#ifndef LAPOR_BUILD_DIR
#error "LAPOR_BUILD_DIR must be defined"
#endif
#ifndef LAPOR_SOURCE_DIR
#error "LAPOR_SOURCE_DIR must be defined"
#endif

namespace lapor::testing {

namespace {
bool serving(const std::string& target) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  return stub->Check(&ctx, req, &resp).ok() &&
         resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}
}  // namespace

Stack::Stack(std::map<std::string, std::string> extra_env, ServiceEnv service_env) {
  brokers_ = requiredEnv("LAPOR_KAFKA_BROKERS");
  std::map<std::string, std::string> env{
      {"LAPOR_KAFKA_BROKERS", brokers_},
      {"LAPOR_REDIS_HOST", requiredEnv("LAPOR_REDIS_HOST")},
      {"LAPOR_REDIS_PORT", requiredEnv("LAPOR_REDIS_PORT")},
      // A prefix of its own so a second run against the same Redis starts clean.
      {"LAPOR_REDIS_PREFIX", "e2e-" + std::to_string(std::random_device{}()) + ":"},
      {"LAPOR_SERVICE_LOG_LEVEL", "info"},
      // Reports go straight to routing; the verification tests turn it on (a human step).
      {"LAPOR_VERIFICATION_CHANNELS", ""},
  };
  // The receiver the webhook agencies' items go to, with the secret notification signs with.
  const int receiver_port = freePort();
  env["LAPOR_DEMO_WEBHOOK_SECRET"] = "e2e-webhook-" + std::to_string(std::random_device{}());
  env["LAPOR_WEBHOOK_BASE_URL"] = "http://127.0.0.1:" + std::to_string(receiver_port);
  for (const auto& [k, v] : extra_env) env[k] = v;
  redis_prefix_ = env["LAPOR_REDIS_PREFIX"];
  env_ = env;
  receiver_ = std::make_unique<ChildProcess>(
      "webhook-receiver",
      std::vector<std::string>{LAPOR_BUILD_DIR "/tools/lapor-webhook-receiver", "--port",
                               std::to_string(receiver_port), "--secret-env",
                               "LAPOR_DEMO_WEBHOOK_SECRET"},
      std::map<std::string, std::string>{
          {"LAPOR_DEMO_WEBHOOK_SECRET", env["LAPOR_DEMO_WEBHOOK_SECRET"]}},
      runDir() + "/logs/e2e-webhook-receiver.log");
  const bool listening = waitFor(
      [&] {
        if (!receiver_->running()) return true;
        std::ifstream log(receiver_->logPath());
        std::string line;
        while (std::getline(log, line))
          if (line.find("receiver listening") != std::string::npos) return true;
        return false;
      },
      std::chrono::seconds(20));
  if (!listening || !receiver_->running())
    throw std::runtime_error("the webhook receiver did not start\n" + receiver_->logTail());
  const std::string bin = LAPOR_BUILD_DIR "/services/";
  const std::string cfg = LAPOR_SOURCE_DIR "/deploy/config/";
  auto start = [&](const char* name) {
    ServiceEndpoints ep{freePort(), freePort()};
    auto svc_env = env;
    svc_env["LAPOR_GRPC_PORT"] = std::to_string(ep.grpc_port);
    svc_env["LAPOR_METRICS_PORT"] = std::to_string(ep.metrics_port);
    for (const auto& [k, v] : service_env.by_service[name]) svc_env[k] = v;
    endpoints_[name] = ep;
    processes_[name] = std::make_unique<ChildProcess>(
        name,
        std::vector<std::string>{bin + name + "/lapor-" + name, "--config", cfg + name + ".yaml"},
        svc_env, runDir() + "/logs/e2e-" + name + ".log");
  };
  for (const char* name : kServices) start(name);
  for (const char* name : kServices) {
    for (int attempt = 1;; ++attempt) {
      auto& p = *processes_[name];
      bool up = waitFor(
          [&] {
            if (!p.running()) return true;
            return serving(endpoints_[name].grpc());
          },
          std::chrono::seconds(60), std::chrono::milliseconds(100));
      if (up && p.running()) break;
      // freePort() closes the socket it found a port with, so another process (an outgoing
      // connection's ephemeral port, say) can take it before the service binds it: such a
      // start is made again on new ports, up to three times in all.
      const auto tail = p.logTail();
      const bool port_taken =
          !p.running() && (tail.find("could not listen on") != std::string::npos ||
                           tail.find("binding to port") != std::string::npos);
      if (!port_taken || attempt == 3)
        throw std::runtime_error(std::string("service ") + name + " did not become ready\n" +
                                 tail);
      start(name);
    }
  }
}

Stack::~Stack() {
  stopAll();
}

std::string Stack::stopAll() {
  std::string problems;
  // Reverse order of the flow: nothing downstream is left waiting on a stopped upstream.
  for (auto it = std::rbegin(kServices); it != std::rend(kServices); ++it) {
    auto found = processes_.find(*it);
    if (found == processes_.end()) continue;
    auto& p = *found->second;
    auto st = p.signalAndWait(SIGTERM, std::chrono::seconds(20));
    if (!st) {
      problems += std::string(*it) + " did not stop within 20 s of SIGTERM\n" + p.logTail();
      p.signalAndWait(SIGKILL, std::chrono::seconds(5));
    } else if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0) {
      problems +=
          std::string(*it) + " exited with status " + std::to_string(*st) + "\n" + p.logTail();
    }
    processes_.erase(found);
  }
  if (receiver_) {
    auto st = receiver_->signalAndWait(SIGTERM, std::chrono::seconds(10));
    if (!st || !WIFEXITED(*st) || WEXITSTATUS(*st) != 0)
      problems += "the webhook receiver did not stop cleanly\n" + receiver_->logTail();
    receiver_.reset();
  }
  return problems;
}

std::string Stack::logs() const {
  std::string out;
  for (const auto& [name, p] : processes_) out += p->logTail(30);
  if (receiver_) out += receiver_->logTail(10);
  return out;
}

}  // namespace lapor::testing
