// Builds routing's parts; topics for every agency exist before the first dispatch.
#include "app.h"

namespace lapor::routing {

RoutingApp::RoutingApp(const config::Config& cfg, const app::ServiceSettings& s, log::Logger logger,
                       const app::CommandLine&)
    : log_(logger),
      rules_path_(cfg.getPath("agencies", "file", "agencies.yaml")),
      directory_(agencies::AgencyDirectory::loadFile(rules_path_)),
      rules_(std::make_shared<const RuleSet>(RuleSet::fromDirectory(directory_))),
      exposer_(s.metrics_address),
      metrics_(exposer_.registry()),
      redis_(s.redis, logger),
      producer_(s.producer(), logger),
      handler_(rules_, redis_, producer_, clock_, logger, metrics_,
               s.produce_timeout + std::chrono::seconds(1)),
      admin_(rules_, directory_),
      consumer_(
          s.consumer(cfg.getString("kafka", "group", "lapor-routing"), {kafka::kComplaintsTopic}),
          producer_, logger, &exposer_.registry()) {
  std::vector<std::string> topics{kafka::kComplaintsTopic, kafka::kDeadLetterTopic};
  for (const auto& a : directory_.agencies()) topics.push_back(kafka::dispatchTopic(a.id));
  s.ensureTopics(topics);
  log_.info("rules loaded", {{"source", rules_path_},
                             {"version", directory_.version()},
                             {"rules", rules_.get()->size()}});
  consumer_.start([this](const kafka::Message& m) { return handler_.handle(m); });
  server_ = std::make_unique<grpcx::GrpcServer>(
      s.grpc, std::vector<grpcx::ServiceEntry>{{&admin_, v1::RoutingAdmin::service_full_name()}},
      logger);
}

void RoutingApp::reload() {
  try {
    auto dir = agencies::AgencyDirectory::loadFile(rules_path_);
    auto rules = std::make_shared<const RuleSet>(RuleSet::fromDirectory(dir));
    // New agencies need a restart (their topics and consumers); rules change in place.
    rules_.set(rules);
    log_.info("rules reloaded", {{"version", rules->version()}, {"rules", rules->size()}});
  } catch (const std::exception& e) {
    log_.error("rules reload refused, keeping the old rules", {{"error", e.what()}});
  }
}

void RoutingApp::stop() {
  server_->shutdown(std::chrono::seconds(5));
  consumer_.stop();
  producer_.flush(std::chrono::seconds(10));
}

}  // namespace lapor::routing
