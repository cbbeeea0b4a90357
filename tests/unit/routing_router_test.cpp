// ComplaintRouter: first route, re-route to the next candidate that has not rejected, the cap
// that sends a complaint to triage with its history, redispatch, operator assignment; and the
// same cause always giving the same events.
#include "domain/complaint_router.h"

#include "events/envelope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace lapor::routing {
namespace {

using ::testing::ElementsAre;

const std::string kDir =
    "version: router-test\n"
    "agencies:\n"
    "  - id: triage\n"
    "  - id: dinas-pu\n"
    "  - id: dishub\n"
    "  - id: bpbd\n"
    "  - id: dlh\n"
    "  - id: disdamkar\n"
    "  - id: rsud\n"
    "rules:\n"
    "  - {id: road, categories: [road-damage], lead: dinas-pu, alternatives: [dishub]}\n"
    "  - {id: road-any, categories: [road-damage], lead: bpbd, support: [dlh]}\n"
    "  - {id: fire, categories: [fire], lead: disdamkar, support: [rsud]}\n";

class RouterTest : public ::testing::Test {
 protected:
  RuleSet rules = RuleSet::fromDirectory(agencies::AgencyDirectory::parse(kDir, "r.yaml"));
  ComplaintRouter router{2};

  v1::EventEnvelope submittedEvent(const std::string& category) {
    auto env = events::makeEnvelope("intake", "c-1", "t-1", 1000, "ev-submitted");
    auto* c = env.mutable_submitted()->mutable_complaint();
    c->set_complaint_id("c-1");
    c->set_category(category);
    c->set_priority(v1::PRIORITY_NORMAL);
    return env;
  }
  v1::EventEnvelope rejection(const std::string& id, const v1::Assignment& a) {
    auto env = events::makeEnvelope("notification", "c-1", "t-1", 2000, id);
    auto* r = env.mutable_rejected();
    r->set_assignment_id(a.assignment_id());
    r->set_agency_id(a.agency_id());
    r->set_reason_code("not-our-authority");
    r->set_note("bukan wewenang kami");
    return env;
  }
  // The newest assignment given to `agency`.
  static v1::Assignment assignmentOf(const v1::RoutingState& s, const std::string& agency) {
    v1::Assignment out;
    for (const auto& a : s.assignments())
      if (a.agency_id() == agency) out = a;
    return out;
  }
  static std::vector<std::string> dispatchTopics(const Effects& fx) {
    std::vector<std::string> out;
    for (const auto& [topic, env] : fx.out)
      if (topic != kafka::kComplaintsTopic) out.push_back(topic);
    return out;
  }
  static const v1::ComplaintRouted& routedOf(const Effects& fx) {
    for (const auto& [topic, env] : fx.out)
      if (env.has_routed()) return env.routed();
    ADD_FAILURE() << "no routed event";
    static v1::ComplaintRouted none;
    return none;
  }
};

TEST_F(RouterTest, FirstRouteDispatchesLeadAndSupportWithTheRulesVersion) {
  auto d = router.submitted(rules, submittedEvent("fire"), 5000);
  ASSERT_TRUE(d.effects);
  EXPECT_THAT(dispatchTopics(*d.effects),
              ElementsAre("lapor.dispatch.disdamkar.v1", "lapor.dispatch.rsud.v1"));
  // routed + one dispatched per agency on the lifecycle topic, one on each dispatch topic.
  EXPECT_EQ(d.effects->out.size(), 5u);
  const auto& routed = routedOf(*d.effects);
  EXPECT_EQ(routed.rule_id(), "fire");
  EXPECT_EQ(routed.rules_version(), rules.version());
  EXPECT_EQ(routed.reason(), "initial");
  ASSERT_EQ(routed.assignments_size(), 2);
  EXPECT_NE(routed.assignments(0).assignment_id(), routed.assignments(1).assignment_id());
  for (const auto& [topic, env] : d.effects->out)
    if (env.has_dispatched()) {
      EXPECT_EQ(env.dispatched().item().kind(), v1::DISPATCH_KIND_NEW);
      EXPECT_EQ(env.dispatched().item().rules_version(), rules.version());
    }
}

TEST_F(RouterTest, SameCauseGivesTheSameEvents) {
  auto a = router.submitted(rules, submittedEvent("fire"), 5000);
  auto b = router.submitted(rules, submittedEvent("fire"), 5000);
  ASSERT_EQ(a.effects->out.size(), b.effects->out.size());
  for (size_t i = 0; i < a.effects->out.size(); ++i)
    EXPECT_EQ(a.effects->out[i].second.SerializeAsString(),
              b.effects->out[i].second.SerializeAsString());
}

TEST_F(RouterTest, InvalidSubmissionIsRefused) {
  auto env = submittedEvent("fire");
  env.mutable_submitted()->mutable_complaint()->set_complaint_id("other");
  auto d = router.submitted(rules, env, 5000);
  ASSERT_TRUE(d.refusal);
  EXPECT_EQ(d.refusal->reason, "invalid");
}

TEST_F(RouterTest, RejectReroutesToTheNextCandidateThenCapsToTriageWithHistory) {
  auto first = router.submitted(rules, submittedEvent("road-damage"), 5000);
  auto state = first.effects->state;

  // dinas-pu says "bukan wewenang": next candidate is the rule's alternative, dishub.
  auto r1 =
      router.rejected(rules, state, rejection("rej-1", assignmentOf(state, "dinas-pu")), 6000);
  ASSERT_TRUE(r1.effects);
  EXPECT_THAT(dispatchTopics(*r1.effects), ElementsAre("lapor.dispatch.dishub.v1"));
  EXPECT_EQ(routedOf(*r1.effects).reason(), "rerouted");
  EXPECT_EQ(routedOf(*r1.effects).reroute_count(), 1);
  ASSERT_EQ(routedOf(*r1.effects).history_size(), 1);
  EXPECT_EQ(routedOf(*r1.effects).history(0).agency_id(), "dinas-pu");
  EXPECT_EQ(assignmentOf(r1.effects->state, "dishub").role(), v1::ASSIGNMENT_ROLE_LEAD);
  state = r1.effects->state;

  // dishub rejects: then the next matching rule's lead, bpbd.
  auto r2 = router.rejected(rules, state, rejection("rej-2", assignmentOf(state, "dishub")), 7000);
  ASSERT_TRUE(r2.effects);
  EXPECT_THAT(dispatchTopics(*r2.effects), ElementsAre("lapor.dispatch.bpbd.v1"));
  EXPECT_EQ(routedOf(*r2.effects).reroute_count(), 2);
  state = r2.effects->state;

  // Third rejection: the cap of 2 re-routes is reached, triage gets it with all history.
  auto r3 = router.rejected(rules, state, rejection("rej-3", assignmentOf(state, "bpbd")), 8000);
  ASSERT_TRUE(r3.effects);
  EXPECT_THAT(dispatchTopics(*r3.effects), ElementsAre("lapor.dispatch.triage.v1"));
  const auto& routed = routedOf(*r3.effects);
  EXPECT_EQ(routed.reason(), "reroute-cap");
  EXPECT_TRUE(routed.triage());
  ASSERT_EQ(routed.history_size(), 3);
  EXPECT_EQ(routed.history(2).agency_id(), "bpbd");
  EXPECT_EQ(routed.history(2).reason_code(), "not-our-authority");
  for (const auto& [topic, env] : r3.effects->out)
    if (env.has_dispatched()) {
      EXPECT_EQ(env.dispatched().item().history_size(), 3);
    }
  EXPECT_TRUE(r3.effects->state.triage());
}

TEST_F(RouterTest, NoCandidateLeftGoesToTriageBeforeTheCap) {
  ComplaintRouter generous{10};
  auto state = generous.submitted(rules, submittedEvent("fire"), 5000).effects->state;
  // disdamkar rejects; rsud (support) is already working on it, nobody else matches.
  auto r =
      generous.rejected(rules, state, rejection("rej-1", assignmentOf(state, "disdamkar")), 6000);
  ASSERT_TRUE(r.effects);
  EXPECT_THAT(dispatchTopics(*r.effects), ElementsAre("lapor.dispatch.triage.v1"));
  EXPECT_EQ(routedOf(*r.effects).reason(), "reroute-cap");
}

TEST_F(RouterTest, AnAgencyThatAlreadyHadTheComplaintIsNotOfferedItAgain) {
  auto state = router.submitted(rules, submittedEvent("road-damage"), 5000).effects->state;
  // Dishub, the next candidate, once had an assignment for it that was withdrawn.
  auto* old = state.add_assignments();
  old->set_assignment_id("earlier");
  old->set_agency_id("dishub");
  old->set_state(v1::ASSIGNMENT_STATE_WITHDRAWN);
  auto r = router.rejected(rules, state, rejection("rej-1", assignmentOf(state, "dinas-pu")), 6000);
  ASSERT_TRUE(r.effects);
  EXPECT_THAT(dispatchTopics(*r.effects), ElementsAre("lapor.dispatch.bpbd.v1"));
}

TEST_F(RouterTest, RejectingTwiceOrAnUnknownAssignment) {
  auto state = router.submitted(rules, submittedEvent("road-damage"), 5000).effects->state;
  const auto pu = assignmentOf(state, "dinas-pu");
  auto r1 = router.rejected(rules, state, rejection("rej-1", pu), 6000);
  // The same assignment rejected again (another event): nothing more happens.
  auto again = router.rejected(rules, r1.effects->state, rejection("rej-1b", pu), 6500);
  EXPECT_FALSE(again.effects);
  EXPECT_FALSE(again.refusal);

  v1::Assignment stranger;
  stranger.set_assignment_id("nope");
  stranger.set_agency_id("dinas-pu");
  auto unknown = router.rejected(rules, state, rejection("rej-x", stranger), 6000);
  ASSERT_TRUE(unknown.refusal);
  EXPECT_EQ(unknown.refusal->reason, "unknown-assignment");
  auto nothing = router.rejected(rules, std::nullopt, rejection("rej-y", pu), 6000);
  ASSERT_TRUE(nothing.refusal);
  EXPECT_EQ(nothing.refusal->reason, "unknown-complaint");
}

TEST_F(RouterTest, RedispatchSendsTheSameAssignmentAgain) {
  auto state = router.submitted(rules, submittedEvent("fire"), 5000).effects->state;
  const auto lead = assignmentOf(state, "disdamkar");
  auto env = events::makeEnvelope("sla-monitor", "c-1", "t-1", 3000, "ev-redispatch");
  env.mutable_redispatch_requested()->set_assignment_id(lead.assignment_id());
  env.mutable_redispatch_requested()->set_agency_id("disdamkar");
  env.mutable_redispatch_requested()->set_reason("not acknowledged within 2m");
  auto d = router.redispatch(state, env, 9000);
  ASSERT_TRUE(d.effects);
  EXPECT_THAT(dispatchTopics(*d.effects), ElementsAre("lapor.dispatch.disdamkar.v1"));
  env.mutable_redispatch_requested()->set_attempt(2);
  d = router.redispatch(state, env, 9000);
  for (const auto& [topic, e] : d.effects->out) {
    EXPECT_FALSE(e.has_routed()) << "the same assignment again is not a new route";
    if (e.has_dispatched()) {
      EXPECT_EQ(e.dispatched().item().kind(), v1::DISPATCH_KIND_REDISPATCH);
      EXPECT_EQ(e.dispatched().item().assignment().assignment_id(), lead.assignment_id());
      EXPECT_EQ(e.dispatched().item().attempt(), 2);
    }
  }
  EXPECT_EQ(d.effects->state.assignments_size(), state.assignments_size());
}

TEST_F(RouterTest, OperatorAssignsATriagedComplaint) {
  auto state = router.submitted(rules, submittedEvent("other"), 5000).effects->state;
  ASSERT_TRUE(state.triage());
  v1::RoutingCommand cmd;
  cmd.set_command_id("cmd-1");
  cmd.mutable_request()->set_complaint_id("c-1");
  cmd.mutable_request()->set_agency_id("dlh");
  cmd.mutable_request()->set_operator_("siti");
  auto d = router.assign(rules, state, cmd, 9000);
  ASSERT_TRUE(d.effects);
  // The agency's new item, and the desk's item closed on its feed.
  EXPECT_THAT(dispatchTopics(*d.effects),
              ElementsAre("lapor.dispatch.dlh.v1", "lapor.dispatch.triage.v1"));
  for (const auto& [topic, e] : d.effects->out) {
    if (topic == "lapor.dispatch.triage.v1") {
      EXPECT_EQ(e.dispatched().item().kind(), v1::DISPATCH_KIND_WITHDRAWN);
    }
  }
  EXPECT_EQ(routedOf(*d.effects).reason(), "operator");
  EXPECT_EQ(routedOf(*d.effects).operator_(), "siti");
  EXPECT_EQ(routedOf(*d.effects).assignments(0).assignment_id(),
            ComplaintRouter::assignmentIdFor("cmd-1", "dlh"));
  EXPECT_FALSE(d.effects->state.triage());
  cmd.mutable_request()->set_agency_id("nowhere");
  EXPECT_TRUE(router.assign(rules, state, cmd, 9000).refusal);
}

// The reporter reopens the complaint the lead resolved: a new assignment for the lead, kind
// REOPENED, with the reason; a reject of it re-routes as usual.
TEST_F(RouterTest, AReopenGoesBackToTheAgencyThatAnswered) {
  auto state = router.submitted(rules, submittedEvent("road-damage"), 5000).effects->state;
  const auto pu = assignmentOf(state, "dinas-pu");
  auto resolved = events::makeEnvelope("notification", "c-1", "t-1", 6000, "ev-resolved");
  resolved.mutable_resolved()->set_assignment_id(pu.assignment_id());
  resolved.mutable_resolved()->set_agency_id("dinas-pu");
  auto answered = router.answered(state, resolved);
  ASSERT_TRUE(answered.effects);
  EXPECT_TRUE(answered.effects->out.empty()) << "only remembered";
  state = answered.effects->state;
  EXPECT_EQ(state.answered_assignment_id(), pu.assignment_id());
  auto reopened = events::makeEnvelope("intake", "c-1", "t-1", 7000, "ev-reopened");
  reopened.mutable_reopened()->set_reason("lubangnya masih ada");
  reopened.mutable_reopened()->set_by("reporter");
  auto d = router.reopened(state, reopened, 7000);
  ASSERT_TRUE(d.effects);
  EXPECT_THAT(dispatchTopics(*d.effects), ElementsAre("lapor.dispatch.dinas-pu.v1"));
  const auto& routed = routedOf(*d.effects);
  EXPECT_EQ(routed.reason(), "reopened");
  EXPECT_EQ(routed.round(), 1);
  EXPECT_FALSE(routed.triage());
  ASSERT_EQ(routed.assignments_size(), 1);
  EXPECT_NE(routed.assignments(0).assignment_id(), pu.assignment_id()) << "a new assignment";
  for (const auto& [topic, e] : d.effects->out) {
    if (e.has_dispatched()) {
      EXPECT_EQ(e.dispatched().item().kind(), v1::DISPATCH_KIND_REOPENED);
      EXPECT_THAT(e.dispatched().item().note(), ::testing::HasSubstr("lubangnya masih ada"));
    }
  }
  state = d.effects->state;
  const auto again = assignmentOf(state, "dinas-pu");
  auto rerouted = router.rejected(rules, state, rejection("ev-rej", again), 8000);
  ASSERT_TRUE(rerouted.effects);
  EXPECT_THAT(dispatchTopics(*rerouted.effects), ElementsAre("lapor.dispatch.dishub.v1"));
}

TEST_F(RouterTest, AReopenWithNoAnswerGoesToTheTriageDesk) {
  auto state = router.submitted(rules, submittedEvent("other"), 5000).effects->state;
  auto reopened = events::makeEnvelope("intake", "c-1", "t-1", 7000, "ev-reopened");
  reopened.mutable_reopened()->set_reason("saya punya bukti baru");
  auto d = router.reopened(state, reopened, 7000);
  ASSERT_TRUE(d.effects);
  EXPECT_THAT(dispatchTopics(*d.effects), ElementsAre("lapor.dispatch.triage.v1"));
  EXPECT_TRUE(routedOf(*d.effects).triage());
}

v1::RoutingCommand closeCommand(const std::string& code) {
  v1::RoutingCommand cmd;
  cmd.set_command_id("cmd-close");
  auto* c = cmd.mutable_close();
  c->set_complaint_id("c-1");
  c->set_reason_code(code);
  c->set_note("iklan");
  c->set_operator_("siti");
  return cmd;
}

// The desk closes a spam report: `closed` with the reason, and the desk's item taken back.
TEST_F(RouterTest, TheTriageDeskClosesAReport) {
  auto state = router.submitted(rules, submittedEvent("other"), 5000).effects->state;
  auto d = router.command(rules, state, closeCommand("spam"), 9000);
  ASSERT_TRUE(d.effects) << d.refusal->detail;
  std::optional<v1::ComplaintClosed> closed;
  int withdrawn_items = 0;
  for (const auto& [topic, e] : d.effects->out) {
    if (e.has_closed()) closed = e.closed();
    if (e.has_dispatched() && e.dispatched().item().kind() == v1::DISPATCH_KIND_WITHDRAWN) {
      EXPECT_EQ(topic, "lapor.dispatch.triage.v1");
      ++withdrawn_items;
    }
  }
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->reason(), "triage");
  EXPECT_EQ(closed->reason_code(), "spam");
  EXPECT_EQ(closed->operator_(), "siti");
  EXPECT_EQ(withdrawn_items, 1);
  EXPECT_TRUE(d.effects->state.closed());
  // Closed is closed: no second close, no assignment.
  EXPECT_TRUE(router.command(rules, d.effects->state, closeCommand("spam"), 9500).refusal);
  // Only what the desk holds can be closed by it.
  auto routed = router.submitted(rules, submittedEvent("road-damage"), 5000).effects->state;
  EXPECT_EQ(ComplaintRouter::refusalOf(routed, closeCommand("spam")),
            "complaint is not in triage");
}

