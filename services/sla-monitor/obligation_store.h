// Obligations and their timers in Redis. Every change is one Lua script, so two monitors and a
// restart in the middle never leave an obligation half-written, and a timer's claim and the
// obligation's state change are one step: a breach is only ever emitted for an obligation that
// was still open when its timer was claimed.
#pragma once

#include "domain/sla_policy.h"
#include "lapor/v1/sla.pb.h"
#include "redis/redis_client.h"

#include <chrono>
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

// A claimed timer: "<id>|warn", "<id>|breach", "<id>|close" or "<id>|esc|<level>".
struct TimerMember {
  std::string obligation_id;
  std::string kind;  // warn, breach, close, esc
  int level = 0;     // esc: the escalation level to raise
  static TimerMember parse(const std::string& member);
};

struct OpenCount {
  std::string agency, stage, priority;
  bool overdue = false;
  int64_t count = 0;
};

class ObligationStore {
 public:
  ObligationStore(redis::RedisClient& redis, std::chrono::seconds retention)
      : redis_(redis), retention_(retention) {}

  bool start(const ObligationStart& o, const std::string& trace_id);  // false: existed already
  // Ends every obligation of the complaint that matches (stage 0 = any, assignment "" = any).
  std::vector<EndedObligation> end(const std::string& complaint_id, const ObligationEnd& e,
                                   int64_t now_ms);
  // Hands the resolution clock of a routed complaint to its lead agency.
  void setLeadAgency(const std::string& complaint_id, const std::string& agency);
  void saveFacts(const std::string& complaint_id, const ComplaintFacts& facts);
  ComplaintFacts facts(const std::string& complaint_id);

  // Claims due timers whose obligation is still in the state the timer needs (changing that
  // state in the same step), plus claimed ones whose claimer's lease ran out.
  std::vector<std::string> claimDue(int64_t now_ms, std::chrono::milliseconds lease, int limit);
  // Done with a claimed timer: records the escalation level reached and arms the next one.
  // False when another claimer completed it first.
  bool complete(const std::string& member, int level, const std::string& next_member,
                int64_t next_due_ms);

  std::optional<v1::Obligation> get(const std::string& obligation_id, std::string* trace_id,
                                    std::string* deadline = nullptr);
  std::vector<v1::Obligation> forComplaint(const std::string& complaint_id);
  // Obligations decided (met or breached) since `since_ms`.
  std::vector<v1::Obligation> decidedSince(int64_t since_ms);
  std::vector<v1::Obligation> breachesSince(int64_t since_ms, const std::string& agency,
                                            int limit);
  std::vector<v1::Obligation> dueBetween(int64_t from_ms, int64_t to_ms,
                                         const std::string& agency, int limit);
  std::vector<OpenCount> openCounts();
  // Start time of the oldest open emergency obligation of a stage, if any.
  std::optional<int64_t> oldestOpenEmergency(const std::string& stage);
  void trim(int64_t now_ms);

 private:
  redis::RedisClient& redis_;
  std::chrono::seconds retention_;
};

}  // namespace lapor::sla
