// Builds intake's parts in dependency order; stop() takes them down in reverse.
#include "app.h"

namespace lapor::intake {

IntakeApp::IntakeApp(const config::Config& cfg, const app::ServiceSettings& s, log::Logger logger,
                     const app::CommandLine&)
    : log_(logger),
      directory_(
          agencies::AgencyDirectory::loadFile(cfg.getPath("agencies", "file", "agencies.yaml"))),
      exposer_(s.metrics_address),
      metrics_(exposer_.registry()),
      redis_(s.redis, logger),
      view_redis_(s.redis, logger),
      producer_(s.producer(), logger),
      handler_(directory_, redis_, producer_, clock_, logger, metrics_,
               s.produce_timeout + std::chrono::seconds(1)),
      view_(view_redis_, logger, metrics_),
      view_consumer_(s.consumer(cfg.getString("kafka", "view_group", "lapor-intake-view"),
                                {kafka::kComplaintsTopic}),
                     producer_, logger, &exposer_.registry()) {
  s.ensureTopics({kafka::kComplaintsTopic, kafka::kDeadLetterTopic});
  view_consumer_.start([this](const kafka::Message& m) { return view_.handle(m); });
  server_ = std::make_unique<grpcx::GrpcServer>(
      s.grpc, std::vector<grpcx::ServiceEntry>{{&handler_, v1::IntakeService::service_full_name()}},
      logger);
}

void IntakeApp::stop() {
  server_->shutdown(std::chrono::seconds(5));
  view_consumer_.stop();
  producer_.flush(std::chrono::seconds(10));
}

}  // namespace lapor::intake
