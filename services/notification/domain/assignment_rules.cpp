// The assignment life cycle seen from the agency: dispatched/delivered -> acknowledged ->
// in progress / on scene / responded -> resolved; rejected or withdrawn end it early. An
// escalation follows the same states, without rejection and without on scene.
#include "domain/assignment_rules.h"

#include <array>
#include <utility>

namespace lapor::notification::domain {

namespace {
using S = v1::AssignmentState;

constexpr std::array<std::pair<S, const char*>, 9> kNames{{
    {v1::ASSIGNMENT_STATE_DISPATCHED, "dispatched"},
    {v1::ASSIGNMENT_STATE_DELIVERED, "delivered"},
    {v1::ASSIGNMENT_STATE_ACKNOWLEDGED, "acknowledged"},
    {v1::ASSIGNMENT_STATE_IN_PROGRESS, "in-progress"},
    {v1::ASSIGNMENT_STATE_ON_SCENE, "on-scene"},
    {v1::ASSIGNMENT_STATE_RESPONDED, "responded"},
    {v1::ASSIGNMENT_STATE_RESOLVED, "resolved"},
    {v1::ASSIGNMENT_STATE_REJECTED, "rejected"},
    {v1::ASSIGNMENT_STATE_WITHDRAWN, "withdrawn"},
}};

bool notYetAcknowledged(S s) {
  return s == v1::ASSIGNMENT_STATE_DISPATCHED || s == v1::ASSIGNMENT_STATE_DELIVERED;
}
bool working(S s) {
  return s == v1::ASSIGNMENT_STATE_ACKNOWLEDGED || s == v1::ASSIGNMENT_STATE_IN_PROGRESS ||
         s == v1::ASSIGNMENT_STATE_ON_SCENE || s == v1::ASSIGNMENT_STATE_RESPONDED;
}
constexpr std::size_t kMaxText = 4000;
}  // namespace

std::string stateName(S s) {
  for (const auto& [st, name] : kNames)
    if (st == s) return name;
  return "unknown";
}

S parseState(const std::string& name) {
  for (const auto& [st, n] : kNames)
    if (name == n) return st;
  return v1::ASSIGNMENT_STATE_UNSPECIFIED;
}

bool isOpen(S s) {
  return s != v1::ASSIGNMENT_STATE_RESOLVED && s != v1::ASSIGNMENT_STATE_REJECTED &&
         s != v1::ASSIGNMENT_STATE_WITHDRAWN && s != v1::ASSIGNMENT_STATE_UNSPECIFIED;
}

bool validReasonCode(const std::string& code) {
  return code == "not-our-authority" || code == "duplicate" ||
         code == "insufficient-information" || code == "other";
}

std::string workKindName(WorkKind k) {
  switch (k) {
    case WorkKind::Escalation:
      return "escalation";
    case WorkKind::Triage:
      return "triage";
    default:
      return "assignment";
  }
}

WorkKind parseWorkKind(const std::string& name) {
  if (name == "escalation") return WorkKind::Escalation;
  return name == "triage" ? WorkKind::Triage : WorkKind::Assignment;
}

Decision decide(WorkKind work, S current, Action action, S target, const std::string& text,
                const std::string& reason_code) {
  const bool escalation = work == WorkKind::Escalation;
  const std::string it = escalation ? "the escalation" : "the assignment";
  if (text.size() > kMaxText)
    return Decision::invalid("text longer than " + std::to_string(kMaxText) + " bytes");
  if (work == WorkKind::Triage &&
      (action == Action::Reject ||
       (action == Action::UpdateStatus && target != v1::ASSIGNMENT_STATE_IN_PROGRESS)))
    return Decision::refused(
        "the triage desk disposes of a report with RoutingAdmin: Assign gives it to an agency, "
        "CloseComplaint closes it (spam, out of scope, duplicate, insufficient information)");
  if (escalation && action == Action::Reject)
    return Decision::refused(
        "an escalation cannot be rejected: there is no other agency to route it to; close it "
        "with Resolve");
  if (current == v1::ASSIGNMENT_STATE_WITHDRAWN)
    return Decision::refused("the assignment was withdrawn; nothing can be done on it");
  switch (action) {
    case Action::Acknowledge:
      if (current == v1::ASSIGNMENT_STATE_ACKNOWLEDGED)
        return Decision::repeat(v1::ASSIGNMENT_STATE_ACKNOWLEDGED);
      if (notYetAcknowledged(current)) return Decision::apply(v1::ASSIGNMENT_STATE_ACKNOWLEDGED);
      return Decision::refused(it + " is " + stateName(current) + ", it cannot be acknowledged");
    case Action::UpdateStatus: {
      if (target != v1::ASSIGNMENT_STATE_IN_PROGRESS && target != v1::ASSIGNMENT_STATE_ON_SCENE &&
          target != v1::ASSIGNMENT_STATE_RESPONDED && target != v1::ASSIGNMENT_STATE_RESOLVED)
        return Decision::invalid("state: must be IN_PROGRESS, ON_SCENE, RESPONDED or RESOLVED");
      if (escalation && target == v1::ASSIGNMENT_STATE_ON_SCENE)
        return Decision::refused(
            "an escalation has no scene to reach: report IN_PROGRESS, RESPONDED or RESOLVED");
      if (target == v1::ASSIGNMENT_STATE_RESOLVED && text.empty())
        return Decision::invalid("resolution: is required");
      if (target == v1::ASSIGNMENT_STATE_RESPONDED && text.empty())
        return Decision::invalid(escalation ? "message: the supervisor's note is required"
                                            : "message: the answer to the citizen is required");
      if (current == target && target != v1::ASSIGNMENT_STATE_RESPONDED)
        return Decision::repeat(target);
      if (notYetAcknowledged(current))
        return Decision::refused(it + " was never acknowledged; acknowledge it first");
      if (!working(current))
        return Decision::refused(it + " is " + stateName(current) + ", its status cannot change");
      return Decision::apply(target);
    }
    case Action::Reject:
      if (!validReasonCode(reason_code))
        return Decision::invalid(
            "reason_code: must be not-our-authority, duplicate, insufficient-information or "
            "other");
      if (current == v1::ASSIGNMENT_STATE_REJECTED)
        return Decision::repeat(v1::ASSIGNMENT_STATE_REJECTED);
      if (notYetAcknowledged(current) || current == v1::ASSIGNMENT_STATE_ACKNOWLEDGED ||
          current == v1::ASSIGNMENT_STATE_IN_PROGRESS)
        return Decision::apply(v1::ASSIGNMENT_STATE_REJECTED);
      return Decision::refused("the assignment is " + stateName(current) +
                               ", it can no longer be rejected");
  }
  return Decision::refused("unknown action");
}

}  // namespace lapor::notification::domain
