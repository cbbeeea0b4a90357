// The obligations of SLA.md: dispose (3 working days from submission), acknowledge (per
// priority, 60 s for emergencies), agency follow-up (5 working days from delivery), on scene
// (15 min for emergencies), resolution (60 days from submission), auto-close (10 working days
// after an answer).
#include "domain/sla_policy.h"

#include "events/envelope.h"

#include <cmath>
#include <stdexcept>

namespace lapor::sla {

namespace {

constexpr std::pair<v1::Priority, const char*> kPriorities[] = {
    {v1::PRIORITY_EMERGENCY, "emergency"},
    {v1::PRIORITY_HIGH, "high"},
    {v1::PRIORITY_NORMAL, "normal"},
    {v1::PRIORITY_LOW, "low"}};

constexpr v1::SlaStage kStages[] = {v1::SLA_STAGE_DISPOSE,    v1::SLA_STAGE_ACKNOWLEDGE,
                                    v1::SLA_STAGE_FOLLOW_UP,  v1::SLA_STAGE_RESOLUTION,
                                    v1::SLA_STAGE_ON_SCENE,   v1::SLA_STAGE_AUTO_CLOSE};

v1::Priority knownPriority(v1::Priority p) {
  return p == v1::PRIORITY_UNSPECIFIED ? v1::PRIORITY_NORMAL : p;
}

std::optional<v1::SlaStage> stageFromName(const std::string& name) {
  for (auto s : kStages)
    if (stageName(s) == name) return s;
  return std::nullopt;
}

std::optional<v1::Priority> priorityFromName(const std::string& name) {
  for (const auto& [p, n] : kPriorities)
    if (name == n) return p;
  return std::nullopt;
}

// Ids come from the event that started the obligation, so a replayed event finds the
// obligation it started before instead of starting a second one.
std::string idFor(const std::string& scope, v1::SlaStage stage, const std::string& salt) {
  return events::nameUuid("obligation/" + scope + "/" + std::to_string(stage) +
                          (salt.empty() ? "" : "/" + salt));
}

}  // namespace

Deadline Deadline::parse(const std::string& text) {
  if (text == "off") return off();
  if (text.size() > 2 && text.compare(text.size() - 2, 2, "wd") == 0) {
    const auto num = text.substr(0, text.size() - 2);
    if (num.find_first_not_of("0123456789") != std::string::npos || num.size() > 4)
      throw std::invalid_argument("'" + text + "' is not a number of working days (e.g. 3wd)");
    const int n = std::stoi(num);
    if (n <= 0) throw std::invalid_argument("'" + text + "' must be positive");
    return workingDays(n);
  }
  std::chrono::milliseconds d;
  try {
    d = config::Config::parseDuration(text);
  } catch (const std::exception&) {
    throw std::invalid_argument("'" + text +
                                "' is not a deadline: a duration (60s, 15m, 60d), working days "
                                "(3wd) or off");
  }
  if (d.count() <= 0) throw std::invalid_argument("'" + text + "' must be positive");
  return wall(d);
}

std::string Deadline::text() const {
  switch (unit) {
    case Unit::Off:
      return "off";
    case Unit::WorkingDays:
      return std::to_string(working_days) + "wd";
    case Unit::Wall:
      break;
  }
  return std::to_string(wall_ms) + "ms";
}

int64_t Deadline::dueFrom(int64_t start_ms, const WorkCalendar& cal) const {
  if (unit == Unit::WorkingDays) return cal.addWorkingDays(start_ms, working_days);
  return start_ms + wall_ms;
}

SlaPolicy SlaPolicy::defaults() {
  using namespace std::chrono;
  SlaPolicy p;
  auto set = [&p](v1::SlaStage s, Deadline emergency, Deadline others) {
    for (const auto& [prio, name] : kPriorities)
      p.deadlines[{s, prio}] = prio == v1::PRIORITY_EMERGENCY ? emergency : others;
  };
  set(v1::SLA_STAGE_DISPOSE, Deadline::wall(minutes(1)), Deadline::workingDays(3));
  set(v1::SLA_STAGE_ACKNOWLEDGE, Deadline::wall(seconds(60)), Deadline::wall(hours(24 * 5)));
  p.deadlines[{v1::SLA_STAGE_ACKNOWLEDGE, v1::PRIORITY_HIGH}] = Deadline::wall(hours(24));
  set(v1::SLA_STAGE_FOLLOW_UP, Deadline::off(), Deadline::workingDays(5));
  set(v1::SLA_STAGE_ON_SCENE, Deadline::wall(minutes(15)), Deadline::off());
  set(v1::SLA_STAGE_RESOLUTION, Deadline::wall(hours(24 * 60)), Deadline::wall(hours(24 * 60)));
  set(v1::SLA_STAGE_AUTO_CLOSE, Deadline::workingDays(10), Deadline::workingDays(10));
  return p;
}

SlaPolicy SlaPolicy::fromConfig(const config::Config& cfg) {
  auto p = defaults();
  for (auto stage : kStages) {
    for (const auto& [prio, name] : kPriorities) {
      const auto key = stageName(stage) + "_" + name;
      auto& slot = p.deadlines[{stage, prio}];
      const auto text = cfg.getString("sla", key, slot.text());
      try {
        slot = Deadline::parse(text);
      } catch (const std::exception& e) {
        throw cfg.error("sla", key, e.what());
      }
    }
  }
  auto pct = cfg.getInt("sla", "warn_percent", 80, 1, 99);
  p.warn_fraction = static_cast<double>(pct) / 100.0;
  const auto section = cfg.node("sla");
  if (section && section.IsMap() && section["overrides"]) {
    const auto list = section["overrides"];
    if (!list.IsSequence()) throw cfg.error("sla", "overrides", "must be a list");
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& n = list[i];
      const auto at = "overrides[" + std::to_string(i) + "]";
      if (!n.IsMap()) throw cfg.error("sla", at, "must be a map");
      DeadlineOverride o;
      auto stage = stageFromName(n["stage"] ? n["stage"].as<std::string>() : "");
      if (!stage) throw cfg.error("sla", at + ".stage", "must name a stage (dispose, ...)");
      o.stage = *stage;
      if (n["agency"]) o.agency = n["agency"].as<std::string>();
      if (n["category"]) o.category = n["category"].as<std::string>();
      if (n["priority"]) {
        auto prio = priorityFromName(n["priority"].as<std::string>());
        if (!prio) throw cfg.error("sla", at + ".priority", "must be emergency/high/normal/low");
        o.priority = *prio;
      }
      if (o.agency.empty() && o.category.empty())
        throw cfg.error("sla", at, "needs an agency or a category");
      try {
        o.deadline = Deadline::parse(n["deadline"] ? n["deadline"].as<std::string>() : "");
      } catch (const std::exception& e) {
        throw cfg.error("sla", at + ".deadline", e.what());
      }
      p.overrides.push_back(std::move(o));
    }
  }
  return p;
}

