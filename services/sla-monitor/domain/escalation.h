// Who hears of a breach: the supervisor chain of deploy/config/agencies.yaml. Pure.
#pragma once

#include "agencies/agency_directory.h"
#include "domain/sla_policy.h"
#include "lapor/v1/complaint.pb.h"
#include "lapor/v1/events.pb.h"

#include <string>

namespace lapor::sla {

struct EscalationTarget {
  std::string agency_id;  // "" when the chain has no such level
  int level = 0;
};

// Level 1 is the breaching agency's supervisor, level 2 that one's supervisor, and so on
// (e.g. disdamkar -> sekda -> inspektorat). An emergency that was not acknowledged in time
// goes first to the 112 desk (`emergency_desk`), whose own supervisor is the next level.
// A chain that loops or names an unknown agency stops there.
EscalationTarget escalationTarget(const agencies::AgencyDirectory& dir, const std::string& agency,
                                  int level, bool emergency_unacknowledged,
                                  const std::string& emergency_desk);

// "" when every agency and category named in `overrides` exists in the directory; else what
// is wrong, naming the entry (overrides[i].agency / .category).
std::string checkOverrideNames(const std::vector<DeadlineOverride>& overrides,
                               const agencies::AgencyDirectory& dir);

// Whether a breach of this stage at this priority goes to the 112 desk and asks for a
// re-dispatch: an emergency assignment nobody acknowledged.
bool isUnacknowledgedEmergency(v1::SlaStage stage, v1::Priority priority);

}  // namespace lapor::sla
