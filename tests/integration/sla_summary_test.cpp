// The monthly summary from the monitor as a process: lifecycle events of two report types and
// two categories (one verified, answered and rated) give the regency's and the agency's
// figures through SlaService.GetMonthlySummary, and the same events read again change nothing.
// Categories are unique to the run: other tests' complaints share the topic and the months.
#include "domain/monthly_summary.h"
#include "events/envelope.h"
#include "integration_support.h"
#include "lapor/v1/sla.grpc.pb.h"
#include "lifecycle_events.h"
#include "operator_context.h"
#include "process.h"
#include "sla_monitor_process.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;
using lapor::testing::ChildProcess;
using lapor::testing::operatorContext;

class SlaSummaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = lapor::testing::requiredEnv("LAPOR_KAFKA_BROKERS");
    run_ = uniqueName("summary");
    const auto port = lapor::testing::freePort();
    monitor_ = startSlaMonitor(run_ + "-monitor",
                               {{"LAPOR_KAFKA_GROUP", uniqueName("lapor-sla-summary")},
                                {"LAPOR_REDIS_PREFIX", uniqueName("lapor-sla-summary") + ":"},
                                {"LAPOR_GRPC_PORT", std::to_string(port)}});
    address_ = "127.0.0.1:" + std::to_string(port);
    sla_ = v1::SlaService::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }

  v1::EventEnvelope event(const std::string& cid, const std::string& name) {
    return events::makeEnvelope("test", cid, "trace-" + cid, at_, run_ + "-" + cid + "-" + name);
  }

  std::vector<v1::EventEnvelope> lifecycle() {
    std::vector<v1::EventEnvelope> out;
    const auto c1 = run_ + "-c1", c2 = run_ + "-c2";
    auto sub = [&](const std::string& cid, v1::ReportType type, const std::string& category) {
      auto e = event(cid, "submitted");
      auto* c = e.mutable_submitted()->mutable_complaint();
      c->set_complaint_id(cid);
      c->set_category(category);
      c->set_report_type(type);
      c->set_priority(v1::PRIORITY_NORMAL);
      return e;
    };
    auto route = [&](const std::string& cid, const std::string& category) {
      auto e = lapor::testing::routedEvent(cid, v1::PRIORITY_NORMAL, category, {"dinas-pu"}, at_);
      e.set_event_id(run_ + "-" + cid + "-routed");
      return e;
    };
    out.push_back(sub(c1, v1::REPORT_TYPE_COMPLAINT, roads()));
    auto verified = event(c1, "verified");
    verified.mutable_verified();
    out.push_back(verified);
    out.push_back(route(c1, roads()));
    const auto a1 = lapor::testing::assignmentIdFor(c1, "dinas-pu");
    auto delivered = event(c1, "delivered");
    delivered.mutable_delivered()->set_assignment_id(a1);
    delivered.mutable_delivered()->set_agency_id("dinas-pu");
    delivered.mutable_delivered()->set_delivered_at_ms(at_);
    out.push_back(delivered);
    auto responded = event(c1, "responded");
    responded.mutable_status_updated()->set_assignment_id(a1);
    responded.mutable_status_updated()->set_agency_id("dinas-pu");
    responded.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_RESPONDED);
    out.push_back(responded);
    auto resolved = event(c1, "resolved");
    resolved.mutable_resolved()->set_assignment_id(a1);
    resolved.mutable_resolved()->set_agency_id("dinas-pu");
    out.push_back(resolved);
    auto feedback = event(c1, "feedback");
    feedback.mutable_feedback()->set_rating(4);
    out.push_back(feedback);
    out.push_back(sub(c2, v1::REPORT_TYPE_ASPIRATION, water()));
    out.push_back(route(c2, water()));
    return out;
  }

  std::string roads() const { return run_ + "-roads"; }
  std::string water() const { return run_ + "-water"; }
  std::string month() const {
    return sla::monthOf(at_, sla::WorkCalendar("Asia/Makassar", {}));
  }

  grpc::Status summary(const std::string& agency, const std::string& month,
                       v1::GetMonthlySummaryResponse* resp, const std::string& role = "auditor") {
    v1::GetMonthlySummaryRequest req;
    req.set_agency_id(agency);
    req.set_month(month);
    return sla_->GetMonthlySummary(operatorContext(role).get(), req, resp);
  }

  // This run's rows of a summary, by category.
  std::map<std::string, v1::SummaryRow> rowsOf(const std::string& agency) {
    v1::GetMonthlySummaryResponse resp;
    std::map<std::string, v1::SummaryRow> out;
    if (!summary(agency, month(), &resp).ok()) return out;
    for (const auto& r : resp.rows())
      if (r.category() == roads() || r.category() == water()) out[r.category()] = r;
    return out;
  }

  CliRun cli(std::vector<std::string> args) {
    args.push_back("--sla");
    args.push_back(address_);
    return runCli(args, {{"LAPOR_OPERATOR_TOKEN", "lapor-demo-auditor"}});
  }

  std::string brokers_, run_, address_;
  int64_t at_ = lapor::testing::nowMs();
  std::unique_ptr<ChildProcess> monitor_;
  std::unique_ptr<v1::SlaService::Stub> sla_;
};

