// Working-day arithmetic: weekends, holidays and cuti bersama, year ends, late evenings, zones.
#include "domain/work_calendar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace lapor::sla {
namespace {

using ::testing::HasSubstr;

// Local wall time in a zone -> epoch ms (independent of the code under test: fixed offsets).
int64_t wita(int y, int mo, int d, int h, int mi) {
  return absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0),
                                            absl::FixedTimeZone(8 * 3600)));
}
// Midnight WITA at the start of a day.
int64_t midnight(int y, int mo, int d) {
  return wita(y, mo, d, 0, 0);
}

const WorkCalendar& plain() {
  static const WorkCalendar cal("Asia/Makassar", {});
  return cal;
}

TEST(WorkCalendarTest, WeekdaysWorkWeekendsDoNot) {
  EXPECT_TRUE(plain().isWorkingDay(absl::CivilDay(2026, 11, 30)));   // Monday
  EXPECT_TRUE(plain().isWorkingDay(absl::CivilDay(2026, 12, 4)));    // Friday
  EXPECT_FALSE(plain().isWorkingDay(absl::CivilDay(2026, 12, 5)));   // Saturday
  EXPECT_FALSE(plain().isWorkingDay(absl::CivilDay(2026, 12, 6)));   // Sunday
}

TEST(WorkCalendarTest, MondayMorningPlusThreeEndsThursdayNight) {
  EXPECT_EQ(plain().addWorkingDays(wita(2026, 11, 30, 9, 0), 3), midnight(2026, 12, 4));
}

TEST(WorkCalendarTest, FridaySkipsTheWeekend) {
  // Friday 10:00 + 3: Mon, Tue, Wed -> end of Wednesday.
  EXPECT_EQ(plain().addWorkingDays(wita(2026, 12, 4, 10, 0), 3), midnight(2026, 12, 10));
  // Saturday and Sunday submissions get the same deadline.
  EXPECT_EQ(plain().addWorkingDays(wita(2026, 12, 5, 12, 0), 3), midnight(2026, 12, 10));
  EXPECT_EQ(plain().addWorkingDays(wita(2026, 12, 6, 23, 0), 3), midnight(2026, 12, 10));
}

TEST(WorkCalendarTest, LateEveningCountsInTheLocalZoneNotUtc) {
  // 23:30 WITA on Thursday is 15:30 UTC the same day; 00:30 WITA on Friday is 16:30 UTC on
  // Thursday. The local day decides: Thursday's submission ends Tuesday, Friday's Wednesday.
  EXPECT_EQ(plain().addWorkingDays(wita(2026, 12, 3, 23, 30), 3), midnight(2026, 12, 9));
  EXPECT_EQ(plain().addWorkingDays(wita(2026, 12, 4, 0, 30), 3), midnight(2026, 12, 10));
}

TEST(WorkCalendarTest, HolidaysAndCutiBersamaAreSkipped) {
  // Idulfitri 2026: Fri 20 Mar (cuti bersama) to Tue 24 Mar (cuti bersama).
  const WorkCalendar cal("Asia/Makassar", {"2026-03-20", "2026-03-21", "2026-03-22",
                                           "2026-03-23", "2026-03-24"});
  EXPECT_FALSE(cal.isWorkingDay(absl::CivilDay(2026, 3, 23)));
  // Thu 19 Mar + 1: the next working day is Wed 25 Mar.
  EXPECT_EQ(cal.addWorkingDays(wita(2026, 3, 19, 8, 0), 1), midnight(2026, 3, 26));
  // Without the holidays it would be Friday.
  EXPECT_EQ(plain().addWorkingDays(wita(2026, 3, 19, 8, 0), 1), midnight(2026, 3, 21));
}

TEST(WorkCalendarTest, YearEndWithChristmasAndNewYear) {
  const WorkCalendar cal("Asia/Makassar", {"2026-12-24", "2026-12-25", "2027-01-01"});
  // Wed 23 Dec + 5: Mon 28, Tue 29, Wed 30, Thu 31, (Fri 1 Jan holiday) Mon 4 Jan.
  EXPECT_EQ(cal.addWorkingDays(wita(2026, 12, 23, 16, 0), 5), midnight(2027, 1, 5));
  // Thu 31 Dec 23:59 + 1 -> Mon 4 Jan.
  EXPECT_EQ(cal.addWorkingDays(wita(2026, 12, 31, 23, 59), 1), midnight(2027, 1, 5));
}

