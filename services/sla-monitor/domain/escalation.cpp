#include "domain/escalation.h"

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

}  // namespace lapor::sla