TEST_F(SlaSummaryTest, FiguresPerTypeAndCategoryCountEachEventOnce) {
  const auto events = lifecycle();
  for (const auto& e : events) ASSERT_TRUE(lapor::testing::produceEvent(brokers_, e));
  auto settled = [&](int ratings) {
    return [&, ratings] {
      auto rows = rowsOf("");
      auto agency = rowsOf("dinas-pu");
      return rows.size() == 2 && rows[roads()].figures().ratings() == ratings &&
             rows[water()].figures().dispatched() == 1 &&
             agency[roads()].figures().answered_on_time() == 2;
    };
  };
  ASSERT_TRUE(waitFor(settled(1), 60s)) << monitor_->logTail();

  auto check = [&](int ratings, int rating_sum) {
    auto regency = rowsOf("");
    const auto& r = regency[roads()];
    EXPECT_EQ(r.report_type(), v1::REPORT_TYPE_COMPLAINT);
    EXPECT_EQ(r.figures().received(), 1);
    EXPECT_EQ(r.figures().verified(), 1);
    EXPECT_EQ(r.figures().dispatched(), 1);
    EXPECT_EQ(r.figures().answered_on_time(), 2);  // follow-up and resolution
    EXPECT_EQ(r.figures().answered_late(), 0);
    EXPECT_EQ(r.figures().ratings(), ratings);
    EXPECT_EQ(r.figures().rating_sum(), rating_sum);
    const auto& w = regency[water()];
    EXPECT_EQ(w.report_type(), v1::REPORT_TYPE_ASPIRATION);
    EXPECT_EQ(w.figures().received(), 1);
    EXPECT_EQ(w.figures().verified(), 0);
    EXPECT_EQ(w.figures().dispatched(), 1);
    auto agency = rowsOf("dinas-pu");
    const auto& ar = agency[roads()];
    EXPECT_EQ(ar.figures().received(), 1);
    EXPECT_EQ(ar.figures().dispatched(), 1);
    EXPECT_EQ(ar.figures().answered_on_time(), 2);
    EXPECT_EQ(ar.figures().ratings(), ratings);
    EXPECT_EQ(ar.figures().rating_sum(), rating_sum);
    EXPECT_DOUBLE_EQ(ar.figures().average_rating(),
                     static_cast<double>(rating_sum) / static_cast<double>(ratings));
    EXPECT_EQ(agency[water()].figures().received(), 1);
    // Another agency saw none of it.
    EXPECT_TRUE(rowsOf("dlh").empty());
  };
  check(1, 4);

  // Read again (a monitor that crashed before committing): nothing counts twice. A new
  // feedback behind the repeats, on the same complaint's partition, says they were read.
  for (const auto& e : events) ASSERT_TRUE(lapor::testing::produceEvent(brokers_, e));
  auto again = event(run_ + "-c1", "feedback-2");
  again.mutable_feedback()->set_rating(2);
  ASSERT_TRUE(lapor::testing::produceEvent(brokers_, again));
  auto marker = event(run_ + "-c2", "feedback-2");
  marker.mutable_feedback()->set_rating(5);
  ASSERT_TRUE(lapor::testing::produceEvent(brokers_, marker));
  ASSERT_TRUE(waitFor(
      [&] {
        auto rows = rowsOf("");
        return rows[roads()].figures().ratings() == 2 && rows[water()].figures().ratings() == 1;
      },
      60s))
      << monitor_->logTail();
  check(2, 6);

  // The same figures as CSV from lapor-cli: header, this run's rows, the total last.
  auto csv = cli({"summary", "--month", month(), "--agency", "dinas-pu", "--csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  std::istringstream lines(csv.output);
  std::string line, last;
  std::getline(lines, line);
  EXPECT_EQ(line,
            "report_type,category,received,verified,dispatched,answered_on_time,answered_late,"
            "ratings,average_rating");
  std::map<std::string, std::string> mine;
  while (std::getline(lines, line)) {
    last = line;
    const auto comma = line.find(',');
    const auto category = line.substr(comma + 1, line.find(',', comma + 1) - comma - 1);
    if (category == roads() || category == water()) mine[category] = line;
  }
  EXPECT_EQ(mine[roads()], "complaint," + roads() + ",1,0,1,2,0,2,3.00");
  EXPECT_EQ(mine[water()], "aspiration," + water() + ",1,0,1,0,0,0,0.00");
  EXPECT_EQ(last.rfind("total,,", 0), 0u) << last;

  auto bad = cli({"summary", "--month", "2026-13"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("month"), std::string::npos) << bad.output;
}

TEST_F(SlaSummaryTest, RejectsBadMonthUnknownAgencyAndMissingCredentials) {
  v1::GetMonthlySummaryResponse resp;
  ASSERT_TRUE(waitFor([&] { return summary("", "", &resp).ok(); }, 30s)) << monitor_->logTail();
  EXPECT_EQ(resp.month(), month());  // "" = this month in the regency's zone
  auto bad = summary("", "2026-13", &resp);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("month"), std::string::npos) << bad.error_message();
  bad = summary("dinas-nowhere", "2026-11", &resp);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("agency_id"), std::string::npos) << bad.error_message();
  grpc::ClientContext anonymous;
  anonymous.set_deadline(std::chrono::system_clock::now() + 10s);
  EXPECT_EQ(sla_->GetMonthlySummary(&anonymous, {}, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace lapor::integration
