// Which obligations an event starts or ends, and when each falls due. Pure: times come in.
#pragma once

#include "config/config.h"
#include "lapor/v1/events.pb.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace lapor::sla {

struct SlaPolicy {
  // How long an agency has to acknowledge an assignment, per priority.
  std::map<v1::Priority, std::chrono::milliseconds> acknowledge;
  double warn_fraction = 0.8;  // share of the time after which a warning goes out

  static SlaPolicy defaults();
  // Section `sla`: acknowledge_<priority> durations and warn_percent (1-99).
  static SlaPolicy fromConfig(const config::Config& cfg);
};

struct ObligationStart {
  std::string obligation_id;
  std::string complaint_id;
  std::string assignment_id;
  std::string agency_id;
  v1::SlaStage stage = v1::SLA_STAGE_UNSPECIFIED;
  int64_t started_at_ms = 0;
  int64_t warn_at_ms = 0;
  int64_t due_at_ms = 0;
};

// The obligation id is derived from the assignment and stage, so a replayed event finds the
// obligation it started before instead of starting a second one.
std::string obligationId(const std::string& assignment_id, v1::SlaStage stage);

// ComplaintRouted starts an acknowledge clock for every assignment.
std::vector<ObligationStart> obligationsStartedBy(const v1::EventEnvelope& env,
                                                  const SlaPolicy& policy);

// AssignmentAcknowledged ends the acknowledge clock of its assignment; "" for other events.
std::string obligationEndedBy(const v1::EventEnvelope& env);

std::string stageName(v1::SlaStage stage);

}  // namespace lapor::sla
