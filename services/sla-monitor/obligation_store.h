// Obligations, their timers and each complaint's ledger in Redis. Every change of an
// obligation is one Lua script, so two monitors and a restart in the middle never leave one
// half-written, and a timer's claim and the obligation's state change are one step: a breach
// is only ever emitted for an obligation that was still open when its timer was claimed.
#pragma once

#include "domain/sla_policy.h"
#include "domain/follow_up.h"
#include "domain/monthly_summary.h"
#include "domain/timer_rules.h"
#include "lapor/v1/sla.pb.h"
#include "redis/redis_client.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lapor::sla {

// One obligation ended by an event: what it was and how it ended.
struct EndedObligation {
  std::string obligation_id;
  std::string result;  // met, cancelled, late (completed after its breach)
  std::string stage;
  std::string agency;
  std::string priority;
  int64_t started_at_ms = 0;
};

struct OpenCount {
  std::string agency, stage, priority;
  bool overdue = false;
  int64_t count = 0;
};

// The monthly counters: which month a moment falls in (the regency's zone) and how long a
// month's counters are kept.
struct SummaryOptions {
  std::function<std::string(int64_t)> month_of;  // unset: UTC
  std::chrono::seconds retention{std::chrono::hours(24 * 400)};
};

struct ComplianceCount {
  int64_t met_on_time = 0;
  int64_t due = 0;  // met on time or breached
};

class ObligationStore {
 public:
  ObligationStore(redis::RedisClient& redis, std::chrono::seconds retention,
                  SummaryOptions summary = {});

  bool start(const ObligationStart& o, const std::string& trace_id);  // false: existed already
  // Ends every obligation of the complaint that matches (stage 0 = any, assignment "" = any).
  // Ending an obligation ends the escalations of it too, and takes their items back from the
  // supervisors (withdraw timers); its pending re-dispatches are dropped.
  std::vector<EndedObligation> end(const std::string& complaint_id, const ObligationEnd& e,
                                   int64_t now_ms);
  // The same for obligations named by id, each with its own outcome.
  std::vector<EndedObligation> end(const std::string& complaint_id,
                                   const std::vector<ObligationStop>& stops, int64_t now_ms);
  // Records the highest escalation level an obligation's chain reached.
  void raiseLevel(const std::string& obligation_id, int level);
  // Another agency owes the obligation now (the resolution clock follows the lead).
  void reassign(const std::string& obligation_id, const std::string& agency);
  // Brings an open obligation's deadline forward to now (the delivery channel gave up), with
  // the reason its escalation gives; false when no such obligation is open.
  bool expedite(const std::string& complaint_id, const std::string& assignment_id,
                v1::SlaStage stage, const std::string& reason, int64_t now_ms);

  // The complaint's ledger (empty, without complaint id, when there is none). Its complaint
  // holds the complaint's id and tracking id only (a ledger stored before the complaint was
  // kept apart: all of it); complaint() reads all of it.
  v1::ComplaintLedger ledger(const std::string& complaint_id);
  // The complaint as submitted, as its ledger's save kept it (empty when there is none).
  v1::Complaint complaint(const std::string& complaint_id);
  // Whether the ledger holds more of its complaint than its id and tracking id, which its save
  // writes apart; and the ledger as stored, with only those two.
  static bool keepsComplaintApart(const v1::ComplaintLedger& l);
  static void setComplaintApart(v1::ComplaintLedger& l);