TEST(WorkCalendarTest, TenWorkingDaysSpanTwoWeekends) {
  EXPECT_EQ(plain().addWorkingDays(wita(2026, 11, 30, 10, 0), 10), midnight(2026, 12, 15));
}

TEST(WorkCalendarTest, ZeroDaysIsTheStart) {
  EXPECT_EQ(plain().addWorkingDays(wita(2026, 11, 30, 10, 0), 0), wita(2026, 11, 30, 10, 0));
}

TEST(WorkCalendarTest, ZoneDecidesTheDay) {
  // 2026-12-04T17:00Z is already Saturday 00:00 in Jakarta (WIB), still Friday in UTC.
  const WorkCalendar jakarta("Asia/Jakarta", {}), utc("UTC", {});
  const int64_t t = absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2026, 12, 4, 17, 0, 0),
                                                       absl::UTCTimeZone()));
  EXPECT_EQ(jakarta.localDay(t), absl::CivilDay(2026, 12, 5));
  EXPECT_EQ(utc.localDay(t), absl::CivilDay(2026, 12, 4));
}

TEST(WorkCalendarTest, DaylightSavingZoneKeepsLocalMidnight) {
  // Europe/Berlin changes to summer time on 29 Mar 2026: deadlines stay at local midnight.
  const WorkCalendar berlin("Europe/Berlin", {});
  const auto due = berlin.addWorkingDays(
      absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2026, 3, 26, 12, 0, 0),
                                         absl::FixedTimeZone(3600))),
      2);  // Thu + 2: Fri, Mon -> end of Monday 30 Mar (UTC+2)
  EXPECT_EQ(due, absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2026, 3, 31, 0, 0, 0),
                                                    absl::FixedTimeZone(7200))));
}

TEST(WorkCalendarTest, UnknownZoneAndBadHolidayAreErrors) {
  EXPECT_THROW(WorkCalendar("Asia/Nowhere", {}), CalendarError);
  try {
    WorkCalendar("Asia/Makassar", {"2026-13-01"});
    FAIL() << "accepted a bad date";
  } catch (const CalendarError& e) {
    EXPECT_THAT(e.what(), HasSubstr("2026-13-01"));
  }
  EXPECT_THROW(WorkCalendar("Asia/Makassar", {"17 Aug"}), CalendarError);
}

TEST(WorkCalendarTest, HolidaysAreKnownUntilTheEndOfTheLastListedYear) {
  EXPECT_EQ(plain().holidaysKnownUntilMs(), 0);
  const WorkCalendar one("Asia/Makassar", {"2026-08-17", "2026-01-01"});
  EXPECT_EQ(one.holidaysKnownUntilMs(), midnight(2027, 1, 1));
  const WorkCalendar two("Asia/Makassar", {"2026-12-25", "2027-01-01"});
  EXPECT_EQ(two.holidaysKnownUntilMs(), midnight(2028, 1, 1));
}

TEST(HolidayListTest, PlainLinesAndYamlListsBothWork) {
  EXPECT_EQ(parseHolidayList("# comment\n2026-08-17\n\n 2026-12-25  # Natal\n"),
            (std::vector<std::string>{"2026-08-17", "2026-12-25"}));
  EXPECT_EQ(parseHolidayList("- 2026-08-17\n- 2026-12-25\n"),
            (std::vector<std::string>{"2026-08-17", "2026-12-25"}));
  EXPECT_EQ(parseHolidayList("holidays:\n  - {date: 2026-01-01, name: x}\n"),
            (std::vector<std::string>{"2026-01-01"}));
  EXPECT_THROW(parseHolidayList("holidays:\n  - {name: x}\n"), CalendarError);
  EXPECT_THROW(parseHolidayList("2026-02-30\n"), CalendarError);
}

TEST(HolidayListTest, ShippedListIsValidAndHasTheNationalDays) {
  std::ifstream in(std::string(LAPOR_SOURCE_DIR) + "/deploy/config/holidays-2026.yaml");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  const WorkCalendar cal("Asia/Makassar", parseHolidayList(text.str()));
  EXPECT_GE(cal.holidayCount(), 20u);
  EXPECT_TRUE(cal.isHoliday(absl::CivilDay(2026, 8, 17)));  // Independence Day
  EXPECT_TRUE(cal.isHoliday(absl::CivilDay(2026, 1, 1)));
  EXPECT_TRUE(cal.isHoliday(absl::CivilDay(2026, 12, 25)));
}

}  // namespace
}  // namespace lapor::sla
