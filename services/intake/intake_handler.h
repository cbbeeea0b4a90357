// IntakeService edge: request in -> validation -> ids -> ComplaintSubmitted out -> reply.
#pragma once

#include "agencies/agency_directory.h"
#include "kafka/message.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "log/logger.h"
#include "redis/redis_client.h"
#include "time/clock.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>

namespace lapor::intake {

// Every intake stat in one place, prefix lapor_intake_.
struct IntakeMetrics {
  explicit IntakeMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& submitted;
  prometheus::Family<prometheus::Counter>& rejected;
  prometheus::Family<prometheus::Histogram>& submit_seconds;
  prometheus::Family<prometheus::Counter>& view_events;
};

class IntakeHandler final : public v1::IntakeService::Service {
 public:
  IntakeHandler(const agencies::AgencyDirectory& directory, redis::RedisClient& redis,
                kafka::MessageSink& events, const time::Clock& clock, log::Logger logger,
                IntakeMetrics& metrics, std::chrono::milliseconds produce_timeout);

  grpc::Status SubmitComplaint(grpc::ServerContext* ctx, const v1::SubmitComplaintRequest* req,
                               v1::SubmitComplaintResponse* resp) override;
  grpc::Status GetComplaint(grpc::ServerContext* ctx, const v1::GetComplaintRequest* req,
                            v1::ComplaintView* resp) override;

 private:
  std::string reserveTrackingId(const std::string& complaint_id);

  const agencies::AgencyDirectory& directory_;
  redis::RedisClient& redis_;
  kafka::MessageSink& events_;
  const time::Clock& clock_;
  log::Logger log_;
  IntakeMetrics& metrics_;
  std::chrono::milliseconds produce_timeout_;
};

// Builds intake's tracking view from lapor.complaints.v1, idempotent per event id, so a
// replay of the topic gives the same view.
class ViewHandler {
 public:
  ViewHandler(redis::RedisClient& redis, log::Logger logger, IntakeMetrics& metrics);
  kafka::HandleResult handle(const kafka::Message& msg);

 private:
  redis::RedisClient& redis_;
  log::Logger log_;
  IntakeMetrics& metrics_;
};

}  // namespace lapor::intake
