// The follow-up rule: what a complaint is owed at every moment, derived from its events.
//
// A complaint's lifecycle events fold into a ledger (who holds which assignment and how far
// each got, whether the triage desk holds it, the running resolution clock, the newest answer
// awaiting the reporter). `required(ledger)` is the set of obligations the complaint is owed
// now, each with a responsible party and a deadline; an open complaint always has at least one
// (the resolution clock until it is resolved, then the auto-close clock until the reporter
// replies or it closes; the triage desk's dispose clock whenever the desk holds it). `step`
// folds one event and says which obligations start and which end (and how), as the difference
// between what was required before and after. Pure: no clock is read, no I/O.
#pragma once

#include "agencies/triage.h"
#include "domain/sla_policy.h"
#include "domain/work_calendar.h"
#include "lapor/v1/events.pb.h"
#include "lapor/v1/sla.pb.h"

#include <string>
#include <utility>
#include <vector>

namespace lapor::sla {

// The triage desk: the operator queue that disposes of reports.
using agencies::kTriageDesk;

struct ObligationStop {
  std::string obligation_id;
  v1::SlaStage stage = v1::SLA_STAGE_UNSPECIFIED;
  std::string assignment_id;
  std::string agency_id;
  EndOutcome outcome = EndOutcome::Met;
};

struct Reassignment {
  std::string obligation_id;
  std::string agency_id;  // who owes it now
};

struct Step {
  v1::ComplaintLedger ledger;  // after the event
  bool changed = false;        // false: a repeat, or an event that changes nothing here
  std::vector<ObligationStop> ends;
  std::vector<ObligationStart> starts;
  std::vector<Reassignment> reassigned;
};

// `before` is the stored ledger (an empty one, with no complaint id, for a new complaint).
Step step(const v1::ComplaintLedger& before, const v1::EventEnvelope& env,
          const SlaPolicy& policy, const WorkCalendar& cal);

// What the complaint is owed now, in a fixed order. Empty only for a closed complaint (or one
// the monitor has seen nothing of that starts a clock).
std::vector<ObligationStart> required(const v1::ComplaintLedger& ledger, const SlaPolicy& policy,
                                      const WorkCalendar& cal);

// Submitted (or routed) and not closed: it must always have a required obligation.
bool isOpen(const v1::ComplaintLedger& ledger);

// The agency that owes the complaint's resolution now: the current lead, or the triage desk.
std::string resolutionOwner(const v1::ComplaintLedger& ledger);

// The id of an obligation: the scope (assignment id, or complaint id for complaint-level
// stages), the stage and, where one scope can owe a stage more than once, the event that
// started it. A replayed event therefore finds the obligation it started before.
std::string obligationId(const std::string& scope, v1::SlaStage stage, const std::string& cause);

}  // namespace lapor::sla