// A supervisor hands a routed complaint back: the agencies' assignments are withdrawn (feed
// item and lifecycle event) and the desk holds it again.
TEST_F(RouterTest, ASupervisorHandsAComplaintBackToTriage) {
  auto state = router.submitted(rules, submittedEvent("fire"), 5000).effects->state;
  v1::RoutingCommand cmd;
  cmd.set_command_id("cmd-back");
  cmd.mutable_return_to_triage()->set_complaint_id("c-1");
  cmd.mutable_return_to_triage()->set_note("bukan kebakaran, tapi asap pembakaran sampah");
  cmd.mutable_return_to_triage()->set_operator_("budi");
  auto d = router.command(rules, state, cmd, 9000);
  ASSERT_TRUE(d.effects);
  std::set<std::string> withdrawn;
  for (const auto& [topic, e] : d.effects->out)
    if (e.has_withdrawn()) withdrawn.insert(e.withdrawn().agency_id());
  EXPECT_EQ(withdrawn, (std::set<std::string>{"disdamkar", "rsud"}));
  EXPECT_EQ(routedOf(*d.effects).reason(), "returned");
  EXPECT_TRUE(routedOf(*d.effects).triage());
  EXPECT_TRUE(d.effects->state.triage());
  EXPECT_EQ(ComplaintRouter::refusalOf(d.effects->state, cmd),
            "the complaint is already with the triage desk");
}

TEST_F(RouterTest, AClosedComplaintsLiveAssignmentsAreWithdrawn) {
  auto state = router.submitted(rules, submittedEvent("fire"), 5000).effects->state;
  auto closed = events::makeEnvelope("intake", "c-1", "t-1", 7000, "ev-closed");
  closed.mutable_closed()->set_reason("feedback");
  auto d = router.closed(state, closed, 7000);
  ASSERT_TRUE(d.effects);
  EXPECT_THAT(dispatchTopics(*d.effects),
              ElementsAre("lapor.dispatch.disdamkar.v1", "lapor.dispatch.rsud.v1"));
  EXPECT_TRUE(d.effects->state.closed());
  EXPECT_FALSE(router.closed(d.effects->state, closed, 7000).effects) << "once";
}

}  // namespace
}  // namespace lapor::routing
