// Which agency action is allowed in which assignment state: pure decisions, no I/O.
#pragma once

#include "lapor/v1/agency.pb.h"

#include <string>

namespace lapor::notification::domain {

enum class Action { Acknowledge, UpdateStatus, Reject };

// What the record is: an agency's assignment of the complaint, or an escalation (a
// supervisor's own item about another agency's breach), which is taken up, worked and
// resolved like an assignment but is never rejected (there is nothing to route elsewhere) and
// has no scene to reach; or the triage desk's item, which the desk takes up and then disposes
// of through RoutingAdmin (Assign, CloseComplaint), never by answering or rejecting it here.
enum class WorkKind { Assignment, Escalation, Triage };

struct Decision {
  enum class Kind { Apply, Repeat, Invalid, Refused };
  Kind kind = Kind::Refused;
  v1::AssignmentState next = v1::ASSIGNMENT_STATE_UNSPECIFIED;
  std::string why;  // for Invalid (bad argument) and Refused (wrong state)

  static Decision apply(v1::AssignmentState s) { return {Kind::Apply, s, {}}; }
  static Decision repeat(v1::AssignmentState s) { return {Kind::Repeat, s, {}}; }
  static Decision invalid(std::string w) { return {Kind::Invalid, {}, std::move(w)}; }
  static Decision refused(std::string w) { return {Kind::Refused, {}, std::move(w)}; }
};

// `target` is the requested state for UpdateStatus (IN_PROGRESS, ON_SCENE, RESPONDED, RESOLVED);
// `text` is the message / resolution / note; `reason_code` only for Reject.
Decision decide(WorkKind work, v1::AssignmentState current, Action action,
                v1::AssignmentState target, const std::string& text,
                const std::string& reason_code);

// Stored with the record in Redis: "assignment", "escalation" (absent = assignment).
std::string workKindName(WorkKind k);
WorkKind parseWorkKind(const std::string& name);

// Open work: not resolved, rejected or withdrawn.
bool isOpen(v1::AssignmentState s);

// Short names used in Redis and messages: "dispatched", "in-progress", ...
std::string stateName(v1::AssignmentState s);
v1::AssignmentState parseState(const std::string& name);

bool validReasonCode(const std::string& code);

}  // namespace lapor::notification::domain
