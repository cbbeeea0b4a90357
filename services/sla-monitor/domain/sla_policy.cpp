// The deadlines of docs/deadlines.md: dispose (3 working days from submission), acknowledge (per
// priority, 60 s for emergencies), agency follow-up (5 working days from delivery), on scene
// (15 min for emergencies), resolution (60 days from submission), auto-close (10 working days
// after an answer).
#include "domain/sla_policy.h"

#include "events/names.h"

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
  // Resolution by report type (docs/deadlines.md): the complaint classes of the public-service
  // standards, aspirations like a complaint without oversight, information requests by
  // UU 14/2008 (10 working days).
  auto res = [&p](v1::ReportType t, int wd) {
    p.type_deadlines[{v1::SLA_STAGE_RESOLUTION, t}] = Deadline::workingDays(wd);
  };
  res(v1::REPORT_TYPE_COMPLAINT, 14);
  res(v1::REPORT_TYPE_COMPLAINT_LIGHT, 2);
  res(v1::REPORT_TYPE_COMPLAINT_NORMATIVE, 5);
  res(v1::REPORT_TYPE_COMPLAINT_OVERSIGHT, 60);
  res(v1::REPORT_TYPE_ASPIRATION, 14);
  res(v1::REPORT_TYPE_INFORMATION_REQUEST, 10);
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
  for (auto stage : kStages) {
    for (auto type : events::kReportTypes) {
      const auto key = stageName(stage) + "_" + events::reportTypeName(type);
      auto it = p.type_deadlines.find({stage, type});
      const auto text = cfg.getString("sla", key, it == p.type_deadlines.end() ? "" : it->second.text());
      if (text.empty()) continue;  // the priority's deadline applies
      try {
        p.type_deadlines[{stage, type}] = Deadline::parse(text);
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
      if (n["type"]) {
        auto type = events::reportTypeFromName(n["type"].as<std::string>());
        if (!type)
          throw cfg.error("sla", at + ".type",
                          "must be a report type (complaint, complaint_light, complaint_normative, "
                          "complaint_oversight, aspiration, information_request)");
        o.report_type = *type;
      }
      if (o.agency.empty() && o.category.empty() && o.report_type == v1::REPORT_TYPE_UNSPECIFIED)
        throw cfg.error("sla", at, "needs an agency, a category or a type");
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
                                const std::string& category, const std::string& agency,
                                v1::ReportType type) const {
  priority = knownPriority(priority);
  type = events::knownReportType(type);
  const DeadlineOverride* best = nullptr;
  int best_score = -1;
  for (const auto& o : overrides) {
    if (o.stage != stage) continue;
    if (!o.agency.empty() && o.agency != agency) continue;
    if (!o.category.empty() && o.category != category) continue;
    if (o.priority != v1::PRIORITY_UNSPECIFIED && o.priority != priority) continue;
    if (o.report_type != v1::REPORT_TYPE_UNSPECIFIED && o.report_type != type) continue;
    const int score = (o.agency.empty() ? 0 : 8) + (o.category.empty() ? 0 : 4) +
                      (o.report_type == v1::REPORT_TYPE_UNSPECIFIED ? 0 : 2) +
                      (o.priority == v1::PRIORITY_UNSPECIFIED ? 0 : 1);
    if (score > best_score) best = &o, best_score = score;
  }
  if (best) return best->deadline;
  if (priority != v1::PRIORITY_EMERGENCY) {
    auto t = type_deadlines.find({stage, type});
    if (t != type_deadlines.end()) return t->second;
  }
  auto it = deadlines.find({stage, priority});
  return it == deadlines.end() ? Deadline::off() : it->second;
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
    case v1::SLA_STAGE_ESCALATION:
      return "escalation";
    default:
      return "unknown";
  }
}

v1::Priority knownPriority(v1::Priority p) {
  return p == v1::PRIORITY_UNSPECIFIED ? v1::PRIORITY_NORMAL : p;
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
