// Deadline arithmetic for the acknowledge stage (wall clock).
#include "domain/sla_policy.h"

#include "events/envelope.h"

#include <cmath>

namespace lapor::sla {

SlaPolicy SlaPolicy::defaults() {
  using namespace std::chrono;
  SlaPolicy p;
  p.acknowledge = {{v1::PRIORITY_EMERGENCY, seconds(60)},
                   {v1::PRIORITY_HIGH, hours(24)},
                   {v1::PRIORITY_NORMAL, hours(24 * 5)},
                   {v1::PRIORITY_LOW, hours(24 * 5)}};
  return p;
}

SlaPolicy SlaPolicy::fromConfig(const config::Config& cfg) {
  auto p = defaults();
  const std::pair<v1::Priority, const char*> keys[] = {{v1::PRIORITY_EMERGENCY, "emergency"},
                                                       {v1::PRIORITY_HIGH, "high"},
                                                       {v1::PRIORITY_NORMAL, "normal"},
                                                       {v1::PRIORITY_LOW, "low"}};
  for (const auto& [prio, name] : keys) {
    auto d = cfg.getDuration("sla", std::string("acknowledge_") + name, p.acknowledge[prio]);
    if (d.count() <= 0)
      throw cfg.error("sla", std::string("acknowledge_") + name, "must be positive");
    p.acknowledge[prio] = d;
  }
  auto pct = cfg.getInt("sla", "warn_percent", 80, 1, 99);
  p.warn_fraction = static_cast<double>(pct) / 100.0;
  return p;
}

std::string obligationId(const std::string& assignment_id, v1::SlaStage stage) {
  return events::nameUuid("obligation/" + assignment_id + "/" + std::to_string(stage));
}

std::vector<ObligationStart> obligationsStartedBy(const v1::EventEnvelope& env,
                                                  const SlaPolicy& policy) {
  std::vector<ObligationStart> out;
  if (env.event_case() != v1::EventEnvelope::kRouted) return out;
  const auto& routed = env.routed();
  auto it = policy.acknowledge.find(routed.priority());
  auto limit =
      it != policy.acknowledge.end() ? it->second : policy.acknowledge.at(v1::PRIORITY_NORMAL);
  for (const auto& a : routed.assignments()) {
    ObligationStart o;
    o.stage = v1::SLA_STAGE_ACKNOWLEDGE;
    o.obligation_id = obligationId(a.assignment_id(), o.stage);
    o.complaint_id = env.complaint_id();
    o.assignment_id = a.assignment_id();
    o.agency_id = a.agency_id();
    o.started_at_ms = env.occurred_at_ms();
    o.due_at_ms = o.started_at_ms + limit.count();
    o.warn_at_ms = o.started_at_ms +
                   static_cast<int64_t>(
                       std::llround(static_cast<double>(limit.count()) * policy.warn_fraction));
    out.push_back(std::move(o));
  }
  return out;
}

std::string obligationEndedBy(const v1::EventEnvelope& env) {
  if (env.event_case() != v1::EventEnvelope::kAcknowledged) return "";
  return obligationId(env.acknowledged().assignment_id(), v1::SLA_STAGE_ACKNOWLEDGE);
}

std::string stageName(v1::SlaStage stage) {
  switch (stage) {
    case v1::SLA_STAGE_DISPOSE:
      return "dispose";
    case v1::SLA_STAGE_ACKNOWLEDGE:
      return "acknowledge";
    case v1::SLA_STAGE_FOLLOW_UP:
      return "follow_up";
    case v1::SLA_STAGE_RESOLUTION:
      return "resolution";
    case v1::SLA_STAGE_ON_SCENE:
      return "on_scene";
    case v1::SLA_STAGE_AUTO_CLOSE:
      return "auto_close";
    default:
      return "unknown";
  }
}

}  // namespace lapor::sla
