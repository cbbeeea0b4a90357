// See delegation.h.
#include "domain/delegation.h"

#include "domain/assignment_rules.h"

namespace lapor::notification::domain {

DelegationDecision decideDelegation(bool delegable, v1::AssignmentState state,
                                    const std::string& current_unit,
                                    const std::string& next_unit) {
  DelegationDecision d;
  if (!delegable) {
    d.why = "only an agency's assignment is delegated (not an escalation or the triage desk's "
            "item)";
    return d;
  }
  if (current_unit == next_unit) {
    d.kind = DelegationDecision::Kind::Repeat;
    return d;
  }
  if (!isOpen(state)) {
    d.why = "assignment is " + stateName(state) + ": only live work is delegated or taken back";
    return d;
  }
  d.kind = DelegationDecision::Kind::Apply;
  d.revoke = !current_unit.empty();
  d.delegate = !next_unit.empty();
  return d;
}

std::string unitProgressNote(const std::string& what, const std::string& message) {
  return message.empty() ? what : what + ": " + message;
}

std::string unitRejectionNote(const std::string& reason_code, const std::string& note) {
  return note.empty() ? reason_code : reason_code + ": " + note;
}

}  // namespace lapor::notification::domain
