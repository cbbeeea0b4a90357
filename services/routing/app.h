// Routing wiring: lifecycle consumer, dispatch producer, RoutingAdmin server.
#pragma once

#include "agencies/agency_directory.h"
#include "app/service_settings.h"
#include "config/config.h"
#include "grpc/grpc_server.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "metrics/metrics_exposer.h"
#include "redis/redis_client.h"
#include "routing_handler.h"
#include "time/clock.h"

#include <memory>

namespace lapor::routing {

class RoutingApp {
 public:
  RoutingApp(const config::Config& cfg, const app::ServiceSettings& settings, log::Logger logger,
             const app::CommandLine& cl);
  void stop();
  // SIGHUP: read the rules file again; an invalid file is refused and the old rules stay.
  void reload();

 private:
  log::Logger log_;
  std::string rules_path_;
  agencies::AgencyDirectory directory_;
  RulesHolder rules_;
  metrics::MetricsExposer exposer_;
  RoutingMetrics metrics_;
  time::SystemClock clock_;
  redis::RedisClient redis_;
  kafka::Producer producer_;
  RoutingHandler handler_;
  RoutingAdminService admin_;
  kafka::Consumer consumer_;
  std::unique_ptr<grpcx::GrpcServer> server_;
};

}  // namespace lapor::routing
