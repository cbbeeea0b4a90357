// The deadlines of each stage (per priority, with per-agency and per-category overrides) and
// the shapes of an obligation's start and end. Which obligations a complaint is owed is the
// follow-up rule's (domain/follow_up.h).
#pragma once

#include "config/config.h"
#include "domain/work_calendar.h"
#include "lapor/v1/events.pb.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lapor::sla {

// A deadline: wall-clock time ("60s", "15m", "60d"), working days ("3wd") or "off" (the stage
// does not apply).
struct Deadline {
  enum class Unit { Off, Wall, WorkingDays };
  Unit unit = Unit::Off;
  int64_t wall_ms = 0;
  int working_days = 0;

  static Deadline wall(std::chrono::milliseconds d) { return {Unit::Wall, d.count(), 0}; }
  static Deadline workingDays(int n) { return {Unit::WorkingDays, 0, n}; }
  static Deadline off() { return {}; }
  // Throws std::invalid_argument with the reason.
  static Deadline parse(const std::string& text);
  std::string text() const;
  bool enabled() const { return unit != Unit::Off; }
  int64_t dueFrom(int64_t start_ms, const WorkCalendar& cal) const;
  bool operator==(const Deadline&) const = default;
};

// A deadline for one stage that applies to an agency and/or category (and optionally one
// priority); the most specific matching override wins over the per-priority default.
struct DeadlineOverride {
  v1::SlaStage stage = v1::SLA_STAGE_UNSPECIFIED;
  std::string agency;    // "" = any
  std::string category;  // "" = any
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;  // unspecified = any
  Deadline deadline;
  v1::ReportType report_type = v1::REPORT_TYPE_UNSPECIFIED;  // unspecified = any
};

struct SlaPolicy {
  std::map<std::pair<v1::SlaStage, v1::Priority>, Deadline> deadlines;
  // A report type's own deadline for a stage (the public-service standard's complaint classes,
  // aspirations, information requests): wins over the priority's, except for emergencies.
  std::map<std::pair<v1::SlaStage, v1::ReportType>, Deadline> type_deadlines;
  std::vector<DeadlineOverride> overrides;
  double warn_fraction = 0.8;  // share of the time after which a warning goes out

  static SlaPolicy defaults();
  // Section `sla`: <stage>_<priority> and <stage>_<report type> deadlines, warn_percent (1-99)
  // and `overrides` (a list).
  static SlaPolicy fromConfig(const config::Config& cfg);

  // The most specific override (agency, then category, then report type, then priority), else
  // the report type's deadline (not for emergencies), else the priority's.
  Deadline deadlineFor(v1::SlaStage stage, v1::Priority priority, const std::string& category,
                       const std::string& agency,
                       v1::ReportType type = v1::REPORT_TYPE_UNSPECIFIED) const;
};

struct ObligationStart {
  std::string obligation_id;
  std::string complaint_id;
  std::string assignment_id;  // "" for complaint-level stages (dispose, resolution, auto-close);
                              // an escalation: the supervisor's own item
  std::string agency_id;
  v1::SlaStage stage = v1::SLA_STAGE_UNSPECIFIED;
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
  std::string category;
  v1::ReportType report_type = v1::REPORT_TYPE_COMPLAINT;
  std::string tracking_id;  // the reporter's tracking id, when known (for people, never a key)
  std::string deadline;     // Deadline::text(), kept to time escalations
  int64_t started_at_ms = 0;
  int64_t warn_at_ms = 0;  // 0: no warning (auto-close)
  int64_t due_at_ms = 0;
  // SLA_STAGE_ESCALATION: the obligation escalated and the level this one is.
  std::string escalates;
  int level = 0;
};

// How an open obligation ends: met by the event that satisfies it, or cancelled because the
// work went away (assignment rejected or withdrawn, reporter replied, complaint closed).
enum class EndOutcome { Met, Cancelled };

struct ObligationEnd {
  v1::SlaStage stage = v1::SLA_STAGE_UNSPECIFIED;  // unspecified: every stage
  std::string assignment_id;                       // "": any assignment (or complaint-level)
  EndOutcome outcome = EndOutcome::Met;
};

std::string stageName(v1::SlaStage stage);
std::string priorityName(v1::Priority priority);
// The priority a clock runs for: an unspecified one is normal.
v1::Priority knownPriority(v1::Priority p);
bool isAssignmentStage(v1::SlaStage stage);

}  // namespace lapor::sla
