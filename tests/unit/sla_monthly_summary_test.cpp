// The monthly summary: what each event adds to the counters (once: a repeat adds nothing),
// the month in the regency's zone, and the stored counters turned into the response.
#include "domain/monthly_summary.h"

#include "events/envelope.h"

#include <gtest/gtest.h>

#include <map>

namespace lapor::sla {
namespace {

constexpr int64_t kOccurred = 1'795'917'600'000;  // 2026-11-29T02:00:00Z, 10:00 WITA

const WorkCalendar& cal() {
  static const WorkCalendar c("Asia/Makassar", {});
  return c;
}

v1::EventEnvelope event(const std::string& id, int64_t at = kOccurred) {
  return events::makeEnvelope("test", "complaint-1", "trace-1", at, id);
}

v1::EventEnvelope submitted(v1::ReportType type, const std::string& category) {
  auto env = event("submitted-1");
  auto* c = env.mutable_submitted()->mutable_complaint();
  c->set_complaint_id("complaint-1");
  c->set_category(category);
  c->set_report_type(type);
  return env;
}

v1::EventEnvelope routed(const std::string& id, const std::vector<std::string>& agencies) {
  auto env = event(id);
  auto* r = env.mutable_routed();
  r->set_reason("initial");
  for (const auto& a : agencies) {
    auto* x = r->add_assignments();
    x->set_assignment_id("as-" + a);
    x->set_agency_id(a);
    x->set_role(r->assignments_size() == 1 ? v1::ASSIGNMENT_ROLE_LEAD
                                           : v1::ASSIGNMENT_ROLE_SUPPORT);
  }
  return env;
}

struct Walk {
  v1::ComplaintLedger ledger;
  std::vector<SummaryIncrement> apply(const v1::EventEnvelope& env) {
    auto s = step(ledger, env, SlaPolicy::defaults(), cal());
    auto out = summaryIncrements(ledger, s, env, cal());
    if (s.changed) ledger = s.ledger;
    return out;
  }
};

std::map<std::string, int64_t> byKey(const std::vector<SummaryIncrement>& v) {
  std::map<std::string, int64_t> m;
  for (const auto& i : v) m[i.month + "/" + i.agency + "/" + i.field] += i.by;
  return m;
}

TEST(MonthlySummaryTest, MonthIsTheRegencysMonth) {
  // 2026-11-30T16:30Z is already 1 December 00:30 in Makassar (UTC+8).
  EXPECT_EQ(monthOf(1'796'056'200'000, cal()), "2026-12");
  EXPECT_EQ(monthOf(kOccurred, cal()), "2026-11");
  EXPECT_EQ(monthOf(1'796'056'200'000, WorkCalendar("UTC", {})), "2026-11");
}

TEST(MonthlySummaryTest, MonthTextMustBeYearDashMonth) {
  EXPECT_TRUE(isMonth("2026-01"));
  EXPECT_TRUE(isMonth("2026-12"));
  for (const char* bad : {"2026-13", "2026-00", "2026-1", "26-01", "2026/01", "2026-01-01",
                          "abcd-ef", ""})
    EXPECT_FALSE(isMonth(bad)) << bad;
}

TEST(MonthlySummaryTest, EachEventAddsItsFiguresOnceAndARepeatNothing) {
  Walk w;
  const auto sub = submitted(v1::REPORT_TYPE_ASPIRATION, "roads");
  const auto type = std::to_string(v1::REPORT_TYPE_ASPIRATION);
  EXPECT_EQ(byKey(w.apply(sub)),
            (std::map<std::string, int64_t>{{"2026-11//" + type + "|roads|received", 1}}));
  EXPECT_TRUE(w.apply(sub).empty());  // the same event again

  auto verified = event("verified-1");
  verified.mutable_verified();
  EXPECT_EQ(byKey(w.apply(verified)),
            (std::map<std::string, int64_t>{{"2026-11//" + type + "|roads|verified", 1}}));

  const auto route = routed("routed-1", {"dinas-pu", "dinas-kesehatan"});
  EXPECT_EQ(byKey(w.apply(route)),
            (std::map<std::string, int64_t>{
                {"2026-11/dinas-pu/" + type + "|roads|received", 1},
                {"2026-11/dinas-pu/" + type + "|roads|dispatched", 1},
                {"2026-11/dinas-kesehatan/" + type + "|roads|received", 1},
                {"2026-11/dinas-kesehatan/" + type + "|roads|dispatched", 1},
                {"2026-11//" + type + "|roads|dispatched", 2}}));
  EXPECT_TRUE(w.apply(route).empty());
  // A later route naming the same assignment again dispatches nothing new.
  EXPECT_TRUE(byKey(w.apply(routed("routed-2", {"dinas-pu"}))).empty());

  auto resolved = event("resolved-1");
  resolved.mutable_resolved()->set_assignment_id("as-dinas-pu");
  resolved.mutable_resolved()->set_agency_id("dinas-pu");
  EXPECT_TRUE(w.apply(resolved).empty());

  auto feedback = event("feedback-1", kOccurred + 3 * 86'400'000);  // 2 December
  feedback.mutable_feedback()->set_rating(4);
  EXPECT_EQ(byKey(w.apply(feedback)),
            (std::map<std::string, int64_t>{
                {"2026-12//" + type + "|roads|ratings", 1},
                {"2026-12//" + type + "|roads|rating_sum", 4},
                {"2026-12/dinas-pu/" + type + "|roads|ratings", 1},
                {"2026-12/dinas-pu/" + type + "|roads|rating_sum", 4}}));
  EXPECT_TRUE(w.apply(feedback).empty());
}

TEST(MonthlySummaryTest, UnspecifiedTypeCountsAsComplaint) {
  Walk w;
  const auto m = byKey(w.apply(submitted(v1::REPORT_TYPE_UNSPECIFIED, "fire")));
  EXPECT_EQ(m.count("2026-11//" + std::to_string(v1::REPORT_TYPE_COMPLAINT) + "|fire|received"),
            1u);
}

TEST(MonthlySummaryTest, StoredCountersBecomeSortedRowsWithTotalsAndAverages) {
  const auto c = std::to_string(v1::REPORT_TYPE_COMPLAINT);
  const auto a = std::to_string(v1::REPORT_TYPE_ASPIRATION);
  const auto r = summaryFrom("dinas-pu", "2026-11",
                             {{a + "|roads|received", "2"},
                              {c + "|water|received", "1"},
                              {c + "|roads|received", "3"},
                              {c + "|roads|dispatched", "3"},
                              {c + "|roads|on_time", "2"},
                              {c + "|roads|late", "1"},
                              {c + "|roads|ratings", "2"},
                              {c + "|roads|rating_sum", "7"},
                              {a + "|roads|ratings", "1"},
                              {a + "|roads|rating_sum", "5"},
                              {a + "|roads|verified", "2"},
                              {"garbage", "9"}});
  EXPECT_EQ(r.agency_id(), "dinas-pu");
  EXPECT_EQ(r.month(), "2026-11");
  ASSERT_EQ(r.rows_size(), 3);
  EXPECT_EQ(r.rows(0).report_type(), v1::REPORT_TYPE_COMPLAINT);
  EXPECT_EQ(r.rows(0).category(), "roads");
  EXPECT_EQ(r.rows(1).category(), "water");
  EXPECT_EQ(r.rows(2).report_type(), v1::REPORT_TYPE_ASPIRATION);
  const auto& f = r.rows(0).figures();
  EXPECT_EQ(f.received(), 3);
  EXPECT_EQ(f.dispatched(), 3);
  EXPECT_EQ(f.answered_on_time(), 2);
  EXPECT_EQ(f.answered_late(), 1);
  EXPECT_DOUBLE_EQ(f.average_rating(), 3.5);
  EXPECT_DOUBLE_EQ(r.rows(1).figures().average_rating(), 0.0);
  EXPECT_EQ(r.total().received(), 6);
  EXPECT_EQ(r.total().verified(), 2);
  EXPECT_EQ(r.total().ratings(), 3);
  EXPECT_EQ(r.total().rating_sum(), 12);
  EXPECT_DOUBLE_EQ(r.total().average_rating(), 4.0);
}

TEST(MonthlySummaryTest, NothingStoredIsAnEmptySummary) {
  const auto r = summaryFrom("", "2026-01", {});
  EXPECT_EQ(r.rows_size(), 0);
  EXPECT_EQ(r.total().received(), 0);
  EXPECT_DOUBLE_EQ(r.total().average_rating(), 0.0);
}

}  // namespace
}  // namespace lapor::sla
