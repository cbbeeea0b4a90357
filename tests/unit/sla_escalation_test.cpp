// The supervisor chain a breach climbs, read from the shipped agency directory, and the item
// the supervisor receives.
#include "domain/escalation.h"
#include "events/envelope.h"

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

v1::Obligation breached(const std::string& id, v1::SlaStage stage, const std::string& agency,
                        const std::string& assignment) {
  v1::Obligation ob;
  ob.set_obligation_id(id);
  ob.set_complaint_id("c-1");
  ob.set_assignment_id(assignment);
  ob.set_agency_id(agency);
  ob.set_stage(stage);
  ob.set_priority(v1::PRIORITY_NORMAL);
  ob.set_category("road-damage");
  ob.set_state(v1::OBLIGATION_STATE_BREACHED);
  return ob;
}

TEST(EscalationTest, AnAssignmentLevelBreachBecomesTheSupervisorsOwnItem) {
  const auto ob = breached("ob-1", v1::SLA_STAGE_ACKNOWLEDGE, "dinas-pu", "a-dinas-pu");
  const auto reason = escalationReason(ob, 1, false);
  EXPECT_EQ(reason, "acknowledge deadline breached by dinas-pu");
  const auto item = escalationItem(ob, "sekda", 1, reason, 1'000);
  EXPECT_EQ(item.kind(), v1::DISPATCH_KIND_ESCALATION);
  EXPECT_EQ(item.escalation_level(), 1);
  EXPECT_EQ(item.note(), reason);
  const auto& a = item.assignment();
  EXPECT_FALSE(a.assignment_id().empty());
  EXPECT_NE(a.assignment_id(), "a-dinas-pu") << "the agency's assignment stays the agency's";
  EXPECT_EQ(a.assignment_id(), escalationAssignmentId("ob-1", 1));
  EXPECT_EQ(a.agency_id(), "sekda");
  EXPECT_EQ(a.role(), v1::ASSIGNMENT_ROLE_SUPERVISOR);
  EXPECT_EQ(a.complaint_id(), "c-1");
  EXPECT_EQ(a.dispatched_at_ms(), 1'000);
  EXPECT_EQ(item.escalated_assignment_id(), "a-dinas-pu");
  EXPECT_EQ(item.escalated_agency_id(), "dinas-pu");
  EXPECT_EQ(item.escalated_stage(), "acknowledge");
  EXPECT_EQ(item.complaint().complaint_id(), "c-1");
  EXPECT_EQ(item.complaint().category(), "road-damage");

  // A re-fire after a crash makes the same id; the next level is a new piece of work.
  EXPECT_EQ(escalationItem(ob, "sekda", 1, reason, 2'000).assignment().assignment_id(),
            a.assignment_id());
  const auto level2 = escalationItem(ob, "inspektorat", 2, reason, 3'000);
  EXPECT_NE(level2.assignment().assignment_id(), a.assignment_id());
  EXPECT_EQ(level2.escalated_assignment_id(), "a-dinas-pu");
  EXPECT_EQ(level2.escalated_agency_id(), "dinas-pu") << "still the agency that breached";
}

TEST(EscalationTest, AComplaintLevelBreachKeepsTheIdItAlwaysHad) {
  const auto ob = breached("ob-2", v1::SLA_STAGE_DISPOSE, "triage", "");
  const auto item = escalationItem(ob, "sekda", 1, escalationReason(ob, 1, false), 1'000);
  // The id complaint-level escalations got before, so items of both versions agree.
  EXPECT_EQ(item.assignment().assignment_id(), events::nameUuid("escalation-assignment/ob-2/1"));
  EXPECT_EQ(item.assignment().role(), v1::ASSIGNMENT_ROLE_SUPERVISOR);
  EXPECT_EQ(item.escalated_assignment_id(), "");
  EXPECT_EQ(item.escalated_agency_id(), "triage");
  EXPECT_EQ(item.escalated_stage(), "dispose");
}

TEST(EscalationTest, TheDeskHearsWhyAnEmergencyCameToIt) {
  auto ob = breached("ob-3", v1::SLA_STAGE_ACKNOWLEDGE, "disdamkar", "a-damkar");
  ob.set_priority(v1::PRIORITY_EMERGENCY);
  EXPECT_EQ(escalationReason(ob, 1, true),
            "acknowledge deadline breached by disdamkar (emergency not acknowledged)");
  EXPECT_EQ(escalationReason(ob, 2, true), "acknowledge deadline breached by disdamkar");
}

}  // namespace
}  // namespace lapor::sla
