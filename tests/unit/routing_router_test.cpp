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

// Verification: a web report is held (nothing dispatched) until a verifier passes it, with
// the verifier's edits in what the agencies receive; a postponement waits for the reporter's
// answer; emergencies and skipped categories are never held; a held report refuses the desk's
// other commands.
class VerificationTest : public RouterTest {
 protected:
  agencies::AgencyDirectory dir = agencies::AgencyDirectory::parse(
      kDir + "categories:\n  - {code: road-damage}\n  - {code: fire, emergency: true}\n"
             "  - {code: garbage}\n",
      "r.yaml");
  ComplaintRouter verifying{2, VerificationPolicy::parse("web,sms", "garbage", dir)};

  v1::EventEnvelope webReport(const std::string& category, v1::Channel ch = v1::CHANNEL_WEB) {
    auto env = submittedEvent(category);
    env.mutable_submitted()->mutable_complaint()->set_channel(ch);
    env.mutable_submitted()->mutable_complaint()->set_title("Jalan berlubang");
    return env;
  }
  static v1::RoutingCommand command(const std::string& id) {
    v1::RoutingCommand cmd;
    cmd.set_command_id(id);
    return cmd;
  }
};

TEST_F(VerificationTest, WhichReportsWait) {
  auto policy = VerificationPolicy::parse("web,sms", "garbage", dir);
  auto report = webReport("road-damage").submitted().complaint();
  EXPECT_TRUE(policy.required(report));
  report.set_channel(v1::CHANNEL_APP);
  EXPECT_FALSE(policy.required(report)) << "app is not configured";
  report.set_channel(v1::CHANNEL_SMS);
  report.set_priority(v1::PRIORITY_EMERGENCY);
  EXPECT_FALSE(policy.required(report)) << "an emergency never waits";
  report.set_priority(v1::PRIORITY_HIGH);
  report.set_category("fire");
  EXPECT_FALSE(policy.required(report)) << "an emergency category never waits";
  report.set_category("garbage");
  EXPECT_FALSE(policy.required(report)) << "skipped category";
  EXPECT_FALSE(VerificationPolicy{}.required(webReport("road-damage").submitted().complaint()));
  EXPECT_THROW(VerificationPolicy::parse("web,fax", "", dir), std::invalid_argument);
  EXPECT_THROW(VerificationPolicy::parse("call-centre-112", "", dir), std::invalid_argument);
  EXPECT_THROW(VerificationPolicy::parse("web", "volcano", dir), std::invalid_argument);
}

TEST_F(VerificationTest, AHeldReportIsDispatchedOnlyAfterVerify) {
  auto held = verifying.submitted(rules, webReport("road-damage"), 5000);
  ASSERT_TRUE(held.effects);
  EXPECT_TRUE(dispatchTopics(*held.effects).empty()) << "nothing reaches an agency";
  ASSERT_EQ(held.effects->out.size(), 1u);
  EXPECT_TRUE(held.effects->out[0].second.has_verification_requested());
  EXPECT_EQ(held.effects->state.verification(), v1::COMPLAINT_STATUS_VERIFYING);
  EXPECT_EQ(held.effects->state.assignments_size(), 0);
  const auto state = held.effects->state;

  // The desk's other commands wait for the verification.
  auto assign = command("cmd-assign");
  assign.mutable_request()->set_complaint_id("c-1");
  assign.mutable_request()->set_agency_id("dishub");
  EXPECT_NE(ComplaintRouter::refusalOf(state, assign), "");
  auto back = command("cmd-back");
  back.mutable_return_to_triage()->set_complaint_id("c-1");
  EXPECT_NE(ComplaintRouter::refusalOf(state, back), "");

  auto verify = command("cmd-verify");
  auto* v = verify.mutable_verify();
  v->set_complaint_id("c-1");
  v->set_title("Jalan Yos Sudarso berlubang");
  v->set_set_flags(true);
  v->set_confidential(true);
  v->set_report_type(v1::REPORT_TYPE_COMPLAINT_OVERSIGHT);
  v->set_operator_("verifikator-1");
  auto d = verifying.command(rules, state, verify, 9000);
  ASSERT_TRUE(d.effects) << (d.refusal ? d.refusal->detail : "");
  EXPECT_TRUE(d.effects->out[0].second.has_verified()) << "verified comes first";
  EXPECT_EQ(d.effects->out[0].second.verified().report_type(), v1::REPORT_TYPE_COMPLAINT_OVERSIGHT);
  EXPECT_THAT(dispatchTopics(*d.effects), ElementsAre(kafka::dispatchTopic("dinas-pu")));
  for (const auto& [topic, env] : d.effects->out)
    if (topic == kafka::dispatchTopic("dinas-pu")) {
      const auto& c = env.dispatched().item().complaint();
      EXPECT_EQ(c.title(), "Jalan Yos Sudarso berlubang") << "the verifier's edit";
      EXPECT_TRUE(c.confidential());
      EXPECT_EQ(c.report_type(), v1::REPORT_TYPE_COMPLAINT_OVERSIGHT);
    }
  EXPECT_EQ(d.effects->state.verification(), v1::COMPLAINT_STATUS_UNSPECIFIED);
  EXPECT_NE(ComplaintRouter::refusalOf(d.effects->state, verify), "") << "verified once";
  // The same command again gives the same events (a replay after an abort).
  auto again = verifying.command(rules, state, verify, 9000);
  ASSERT_EQ(again.effects->out.size(), d.effects->out.size());
  for (size_t i = 0; i < d.effects->out.size(); ++i)
    EXPECT_EQ(again.effects->out[i].second.event_id(), d.effects->out[i].second.event_id());
}

