// Builds notification's parts; it reads the dispatch topic of every agency in the directory.
#include "app.h"

namespace lapor::notification {

namespace {
std::vector<std::string> dispatchTopics(const agencies::AgencyDirectory& d) {
  std::vector<std::string> out;
  for (const auto& a : d.agencies()) out.push_back(kafka::dispatchTopic(a.id));
  return out;
}
}  // namespace

NotificationApp::NotificationApp(const config::Config& cfg, const app::ServiceSettings& s,
                                 log::Logger logger, const app::CommandLine&)
    : log_(logger),
      directory_(
          agencies::AgencyDirectory::loadFile(cfg.getPath("agencies", "file", "agencies.yaml"))),
      exposer_(s.metrics_address),
      metrics_(exposer_.registry()),
      redis_(s.redis, logger),
      consumer_redis_(s.redis, logger),
      producer_(s.producer(), logger),
      dispatch_(directory_, consumer_redis_, logger, metrics_),
      agency_service_(directory_, redis_, producer_, clock_, logger, metrics_,
                      s.produce_timeout + std::chrono::seconds(1)),
      consumer_(s.consumer(cfg.getString("kafka", "group", "lapor-notification"),
                           dispatchTopics(directory_)),
                producer_, logger, &exposer_.registry()) {
  auto topics = dispatchTopics(directory_);
  topics.push_back(kafka::kComplaintsTopic);
  topics.push_back(kafka::kDeadLetterTopic);
  s.ensureTopics(topics);
  consumer_.start([this](const kafka::Message& m) { return dispatch_.handle(m); });
  server_ = std::make_unique<grpcx::GrpcServer>(
      s.grpc,
      std::vector<grpcx::ServiceEntry>{{&agency_service_, v1::AgencyService::service_full_name()}},
      logger);
}

void NotificationApp::stop() {
  server_->shutdown(std::chrono::seconds(3));
  consumer_.stop();
  producer_.flush(std::chrono::seconds(10));
}

}  // namespace lapor::notification
