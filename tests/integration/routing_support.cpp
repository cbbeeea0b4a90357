// See routing_support.h.
#include "routing_support.h"

#include "events/envelope.h"
#include "integration_support.h"
#include "kafka/message.h"
#include "routing_handler.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <librdkafka/rdkafka.h>

#include <fstream>
#include <stdexcept>

#ifndef LAPOR_BUILD_DIR
#error "LAPOR_BUILD_DIR must be defined"
#endif
#ifndef LAPOR_SOURCE_DIR
#error "LAPOR_SOURCE_DIR must be defined"
#endif

namespace lapor::integration {

namespace {
// Commits the group's offsets at the high watermark of every partition of `topics`.
void commitAtEnd(const std::string& brokers, const std::string& group,
                 const std::vector<std::string>& topics) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err), [](rd_kafka_t* h) {
        rd_kafka_consumer_close(h);
        rd_kafka_destroy(h);
      });
  if (!rk) throw std::runtime_error(err);
  auto* list = rd_kafka_topic_partition_list_new(8);
  for (const auto& t : topics) {
    const int n = partitionCount(brokers, t);
    for (int p = 0; p < n; ++p) {
      int64_t lo = 0, hi = 0;
      if (rd_kafka_query_watermark_offsets(rk.get(), t.c_str(), p, &lo, &hi, 10000))
        throw std::runtime_error("watermarks of " + t);
      rd_kafka_topic_partition_list_add(list, t.c_str(), p)->offset = hi;
    }
  }
  auto e = list->cnt ? rd_kafka_commit(rk.get(), list, 0) : RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_topic_partition_list_destroy(list);
  if (e) throw std::runtime_error(std::string("commit at end: ") + rd_kafka_err2str(e));
}
}  // namespace

std::string shippedAgencies() {
  return LAPOR_SOURCE_DIR "/deploy/config/agencies.yaml";
}

RoutingRun newRoutingRun(const std::string& agencies_file) {
  RoutingRun run;
  run.group = uniqueName("lapor-routing-test");
  run.redis_prefix = uniqueName("routing-test") + ":";
  run.agencies_file = agencies_file;
  const auto brokers = testing::requiredEnv("LAPOR_KAFKA_BROKERS");
  // Topics may not exist yet on a fresh broker: routing creates them; an absent topic simply
  // has nothing to skip.
  std::vector<std::string> existing;
  for (const std::string t : {kafka::kComplaintsTopic, routing::kCommandsTopic})
    if (partitionCount(brokers, t) > 0) existing.push_back(t);
  commitAtEnd(brokers, run.group, existing);
  return run;
}

RoutingInstance::RoutingInstance(const RoutingRun& run, const std::string& instance) {
  const int grpc_port = testing::freePort();
  metrics_port_ = testing::freePort();
  std::map<std::string, std::string> env{
      {"LAPOR_KAFKA_BROKERS", testing::requiredEnv("LAPOR_KAFKA_BROKERS")},
      {"LAPOR_KAFKA_GROUP", run.group},
      {"LAPOR_KAFKA_SESSION_TIMEOUT", "6s"},
      {"LAPOR_REDIS_HOST", testing::requiredEnv("LAPOR_REDIS_HOST")},
      {"LAPOR_REDIS_PORT", testing::requiredEnv("LAPOR_REDIS_PORT")},
      {"LAPOR_REDIS_PREFIX", run.redis_prefix},
      {"LAPOR_ROUTING_INSTANCE_ID", run.group + "-" + instance},
      {"LAPOR_AGENCIES_FILE", run.agencies_file},
      // Reports go straight to routing; the verification tests turn it on.
      {"LAPOR_VERIFICATION_CHANNELS", ""},
      // logLines() counts the per-complaint lines, which are logged at debug.
      {"LAPOR_SERVICE_LOG_LEVEL", "debug"},
      {"LAPOR_GRPC_PORT", std::to_string(grpc_port)},
      {"LAPOR_METRICS_PORT", std::to_string(metrics_port_)},
  };
  for (const auto& [k, v] : run.extra_env) env[k] = v;
  process_ = std::make_unique<testing::ChildProcess>(
      "routing-" + instance,
      std::vector<std::string>{LAPOR_BUILD_DIR "/services/routing/lapor-routing", "--config",
                               LAPOR_SOURCE_DIR "/deploy/config/routing.yaml"},
      env, testing::runDir() + "/logs/" + run.group + "-" + instance + ".log");
  address_ = "127.0.0.1:" + std::to_string(grpc_port);
  stub_ = v1::RoutingAdmin::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  const bool up = waitFor(
      [&] {
        if (!process_->running()) return true;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
        ctx.AddMetadata("authorization", "Bearer lapor-demo-operator");
        v1::GetRulesRequest req;
        v1::GetRulesResponse resp;
        return stub_->GetRules(&ctx, req, &resp).ok();
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100));
  if (!up || !process_->running())
    throw std::runtime_error("routing " + instance + " did not start\n" + process_->logTail());
}

std::string RoutingInstance::metrics() const {
  httplib::Client http("127.0.0.1", metrics_port_);
  http.set_read_timeout(2, 0);
  auto res = http.Get("/metrics");
  return res && res->status == 200 ? res->body : "";
}

size_t RoutingInstance::logLines(const std::string& text) const {
  std::ifstream in(process_->logPath());
  size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find(text) != std::string::npos) ++n;
  return n;
}

v1::EventEnvelope submittedEnvelope(const std::string& category, const std::string& kecamatan,
                                    const std::string& description) {
  const auto id = events::newUuid();
  auto env = events::makeEnvelope("intake", id, "", 1'700'000'000'000, "submitted-" + id);
  auto* c = env.mutable_submitted()->mutable_complaint();
  c->set_complaint_id(id);
  c->set_tracking_id("LPR-" + id.substr(0, 8));
  c->set_category(category);
  c->set_priority(v1::PRIORITY_HIGH);
  c->set_title("Laporan " + category);
  c->set_description(description);
  c->mutable_location()->set_kecamatan(kecamatan);
  c->set_submitted_at_ms(1'700'000'000'000);
  return env;
}

}  // namespace lapor::integration
