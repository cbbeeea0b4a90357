// The routing decisions for one complaint: first route, re-route after a rejection (up to a
// cap, then triage), redispatch, operator assignment. Pure: the state and the clock reading
// come in, the new state and the events to produce go out. Every id is derived from the cause
// event's id, so deciding again on a replay gives the same events.
#pragma once

#include "domain/rule_set.h"
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
  explicit ComplaintRouter(int max_reroutes) : max_reroutes_(max_reroutes) {}

  Decision submitted(const RuleSet& rules, const v1::EventEnvelope& env, int64_t now_ms) const;
  // `state` is what routing knows of the complaint (nullopt when nothing).
  Decision rejected(const RuleSet& rules, const std::optional<v1::RoutingState>& state,
                    const v1::EventEnvelope& env, int64_t now_ms) const;
  Decision redispatch(const std::optional<v1::RoutingState>& state, const v1::EventEnvelope& env,
                      int64_t now_ms) const;
  Decision assign(const RuleSet& rules, const std::optional<v1::RoutingState>& state,
                  const v1::RoutingCommand& cmd, int64_t now_ms) const;

  // The assignment id an Assign command produces (the RPC answers with it before routing runs).
  static std::string assignmentIdFor(const std::string& cause_id, const std::string& agency_id);
  int maxReroutes() const { return max_reroutes_; }

 private:
  int max_reroutes_;
};

}  // namespace lapor::routing