Deadline SlaPolicy::deadlineFor(v1::SlaStage stage, v1::Priority priority,
                                const std::string& category, const std::string& agency) const {
  priority = knownPriority(priority);
  const DeadlineOverride* best = nullptr;
  int best_score = -1;
  for (const auto& o : overrides) {
    if (o.stage != stage) continue;
    if (!o.agency.empty() && o.agency != agency) continue;
    if (!o.category.empty() && o.category != category) continue;
    if (o.priority != v1::PRIORITY_UNSPECIFIED && o.priority != priority) continue;
    const int score = (o.agency.empty() ? 0 : 4) + (o.category.empty() ? 0 : 2) +
                      (o.priority == v1::PRIORITY_UNSPECIFIED ? 0 : 1);
    if (score > best_score) best = &o, best_score = score;
  }
  if (best) return best->deadline;
  auto it = deadlines.find({stage, priority});
  return it == deadlines.end() ? Deadline::off() : it->second;
}

namespace {

struct Builder {
  const v1::EventEnvelope& env;
  const ComplaintFacts& facts;
  const SlaPolicy& policy;
  const WorkCalendar& cal;
  Decision& out;

  void start(v1::SlaStage stage, const std::string& assignment, const std::string& agency,
             int64_t from, const std::string& salt) {
    const auto deadline = policy.deadlineFor(stage, facts.priority, facts.category, agency);
    if (!deadline.enabled()) return;
    ObligationStart o;
    o.stage = stage;
    o.obligation_id = idFor(assignment.empty() ? env.complaint_id() : assignment, stage, salt);
    o.complaint_id = env.complaint_id();
    o.assignment_id = assignment;
    o.agency_id = agency;
    o.priority = knownPriority(facts.priority);
    o.category = facts.category;
    o.deadline = deadline.text();
    o.started_at_ms = from;
    o.due_at_ms = deadline.dueFrom(from, cal);
    if (stage != v1::SLA_STAGE_AUTO_CLOSE)
      o.warn_at_ms = from + static_cast<int64_t>(std::llround(
                                static_cast<double>(o.due_at_ms - from) * policy.warn_fraction));
    out.starts.push_back(std::move(o));
  }
  void end(v1::SlaStage stage, const std::string& assignment, EndOutcome outcome) {
    out.ends.push_back({stage, assignment, outcome});
  }
};

}  // namespace

