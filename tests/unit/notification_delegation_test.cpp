// Delegation to work units: which moves are allowed, what each records, how a unit's action
// reads on its agency's feed.
#include "domain/delegation.h"

#include "domain/assignment_rules.h"

#include <gtest/gtest.h>

namespace lapor::notification::domain {
namespace {

using K = DelegationDecision::Kind;

TEST(DelegationTest, DelegatingALiveAssignmentRecordsOneDelegation) {
  auto d = decideDelegation(true, v1::ASSIGNMENT_STATE_ACKNOWLEDGED, "", "upt-a");
  EXPECT_EQ(d.kind, K::Apply);
  EXPECT_TRUE(d.delegate);
  EXPECT_FALSE(d.revoke);
}

TEST(DelegationTest, MovingToAnotherUnitRevokesTheOldOneFirst) {
  auto d = decideDelegation(true, v1::ASSIGNMENT_STATE_IN_PROGRESS, "upt-a", "upt-b");
  EXPECT_EQ(d.kind, K::Apply);
  EXPECT_TRUE(d.revoke);
  EXPECT_TRUE(d.delegate);
}

TEST(DelegationTest, TakingBackRevokesOnly) {
  auto d = decideDelegation(true, v1::ASSIGNMENT_STATE_DELIVERED, "upt-a", "");
  EXPECT_EQ(d.kind, K::Apply);
  EXPECT_TRUE(d.revoke);
  EXPECT_FALSE(d.delegate);
}

TEST(DelegationTest, MovingToWhereItIsIsARepeat) {
  EXPECT_EQ(decideDelegation(true, v1::ASSIGNMENT_STATE_DELIVERED, "upt-a", "upt-a").kind,
            K::Repeat);
  EXPECT_EQ(decideDelegation(true, v1::ASSIGNMENT_STATE_DELIVERED, "", "").kind, K::Repeat);
}

TEST(DelegationTest, EndedWorkAndOtherKindsOfWorkAreNotDelegated) {
  for (auto s : {v1::ASSIGNMENT_STATE_RESOLVED, v1::ASSIGNMENT_STATE_REJECTED,
                 v1::ASSIGNMENT_STATE_WITHDRAWN}) {
    auto d = decideDelegation(true, s, "", "upt-a");
    EXPECT_EQ(d.kind, K::Refused) << stateName(s);
    EXPECT_NE(d.why.find(stateName(s)), std::string::npos) << d.why;
    EXPECT_EQ(decideDelegation(true, s, "upt-a", "").kind, K::Refused) << stateName(s);
  }
  auto d = decideDelegation(false, v1::ASSIGNMENT_STATE_DELIVERED, "", "upt-a");
  EXPECT_EQ(d.kind, K::Refused);
  EXPECT_NE(d.why.find("escalation"), std::string::npos) << d.why;
}

TEST(DelegationTest, NotesNameWhatAndWhy) {
  EXPECT_EQ(unitProgressNote("acknowledged", ""), "acknowledged");
  EXPECT_EQ(unitProgressNote("responded", "Ditambal"), "responded: Ditambal");
  EXPECT_EQ(unitRejectionNote("not-our-authority", ""), "not-our-authority");
  EXPECT_EQ(unitRejectionNote("other", "di luar wilayah"), "other: di luar wilayah");
}

}  // namespace
}  // namespace lapor::notification::domain
