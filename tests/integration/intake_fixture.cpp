// Starting intake processes and talking to them like a publisher would.
#include "intake_fixture.h"

#include "google/rpc/status.pb.h"
#include "auth/sha256.h"
#include "domain/tracking_id.h"
#include "publishers.h"
#include "topic_reader.h"
#include "wait.h"

#include <fstream>
#include <random>
#include <stdexcept>

#ifndef LAPOR_BUILD_DIR
#error "LAPOR_BUILD_DIR must be defined"
#endif
#ifndef LAPOR_SOURCE_DIR
#error "LAPOR_SOURCE_DIR must be defined"
#endif

namespace lapor::integration {

namespace {

const std::string& configPath() {
  static const std::string path = [] {
    const auto p = testing::runDir() + "/intake-integration.yaml";
    std::ofstream out(p);
    out << "service: {log_level: info}\n"
        << "kafka: {produce_timeout: 3s}\n"
        << "grpc: {max_message_bytes: 65536}\n"
        << "agencies: {file: " << LAPOR_SOURCE_DIR << "/deploy/config/agencies.yaml}\n"
        << "operators: {file: " << LAPOR_SOURCE_DIR << "/deploy/config/operators.yaml}\n"
        << "publishers:\n"
        << "  - {id: partner, key_sha256: " << auth::sha256Hex(kPartnerKey) << ", rate_limit: 10000}\n"
        << "  - {id: limited, key_sha256: " << auth::sha256Hex(kLimitedKey)
        << ", rate_limit: " << kLimitedRate << "}\n"
        << "auth: {allow_keyless: true, keyless_rate_limit: 10000, rate_window: 60s}\n"
        << "open311: {enabled: true, host: 127.0.0.1}\n";
    return p;
  }();
  return path;
}

template <class T>
std::optional<T> detailOf(const grpc::Status& s) {
  google::rpc::Status st;
  if (s.error_details().empty() || !st.ParseFromString(s.error_details())) return std::nullopt;
  for (const auto& any : st.details()) {
    T out;
    if (any.UnpackTo(&out)) return out;
  }
  return std::nullopt;
}
}  // namespace

std::string brokers() {
  return testing::requiredEnv("LAPOR_KAFKA_BROKERS");
}

std::string absentTrackingId() {
  return intake::TrackingId::generate();
}

std::string freshPrefix() {
  return "it-intake-" + std::to_string(std::random_device{}()) + ":";
}

IntakeProcess::IntakeProcess(const std::string& name, const std::string& prefix,
                             std::map<std::string, std::string> extra_env,
                             const std::string& config_path)
    : grpc_port_(testing::freePort()), open311_port_(testing::freePort()) {
  std::map<std::string, std::string> env{
      {"LAPOR_KAFKA_BROKERS", brokers()},
      {"LAPOR_REDIS_HOST", testing::requiredEnv("LAPOR_REDIS_HOST")},
      {"LAPOR_REDIS_PORT", testing::requiredEnv("LAPOR_REDIS_PORT")},
      {"LAPOR_REDIS_PREFIX", prefix},
      // A group of its own: the view of this prefix sees every event of the topic.
      {"LAPOR_KAFKA_VIEW_GROUP", "it-intake-view-" + prefix + name},
      {"LAPOR_KAFKA_NOTIFY_GROUP", "it-intake-notify-" + prefix + name},
      {"LAPOR_GRPC_PORT", std::to_string(grpc_port_)},
      {"LAPOR_METRICS_PORT", std::to_string(testing::freePort())},
      {"LAPOR_OPEN311_PORT", std::to_string(open311_port_)},
  };
  for (const auto& [k, v] : extra_env) env[k] = v;
  const auto log = testing::runDir() + "/logs/it-intake-" + name + "-" +
                   std::to_string(std::random_device{}()) + ".log";
  process_ = std::make_unique<testing::ChildProcess>(
      "intake-" + name,
      std::vector<std::string>{LAPOR_BUILD_DIR "/services/intake/lapor-intake", "--config",
                               config_path.empty() ? configPath() : config_path},
      env, log);
  const bool ready = testing::waitFor(
      [&] {
        return !process_->running() || process_->log().find("intake ready") != std::string::npos;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(50));
  if (!ready || !process_->running())
    throw std::runtime_error("intake " + name + " did not become ready\n" + process_->logTail());
}

SharedIntakes& shared() {
  static const auto instances = [] {
    const auto prefix = freshPrefix();
    return std::unique_ptr<SharedIntakes>(
        new SharedIntakes{prefix, IntakeProcess("a", prefix), IntakeProcess("b", prefix)});
  }();
  return *instances;
}

std::unique_ptr<v1::IntakeService::Stub> IntakeProcess::stub() const {
  return v1::IntakeService::NewStub(
      grpc::CreateChannel(grpcTarget(), grpc::InsecureChannelCredentials()));
}

std::unique_ptr<grpc::ClientContext> call(const std::string& api_key,
                                          std::chrono::milliseconds timeout) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  if (!api_key.empty()) c->AddMetadata("x-api-key", api_key);
  return c;
}

std::optional<google::rpc::BadRequest> badRequestOf(const grpc::Status& s) {
  return detailOf<google::rpc::BadRequest>(s);
}

std::optional<google::rpc::RetryInfo> retryInfoOf(const grpc::Status& s) {
  return detailOf<google::rpc::RetryInfo>(s);
}

v1::SubmitComplaintRequest validComplaint(const std::string& ref) {
  v1::SubmitComplaintRequest r;
  r.set_channel(v1::CHANNEL_EXTERNAL);
  r.set_category("road-damage");
  r.set_priority(v1::PRIORITY_NORMAL);
  r.set_title("Jalan berlubang di depan pasar");
  r.set_description("Lubang besar di Jl. Yos Sudarso, sudah dua minggu belum diperbaiki.");
  auto* loc = r.mutable_location();
  loc->set_has_coordinates(true);
  loc->set_lat(0.5089);
  loc->set_lon(117.5450);
  loc->set_kecamatan("Sangatta Utara");
  r.set_external_ref(ref);
  return r;
}

std::vector<v1::EventEnvelope> submittedWithRef(const std::string& ref) {
  testing::TopicReader reader(brokers(), "lapor.complaints.v1");
  if (!reader.readToEnd(std::chrono::seconds(30)))
    throw std::runtime_error("could not read lapor.complaints.v1 to its end");
  std::vector<v1::EventEnvelope> out;
  for (const auto& m : reader.seen()) {
    v1::EventEnvelope env;
    if (env.ParseFromString(m.value) && env.has_submitted() &&
        env.submitted().complaint().external_ref() == ref)
      out.push_back(env);
  }
  return out;
}

}  // namespace lapor::integration
