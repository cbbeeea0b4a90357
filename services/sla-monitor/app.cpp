// Builds the monitor's parts; timers live in Redis, so a restart picks up where it left off.
#include "app.h"

namespace lapor::sla {

SlaMonitorApp::SlaMonitorApp(const config::Config& cfg, const app::ServiceSettings& s,
                             log::Logger logger, const app::CommandLine&)
    : log_(logger),
      policy_(SlaPolicy::fromConfig(cfg)),
      exposer_(s.metrics_address),
      metrics_(exposer_.registry()),
      redis_(s.redis, logger),
      store_(redis_),
      producer_(s.producer(), logger),
      handler_(store_, policy_, clock_, logger, metrics_),
      scheduler_(store_, producer_, clock_, logger, metrics_,
                 cfg.getDuration("sla", "tick", std::chrono::milliseconds(250)),
                 s.produce_timeout + std::chrono::seconds(1)),
      service_(store_),
      consumer_(s.consumer(cfg.getString("kafka", "group", "lapor-sla-monitor"),
                           {kafka::kComplaintsTopic}),
                producer_, logger, &exposer_.registry()) {
  s.ensureTopics({kafka::kComplaintsTopic, kafka::kDeadLetterTopic});
  consumer_.start([this](const kafka::Message& m) { return handler_.handle(m); });
  scheduler_.start();
  server_ = std::make_unique<grpcx::GrpcServer>(
      s.grpc, std::vector<grpcx::ServiceEntry>{{&service_, v1::SlaService::service_full_name()}},
      logger);
}

void SlaMonitorApp::stop() {
  server_->shutdown(std::chrono::seconds(5));
  scheduler_.stop();
  consumer_.stop();
  producer_.flush(std::chrono::seconds(10));
}

}  // namespace lapor::sla
