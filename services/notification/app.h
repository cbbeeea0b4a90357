// Notification wiring: dispatch-topic consumer, agency feeds in Redis, AgencyService server
// (token-checked, TLS when configured), webhook sender, the tracker of kafka-channel agencies'
// consumer groups, and the event outbox.
#pragma once

#include "agencies/agency_directory.h"
#include "agency_access.h"
#include "app/service_settings.h"
#include "assignment_store.h"
#include "config/config.h"
#include "grpc/grpc_server.h"
#include "kafka/consumer.h"
#include "kafka/group_offsets.h"
#include "kafka_delivery_tracker.h"
#include "lifecycle_handler.h"
#include "kafka/producer.h"
#include "metrics/metrics_exposer.h"
#include "notification_handler.h"
#include "redis/redis_client.h"
#include "time/clock.h"
#include "webhook_sender.h"

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

namespace lapor::notification {

class NotificationApp {
 public:
  NotificationApp(const config::Config& cfg, const app::ServiceSettings& settings,
                  log::Logger logger, const app::CommandLine& cl);
  ~NotificationApp();
  void stop();
  // SIGHUP: reads the `access` section (tokens, webhooks) again; a bad file keeps the old one.
  void reload();

 private:
  void maintenance();

  log::Logger log_;
  std::string config_path_;
  std::filesystem::file_time_type config_mtime_{};
  agencies::AgencyDirectory directory_;
  AccessControl access_;
  KafkaDeliverySettings kafka_delivery_settings_;  // read early: a bad value stops the start
  metrics::MetricsExposer exposer_;
  NotificationMetrics metrics_;
  WebhookMetrics webhook_metrics_;
  time::SystemClock clock_;
  redis::RedisClient redis_;
  redis::RedisClient consumer_redis_;
  redis::RedisClient webhook_redis_;
  redis::RedisClient maintenance_redis_;
  redis::RedisClient kafka_delivery_redis_;
  kafka::Producer producer_;
  std::chrono::milliseconds produce_timeout_;
  std::chrono::milliseconds maintenance_interval_;
  AssignmentStore store_;
  AssignmentStore consumer_store_;
  AssignmentStore webhook_store_;
  AssignmentStore maintenance_store_;
  AssignmentStore kafka_delivery_store_;
  DispatchHandler dispatch_;
  LifecycleHandler lifecycle_;
  AgencyServiceImpl agency_service_;
  WebhookSender webhooks_;
  KafkaDeliveryMetrics kafka_delivery_metrics_;
  kafka::ConsumerGroupOffsets group_offsets_;
  KafkaDeliveryTracker kafka_delivery_;
  kafka::Consumer consumer_;
  std::unique_ptr<grpcx::GrpcServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread maintenance_thread_;
};

}  // namespace lapor::notification