  // The same writes queued into a pipeline a batch of events shares (the lifecycle handler's
  // batch path): each returns the index of its reply in the pipeline's replies, which the
  // parsers below read. The command ledger() runs, and its parser.
  size_t addStart(redis::Pipeline& p, const ObligationStart& o, const std::string& trace_id);
  size_t addEnd(redis::Pipeline& p, const std::string& complaint_id, const ObligationEnd& e,
                int64_t now_ms);
  // Nothing to queue (nullopt) without stops.
  std::optional<size_t> addEnd(redis::Pipeline& p, const std::string& complaint_id,
                               const std::vector<ObligationStop>& stops, int64_t now_ms);
  size_t addReassign(redis::Pipeline& p, const std::string& obligation_id,
                     const std::string& agency);
  size_t addSaveLedger(redis::Pipeline& p, const v1::ComplaintLedger& ledger,
                       const std::vector<SummaryIncrement>& counts = {},
                       std::optional<bool> was_open = std::nullopt);
  std::vector<std::string> ledgerCommand(const std::string& complaint_id) const;
  // One round trip (redis::RedisClient::pipeline: error replies are returned, not thrown).
  std::vector<redis::Reply> run(const redis::Pipeline& p) { return redis_.pipeline(p); }
  static v1::ComplaintLedger ledgerFrom(const redis::Reply& r);
  static std::vector<EndedObligation> endedOf(const redis::Reply& r);  // an end's reply
  // Stores it; an open complaint is listed for the owner audit, a closed one taken off first.
  // `was_open`: whether the ledger it replaces was open (isOpen), when the caller read it; the
  // list is then written only when that changes. The event's additions to the monthly counters
  // are written in the same step, so an event is counted exactly when the ledger records it as
  // applied; a counter's key gets its time to live when a count creates it (its period's length
  // plus the counters' retention).
  void saveLedger(const v1::ComplaintLedger& ledger,
                  const std::vector<SummaryIncrement>& counts = {},
                  std::optional<bool> was_open = std::nullopt);
  // The monthly counters of one month and agency ("" = the regency): field, value pairs.
  std::vector<std::pair<std::string, std::string>> summary(const std::string& month,
                                                           const std::string& agency);

  // Claims due timers whose obligation is still in the state the timer needs (changing that
  // state in the same step), plus claimed ones whose claimer's lease ran out.
  std::vector<std::string> claimDue(int64_t now_ms, std::chrono::milliseconds lease, int limit);
  // Done with a claimed timer: records what it reached and arms the next re-dispatch. False
  // when another claimer completed it first.
  bool complete(const std::string& member, const Completion& done = {});

  std::optional<ObligationRecord> record(const std::string& obligation_id);
  std::optional<v1::Obligation> get(const std::string& obligation_id);
  std::vector<v1::Obligation> forComplaint(const std::string& complaint_id);
  // Obligations decided (met or breached) since `since_ms`.
  std::vector<v1::Obligation> decidedSince(int64_t since_ms);
  // Decisions per (agency, stage name) in the UTC days from the one of `since_ms` to the one of
  // `now_ms`, from counters kept as each obligation is decided: what the compliance gauge
  // shows, read in one command per day whatever the volume.
  std::map<std::pair<std::string, std::string>, ComplianceCount> complianceSince(int64_t since_ms,
                                                                                 int64_t now_ms);
  std::vector<v1::Obligation> breachesSince(int64_t since_ms, const std::string& agency,
                                            int limit);
  std::vector<v1::Obligation> dueBetween(int64_t from_ms, int64_t to_ms,
                                         const std::string& agency, int limit);
  std::vector<OpenCount> openCounts();
  // Start time of the oldest open emergency obligation of a stage, if any.
  std::optional<int64_t> oldestOpenEmergency(const std::string& stage);
  void trim(int64_t now_ms);

  // The owner audit: every open complaint must have an obligation that is open or breached
  // and not yet met. Reads every open complaint (in batches); returns those without.
  struct Audit {
    int64_t open_complaints = 0;             // the open complaints listed now
    std::vector<std::string> without_owner;  // complaint ids found in this pass
  };
  // Every open complaint at once.
  Audit auditOwners();
  // One pass of the owner audit, bounded: reads on from `cursor` ("0" = from the start) until
  // it has examined at least `max_complaints` (whole pages of the scan) or reached the end, and
  // leaves the cursor where it stopped ("0" = the pass finished the list). A complaint can come
  // twice within one round through the list (the scan's own guarantee).
  Audit auditOwners(std::string& cursor, size_t max_complaints);

 private:
  using Call = redis::ScriptCall;
  Call startCall(const ObligationStart& o, const std::string& trace_id) const;
  Call endCall(const std::string& complaint_id, std::vector<std::string> args) const;
  Call endCall(const std::string& complaint_id, const ObligationEnd& e, int64_t now_ms) const;
  Call endCall(const std::string& complaint_id, const std::vector<ObligationStop>& stops,
               int64_t now_ms) const;
  Call reassignCall(const std::string& obligation_id, const std::string& agency) const;
  std::string complaintKey(const std::string& complaint_id) const;
  Call saveLedgerCall(const v1::ComplaintLedger& l, const std::vector<SummaryIncrement>& counts,
                      std::optional<bool> was_open) const;
  redis::Reply run(const Call& c);
  static size_t add(redis::Pipeline& p, const Call& c);

  std::string monthOf(int64_t ms) const;

  redis::RedisClient& redis_;
  std::chrono::seconds retention_;
  SummaryOptions summary_;
};

}  // namespace lapor::sla
