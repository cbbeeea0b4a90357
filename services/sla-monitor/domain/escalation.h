// Who hears of a breach (the supervisor chain of deploy/config/agencies.yaml) and what the
// supervisor receives. Pure.
#pragma once

#include "agencies/agency_directory.h"
#include "domain/sla_policy.h"
#include "lapor/v1/complaint.pb.h"
#include "lapor/v1/events.pb.h"
#include "lapor/v1/sla.pb.h"

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

// Why an obligation escalates: "<stage> deadline breached by <agency>", plus a word when the
// 112 desk has it because an emergency went unacknowledged.
std::string escalationReason(const v1::Obligation& ob, int level, bool emergency_unacknowledged);

// The supervisor's own assignment id for one escalation level of an obligation. Derived from
// both, so a re-fire after a crash makes the same id and notification takes it in once.
std::string escalationAssignmentId(const std::string& obligation_id, int level);

// What goes on the supervisor's dispatch topic: an ESCALATION item that is the supervisor's
// own piece of work (its own assignment, agency = the supervisor, role SUPERVISOR), naming
// the breached assignment ("" for complaint-level stages), the breaching agency and stage.
// Never the breaching agency's assignment itself: that one stays the agency's.
// `complaint` is what the supervisor is shown of it (tracking id, title, location, ...; only
// the ids, category and priority when the monitor knows no more); `act_by_ms` is when the
// next level hears of it unless the supervisor acts.
v1::DispatchItem escalationItem(const v1::Obligation& ob, const std::string& supervisor, int level,
                                const std::string& reason, int64_t now_ms,
                                const v1::Complaint& complaint = {}, int64_t act_by_ms = 0);

}  // namespace lapor::sla
