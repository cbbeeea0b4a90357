#include "domain/escalation_note.h"

namespace lapor::intake {

std::string escalationTimelineNote(const v1::EscalationUpdated& u) {
  const auto& who = u.agency_id();
  std::string note;
  switch (u.state()) {
    case v1::ASSIGNMENT_STATE_DELIVERED:
      note = "escalation delivered to " + who;
      break;
    case v1::ASSIGNMENT_STATE_ACKNOWLEDGED:
      note = "escalation acknowledged by " + who;
      break;
    case v1::ASSIGNMENT_STATE_IN_PROGRESS:
      note = "escalation in progress at " + who;
      break;
    case v1::ASSIGNMENT_STATE_RESPONDED:
      note = who + " responded to the escalation";
      break;
    case v1::ASSIGNMENT_STATE_RESOLVED:
      note = "escalation resolved by " + who;
      break;
    default:
      note = "escalation updated by " + who;
      break;
  }
  if (u.level() > 0) note += " (level " + std::to_string(u.level()) + ")";
  return note;
}

}  // namespace lapor::intake
