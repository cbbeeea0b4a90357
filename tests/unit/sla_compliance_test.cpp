// Compliance numbers (GetCompliance and the compliance gauge) and timer member parsing.
#include "sla_handler.h"

#include <gtest/gtest.h>

namespace lapor::sla {
namespace {

v1::Obligation decided(const std::string& agency, v1::SlaStage stage, v1::ObligationState state) {
  v1::Obligation o;
  o.set_agency_id(agency);
  o.set_stage(stage);
  o.set_state(state);
  return o;
}

TEST(SlaComplianceTest, MetOnTimeOverDuePerStageAndAgency) {
  const std::vector<v1::Obligation> all{
      decided("dinas-pu", v1::SLA_STAGE_ACKNOWLEDGE, v1::OBLIGATION_STATE_MET),
      decided("dinas-pu", v1::SLA_STAGE_ACKNOWLEDGE, v1::OBLIGATION_STATE_MET),
      decided("dinas-pu", v1::SLA_STAGE_ACKNOWLEDGE, v1::OBLIGATION_STATE_BREACHED),
      decided("dinas-pu", v1::SLA_STAGE_FOLLOW_UP, v1::OBLIGATION_STATE_BREACHED),
      decided("dlh", v1::SLA_STAGE_ACKNOWLEDGE, v1::OBLIGATION_STATE_MET)};
  auto pu = compliance(all, "dinas-pu");
  ASSERT_EQ(pu.stages_size(), 2);
  EXPECT_EQ(pu.stages(0).stage(), v1::SLA_STAGE_ACKNOWLEDGE);
  EXPECT_EQ(pu.stages(0).met_on_time(), 2);
  EXPECT_EQ(pu.stages(0).due(), 3);
  EXPECT_DOUBLE_EQ(pu.stages(0).ratio(), 2.0 / 3.0);
  EXPECT_EQ(pu.stages(1).met_on_time(), 0);
  EXPECT_DOUBLE_EQ(pu.stages(1).ratio(), 0.0);
  EXPECT_EQ(pu.due(), 4);
  EXPECT_DOUBLE_EQ(pu.ratio(), 0.5);
  auto everyone = compliance(all, "");
  EXPECT_EQ(everyone.met_on_time(), 3);
  EXPECT_EQ(everyone.due(), 5);
  auto none = compliance(all, "bpbd");
  EXPECT_EQ(none.stages_size(), 0);
  EXPECT_DOUBLE_EQ(none.ratio(), 1.0) << "nothing fell due: nothing was missed";
}

// Compliance per report type: obligations remember the complaint's type; an obligation written
// without one counts as a complaint.
TEST(SlaComplianceTest, PerReportType) {
  auto typed = [](v1::ObligationState state, v1::ReportType type) {
    auto o = decided("dinas-pu", v1::SLA_STAGE_RESOLUTION, state);
    o.set_report_type(type);
    return o;
  };
  const std::vector<v1::Obligation> all{
      typed(v1::OBLIGATION_STATE_MET, v1::REPORT_TYPE_COMPLAINT_LIGHT),
      typed(v1::OBLIGATION_STATE_BREACHED, v1::REPORT_TYPE_COMPLAINT_LIGHT),
      typed(v1::OBLIGATION_STATE_MET, v1::REPORT_TYPE_INFORMATION_REQUEST),
      typed(v1::OBLIGATION_STATE_MET, v1::REPORT_TYPE_UNSPECIFIED)};
  auto light = compliance(all, "", v1::REPORT_TYPE_COMPLAINT_LIGHT);
  EXPECT_EQ(light.met_on_time(), 1);
  EXPECT_EQ(light.due(), 2);
  auto info = compliance(all, "dinas-pu", v1::REPORT_TYPE_INFORMATION_REQUEST);
  EXPECT_EQ(info.due(), 1);
  EXPECT_DOUBLE_EQ(info.ratio(), 1.0);
  EXPECT_EQ(compliance(all, "", v1::REPORT_TYPE_COMPLAINT).due(), 1) << "unspecified = complaint";
  EXPECT_EQ(compliance(all, "").due(), 4) << "no type: every type";
}

TEST(SlaComplianceTest, TimerMembersParse) {
  auto warn = TimerMember::parse("abc|warn");
  EXPECT_EQ(warn.obligation_id, "abc");
  EXPECT_EQ(warn.kind, "warn");
  auto breach = TimerMember::parse("abc|breach");
  EXPECT_EQ(breach.kind, "breach");
  EXPECT_EQ(breach.level, 1);
  auto esc = TimerMember::parse("abc|esc|3");
  EXPECT_EQ(esc.kind, "esc");
  EXPECT_EQ(esc.level, 3);
  EXPECT_EQ(TimerMember::parse("abc").kind, "");
}

}  // namespace
}  // namespace lapor::sla
