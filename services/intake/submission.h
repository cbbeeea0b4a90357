// One submission, whichever edge it came through (gRPC or Open311): authenticate, rate-limit,
// validate, make it idempotent, store the reporter's contact, produce ComplaintSubmitted and
// wait for Kafka's acknowledgement. The edges only translate the outcome into their protocol.
#pragma once

#include "agencies/agency_directory.h"
#include "domain/response_time.h"
#include "domain/validation.h"
#include "intake_metrics.h"
#include "kafka/message.h"
#include "lapor/v1/intake.pb.h"
#include "log/logger.h"
#include "publishers.h"
#include "redis/redis_client.h"
#include "time/clock.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace lapor::intake {

struct SubmitOutcome {
  enum class Kind { Accepted, Invalid, Unauthenticated, RateLimited, Unavailable };
  Kind kind = Kind::Unavailable;
  std::string message;
  std::vector<FieldViolation> violations;    // Invalid
  std::chrono::milliseconds retry_after{0};  // RateLimited
  v1::SubmitComplaintResponse response;      // Accepted (response.duplicate() for a retry)
};

struct SubmissionSettings {
  std::chrono::milliseconds produce_timeout{11'000};  // how long to wait for Kafka's ack
  std::chrono::milliseconds idempotency_ttl{std::chrono::hours(24 * 7)};
  ValidationLimits limits;
};

class SubmissionService {
 public:
  SubmissionService(const agencies::AgencyDirectory& directory, redis::RedisClient& redis,
                    kafka::MessageSink& events, const time::Clock& clock, log::Logger logger,
                    IntakeMetrics& metrics, const PublisherRegistry& publishers,
                    const ResponseTimes& response_times, SubmissionSettings settings);

  // `api_key`: as presented, nullopt when none was sent.
  SubmitOutcome submit(const v1::SubmitComplaintRequest& req,
                       const std::optional<std::string>& api_key, const std::string& trace_id);
  const agencies::AgencyDirectory& directory() const { return directory_; }

 private:
  struct Reserved {
    std::string complaint_id;
    std::string tracking_id;
    int64_t submitted_ms = 0;
  };
  std::string reserveTrackingId(const std::string& complaint_id);
  // The answer of an earlier submission with the same key, or nullopt once `mine` owns the key.
  std::optional<Reserved> claimIdempotencyKey(const std::string& key, const Reserved& mine);
  void release(const std::string& idem_key, const Reserved& mine, const std::string& reporter_ref);
  SubmitOutcome accepted(const Reserved& r, v1::Priority priority, bool duplicate) const;

  const agencies::AgencyDirectory& directory_;
  redis::RedisClient& redis_;
  kafka::MessageSink& events_;
  const time::Clock& clock_;
  log::Logger log_;
  IntakeMetrics& metrics_;
  const PublisherRegistry& publishers_;
  RateLimiter limiter_;
  const ResponseTimes& response_times_;
  SubmissionSettings settings_;
};

// Public wording of a priority / channel, for metric labels and logs.
std::string priorityName(v1::Priority p);
std::string channelName(v1::Channel c);

}  // namespace lapor::intake