TEST_F(VerificationTest, APostponedReportWaitsForTheReportersAnswer) {
  auto state = verifying.submitted(rules, webReport("road-damage"), 5000).effects->state;
  auto postpone = command("cmd-postpone");
  postpone.mutable_postpone()->set_complaint_id("c-1");
  postpone.mutable_postpone()->set_question("Di ruas jalan mana?");
  auto p = verifying.command(rules, state, postpone, 6000);
  ASSERT_TRUE(p.effects);
  ASSERT_EQ(p.effects->out.size(), 1u);
  EXPECT_EQ(p.effects->out[0].second.postponed().question(), "Di ruas jalan mana?");
  state = p.effects->state;
  EXPECT_EQ(state.verification(), v1::COMPLAINT_STATUS_POSTPONED);
  EXPECT_NE(ComplaintRouter::refusalOf(state, postpone), "") << "postponed once";

  // An answer to an agency's question is not routing's; the answer to the postponement is.
  auto answer = events::makeEnvelope("intake", "c-1", "t-1", 7000, "ev-answer");
  answer.mutable_reporter_answered()->set_answer("Jl. Yos Sudarso km 3");
  answer.mutable_reporter_answered()->set_assignment_id("a-other");
  EXPECT_FALSE(verifying.reporterAnswered(state, answer).effects);
  answer.mutable_reporter_answered()->clear_assignment_id();
  auto back = verifying.reporterAnswered(state, answer);
  ASSERT_TRUE(back.effects);
  EXPECT_TRUE(back.effects->out.empty());
  EXPECT_EQ(back.effects->state.verification(), v1::COMPLAINT_STATUS_VERIFYING);
  EXPECT_EQ(back.effects->state.reporter_answer(), "Jl. Yos Sudarso km 3");
  EXPECT_EQ(back.effects->state.queued_at_ms(), 7000);
}

TEST_F(VerificationTest, NotOursAndArchiveCloseWithTheirReasons) {
  auto state = verifying.submitted(rules, webReport("road-damage"), 5000).effects->state;
  auto not_ours = command("cmd-not-ours");
  not_ours.mutable_not_ours()->set_complaint_id("c-1");
  not_ours.mutable_not_ours()->set_forward_to("Pemerintah Provinsi Kalimantan Timur");
  auto n = verifying.command(rules, state, not_ours, 6000);
  ASSERT_TRUE(n.effects);
  const auto& closed = n.effects->out.at(0).second.closed();
  EXPECT_EQ(closed.reason(), "verification");
  EXPECT_EQ(closed.reason_code(), "not-ours");
  EXPECT_EQ(closed.forward_to(), "Pemerintah Provinsi Kalimantan Timur");
  EXPECT_TRUE(n.effects->state.closed());
  EXPECT_TRUE(dispatchTopics(*n.effects).empty());

  auto archive = command("cmd-archive");
  archive.mutable_archive()->set_complaint_id("c-1");
  archive.mutable_archive()->set_reason("Laporan berisi iklan");
  auto a = verifying.command(rules, state, archive, 6000);
  ASSERT_TRUE(a.effects);
  EXPECT_EQ(a.effects->out.at(0).second.closed().reason_code(), "archived");
  EXPECT_EQ(a.effects->out.at(0).second.closed().note(), "Laporan berisi iklan");
  EXPECT_NE(ComplaintRouter::refusalOf(a.effects->state, archive), "") << "closed";
}

TEST_F(VerificationTest, EmergenciesAndUnheldChannelsAreRoutedAtOnce) {
  auto fire = webReport("fire", v1::CHANNEL_CALL_CENTRE_112);
  auto d = verifying.submitted(rules, fire, 5000);
  ASSERT_TRUE(d.effects);
  EXPECT_FALSE(dispatchTopics(*d.effects).empty());
  auto app = verifying.submitted(rules, webReport("road-damage", v1::CHANNEL_APP), 5000);
  EXPECT_FALSE(dispatchTopics(*app.effects).empty());
  auto verify = command("cmd-verify");
  verify.mutable_verify()->set_complaint_id("c-1");
  EXPECT_NE(ComplaintRouter::refusalOf(app.effects->state, verify), "")
      << "a routed complaint is not waiting for verification";
}

}  // namespace
}  // namespace lapor::routing
