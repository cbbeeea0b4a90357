// Intake wiring: gRPC front door, the event producer, and the tracking-view consumer.
#pragma once

#include "agencies/agency_directory.h"
#include "app/service_settings.h"
#include "config/config.h"
#include "grpc/grpc_server.h"
#include "intake_handler.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "metrics/metrics_exposer.h"
#include "redis/redis_client.h"
#include "time/clock.h"

#include <memory>

namespace lapor::intake {

class IntakeApp {
 public:
  IntakeApp(const config::Config& cfg, const app::ServiceSettings& settings, log::Logger logger,
            const app::CommandLine& cl);
  void stop();
  int grpcPort() const { return server_->port(); }

 private:
  log::Logger log_;
  agencies::AgencyDirectory directory_;
  metrics::MetricsExposer exposer_;
  IntakeMetrics metrics_;
  time::SystemClock clock_;
  redis::RedisClient redis_;
  redis::RedisClient view_redis_;
  kafka::Producer producer_;
  IntakeHandler handler_;
  ViewHandler view_;
  kafka::Consumer view_consumer_;
  std::unique_ptr<grpcx::GrpcServer> server_;
};

}  // namespace lapor::intake
