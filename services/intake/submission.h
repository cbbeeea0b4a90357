// One submission, whichever edge it came through (gRPC or Open311): authenticate, rate-limit,
// validate, make it idempotent, store the reporter's contact, produce ComplaintSubmitted and
// wait for Kafka's acknowledgement. The edges only translate the outcome into their protocol.
#pragma once

#include "agencies/agency_directory.h"
#include "domain/response_time.h"
#include "domain/validation.h"
#include "intake_metrics.h"
#include "kafka/message.h"
#include "lapor/v1/events.pb.h"
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
  // Conflict: the idempotency key (or external reference) was used for a different complaint.
  enum class Kind { Accepted, Invalid, Unauthenticated, RateLimited, Unavailable, Conflict };
  Kind kind = Kind::Unavailable;
  std::string message;
  std::vector<FieldViolation> violations;    // Invalid
  std::chrono::milliseconds retry_after{0};  // RateLimited
  v1::SubmitComplaintResponse response;      // Accepted (response.duplicate() for a retry)
};

// SubmitComplaints: refused as a whole (nothing recorded), or one outcome per complaint.
struct SubmissionBatchOutcome {
  std::optional<SubmitOutcome> refused;  // unauthenticated, an invalid list, the store down
  std::vector<SubmitOutcome> items;      // in the order given, when not refused
};

struct SubmissionSettings {
  std::chrono::milliseconds produce_timeout{11'000};  // how long to wait for Kafka's ack
  std::chrono::milliseconds idempotency_ttl{std::chrono::hours(24 * 7)};
  ValidationLimits limits;
  // Fault injection for tests only: exit right after Kafka acknowledges a new complaint, before
  // the idempotency key is marked done (what a crash at that moment leaves behind).
  bool fault_exit_after_ack = false;
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
  // Up to kMaxBatch complaints of one publisher at once, each with the outcome submit() would
  // give it alone, in a few Redis round trips and one wait for Kafka for all of them. The whole
  // call is refused when two complaints share an idempotency key (or external reference).
  SubmissionBatchOutcome submitAll(const std::vector<const v1::SubmitComplaintRequest*>& reqs,
                                   const std::optional<std::string>& api_key,
                                   const std::string& trace_id);
  static constexpr size_t kMaxBatch = 500;
  const agencies::AgencyDirectory& directory() const { return directory_; }

  // The ids a submission was given (and claims keep for its retries).
  struct Reserved {
    std::string complaint_id;
    std::string tracking_id;
    int64_t submitted_ms = 0;
    std::string reporter_secret;  // given to the reporter; only its hash stays once done
    std::string fingerprint;      // of the request, so a reused key with another payload is told
  };
 private:

  struct Claim {
    enum class Kind { Mine, Done, Resume };
    Kind kind = Kind::Mine;
    Reserved earlier;     // Done, Resume: the ids the key was first given
    std::string event;    // Resume: the serialized ComplaintSubmitted envelope to produce again
  };
  // A fresh tracking id for `complaint_id` (after the first one drawn was taken).
  std::string reserveTrackingId(const std::string& complaint_id);
  // How long a claim's owner holds its lease.
  std::chrono::milliseconds leaseTtl() const;
  // The claim script's arguments for `pending`.
  std::vector<std::string> claimArgs(const std::string& pending) const;
  // A reply of the claim script; false when another instance still holds the lease.
  static bool parseClaim(const std::string& reply, Claim* claim);
  // Claims the key with `pending` (state, ids and the event), or reports the earlier claim;
  // waits while another instance holds the lease.
  Claim claimIdempotencyKey(const std::string& key, const std::string& pending);
  // "" when the request has neither an idempotency key nor an external reference.
  std::string idempotencyKeyOf(const v1::SubmitComplaintRequest& req,
                               const Publisher& publisher) const;
  v1::EventEnvelope submittedEvent(const v1::SubmitComplaintRequest& req, const Reserved& mine,
                                   const std::string& reporter_ref, const Publisher& publisher,
                                   const std::string& trace_id) const;
  void addDone(redis::Pipeline& p, const std::string& idem_key, const Reserved& r) const;
  // Drops the claim (when it is still `pending`) and the unused tracking id / reporter record.
  void release(const std::string& idem_key, const std::string& pending, const Reserved& mine,
               const std::string& reporter_ref);
  void markDone(const std::string& idem_key, const Reserved& r, const log::Logger& logger);
  // An EMERGENCY complaint's submission also goes to the emergency lane once its record on the
  // lifecycle topic is acknowledged (kafka::kEmergencySubmittedTopic).
  void produceLane(const v1::EventEnvelope& env);
  // Completes a claim whose owner stopped before marking it done, with the claim's own event.
  SubmitOutcome resume(const std::string& idem_key, const Claim& claim, v1::Priority priority);
  SubmitOutcome accepted(const Reserved& r, v1::Priority priority, bool duplicate) const;
  // The answer to a retry of `earlier` with this request: the same complaint, or a conflict
  // when the request is not the one the key was first used for.
  std::optional<SubmitOutcome> conflict(const Reserved& earlier, const Reserved& mine,
                                        const v1::SubmitComplaintRequest& req) const;

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

// A new reporter secret: 128 random bits in Crockford base32 (26 characters).
std::string newReporterSecret();
// The key under which intake keeps a complaint's reporter secret (its SHA-256 hex only).
std::string reporterSecretKey(const std::string& complaint_id);

// Public wording of a priority / channel, for metric labels and logs.
std::string priorityName(v1::Priority p);
// The report type given, else the category's default (agencies.yaml), else COMPLAINT.
v1::ReportType reportTypeOf(const v1::SubmitComplaintRequest& req,
                            const agencies::AgencyDirectory& directory);

}  // namespace lapor::intake
