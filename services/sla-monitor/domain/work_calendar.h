// Working-day arithmetic in one IANA time zone: Monday to Friday, minus configured holidays
// (national holidays and cuti bersama). Pure: times come in as epoch milliseconds.
#pragma once

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace lapor::sla {

class CalendarError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class WorkCalendar {
 public:
  // Throws CalendarError for an unknown zone name or a malformed holiday ("YYYY-MM-DD").
  WorkCalendar(const std::string& zone, const std::vector<std::string>& holidays);

  bool isWorkingDay(absl::CivilDay day) const;
  bool isHoliday(absl::CivilDay day) const { return holidays_.count(day) > 0; }
  // The local calendar day an instant falls on.
  absl::CivilDay localDay(int64_t epoch_ms) const;
  // Midnight local time at the start of `day`, as epoch milliseconds.
  int64_t startOfDay(absl::CivilDay day) const;

  // "N working days from `from`": the end (next local midnight) of the Nth working day after
  // the local day of `from`. The day of submission never counts, whatever the hour, so a
  // complaint sent at 23:50 on Friday gets the same deadline as one sent on Saturday noon.
  // n <= 0 returns `from`.
  int64_t addWorkingDays(int64_t from_ms, int n) const;

  const std::string& zoneName() const { return zone_name_; }
  size_t holidayCount() const { return holidays_.size(); }
  // The end of the last year the holiday list names a date in (local midnight starting
  // 1 January of the year after), as epoch milliseconds; 0 without holidays. Past it, only
  // weekends are skipped: next year's decree must be added before then.
  int64_t holidaysKnownUntilMs() const;

  // Parses "YYYY-MM-DD"; throws CalendarError naming the text.
  static absl::CivilDay parseDay(const std::string& text);

 private:
  std::string zone_name_;
  absl::TimeZone zone_;
  std::set<absl::CivilDay> holidays_;
};

}  // namespace lapor::sla

namespace lapor::sla {

// The dates of a holiday list: a YAML list (of "YYYY-MM-DD" or {date, name} maps, at the top
// or under `holidays:`) or plain text with one date a line ('#' starts a comment).
// Throws CalendarError naming the entry that is not a date.
std::vector<std::string> parseHolidayList(const std::string& text);

}  // namespace lapor::sla
