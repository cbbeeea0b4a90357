// The promised response time: wall clock for emergencies, Monday-Friday working days otherwise,
// counted in the regency's time zone.
#include "domain/response_time.h"

#include <gtest/gtest.h>

namespace lapor::intake {
namespace {

using namespace std::chrono;

constexpr int64_t kDay = 86'400'000;
// Friday 2026-11-27 10:00 WITA = 02:00 UTC.
constexpr int64_t kFridayMorning = 1'795'744'800'000;

ResponseTimes defaults() {
  return ResponseTimes({{v1::PRIORITY_EMERGENCY, {seconds(60), false}},
                        {v1::PRIORITY_NORMAL, {hours(72), true}},
                        {v1::PRIORITY_LOW, {hours(2), false}}},
                       480);
}

TEST(ResponseTimeTest, EmergencyCountsWallClockSeconds) {
  auto e = defaults().expected(v1::PRIORITY_EMERGENCY, kFridayMorning);
  EXPECT_EQ(e.seconds, 60);
  EXPECT_EQ(e.words, "within 60 seconds");
  EXPECT_EQ(e.by_ms, kFridayMorning + 60'000);
}

TEST(ResponseTimeTest, WorkingDaysSkipTheWeekend) {
  auto e = defaults().expected(v1::PRIORITY_NORMAL, kFridayMorning);
  EXPECT_EQ(e.words, "within 3 working days");
  EXPECT_EQ(e.seconds, 3 * 86400);
  // Friday + 3 working days = Wednesday, same time of day.
  EXPECT_EQ(e.by_ms, kFridayMorning + 5 * kDay);
  // From a Monday no weekend is crossed.
  auto monday = defaults().expected(v1::PRIORITY_NORMAL, kFridayMorning + 3 * kDay);
  EXPECT_EQ(monday.by_ms, kFridayMorning + 6 * kDay);
}

TEST(ResponseTimeTest, WeekendIsTheRegencysWeekend) {
  // Friday 23:30 UTC is already Saturday 07:30 in WITA: one day later is Sunday there.
  const int64_t friday_late_utc = kFridayMorning + 21 * 3'600'000 + 30 * 60'000;
  auto e = ResponseTimes({{v1::PRIORITY_NORMAL, {hours(24), true}}}, 480)
               .expected(v1::PRIORITY_NORMAL, friday_late_utc);
  EXPECT_EQ(e.by_ms, friday_late_utc + 2 * kDay);  // Monday in WITA
  auto utc = ResponseTimes({{v1::PRIORITY_NORMAL, {hours(24), true}}}, 0)
                 .expected(v1::PRIORITY_NORMAL, friday_late_utc);
  EXPECT_EQ(utc.by_ms, friday_late_utc + 3 * kDay);  // Friday in UTC: Monday is 3 days on
}

TEST(ResponseTimeTest, HoursAndUnknownPriorities) {
  EXPECT_EQ(defaults().expected(v1::PRIORITY_LOW, 0).words, "within 2 hours");
  EXPECT_EQ(defaults().expected(v1::PRIORITY_HIGH, 0).seconds, 0);  // not configured
}

}  // namespace
}  // namespace lapor::intake
