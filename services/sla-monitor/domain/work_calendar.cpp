// Civil-day arithmetic goes through abseil's time-zone library (the system tzdb), so a zone
// with daylight saving or a historic offset change is as correct as Asia/Makassar.
#include "domain/work_calendar.h"

#include <yaml-cpp/yaml.h>

namespace lapor::sla {

WorkCalendar::WorkCalendar(const std::string& zone, const std::vector<std::string>& holidays)
    : zone_name_(zone) {
  if (!absl::LoadTimeZone(zone, &zone_))
    throw CalendarError("unknown time zone '" + zone + "' (an IANA name such as Asia/Makassar)");
  for (const auto& h : holidays) holidays_.insert(parseDay(h));
}

absl::CivilDay WorkCalendar::parseDay(const std::string& text) {
  absl::CivilDay day;
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day) ||
      absl::FormatCivilTime(day) != text)
    throw CalendarError("holiday '" + text + "' is not a date YYYY-MM-DD");
  return day;
}

bool WorkCalendar::isWorkingDay(absl::CivilDay day) const {
  const auto wd = absl::GetWeekday(day);
  if (wd == absl::Weekday::saturday || wd == absl::Weekday::sunday) return false;
  return !isHoliday(day);
}

absl::CivilDay WorkCalendar::localDay(int64_t epoch_ms) const {
  return absl::ToCivilDay(absl::FromUnixMillis(epoch_ms), zone_);
}

int64_t WorkCalendar::startOfDay(absl::CivilDay day) const {
  return absl::ToUnixMillis(zone_.At(absl::CivilSecond(day)).pre);
}

int64_t WorkCalendar::holidaysKnownUntilMs() const {
  if (holidays_.empty()) return 0;
  return startOfDay(absl::CivilDay(absl::CivilYear(holidays_.rbegin()->year() + 1)));
}

int64_t WorkCalendar::addWorkingDays(int64_t from_ms, int n) const {
  if (n <= 0) return from_ms;
  auto day = localDay(from_ms);
  int counted = 0;
  // Bounded: even a year of holidays cannot stall it (366 days of slack per working day).
  for (int guard = 0; counted < n && guard < n * 7 + 400; ++guard) {
    day += 1;
    if (isWorkingDay(day)) ++counted;
  }
  return startOfDay(day + 1);
}

}  // namespace lapor::sla

namespace lapor::sla {

std::vector<std::string> parseHolidayList(const std::string& text) {
  std::vector<std::string> out;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    root = YAML::Node();
  }
  if (root.IsMap() && root["holidays"]) root = root["holidays"];
  if (root.IsSequence()) {
    for (const auto& n : root) {
      const auto node = n.IsMap() ? n["date"] : n;
      if (!node || !node.IsScalar())
        throw CalendarError("holiday entry at line " + std::to_string(n.Mark().line + 1) +
                            " has no date");
      out.push_back(node.as<std::string>());
      WorkCalendar::parseDay(out.back());
    }
    return out;
  }
  size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
    WorkCalendar::parseDay(line);
    out.push_back(line);
  }
  return out;
}

}  // namespace lapor::sla
