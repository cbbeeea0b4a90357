// Working days skip Saturday and Sunday in the regency's local time; public holidays are the SLA
// monitor's business (its calendar decides breaches), so this is the promise, not the clock.
#include "domain/response_time.h"

namespace lapor::intake {

namespace {
std::string plural(int64_t n, const std::string& unit) {
  return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
}

std::string inWords(const ResponseTarget& t) {
  using namespace std::chrono;
  const auto ms = t.within.count();
  if (t.working_days) return "within " + plural(ms / 86'400'000, "working day");
  if (ms < 120'000) return "within " + plural((ms + 999) / 1000, "second");
  if (ms % 86'400'000 == 0) return "within " + plural(ms / 86'400'000, "day");
  if (ms % 3'600'000 == 0) return "within " + plural(ms / 3'600'000, "hour");
  if (ms % 60'000 == 0) return "within " + plural(ms / 60'000, "minute");
  return "within " + plural((ms + 999) / 1000, "second");
}
}  // namespace

ResponseTimes::ResponseTimes(std::map<v1::Priority, ResponseTarget> targets, int utc_offset_minutes)
    : targets_(std::move(targets)), utc_offset_minutes_(utc_offset_minutes) {}

ExpectedResponse ResponseTimes::expected(v1::Priority priority, int64_t submitted_ms) const {
  auto it = targets_.find(priority);
  if (it == targets_.end()) return {};
  const auto& t = it->second;
  ExpectedResponse out;
  out.seconds = t.within.count() / 1000;
  out.words = inWords(t);
  if (!t.working_days) {
    out.by_ms = submitted_ms + t.within.count();
    return out;
  }
  constexpr int64_t kDay = 86'400'000;
  const int64_t offset = int64_t{utc_offset_minutes_} * 60'000;
  int64_t at = submitted_ms;
  int64_t days = t.within.count() / kDay;
  while (days > 0) {
    at += kDay;
    // Local day number since 1970-01-01 (a Thursday): 0 = Thursday ... 2 = Saturday, 3 = Sunday.
    const int64_t local_day = (at + offset) / kDay;
    const int64_t weekday = ((local_day % 7) + 7) % 7;
    if (weekday != 2 && weekday != 3) --days;
  }
  out.by_ms = at;
  return out;
}

}  // namespace lapor::intake