Decision decide(const v1::EventEnvelope& env, const ComplaintFacts& known,
                const SlaPolicy& policy, const WorkCalendar& cal) {
  Decision out;
  ComplaintFacts facts = known;
  if (env.has_submitted()) {
    facts = {env.submitted().complaint().priority(), env.submitted().complaint().category()};
    out.facts = facts;
  } else if (env.has_routed()) {
    facts.priority = env.routed().priority() != v1::PRIORITY_UNSPECIFIED ? env.routed().priority()
                                                                         : facts.priority;
    if (!env.routed().category().empty()) facts.category = env.routed().category();
    out.facts = facts;
  }
  Builder b{env, facts, policy, cal, out};
  const auto at = env.occurred_at_ms();
  const std::string triage = "triage";  // AgencyDirectory::kTriage: the operator queue
  switch (env.event_case()) {
    case v1::EventEnvelope::kSubmitted:
      b.start(v1::SLA_STAGE_DISPOSE, "", triage, at, env.event_id());
      b.start(v1::SLA_STAGE_RESOLUTION, "", triage, at, env.event_id());
      break;
    case v1::EventEnvelope::kReopened:
      b.end(v1::SLA_STAGE_AUTO_CLOSE, "", EndOutcome::Cancelled);
      b.start(v1::SLA_STAGE_DISPOSE, "", triage, at, env.event_id());
      b.start(v1::SLA_STAGE_RESOLUTION, "", triage, at, env.event_id());
      break;
    case v1::EventEnvelope::kRouted: {
      const auto& r = env.routed();
      if (r.triage() || r.assignments().empty()) break;  // the operator queue still holds it
      b.end(v1::SLA_STAGE_DISPOSE, "", EndOutcome::Met);
      // A re-dispatch sends the same assignment again: its acknowledge clock starts over.
      const auto salt = r.reason() == "redispatch" ? env.event_id() : std::string();
      for (const auto& a : r.assignments()) {
        if (a.role() == v1::ASSIGNMENT_ROLE_LEAD && out.lead_agency.empty())
          out.lead_agency = a.agency_id();
        b.start(v1::SLA_STAGE_ACKNOWLEDGE, a.assignment_id(), a.agency_id(), at, salt);
        if (a.role() != v1::ASSIGNMENT_ROLE_SUPPORT)
          b.start(v1::SLA_STAGE_ON_SCENE, a.assignment_id(), a.agency_id(), at, salt);
      }
      if (out.lead_agency.empty()) out.lead_agency = r.assignments(0).agency_id();
      break;
    }
    case v1::EventEnvelope::kDelivered: {
      const auto& d = env.delivered();
      b.start(v1::SLA_STAGE_FOLLOW_UP, d.assignment_id(), d.agency_id(),
              d.delivered_at_ms() > 0 ? d.delivered_at_ms() : at, "");
      break;
    }
    case v1::EventEnvelope::kAcknowledged:
      b.end(v1::SLA_STAGE_ACKNOWLEDGE, env.acknowledged().assignment_id(), EndOutcome::Met);
      break;
    case v1::EventEnvelope::kStatusUpdated: {
      const auto& s = env.status_updated();
      // Any progress report is also an acknowledgement.
      b.end(v1::SLA_STAGE_ACKNOWLEDGE, s.assignment_id(), EndOutcome::Met);
      if (s.state() == v1::ASSIGNMENT_STATE_ON_SCENE)
        b.end(v1::SLA_STAGE_ON_SCENE, s.assignment_id(), EndOutcome::Met);
      if (s.state() == v1::ASSIGNMENT_STATE_IN_PROGRESS ||
          s.state() == v1::ASSIGNMENT_STATE_RESPONDED)
        b.end(v1::SLA_STAGE_FOLLOW_UP, s.assignment_id(), EndOutcome::Met);
      if (s.state() == v1::ASSIGNMENT_STATE_RESPONDED) {
        b.end(v1::SLA_STAGE_AUTO_CLOSE, "", EndOutcome::Cancelled);  // the newest answer counts
        b.start(v1::SLA_STAGE_AUTO_CLOSE, "", s.agency_id(), at, env.event_id());
      }
      break;
    }
    case v1::EventEnvelope::kResolved: {
      const auto& r = env.resolved();
      for (auto s : {v1::SLA_STAGE_ACKNOWLEDGE, v1::SLA_STAGE_FOLLOW_UP, v1::SLA_STAGE_ON_SCENE})
        b.end(s, r.assignment_id(), EndOutcome::Met);
      b.end(v1::SLA_STAGE_RESOLUTION, "", EndOutcome::Met);
      b.end(v1::SLA_STAGE_AUTO_CLOSE, "", EndOutcome::Cancelled);
      b.start(v1::SLA_STAGE_AUTO_CLOSE, "", r.agency_id(), at, env.event_id());
      break;
    }
    case v1::EventEnvelope::kRejected:
      b.end(v1::SLA_STAGE_UNSPECIFIED, env.rejected().assignment_id(), EndOutcome::Cancelled);
      break;
    case v1::EventEnvelope::kWithdrawn:
      b.end(v1::SLA_STAGE_UNSPECIFIED, env.withdrawn().assignment_id(), EndOutcome::Cancelled);
      break;
    case v1::EventEnvelope::kFeedback:
      b.end(v1::SLA_STAGE_AUTO_CLOSE, "", EndOutcome::Cancelled);  // the reporter replied
      break;
    case v1::EventEnvelope::kClosed:
      b.end(v1::SLA_STAGE_UNSPECIFIED, "", EndOutcome::Cancelled);
      break;
    default:
      break;
  }
  return out;
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

std::string priorityName(v1::Priority priority) {
  for (const auto& [p, n] : kPriorities)
    if (p == priority) return n;
  return "normal";
}

bool isAssignmentStage(v1::SlaStage stage) {
  return stage == v1::SLA_STAGE_ACKNOWLEDGE || stage == v1::SLA_STAGE_FOLLOW_UP ||
         stage == v1::SLA_STAGE_ON_SCENE;
}

}  // namespace lapor::sla
