// What a fired timer produces: the SLA monitor's second pure decision (the first is the
// follow-up rule of follow_up.h). A timer is one of
//   warn        the obligation reached its warning fraction: SlaWarning;
//   breach      its deadline passed: SlaBreached and escalation level 1 (an obligation of the
//               supervisor's own, with its own deadline); an emergency nobody acknowledged
//               goes to the 112 desk first and is re-dispatched (attempt 1). For a
//               supervisor's escalation obligation it means the supervisor did not act in time:
//               the next level of the chain hears of it, once, and there is no SlaBreached;
//   redispatch  the re-dispatch attempt k of an emergency still unacknowledged, at most
//               `max_redispatches` in all, one deadline apart;
//   close       the auto-close clock ran out: ComplaintClosed (auto-close);
//   withdraw    an escalation is no longer needed (the agency acted, the complaint closed):
//               the supervisor's item is taken back.
// So one obligation produces at most one warning, one breach, one escalation per level of its
// chain and `max_redispatches` re-dispatches, however long it is left alone.
#pragma once

#include "agencies/agency_directory.h"
#include "domain/sla_policy.h"
#include "domain/work_calendar.h"
#include "lapor/v1/events.pb.h"
#include "lapor/v1/sla.pb.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lapor::sla {

// A timer: "<id>|warn", "<id>|breach", "<id>|close", "<id>|redispatch|<attempt>" or
// "<id>|withdraw". Members "<id>|esc|<level>" of earlier versions are dropped when claimed.
struct TimerMember {
  std::string obligation_id;
  std::string kind;  // warn, breach, close, redispatch, withdraw
  int level = 0;     // redispatch: the attempt; breach: 1
  static TimerMember parse(const std::string& member);
  static std::string redispatch(const std::string& obligation_id, int attempt);
};

// An obligation as stored, with what its timers need.
struct ObligationRecord {
  v1::Obligation obligation;
  std::string trace_id;
  std::string deadline;         // Deadline::text() of its stage
  std::string expedite_reason;  // why its deadline was brought forward (undeliverable)
};

// What completing a fired timer records on its obligation.
struct Completion {
  int level = 0;         // escalation level reached (0: unchanged)
  int redispatches = 0;  // re-dispatches requested so far (0: unchanged)
  // The next re-dispatch timer, armed only while the obligation is still breached and unmet.
  std::string next_member;
  int64_t next_due_ms = 0;
};

struct TimerSettings {
  std::string emergency_desk = "ncc-112";  // where an unacknowledged emergency goes at once
  int max_redispatches = 2;                // per unacknowledged emergency assignment
};

struct FiredTimer {
  enum class What { Nothing, Warned, Breached, Escalated, TopOfChain, Redispatched, Closed,
                    Withdrawn };
  What what = What::Nothing;
  std::vector<std::pair<std::string, v1::EventEnvelope>> out;  // topic and event, in order
  std::optional<ObligationStart> escalation;  // the supervisor's obligation of the new level
  Completion done;
  std::string to_agency;  // Escalated: the supervisor who holds it now
  int level = 0;          // Escalated: the level; Redispatched: the attempt
  bool emergency_desk = false;  // Breached: an unacknowledged emergency (desk, re-dispatch)
};

// `rec` is the timer's obligation; `escalated` the obligation an escalation obligation is
// about (nullopt otherwise); `complaint` what supervisors are shown of the complaint.
FiredTimer fireTimer(const TimerMember& t, const ObligationRecord& rec,
                     const std::optional<ObligationRecord>& escalated,
                     const v1::Complaint& complaint, const agencies::AgencyDirectory& dir,
                     const WorkCalendar& cal, const TimerSettings& settings, int64_t now_ms);

}  // namespace lapor::sla
