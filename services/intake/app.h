// Intake wiring: gRPC front door, Open311 HTTP, the event producer, and the tracking-view
// consumer; `--rebuild-view` replays the topic into the view instead (see rebuildMain).
#pragma once

#include "agencies/agency_directory.h"
#include "app/service_settings.h"
#include "complaint_views.h"
#include "config/config.h"
#include "domain/response_time.h"
#include "grpc/grpc_server.h"
#include "intake_handler.h"
#include "intake_service.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "metrics/metrics_exposer.h"
#include "open311_handler.h"
#include "publishers.h"
#include "redis/redis_client.h"
#include "reporter_notifier.h"
#include "submission.h"
#include "time/clock.h"
#include "view_handler.h"

#include <memory>

namespace lapor::intake {

// Section expected_response: the SLA defaults per priority (see /deploy/config/intake.yaml).
ResponseTimes responseTimesFrom(const config::Config& cfg);

class IntakeApp {
 public:
  IntakeApp(const config::Config& cfg, const app::ServiceSettings& settings, log::Logger logger,
            const app::CommandLine& cl);
  void stop();
  // SIGHUP: read the operator credentials again.
  void reload() { operators_->reload(); }
  int grpcPort() const { return server_->port(); }

 private:
  log::Logger log_;
  agencies::AgencyDirectory directory_;
  metrics::MetricsExposer exposer_;
  IntakeMetrics metrics_;
  time::SystemClock clock_;
  PublisherRegistry publishers_;
  ResponseTimes response_times_;
  redis::RedisClient redis_;
  redis::RedisClient view_redis_;
  redis::RedisClient read_redis_;
  kafka::Producer producer_;
  SubmissionService submissions_;
  ComplaintViews views_;
  std::unique_ptr<auth::OperatorAccess> operators_;
  IntakeHandler handler_;
  IntakeGrpcService grpc_service_{handler_};  // what the gRPC server registers
  ViewHandler view_;
  kafka::Consumer view_consumer_;
  redis::RedisClient notify_redis_;
  redis::RedisClient notify_send_redis_;
  ReporterNotifyMetrics notify_metrics_;
  std::unique_ptr<ReporterNotifier> notifier_;
  std::unique_ptr<kafka::Consumer> notify_consumer_;
  std::unique_ptr<Open311Server> open311_;
  std::unique_ptr<grpcx::GrpcServer> server_;
};

// The --rebuild-view mode (flags already parsed): returns the process exit code.
int rebuildMain(const app::CommandLine& cl);

}  // namespace lapor::intake
