// The routing decisions for one complaint: first route, re-route after a rejection (up to a
// cap, then triage), re-dispatch, a reopen back to the agency that answered, the triage
// desk's operator commands (assign, close, hand back), and the withdrawal of what is left when
// the complaint closes. Pure: the state and the clock reading come in, the new state and the
// events to produce go out. Every id is derived from the cause event's id, so deciding again
// on a replay gives the same events.
#pragma once

#include "domain/rule_set.h"
#include "domain/verification.h"
#include "lapor/v1/events.pb.h"
#include "lapor/v1/routing_admin.pb.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lapor::routing {

struct Effects {
  v1::RoutingState state;                                      // after the event
  std::vector<std::pair<std::string, v1::EventEnvelope>> out;  // topic, event
  std::string outcome;  // metric label: rule, triage, rerouted, reroute-cap, operator, ...
};

struct Refusal {
  std::string reason;  // dead-letter reason: invalid, unknown-complaint, unknown-assignment, ...
  std::string detail;
};

struct Decision {
  std::optional<Effects> effects;  // nothing to do when both are empty (a repeat, a no-op)
  std::optional<Refusal> refusal;
};

class ComplaintRouter {
 public:
  explicit ComplaintRouter(int max_reroutes, VerificationPolicy verification = {})
      : max_reroutes_(max_reroutes), verification_(std::move(verification)) {}

  // A new report: routed at once, or held for the verifiers (VerificationRequested) when the
  // verification policy says so.
  Decision submitted(const RuleSet& rules, const v1::EventEnvelope& env, int64_t now_ms) const;
  // `state` is what routing knows of the complaint (nullopt when nothing).
  Decision rejected(const RuleSet& rules, const std::optional<v1::RoutingState>& state,
                    const v1::EventEnvelope& env, int64_t now_ms) const;
  Decision redispatch(const std::optional<v1::RoutingState>& state, const v1::EventEnvelope& env,
                      int64_t now_ms) const;
  // The reporter reopened it: a new assignment (REOPENED, the reason in its note) for the
  // agency whose answer it reopens, or the triage desk when there is none.
  Decision reopened(const std::optional<v1::RoutingState>& state, const v1::EventEnvelope& env,
                    int64_t now_ms) const;
  // An agency's answer (resolved, responded): remembered so a reopen goes back to it.
  Decision answered(const std::optional<v1::RoutingState>& state,
                    const v1::EventEnvelope& env) const;
  // The complaint closed: whatever assignment is still live is withdrawn.
  Decision closed(const std::optional<v1::RoutingState>& state, const v1::EventEnvelope& env,
                  int64_t now_ms) const;
  // The reporter answered the verifiers' postponement: the report is back in the queue.
  Decision reporterAnswered(const std::optional<v1::RoutingState>& state,
                            const v1::EventEnvelope& env) const;
  // An operator command: Assign, CloseComplaint, ReturnToTriage, or a verifier's Verify,
  // Postpone, NotOurs or Archive.
  Decision command(const RuleSet& rules, const std::optional<v1::RoutingState>& state,
                   const v1::RoutingCommand& cmd, int64_t now_ms) const;
  Decision assign(const RuleSet& rules, const std::optional<v1::RoutingState>& state,
                  const v1::RoutingCommand& cmd, int64_t now_ms) const;

  // Whether a command may be carried out on a complaint in this state: "" when it may, else
  // why not (the RPC answers FAILED_PRECONDITION with it before producing anything).
  static std::string refusalOf(const v1::RoutingState& state, const v1::RoutingCommand& cmd);
  // The complaint id a command is about ("" when it names none).
  static const std::string& complaintOf(const v1::RoutingCommand& cmd);

  // The assignment id an Assign command produces (the RPC answers with it before routing runs).
  static std::string assignmentIdFor(const std::string& cause_id, const std::string& agency_id);
  int maxReroutes() const { return max_reroutes_; }
  const std::set<v1::Channel>& verificationChannels() const { return verification_.channels(); }

 private:
  Decision verification(const RuleSet& rules, const v1::RoutingState& state,
                        const v1::RoutingCommand& cmd, int64_t now_ms) const;

  int max_reroutes_;
  VerificationPolicy verification_;
};

}  // namespace lapor::routing
