// The supervisor chain a breach climbs, read from the shipped agency directory.
#include "domain/escalation.h"

#include <gtest/gtest.h>

namespace lapor::sla {
namespace {

const agencies::AgencyDirectory& shipped() {
  static const auto dir = agencies::AgencyDirectory::loadFile(std::string(LAPOR_SOURCE_DIR) +
                                                              "/deploy/config/agencies.yaml");
  return dir;
}

TEST(EscalationTest, BreachClimbsTheSupervisorChain) {
  EXPECT_EQ(escalationTarget(shipped(), "dinas-pu", 1, false, "ncc-112").agency_id, "sekda");
  EXPECT_EQ(escalationTarget(shipped(), "dinas-pu", 2, false, "ncc-112").agency_id,
            "inspektorat");
  EXPECT_EQ(escalationTarget(shipped(), "dinas-pu", 3, false, "ncc-112").agency_id, "")
      << "the inspectorate is the top";
  EXPECT_EQ(escalationTarget(shipped(), "dinas-pu", 0, false, "ncc-112").agency_id, "");
}

TEST(EscalationTest, UnacknowledgedEmergencyGoesToThe112DeskFirst) {
  EXPECT_EQ(escalationTarget(shipped(), "disdamkar", 1, true, "ncc-112").agency_id, "ncc-112");
  EXPECT_EQ(escalationTarget(shipped(), "disdamkar", 2, true, "ncc-112").agency_id, "sekda");
  EXPECT_EQ(escalationTarget(shipped(), "disdamkar", 3, true, "ncc-112").agency_id,
            "inspektorat");
  // The desk itself not acknowledging climbs its own chain.
  EXPECT_EQ(escalationTarget(shipped(), "ncc-112", 1, true, "ncc-112").agency_id, "sekda");
  EXPECT_TRUE(isUnacknowledgedEmergency(v1::SLA_STAGE_ACKNOWLEDGE, v1::PRIORITY_EMERGENCY));
  EXPECT_FALSE(isUnacknowledgedEmergency(v1::SLA_STAGE_ON_SCENE, v1::PRIORITY_EMERGENCY));
  EXPECT_FALSE(isUnacknowledgedEmergency(v1::SLA_STAGE_ACKNOWLEDGE, v1::PRIORITY_HIGH));
}

TEST(EscalationTest, OverridesMustNameKnownAgenciesAndCategories) {
  std::vector<DeadlineOverride> ok{{v1::SLA_STAGE_FOLLOW_UP, "disdukcapil", "", {}, {}}};
  EXPECT_EQ(checkOverrideNames(ok, shipped()), "");
  std::vector<DeadlineOverride> bad_agency{ok[0], {v1::SLA_STAGE_FOLLOW_UP, "dinas-x", "", {}, {}}};
  EXPECT_NE(checkOverrideNames(bad_agency, shipped()).find("overrides[1].agency: 'dinas-x'"),
            std::string::npos);
  std::vector<DeadlineOverride> bad_category{{v1::SLA_STAGE_ON_SCENE, "", "volcano", {}, {}}};
  EXPECT_NE(checkOverrideNames(bad_category, shipped()).find("overrides[0].category"),
            std::string::npos);
}

TEST(EscalationTest, LoopsAndUnknownAgenciesStop) {
  auto dir = agencies::AgencyDirectory::parse(R"(
agencies:
  - {id: a, name: A, kind: x, supervisor: b}
  - {id: b, name: B, kind: x, supervisor: a}
  - {id: triage, name: T, kind: operator}
)");
  EXPECT_EQ(escalationTarget(dir, "a", 1, false, "").agency_id, "b");
  EXPECT_EQ(escalationTarget(dir, "a", 2, false, "").agency_id, "") << "a loop ends the chain";
  EXPECT_EQ(escalationTarget(dir, "nobody", 1, false, "").agency_id, "");
}

}  // namespace
}  // namespace lapor::sla
