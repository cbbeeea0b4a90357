// IntakeService edge: gRPC request in -> SubmissionService / ComplaintViews -> reply, with
// google.rpc error details (BadRequest, RetryInfo) in the status.
#pragma once

#include "auth/operator_access.h"
#include "complaint_views.h"
#include "kafka/message.h"
#include "lapor/v1/events.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "log/logger.h"
#include "submission.h"

#include <atomic>
#include <functional>
#include <chrono>

namespace lapor::intake {

// The gRPC status for a field-level problem list, carrying a google.rpc.BadRequest.
grpc::Status invalidArgument(const std::string& message,
                             const std::vector<FieldViolation>& violations);

class IntakeHandler final : public v1::IntakeService::Service {
 public:
  IntakeHandler(SubmissionService& submissions, ComplaintViews& views, redis::RedisClient& redis,
                kafka::MessageSink& events, const time::Clock& clock, log::Logger logger,
                std::chrono::milliseconds produce_timeout, const PublisherRegistry& publishers,
                const auth::OperatorAccess& operators);

  grpc::Status SubmitComplaint(grpc::ServerContext* ctx, const v1::SubmitComplaintRequest* req,
                               v1::SubmitComplaintResponse* resp) override;
  grpc::Status SubmitComplaints(grpc::ServerContext* ctx, const v1::SubmitComplaintsRequest* req,
                                v1::SubmitComplaintsResponse* resp) override;
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
  grpc::Status AnswerAgency(grpc::ServerContext* ctx, const v1::AnswerAgencyRequest* req,
                            v1::AnswerAgencyResponse* resp) override;

  // Ends every WatchComplaint stream (before the server shuts down).
  void stopStreams() { stopping_ = true; }

 private:
  struct Found {
    grpc::Status status;
    std::string complaint_id;
    std::string tracking_id;
  };
  Found find(const std::string& tracking_id);
  // Only the reporter acts on its complaint: with the reporter secret, or through the publisher
  // that submitted it (its x-api-key).
  grpc::Status authorizeReporter(const grpc::ServerContext& ctx, const std::string& complaint_id,
                                 const std::string& secret);
  // Reserves the reporter's one follow-up (feedback or reopen) of the current answer.
  struct FollowUpClaim {
    enum class Kind { Mine, Taken };
    Kind kind;
    std::string key;
  };
  FollowUpClaim claimFollowUp(const v1::ComplaintView& view, const std::string& request_id);
  std::string requestKey(const std::string& complaint_id, const std::string& request_id) const;
  v1::EventEnvelope followUpEvent(const std::string& complaint_id, const std::string& trace,
                                  const std::string& name, const std::string& request_id) const;
  // A follow-up of the reporter: allowed in the view's current status, once per answer, and
  // once per request id (a retry produces the same events again).
  grpc::Status followUp(const Found& f, const std::string& request_id,
                        const std::function<bool(const v1::ComplaintView&)>& allowed,
                        const std::string& not_allowed, const std::vector<v1::EventEnvelope>& envs,
                        v1::ComplaintStatus status);
  // Produces the reporter's follow-up events and waits for Kafka, all or nothing to the caller.
  grpc::Status produce(const std::vector<v1::EventEnvelope>& events);

  SubmissionService& submissions_;
  ComplaintViews& views_;
  const PublisherRegistry& publishers_;
  const auth::OperatorAccess& operators_;
  redis::RedisClient& redis_;
  kafka::MessageSink& events_;
  const time::Clock& clock_;
  log::Logger log_;
  std::chrono::milliseconds produce_timeout_;
  std::atomic<bool> stopping_{false};
};

}  // namespace lapor::intake
