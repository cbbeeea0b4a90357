// SLA monitor wiring: lifecycle consumer, timer scheduler, SlaService server.
#pragma once

#include "agencies/agency_directory.h"
#include "app/service_settings.h"
#include "config/config.h"
#include "domain/work_calendar.h"
#include "grpc/grpc_server.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "metrics/metrics_exposer.h"
#include "obligation_store.h"
#include "redis/redis_client.h"
#include "sla_handler.h"
#include "time/clock.h"

#include <memory>

namespace lapor::sla {

// `calendar.zone` and `calendar.holidays_file` (relative to the config file).
WorkCalendar calendarFromConfig(const config::Config& cfg);

class SlaMonitorApp {
 public:
  SlaMonitorApp(const config::Config& cfg, const app::ServiceSettings& settings, log::Logger logger,
                const app::CommandLine& cl);
  void stop();
  // SIGHUP: read the operator credentials again.
  void reload() { operators_->reload(); }

 private:
  log::Logger log_;
  SlaPolicy policy_;
  WorkCalendar calendar_;
  agencies::AgencyDirectory directory_;
  metrics::MetricsExposer exposer_;
  SlaMetrics metrics_;
  time::SystemClock clock_;
  redis::RedisClient redis_;
  ObligationStore store_;
  kafka::Producer producer_;
  LifecycleHandler handler_;
  TimerScheduler scheduler_;
  std::unique_ptr<auth::OperatorAccess> operators_;
  SlaServiceImpl service_;
  kafka::Consumer consumer_;
  std::unique_ptr<grpcx::GrpcServer> server_;
};

}  // namespace lapor::sla
