#include "domain/escalation.h"

#include "events/envelope.h"

#include <algorithm>
#include <set>

namespace lapor::sla {

EscalationTarget escalationTarget(const agencies::AgencyDirectory& dir, const std::string& agency,
                                  int level, bool emergency_unacknowledged,
                                  const std::string& emergency_desk) {
  if (level <= 0) return {};
  std::string current = agency;
  std::set<std::string> seen{agency};
  for (int l = 1; l <= level; ++l) {
    std::string next;
    if (l == 1 && emergency_unacknowledged && !emergency_desk.empty() && agency != emergency_desk)
      next = emergency_desk;
    else if (const auto* info = dir.find(current))
      next = info->supervisor;
    if (next.empty() || !dir.find(next) || !seen.insert(next).second) return {};
    current = next;
  }
  return {current, level};
}

std::string checkOverrideNames(const std::vector<DeadlineOverride>& overrides,
                               const agencies::AgencyDirectory& dir) {
  for (size_t i = 0; i < overrides.size(); ++i) {
    const auto& o = overrides[i];
    const auto at = "overrides[" + std::to_string(i) + "]";
    if (!o.agency.empty() && !dir.find(o.agency))
      return at + ".agency: '" + o.agency + "' is not an agency of " + dir.source();
    if (!o.category.empty() && !dir.category(o.category))
      return at + ".category: '" + o.category + "' is not a category of " + dir.source();
  }
  return "";
}

bool isUnacknowledgedEmergency(v1::SlaStage stage, v1::Priority priority) {
  return stage == v1::SLA_STAGE_ACKNOWLEDGE && priority == v1::PRIORITY_EMERGENCY;
}

std::string escalationReason(const v1::Obligation& ob, int level, bool emergency_unacknowledged) {
  return stageName(ob.stage()) + " deadline breached by " + ob.agency_id() +
         (emergency_unacknowledged && level == 1 ? " (emergency not acknowledged)" : "");
}

std::string escalationAssignmentId(const std::string& obligation_id, int level) {
  // The name has been the same since complaint-level escalations got ids of their own.
  return events::nameUuid("escalation-assignment/" + obligation_id + "/" + std::to_string(level));
}

v1::DispatchItem escalationItem(const v1::Obligation& ob, const std::string& supervisor, int level,
                                const std::string& reason, int64_t now_ms,
                                const v1::Complaint& complaint, int64_t act_by_ms) {
  v1::DispatchItem item;
  item.set_kind(v1::DISPATCH_KIND_ESCALATION);
  item.set_escalation_level(level);
  item.set_note(reason);
  item.set_escalated_assignment_id(ob.assignment_id());
  item.set_escalated_agency_id(ob.agency_id());
  item.set_escalated_stage(stageName(ob.stage()));
  item.set_escalated_due_at_ms(ob.due_at_ms());
  item.set_late_ms(ob.due_at_ms() > 0 ? std::max<int64_t>(0, now_ms - ob.due_at_ms()) : 0);
  item.set_act_by_ms(act_by_ms);
  auto* a = item.mutable_assignment();
  a->set_assignment_id(escalationAssignmentId(ob.obligation_id(), level));
  a->set_complaint_id(ob.complaint_id());
  a->set_agency_id(supervisor);
  a->set_role(v1::ASSIGNMENT_ROLE_SUPERVISOR);
  a->set_state(v1::ASSIGNMENT_STATE_DISPATCHED);
  a->set_dispatched_at_ms(now_ms);
  auto* c = item.mutable_complaint();
  if (complaint.complaint_id() == ob.complaint_id()) *c = complaint;
  c->set_complaint_id(ob.complaint_id());
  c->set_category(ob.category());
  c->set_priority(ob.priority());
  return item;
}

}  // namespace lapor::sla
