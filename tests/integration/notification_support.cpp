// See notification_support.h.
#include "notification_support.h"

#include "agency_access.h"
#include "auth/sha256.h"
#include "events/envelope.h"
#include "kafka/producer.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#ifndef LAPOR_BUILD_DIR
#error "LAPOR_BUILD_DIR must be defined"
#endif
#ifndef LAPOR_SOURCE_DIR
#error "LAPOR_SOURCE_DIR must be defined"
#endif

namespace lapor::integration {


NotificationProcess::NotificationProcess(NotificationOptions options, bool start_now)
    : prefix_(uniqueName("notif-it") + ":"), group_(uniqueName("notif-it")) {
  config_path_ = testing::runDir() + "/" + uniqueName("notification") + ".yaml";
  rewriteConfig(options);
  if (start_now) start();
}

NotificationProcess::~NotificationProcess() {
  if (process_) stop();
}

std::string agencyDirectoryFor(const NotificationOptions& options, const std::string& name) {
  const std::string shipped = LAPOR_SOURCE_DIR "/deploy/config/agencies.yaml";
  if (options.shipped_directory) return shipped;
  auto root = YAML::LoadFile(shipped);
  for (auto a : root["agencies"]) {
    auto it = options.delivery.find(a["id"].as<std::string>());
    a["delivery"] = YAML::Load(it == options.delivery.end() ? "{channel: stream}" : it->second);
  }
  YAML::Emitter e;
  e << root;
  const auto path = testing::runDir() + "/" + name + "-agencies.yaml";
  std::ofstream(path) << e.c_str() << "\n";
  return path;
}

void NotificationProcess::rewriteConfig(const NotificationOptions& options) {
  options_ = options;
  const auto directory = agencyDirectoryFor(options, group_);
  std::ofstream out(config_path_ + ".tmp");
  out << "agencies:\n  file: " << directory << "\n"
      << "  reload_interval: 200ms\n"
      << "webhook:\n  poll_interval: 50ms\n"
      << options.extra_yaml << "\naccess:\n";
  for (const auto& [agency, token] : options.tokens)
    out << "  " << agency << ":\n    tokens: [" << auth::sha256Hex(token) << "]\n";
  out << options.extra_access_yaml;
  out.close();
  std::rename((config_path_ + ".tmp").c_str(), config_path_.c_str());
}

void NotificationProcess::start() {
  launch();
  // Up once the service says so: its gRPC server is listening by then.
  const bool up = waitFor(
      [&] {
        if (!process_->running()) return true;
        std::ifstream log(process_->logPath());
        std::string line;
        while (std::getline(log, line))
          if (line.find("service started") != std::string::npos) return true;
        return false;
      },
      std::chrono::seconds(60));
  if (!up || !process_->running())
    throw std::runtime_error("lapor-notification did not start\n" + process_->logTail());
}

std::optional<int> NotificationProcess::runExpectingExit(std::chrono::milliseconds timeout) {
  launch();
  const bool exited = waitFor([&] { return !process_->running(); }, timeout);
  if (!exited) {
    stop();
    return std::nullopt;
  }
  auto st = process_->signalAndWait(0, std::chrono::seconds(1));
  process_.reset();
  if (!st || !WIFEXITED(*st)) return std::nullopt;
  return WEXITSTATUS(*st);
}

std::string NotificationProcess::log() const {
  std::ifstream in(last_log_);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void NotificationProcess::launch() {
  // The same ports on a restart, so clients reconnect to the new process.
  if (grpc_port_ == 0) grpc_port_ = testing::freePort();
  if (metrics_port_ == 0) metrics_port_ = testing::freePort();
  std::map<std::string, std::string> env{
      {"LAPOR_KAFKA_BROKERS", testing::requiredEnv("LAPOR_KAFKA_BROKERS")},
      {"LAPOR_REDIS_HOST", testing::requiredEnv("LAPOR_REDIS_HOST")},
      {"LAPOR_REDIS_PORT", testing::requiredEnv("LAPOR_REDIS_PORT")},
      {"LAPOR_REDIS_PREFIX", prefix_},
      {"LAPOR_KAFKA_GROUP", group_},
      {"LAPOR_GRPC_PORT", std::to_string(grpc_port_)},
      {"LAPOR_METRICS_PORT", std::to_string(metrics_port_)},
  };
  for (const auto& [k, v] : options_.env) env[k] = v;
  process_ = std::make_unique<testing::ChildProcess>(
      "notification",
      std::vector<std::string>{LAPOR_BUILD_DIR "/services/notification/lapor-notification",
                               "--config", config_path_},
      env, testing::runDir() + "/logs/" + group_ + "-" + std::to_string(++starts_) + ".log");
  last_log_ = process_->logPath();
}

void NotificationProcess::stop(int sig) {
  if (!process_) return;
  auto st = process_->signalAndWait(sig, std::chrono::seconds(20));
  if (!st) process_->signalAndWait(SIGKILL, std::chrono::seconds(5));
  process_.reset();
}

void NotificationProcess::signal(int sig) {
  ::kill(process_->pid(), sig);
}

std::string NotificationProcess::logTail() const {
  return process_ ? process_->logTail(60) : "";
}

std::unique_ptr<v1::AgencyService::Stub> NotificationProcess::stub(
    const std::string& root_pem) const {
  if (root_pem.empty())
    return v1::AgencyService::NewStub(
        grpc::CreateChannel(target(), grpc::InsecureChannelCredentials()));
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = root_pem;
  return v1::AgencyService::NewStub(grpc::CreateChannel(target(), grpc::SslCredentials(o)));
}

std::unique_ptr<grpc::ClientContext> agencyContext(const std::string& token,
                                                   std::chrono::milliseconds timeout) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
  return c;
}

v1::EventEnvelope dispatchEnvelope(const std::string& agency, const std::string& complaint_id,
                                   const std::string& title, v1::DispatchKind kind,
                                   const std::string& assignment_id) {
  auto env = events::makeEnvelope("routing", complaint_id, "trace-" + complaint_id, 1,
                                  events::newUuid());
  auto* item = env.mutable_dispatched()->mutable_item();
  item->set_kind(kind);
  auto* a = item->mutable_assignment();
  a->set_assignment_id(assignment_id.empty() ? events::newUuid() : assignment_id);
  a->set_complaint_id(complaint_id);
  a->set_agency_id(agency);
  a->set_role(v1::ASSIGNMENT_ROLE_LEAD);
  a->set_state(v1::ASSIGNMENT_STATE_DISPATCHED);
  auto* c = item->mutable_complaint();
  c->set_complaint_id(complaint_id);
  c->set_tracking_id("LPR-TEST-0000-X");
  c->set_category("fire");
  c->set_priority(v1::PRIORITY_EMERGENCY);
  c->set_title(title);
  c->set_description("uji");
  return env;
}

v1::ConfirmDeliveryRequest confirmation(const std::string& agency, const std::string& cursor,
                                        const std::string& stream_id) {
  v1::ConfirmDeliveryRequest c;
  c.set_agency_id(agency);
  c.set_cursor(cursor);
  c.set_stream_id(stream_id);
  return c;
}

int32_t produceDispatch(const v1::EventEnvelope& env) {
  static kafka::Producer producer(
      [] {
        kafka::ProducerOptions o;
        o.brokers = testing::requiredEnv("LAPOR_KAFKA_BROKERS");
        o.client_id = "notif-it";
        return o;
      }(),
      log::Logger("test"));
  auto rep = producer.produceAndWait(
      events::toMessage(kafka::dispatchTopic(env.dispatched().item().assignment().agency_id()),
                        env),
      std::chrono::seconds(15));
  EXPECT_TRUE(rep.ok) << rep.error;
  return rep.partition;
}

double metricValue(int port, const std::string& series) {
  httplib::Client metrics("127.0.0.1", port);
  auto res = metrics.Get("/metrics");
  if (!res) return -1;
  auto at = res->body.find(series + " ");
  return at == std::string::npos ? 0 : std::stod(res->body.substr(at + series.size() + 1));
}

std::vector<v1::EventEnvelope> lifecycleOf(TopicReader& reader, const std::string& complaint_id) {
  std::vector<v1::EventEnvelope> out;
  for (const auto& m : reader.seen()) {
    if (m.key != complaint_id) continue;
    v1::EventEnvelope env;
    if (env.ParseFromString(m.value)) out.push_back(env);
  }
  return out;
}

}  // namespace lapor::integration
