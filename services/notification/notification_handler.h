// Notification's edges: dispatch topics in -> the agency's feed in Redis (deduplicated by event
// id) -> AgencyService streams out; Acknowledge in -> lifecycle event out.
#pragma once

#include "agencies/agency_directory.h"
#include "kafka/message.h"
#include "lapor/v1/agency_service.grpc.pb.h"
#include "log/logger.h"
#include "redis/redis_client.h"
#include "time/clock.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>

namespace lapor::notification {

struct NotificationMetrics {
  explicit NotificationMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& received;
  prometheus::Family<prometheus::Counter>& duplicates;
  prometheus::Family<prometheus::Counter>& delivered;
  prometheus::Family<prometheus::Counter>& acknowledged;
  prometheus::Family<prometheus::Gauge>& streams;
};

// Consumes lapor.dispatch.<agency>.v1 and appends each new assignment to the agency's feed.
class DispatchHandler {
 public:
  DispatchHandler(const agencies::AgencyDirectory& directory, redis::RedisClient& redis,
                  log::Logger logger, NotificationMetrics& metrics);
  kafka::HandleResult handle(const kafka::Message& msg);

 private:
  const agencies::AgencyDirectory& directory_;
  redis::RedisClient& redis_;
  log::Logger log_;
  NotificationMetrics& metrics_;
};

class AgencyServiceImpl final : public v1::AgencyService::Service {
 public:
  AgencyServiceImpl(const agencies::AgencyDirectory& directory, redis::RedisClient& redis,
                    kafka::MessageSink& events, const time::Clock& clock, log::Logger logger,
                    NotificationMetrics& metrics, std::chrono::milliseconds produce_timeout);

  grpc::Status Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                         grpc::ServerWriter<v1::AgencyFeedItem>* writer) override;
  grpc::Status Acknowledge(grpc::ServerContext* ctx, const v1::AcknowledgeRequest* req,
                           v1::AcknowledgeResponse* resp) override;

 private:
  // First successful write of an assignment to its agency: record AssignmentDelivered once.
  void recordDelivered(const v1::DispatchItem& item, const std::string& trace_id);

  const agencies::AgencyDirectory& directory_;
  redis::RedisClient& redis_;
  kafka::MessageSink& events_;
  const time::Clock& clock_;
  log::Logger log_;
  NotificationMetrics& metrics_;
  std::chrono::milliseconds produce_timeout_;
};

}  // namespace lapor::notification
