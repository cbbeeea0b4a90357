// IntakeService edge: gRPC request in -> SubmissionService / ComplaintViews -> reply, with
// google.rpc error details (BadRequest, RetryInfo) in the status.
#pragma once

#include "complaint_views.h"
#include "kafka/message.h"
#include "lapor/v1/events.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "log/logger.h"
#include "submission.h"

#include <atomic>
#include <chrono>

namespace lapor::intake {

// The gRPC status for a field-level problem list, carrying a google.rpc.BadRequest.
grpc::Status invalidArgument(const std::string& message,
                             const std::vector<FieldViolation>& violations);

class IntakeHandler final : public v1::IntakeService::Service {
 public:
  IntakeHandler(SubmissionService& submissions, ComplaintViews& views, redis::RedisClient& redis,
                kafka::MessageSink& events, const time::Clock& clock, log::Logger logger,
                std::chrono::milliseconds produce_timeout);

  grpc::Status SubmitComplaint(grpc::ServerContext* ctx, const v1::SubmitComplaintRequest* req,
                               v1::SubmitComplaintResponse* resp) override;
  grpc::Status GetComplaint(grpc::ServerContext* ctx, const v1::GetComplaintRequest* req,
                            v1::ComplaintView* resp) override;
  grpc::Status ListComplaints(grpc::ServerContext* ctx, const v1::ListComplaintsRequest* req,
                              v1::ListComplaintsResponse* resp) override;
  grpc::Status WatchComplaint(grpc::ServerContext* ctx, const v1::WatchComplaintRequest* req,
                              grpc::ServerWriter<v1::TimelineEntry>* writer) override;
  grpc::Status AddFeedback(grpc::ServerContext* ctx, const v1::AddFeedbackRequest* req,
                           v1::AddFeedbackResponse* resp) override;
  grpc::Status ReopenComplaint(grpc::ServerContext* ctx, const v1::ReopenComplaintRequest* req,
                               v1::ReopenComplaintResponse* resp) override;

  // Ends every WatchComplaint stream (before the server shuts down).
  void stopStreams() { stopping_ = true; }

 private:
  struct Found {
    grpc::Status status;
    std::string complaint_id;
    std::string tracking_id;
  };
  Found find(const std::string& tracking_id);
  // Reserves the reporter's one follow-up (feedback or reopen) of the current answer; returns
  // the reservation's key, or nullopt when one was already made.
  std::optional<std::string> claimFollowUp(const v1::ComplaintView& view);
  // Produces the reporter's follow-up events and waits for Kafka, all or nothing to the caller.
  grpc::Status produce(const std::vector<v1::EventEnvelope>& events);

  SubmissionService& submissions_;
  ComplaintViews& views_;
  redis::RedisClient& redis_;
  kafka::MessageSink& events_;
  const time::Clock& clock_;
  log::Logger log_;
  std::chrono::milliseconds produce_timeout_;
  std::atomic<bool> stopping_{false};
};

}  // namespace lapor::intake
