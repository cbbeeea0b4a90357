// Notification wiring: dispatch-topic consumer, agency feeds in Redis, AgencyService server.
#pragma once

#include "agencies/agency_directory.h"
#include "app/service_settings.h"
#include "config/config.h"
#include "grpc/grpc_server.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "metrics/metrics_exposer.h"
#include "notification_handler.h"
#include "redis/redis_client.h"
#include "time/clock.h"

#include <memory>

namespace lapor::notification {

class NotificationApp {
 public:
  NotificationApp(const config::Config& cfg, const app::ServiceSettings& settings,
                  log::Logger logger, const app::CommandLine& cl);
  void stop();

 private:
  log::Logger log_;
  agencies::AgencyDirectory directory_;
  metrics::MetricsExposer exposer_;
  NotificationMetrics metrics_;
  time::SystemClock clock_;
  redis::RedisClient redis_;
  redis::RedisClient consumer_redis_;
  kafka::Producer producer_;
  DispatchHandler dispatch_;
  AgencyServiceImpl agency_service_;
  kafka::Consumer consumer_;
  std::unique_ptr<grpcx::GrpcServer> server_;
};

}  // namespace lapor::notification
