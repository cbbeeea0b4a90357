// Routing wiring: transactional lifecycle processor, command producer, RoutingAdmin server,
// rule reloads on SIGHUP and on file change.
#pragma once

#include "agencies/agency_directory.h"
#include "auth/operator_access.h"
#include "app/service_settings.h"
#include "config/config.h"
#include "grpc/grpc_server.h"
#include "kafka/producer.h"
#include "kafka/transactional_processor.h"
#include "metrics/metrics_exposer.h"
#include "redis/redis_client.h"
#include "routing_handler.h"
#include "time/clock.h"

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

namespace lapor::routing {

class RoutingApp {
 public:
  RoutingApp(const config::Config& cfg, const app::ServiceSettings& settings, log::Logger logger,
             const app::CommandLine& cl);
  ~RoutingApp();
  void stop();
  // SIGHUP: read the rules file again; an invalid file is refused and the old rules stay.
  void reload();

 private:
  void watchFile(std::chrono::milliseconds interval);

  log::Logger log_;
  std::string rules_path_;
  agencies::AgencyDirectory directory_;
  RulesHolder rules_;
  metrics::MetricsExposer exposer_;
  RoutingMetrics metrics_;
  time::SystemClock clock_;
  redis::RedisClient redis_;
  RoutingStore store_;
  ComplaintRouter router_;
  kafka::Producer commands_;
  RoutingHandler handler_;
  std::unique_ptr<auth::OperatorAccess> operators_;
  RoutingAdminService admin_;
  kafka::TransactionalProcessor processor_;
  std::unique_ptr<grpcx::GrpcServer> server_;
  std::mutex reload_mu_;
  std::filesystem::file_time_type loaded_mtime_{};
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace lapor::routing
