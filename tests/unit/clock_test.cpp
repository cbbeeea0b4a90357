// Clocks and RFC 3339 formatting.
#include "time/clock.h"
#include "tz_guard.h"

#include <gtest/gtest.h>

namespace lapor::time {
namespace {

using namespace std::chrono_literals;

TEST(ClockTest, FormatRfc3339) {
  EXPECT_EQ(formatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(formatRfc3339(1'795'917'600'123), "2026-11-29T02:00:00.123Z");
}

TEST(ClockTest, FormatRfc3339IsUtcWhateverTheLocalZone) {
  lapor::testing::TzGuard tz(lapor::testing::kWita);
  EXPECT_EQ(formatRfc3339(1'795'917'600'123), "2026-11-29T02:00:00.123Z");
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(1'000);
  EXPECT_EQ(clock.nowMs(), 1'000);
  clock.advance(250ms);
  EXPECT_EQ(clock.nowMs(), 1'250);
  clock.set(42);
  EXPECT_EQ(clock.nowMs(), 42);
}

TEST(ClockTest, SystemClockIsEpochMilliseconds) {
  SystemClock clock;
  const int64_t now = clock.nowMs();
  EXPECT_GT(now, 1'700'000'000'000);  // after 2023
  EXPECT_LT(now, 4'102'444'800'000);  // before 2100
}

}  // namespace
}  // namespace lapor::time
