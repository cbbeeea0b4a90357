// The follow-up rule: which obligations a complaint is owed after each of its events, and that
// an open complaint is never owed nothing (random walks over every kind of event).
#include "domain/follow_up.h"

#include "events/envelope.h"
#include "time/clock.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <set>

namespace lapor::sla {
namespace {

constexpr int64_t kOccurred = 1'795'917'600'000;  // 2026-11-29T02:00:00Z, Sunday 10:00 WITA
constexpr int64_t kDay = 86'400'000;

const WorkCalendar& cal() {
  static const WorkCalendar c("Asia/Makassar", {"2026-12-25"});
  return c;
}

v1::EventEnvelope event(const std::string& id, int64_t at = kOccurred) {
  return events::makeEnvelope("test", "complaint-1", "trace-1", at, id);
}

v1::EventEnvelope submitted(v1::Priority priority, const std::string& category = "fire") {
  auto env = event("submitted-1");
  auto* c = env.mutable_submitted()->mutable_complaint();
  c->set_complaint_id("complaint-1");
  c->set_tracking_id("LPR-TEST-0001-X");
  c->set_priority(priority);
  c->set_category(category);
  return env;
}

v1::EventEnvelope routed(const std::string& id, v1::Priority priority,
                         const std::vector<std::string>& agencies, bool triage = false,
                         const std::string& reason = "initial", int round = 0,
                         int64_t at = kOccurred) {
  auto env = event(id, at);
  auto* r = env.mutable_routed();
  r->set_priority(priority);
  r->set_category("fire");
  r->set_triage(triage);
  r->set_reason(reason);
  r->set_round(round);
  bool lead = true;
  for (const auto& agency : agencies) {
    auto* a = r->add_assignments();
    a->set_assignment_id(id + "-" + agency);
    a->set_complaint_id("complaint-1");
    a->set_agency_id(agency);
    a->set_role(lead ? v1::ASSIGNMENT_ROLE_LEAD : v1::ASSIGNMENT_ROLE_SUPPORT);
    a->set_dispatched_at_ms(at);
    lead = false;
  }
  return env;
}

v1::EventEnvelope statusOf(const std::string& id, const std::string& assignment,
                           const std::string& agency, v1::AssignmentState state,
                           int64_t at = kOccurred) {
  auto env = event(id, at);
  auto* s = env.mutable_status_updated();
  s->set_assignment_id(assignment);
  s->set_agency_id(agency);
  s->set_state(state);
  s->set_message("Sedang ditangani");
  return env;
}

v1::EventEnvelope ack(const std::string& id, const std::string& assignment,
                      const std::string& agency) {
  auto env = event(id);
  env.mutable_acknowledged()->set_assignment_id(assignment);
  env.mutable_acknowledged()->set_agency_id(agency);
  return env;
}

v1::EventEnvelope resolved(const std::string& id, const std::string& assignment,
                           const std::string& agency, int64_t at = kOccurred) {
  auto env = event(id, at);
  env.mutable_resolved()->set_assignment_id(assignment);
  env.mutable_resolved()->set_agency_id(agency);
  env.mutable_resolved()->set_resolution("Sudah diperbaiki");
  return env;
}

v1::EventEnvelope rejected(const std::string& id, const std::string& assignment,
                           const std::string& agency) {
  auto env = event(id);
  env.mutable_rejected()->set_assignment_id(assignment);
  env.mutable_rejected()->set_agency_id(agency);
  env.mutable_rejected()->set_reason_code("not-our-authority");
  return env;
}

v1::EventEnvelope closed(const std::string& id, const std::string& reason) {
  auto env = event(id);
  env.mutable_closed()->set_reason(reason);
  return env;
}

// Folds events one by one, as the monitor does with its stored ledger.
struct Walk {
  v1::ComplaintLedger ledger;
  Step apply(const v1::EventEnvelope& env) {
    auto s = step(ledger, env, SlaPolicy::defaults(), cal());
    ledger = s.ledger;
    return s;
  }
  std::vector<ObligationStart> owed() const {
    return required(ledger, SlaPolicy::defaults(), cal());
  }
};

std::vector<v1::SlaStage> stagesOf(const std::vector<ObligationStart>& starts) {
  std::vector<v1::SlaStage> out;
  for (const auto& s : starts) out.push_back(s.stage);
  return out;
}

const ObligationStart* find(const std::vector<ObligationStart>& starts, v1::SlaStage stage,
                            const std::string& agency) {
  for (const auto& s : starts)
    if (s.stage == stage && s.agency_id == agency) return &s;
  return nullptr;
}

const ObligationStop* ended(const Step& s, v1::SlaStage stage) {
  for (const auto& e : s.ends)
    if (e.stage == stage) return &e;
  return nullptr;
}

TEST(FollowUpTest, SubmissionStartsDisposeInWorkingDaysAndResolutionByTheReportType) {
  Walk w;
  auto s = w.apply(submitted(v1::PRIORITY_NORMAL));
  ASSERT_EQ(stagesOf(s.starts),
            (std::vector<v1::SlaStage>{v1::SLA_STAGE_DISPOSE, v1::SLA_STAGE_RESOLUTION}));
  const auto& dispose = s.starts[0];
  EXPECT_EQ(dispose.agency_id, "triage");
  EXPECT_EQ(dispose.assignment_id, "");
  // Sunday submission: Mon, Tue, Wed -> Thursday 00:00 WITA = Wednesday 16:00 UTC.
  EXPECT_EQ(dispose.due_at_ms, cal().addWorkingDays(kOccurred, 3));
  EXPECT_EQ(lapor::time::formatRfc3339(dispose.due_at_ms), "2026-12-02T16:00:00.000Z");
  EXPECT_EQ(dispose.warn_at_ms, kOccurred + (dispose.due_at_ms - kOccurred) * 8 / 10);
  EXPECT_EQ(dispose.tracking_id, "LPR-TEST-0001-X");
  // A complaint (the default type, no oversight needed): 14 working days.
  EXPECT_EQ(s.starts[1].due_at_ms, cal().addWorkingDays(kOccurred, 14));
  EXPECT_EQ(s.starts[1].report_type, v1::REPORT_TYPE_COMPLAINT);
  EXPECT_EQ(s.starts[1].agency_id, "triage") << "nobody else holds it yet";
  EXPECT_EQ(w.ledger.priority(), v1::PRIORITY_NORMAL);
  EXPECT_EQ(w.ledger.category(), "fire");
}

TEST(FollowUpTest, RoutingEndsDisposeAndStartsAcknowledgePerAssignment) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_EMERGENCY));
  auto s = w.apply(
      routed("r1", v1::PRIORITY_EMERGENCY, {"disdamkar", "rsud-kudungga", "polres-kutim"}));
  ASSERT_EQ(s.ends.size(), 1u);
  EXPECT_EQ(s.ends[0].stage, v1::SLA_STAGE_DISPOSE);
  EXPECT_EQ(s.ends[0].outcome, EndOutcome::Met);
  ASSERT_EQ(s.reassigned.size(), 1u) << "the resolution clock follows the lead";
  EXPECT_EQ(s.reassigned[0].agency_id, "disdamkar");
  std::set<std::string> ids;
  for (const auto& agency : {"disdamkar", "rsud-kudungga", "polres-kutim"}) {
    const auto* a = find(s.starts, v1::SLA_STAGE_ACKNOWLEDGE, agency);
    ASSERT_TRUE(a) << agency;
    EXPECT_EQ(a->due_at_ms - kOccurred, 60'000);
    EXPECT_EQ(a->warn_at_ms - kOccurred, 48'000);
    EXPECT_EQ(a->assignment_id, std::string("r1-") + agency);
    ids.insert(a->obligation_id);
  }
  EXPECT_EQ(ids.size(), 3u);
  // Only the lead's units must be on scene in 15 minutes.
  const auto* scene = find(s.starts, v1::SLA_STAGE_ON_SCENE, "disdamkar");
  ASSERT_TRUE(scene);
  EXPECT_EQ(scene->due_at_ms - kOccurred, 15 * 60'000);
  EXPECT_FALSE(find(s.starts, v1::SLA_STAGE_ON_SCENE, "rsud-kudungga"));
}

TEST(FollowUpTest, NonEmergencyHasNoOnSceneClock) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL, "road-damage"));
  auto s = w.apply(routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
  EXPECT_EQ(stagesOf(s.starts), (std::vector<v1::SlaStage>{v1::SLA_STAGE_ACKNOWLEDGE}));
  EXPECT_EQ(s.starts[0].due_at_ms - kOccurred, 5 * kDay);
}

TEST(FollowUpTest, TriageRouteLeavesTheSubmissionsDisposeRunning) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL));
  auto s = w.apply(routed("r1", v1::PRIORITY_NORMAL, {"triage"}, true));
  EXPECT_TRUE(s.ends.empty());
  EXPECT_TRUE(s.starts.empty());
  EXPECT_TRUE(s.reassigned.empty());
  EXPECT_TRUE(find(w.owed(), v1::SLA_STAGE_DISPOSE, "triage"));
}

// After the re-route cap the desk holds it again: a dispose clock of its own, although the
// first route met the submission's; the operator's assignment meets it.
TEST(FollowUpTest, TriageAfterTheRerouteCapRunsADisposeClockForTheDesk) {
  Walk w;
  const auto first = w.apply(submitted(v1::PRIORITY_NORMAL)).starts[0].obligation_id;
  w.apply(routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
  auto s = w.apply(rejected("x1", "r1-dinas-pu", "dinas-pu"));
  ASSERT_EQ(s.reassigned.size(), 1u);
  EXPECT_EQ(s.reassigned[0].agency_id, "triage") << "the desk owes the resolution meanwhile";
  s = w.apply(routed("r2", v1::PRIORITY_NORMAL, {"triage"}, true, "reroute-cap", 0,
                     kOccurred + kDay));
  const auto* dispose = find(s.starts, v1::SLA_STAGE_DISPOSE, "triage");
  ASSERT_TRUE(dispose);
  EXPECT_NE(dispose->obligation_id, first);
  EXPECT_EQ(dispose->started_at_ms, kOccurred + kDay);
  const auto desk = dispose->obligation_id;
  s = w.apply(routed("r3", v1::PRIORITY_NORMAL, {"dlh"}, false, "operator"));
  const auto* met = ended(s, v1::SLA_STAGE_DISPOSE);
  ASSERT_TRUE(met);
  EXPECT_EQ(met->obligation_id, desk);
  EXPECT_EQ(met->outcome, EndOutcome::Met);
}

TEST(FollowUpTest, TheDeskClosingAReportMeetsItsDisposeAndEndsEverything) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL));
  w.apply(routed("r1", v1::PRIORITY_NORMAL, {"triage"}, true));
  auto s = w.apply(closed("c1", "triage"));
  ASSERT_EQ(s.ends.size(), 2u);
  EXPECT_EQ(ended(s, v1::SLA_STAGE_DISPOSE)->outcome, EndOutcome::Met);
  EXPECT_EQ(ended(s, v1::SLA_STAGE_RESOLUTION)->outcome, EndOutcome::Cancelled);
  EXPECT_TRUE(w.owed().empty());
  EXPECT_FALSE(isOpen(w.ledger));
}

TEST(FollowUpTest, DeliveryStartsFollowUpInWorkingDaysFromTheDeliveryTime) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL, "road"));
  w.apply(routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
  auto env = event("delivered-1", kOccurred + 1000);
  env.mutable_delivered()->set_assignment_id("r1-dinas-pu");
  env.mutable_delivered()->set_agency_id("dinas-pu");
  // Tuesday 22 Dec 2026 21:00 WITA: Wed, Thu, (Fri 25 Natal), Mon, Tue, Wed -> end of Wed 30.
  const int64_t delivered = 1'797'944'400'000;  // 2026-12-22T13:00:00Z
  env.mutable_delivered()->set_delivered_at_ms(delivered);
  auto s = w.apply(env);
  ASSERT_EQ(stagesOf(s.starts), (std::vector<v1::SlaStage>{v1::SLA_STAGE_FOLLOW_UP}));
  EXPECT_EQ(s.starts[0].started_at_ms, delivered);
  EXPECT_EQ(lapor::time::formatRfc3339(s.starts[0].due_at_ms), "2026-12-30T16:00:00.000Z");
  EXPECT_EQ(s.starts[0].category, "fire") << "the routed category wins over the submitted";
  // A second delivery (another channel) starts nothing.
  auto again = env;
  again.set_event_id("delivered-2");
  EXPECT_TRUE(w.apply(again).starts.empty());
}

TEST(FollowUpTest, AnEmergencyHasNoFollowUpStage) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_EMERGENCY));
  w.apply(routed("r1", v1::PRIORITY_EMERGENCY, {"disdamkar"}));
  auto env = event("delivered-1");
  env.mutable_delivered()->set_assignment_id("r1-disdamkar");
  env.mutable_delivered()->set_agency_id("disdamkar");
  EXPECT_TRUE(w.apply(env).starts.empty());
}

TEST(FollowUpTest, AgencyActionsEndTheirClocks) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_EMERGENCY));
  w.apply(routed("r1", v1::PRIORITY_EMERGENCY, {"disdamkar"}));
  auto s = w.apply(ack("k1", "r1-disdamkar", "disdamkar"));
  ASSERT_EQ(s.ends.size(), 1u);
  EXPECT_EQ(s.ends[0].stage, v1::SLA_STAGE_ACKNOWLEDGE);
  EXPECT_EQ(s.ends[0].assignment_id, "r1-disdamkar");
  EXPECT_EQ(s.ends[0].outcome, EndOutcome::Met);

  s = w.apply(statusOf("s1", "r1-disdamkar", "disdamkar", v1::ASSIGNMENT_STATE_ON_SCENE));
  ASSERT_TRUE(ended(s, v1::SLA_STAGE_ON_SCENE));
  EXPECT_EQ(ended(s, v1::SLA_STAGE_ON_SCENE)->outcome, EndOutcome::Met);

  s = w.apply(statusOf("s2", "r1-disdamkar", "disdamkar", v1::ASSIGNMENT_STATE_RESPONDED));
  ASSERT_EQ(stagesOf(s.starts), (std::vector<v1::SlaStage>{v1::SLA_STAGE_AUTO_CLOSE}));
  EXPECT_EQ(s.starts[0].warn_at_ms, 0) << "auto-close warns nobody";
  EXPECT_EQ(s.starts[0].due_at_ms, cal().addWorkingDays(kOccurred, 10));
  EXPECT_EQ(s.starts[0].agency_id, "disdamkar");
  // A newer answer replaces the clock.
  s = w.apply(statusOf("s3", "r1-disdamkar", "disdamkar", v1::ASSIGNMENT_STATE_RESPONDED,
                       kOccurred + kDay));
  ASSERT_EQ(s.starts.size(), 1u);
  ASSERT_TRUE(ended(s, v1::SLA_STAGE_AUTO_CLOSE));
  EXPECT_EQ(ended(s, v1::SLA_STAGE_AUTO_CLOSE)->outcome, EndOutcome::Cancelled);
  EXPECT_EQ(s.starts[0].started_at_ms, kOccurred + kDay);
}

// A supporting agency's answer or resolution is its own part: the complaint keeps its
// resolution clock (with the lead) and no auto-close starts.
TEST(FollowUpTest, ASupportingAgencyFinishingDoesNotResolveTheComplaint) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_EMERGENCY));
  w.apply(routed("r1", v1::PRIORITY_EMERGENCY, {"disdamkar", "rsud-kudungga"}));
  auto s = w.apply(statusOf("s1", "r1-rsud-kudungga", "rsud-kudungga",
                            v1::ASSIGNMENT_STATE_RESPONDED));
  EXPECT_TRUE(s.starts.empty());
  s = w.apply(resolved("v1", "r1-rsud-kudungga", "rsud-kudungga"));
  EXPECT_FALSE(ended(s, v1::SLA_STAGE_RESOLUTION));
  EXPECT_TRUE(s.starts.empty());
  EXPECT_TRUE(find(w.owed(), v1::SLA_STAGE_RESOLUTION, "disdamkar"));
  EXPECT_TRUE(find(w.owed(), v1::SLA_STAGE_ACKNOWLEDGE, "disdamkar"));
}

TEST(FollowUpTest, TheLeadsResolutionMeetsResolutionAndStartsAutoClose) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_EMERGENCY));
  w.apply(routed("r1", v1::PRIORITY_EMERGENCY, {"disdamkar", "polres-kutim"}));
  auto s = w.apply(resolved("v1", "r1-disdamkar", "disdamkar"));
  ASSERT_TRUE(ended(s, v1::SLA_STAGE_RESOLUTION));
  EXPECT_EQ(ended(s, v1::SLA_STAGE_RESOLUTION)->outcome, EndOutcome::Met);
  EXPECT_EQ(stagesOf(s.starts), (std::vector<v1::SlaStage>{v1::SLA_STAGE_AUTO_CLOSE}));
  // What the police still owed is not needed once the fire is out: cancelled, not breached.
  bool police = false;
  for (const auto& e : s.ends)
    if (e.agency_id == "polres-kutim") {
      police = true;
      EXPECT_EQ(e.outcome, EndOutcome::Cancelled);
    }
  EXPECT_TRUE(police);
  EXPECT_EQ(stagesOf(w.owed()), (std::vector<v1::SlaStage>{v1::SLA_STAGE_AUTO_CLOSE}));
}

TEST(FollowUpTest, RejectionAndWithdrawalCancelTheAssignmentsClocks) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL));
  w.apply(routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu", "dishub"}));
  auto s = w.apply(rejected("x1", "r1-dinas-pu", "dinas-pu"));
  ASSERT_EQ(s.ends.size(), 1u);
  EXPECT_EQ(s.ends[0].assignment_id, "r1-dinas-pu");
  EXPECT_EQ(s.ends[0].outcome, EndOutcome::Cancelled);
  EXPECT_EQ(resolutionOwner(w.ledger), "triage") << "no lead left until routing decides";
  auto withdrawn = event("w1");
  withdrawn.mutable_withdrawn()->set_assignment_id("r1-dishub");
  withdrawn.mutable_withdrawn()->set_agency_id("dishub");
  s = w.apply(withdrawn);
  ASSERT_EQ(s.ends.size(), 1u);
  EXPECT_EQ(s.ends[0].outcome, EndOutcome::Cancelled);
  EXPECT_TRUE(find(w.owed(), v1::SLA_STAGE_RESOLUTION, "triage"));
}

// The reporter is not satisfied: a new round. The resolution clock starts again, owed by the
// agency that answered, and the assignment routing gives it has fresh clocks.
TEST(FollowUpTest, AReopenedComplaintIsOwedByTheAgencyThatAnswered) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL, "road-damage"));
  w.apply(routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
  w.apply(ack("k1", "r1-dinas-pu", "dinas-pu"));
  w.apply(resolved("v1", "r1-dinas-pu", "dinas-pu"));
  auto reopened = event("o1", kOccurred + kDay);
  reopened.mutable_reopened()->set_reason("Masih berlubang");
  reopened.mutable_reopened()->set_by("reporter");
  auto s = w.apply(reopened);
  EXPECT_EQ(ended(s, v1::SLA_STAGE_AUTO_CLOSE)->outcome, EndOutcome::Cancelled);
  const auto* resolution = find(s.starts, v1::SLA_STAGE_RESOLUTION, "dinas-pu");
  ASSERT_TRUE(resolution);
  EXPECT_EQ(resolution->started_at_ms, kOccurred + kDay);
  s = w.apply(routed("r2", v1::PRIORITY_NORMAL, {"dinas-pu"}, false, "reopened", 1,
                     kOccurred + kDay));
  const auto* acknowledge = find(s.starts, v1::SLA_STAGE_ACKNOWLEDGE, "dinas-pu");
  ASSERT_TRUE(acknowledge);
  EXPECT_EQ(acknowledge->assignment_id, "r2-dinas-pu");
  EXPECT_TRUE(s.reassigned.empty());
  EXPECT_TRUE(s.ends.empty());
}

TEST(FollowUpTest, AReopenOfAClosedComplaintOpensItAgain) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL));
  w.apply(routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
  w.apply(resolved("v1", "r1-dinas-pu", "dinas-pu"));
  w.apply(closed("c1", "auto-close"));
  EXPECT_FALSE(isOpen(w.ledger));
  auto reopened = event("o1");
  reopened.mutable_reopened()->set_by("reporter");
  auto s = w.apply(reopened);
  EXPECT_TRUE(isOpen(w.ledger));
  EXPECT_EQ(stagesOf(s.starts), (std::vector<v1::SlaStage>{v1::SLA_STAGE_RESOLUTION}));
}

// A re-dispatch sends the same assignment again; its clock does not start over (the SLA
// monitor bounds re-dispatches itself). Routes written as re-dispatches by earlier versions
// start nothing either.
TEST(FollowUpTest, ARedispatchStartsNoNewClock) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_EMERGENCY));
  w.apply(routed("r1", v1::PRIORITY_EMERGENCY, {"disdamkar"}));
  auto legacy = routed("r1", v1::PRIORITY_EMERGENCY, {"disdamkar"}, false, "redispatch");
  legacy.set_event_id("r-again");
  auto s = w.apply(legacy);
  EXPECT_TRUE(s.starts.empty() && s.ends.empty());
  auto redispatched = event("d1");
  auto* item = redispatched.mutable_dispatched()->mutable_item();
  item->set_kind(v1::DISPATCH_KIND_REDISPATCH);
  item->mutable_assignment()->set_assignment_id("r1-disdamkar");
  s = w.apply(redispatched);
  EXPECT_TRUE(s.starts.empty() && s.ends.empty());
}

TEST(FollowUpTest, AReplayedEventChangesNothing) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL));
  const auto route = routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu"});
  auto first = w.apply(route);
  EXPECT_TRUE(first.changed);
  const auto before = w.ledger.SerializeAsString();
  auto again = w.apply(route);
  EXPECT_FALSE(again.changed);
  EXPECT_TRUE(again.starts.empty() && again.ends.empty());
  EXPECT_EQ(w.ledger.SerializeAsString(), before);
  // The same decision from the same ledger: the same ids.
  Walk other;
  other.apply(submitted(v1::PRIORITY_NORMAL));
  EXPECT_EQ(other.apply(route).starts[0].obligation_id, first.starts[0].obligation_id);
}

// Feedback is always followed by `closed` (solved) or `reopened` (not solved), which decide;
// on its own it leaves the auto-close running, so a lost second event still ends the matter.
TEST(FollowUpTest, FeedbackLeavesTheDecisionToTheCloseOrReopenThatFollows) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL));
  w.apply(routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
  w.apply(resolved("v1", "r1-dinas-pu", "dinas-pu"));
  auto feedback = event("f1");
  feedback.mutable_feedback()->set_rating(5);
  feedback.mutable_feedback()->set_solved(true);
  auto s = w.apply(feedback);
  EXPECT_TRUE(s.starts.empty() && s.ends.empty());
  EXPECT_EQ(stagesOf(w.owed()), (std::vector<v1::SlaStage>{v1::SLA_STAGE_AUTO_CLOSE}));
  s = w.apply(closed("c1", "feedback"));
  EXPECT_EQ(ended(s, v1::SLA_STAGE_AUTO_CLOSE)->outcome, EndOutcome::Cancelled);
  EXPECT_TRUE(w.owed().empty());
}

TEST(FollowUpTest, OtherEventsStartAndEndNothing) {
  for (auto make : std::vector<std::function<void(v1::EventEnvelope&)>>{
           [](auto& e) { e.mutable_dispatched(); }, [](auto& e) { e.mutable_undeliverable(); },
           [](auto& e) { e.mutable_sla_breached(); }, [](auto& e) { e.mutable_escalated(); },
           [](auto& e) { e.mutable_sla_warning(); },
           [](auto& e) { e.mutable_redispatch_requested(); }, [](auto& e) { e.clear_event(); }}) {
    Walk w;
    w.apply(submitted(v1::PRIORITY_NORMAL));
    w.apply(routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
    auto env = event("other");
    make(env);
    auto s = w.apply(env);
    EXPECT_TRUE(s.starts.empty() && s.ends.empty()) << events::eventKind(env);
  }
}

// A supervisor's work on an escalation is not the breaching agency's: it meets no clock of
// the agency's or of the complaint (the monitor ends the supervisor's own escalation clock
// outside the rule), nor does the delivery of the escalation start a follow-up clock.
TEST(FollowUpTest, ASupervisorsWorkOnAnEscalationIsNotTheAgencys) {
  for (auto state : {v1::ASSIGNMENT_STATE_DELIVERED, v1::ASSIGNMENT_STATE_ACKNOWLEDGED,
                     v1::ASSIGNMENT_STATE_IN_PROGRESS, v1::ASSIGNMENT_STATE_RESPONDED,
                     v1::ASSIGNMENT_STATE_RESOLVED}) {
    Walk w;
    w.apply(submitted(v1::PRIORITY_NORMAL, "road-damage"));
    w.apply(routed("r1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
    auto env = event("u1");
    auto* u = env.mutable_escalation_updated();
    u->set_escalation_id("esc-1");
    u->set_agency_id("sekda");
    u->set_escalated_assignment_id("r1-dinas-pu");
    u->set_escalated_agency_id("dinas-pu");
    u->set_level(1);
    u->set_state(state);
    auto s = w.apply(env);
    EXPECT_TRUE(s.starts.empty() && s.ends.empty()) << v1::AssignmentState_Name(state);
  }
}

// Random walks over every kind of event a complaint can get, in any order the services could
// produce them (with repeats): an open complaint is always owed something, by someone, with a
// deadline; what ends was owed; a repeat changes nothing.
TEST(FollowUpTest, RandomWalksNeverLeaveAnOpenComplaintWithoutAnOwner) {
  const std::vector<std::string> agencies{"dinas-pu", "dishub", "dlh", "bpbd", "disdamkar"};
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    Walk w;
    int64_t at = kOccurred;
    int n = 0;
    const auto priority = seed % 3 == 0 ? v1::PRIORITY_EMERGENCY : v1::PRIORITY_NORMAL;
    auto next_id = [&] { return "e" + std::to_string(seed) + "-" + std::to_string(++n); };
    w.apply(submitted(priority));
    std::vector<v1::EventEnvelope> history;
    for (int i = 0; i < 60; ++i) {
      at += 1000 + static_cast<int64_t>(pick(3600'000));
      // Assignments known so far, for events about one of them.
      std::vector<const v1::LedgerAssignment*> live;
      for (const auto& a : w.ledger.assignments())
        if (!a.ended() && a.agency_id() != "triage") live.push_back(&a);
      const auto* a = live.empty() ? nullptr : live[pick(live.size())];
      v1::EventEnvelope env;
      switch (pick(20)) {
        case 14:  // held for the verifiers
          env = event(next_id(), at);
          env.mutable_verification_requested()->set_desk("triage");
          break;
        case 15: {  // verified, maybe reclassified
          env = event(next_id(), at);
          const v1::ReportType types[] = {v1::REPORT_TYPE_UNSPECIFIED,
                                          v1::REPORT_TYPE_COMPLAINT_LIGHT,
                                          v1::REPORT_TYPE_COMPLAINT_OVERSIGHT};
          env.mutable_verified()->set_report_type(types[pick(3)]);
          break;
        }
        case 16:  // the verifiers ask the reporter
          env = event(next_id(), at);
          env.mutable_postponed()->set_question("?");
          break;
        case 17:  // an agency asks the reporter
          if (!a) continue;
          env = event(next_id(), at);
          env.mutable_reporter_asked()->set_assignment_id(a->assignment_id());
          env.mutable_reporter_asked()->set_agency_id(a->agency_id());
          break;
        case 18: {  // the reporter answers the open question (or a stale one)
          env = event(next_id(), at);
          auto* r = env.mutable_reporter_answered();
          r->set_in_reply_to(pick(4) == 0 ? "stale" : w.ledger.open_question());
          for (const auto& x : w.ledger.assignments())
            if (pick(2) == 0) r->set_assignment_id(x.assignment_id());
          break;
        }
        case 19:  // delegated to a unit
          if (!a) continue;
          env = event(next_id(), at);
          env.mutable_delegated()->set_assignment_id(a->assignment_id());
          env.mutable_delegated()->set_agency_id(a->agency_id());
          env.mutable_delegated()->set_unit_id("unit-1");
          break;
        case 0: {  // a route: to agencies, or to the desk
          std::vector<std::string> to;
          const bool triage = pick(4) == 0;
          if (triage)
            to = {"triage"};
          else
            for (size_t k = 0, m = 1 + pick(3); k < m; ++k) to.push_back(agencies[pick(5)]);
          env = routed(next_id(), priority, to, triage,
                       triage ? "reroute-cap" : (w.ledger.round() > 0 ? "reopened" : "rerouted"),
                       w.ledger.round(), at);
          break;
        }
        case 1:
          if (!a) continue;
          env = event(next_id(), at);
          env.mutable_delivered()->set_assignment_id(a->assignment_id());
          env.mutable_delivered()->set_agency_id(a->agency_id());
          break;
        case 2:
          if (!a) continue;
          env = ack(next_id(), a->assignment_id(), a->agency_id());
          env.set_occurred_at_ms(at);
          break;
        case 3:
        case 4: {
          if (!a) continue;
          const v1::AssignmentState states[] = {v1::ASSIGNMENT_STATE_IN_PROGRESS,
                                                v1::ASSIGNMENT_STATE_ON_SCENE,
                                                v1::ASSIGNMENT_STATE_RESPONDED};
          env = statusOf(next_id(), a->assignment_id(), a->agency_id(), states[pick(3)], at);
          break;
        }
        case 5:
          if (!a) continue;
          env = resolved(next_id(), a->assignment_id(), a->agency_id(), at);
          break;
        case 6:
          if (!a) continue;
          env = rejected(next_id(), a->assignment_id(), a->agency_id());
          env.set_occurred_at_ms(at);
          break;
        case 7:
          if (!a) continue;
          env = event(next_id(), at);
          env.mutable_withdrawn()->set_assignment_id(a->assignment_id());
          env.mutable_withdrawn()->set_agency_id(a->agency_id());
          break;
        case 8:
          env = event(next_id(), at);
          env.mutable_reopened()->set_by("reporter");
          break;
        case 9:
          env = event(next_id(), at);
          env.mutable_feedback()->set_rating(static_cast<int32_t>(1 + pick(5)));
          break;
        case 10: {
          const char* reasons[] = {"auto-close", "feedback", "triage"};
          env = closed(next_id(), reasons[pick(3)]);
          env.set_occurred_at_ms(at);
          break;
        }
        case 11:
          env = event(next_id(), at);
          env.mutable_sla_breached()->set_obligation_id("x");
          break;
        default:  // a repeat of an earlier event, as a redelivery brings it
          if (history.empty()) continue;
          env = history[pick(history.size())];
          break;
      }
      const auto was = w.owed();
      const auto s = w.apply(env);
      history.push_back(env);
      std::set<std::string> was_ids;
      for (const auto& o : was) was_ids.insert(o.obligation_id);
      for (const auto& e : s.ends)
        EXPECT_TRUE(was_ids.count(e.obligation_id)) << "seed " << seed << ": ended unowed";
      const auto owed = w.owed();
      if (isOpen(w.ledger)) {
        ASSERT_FALSE(owed.empty()) << "seed " << seed << " step " << i << ": "
                                   << events::eventKind(env) << " left it without an owner";
        for (const auto& o : owed) {
          EXPECT_FALSE(o.agency_id.empty()) << "seed " << seed;
          EXPECT_GE(o.due_at_ms, o.started_at_ms) << "seed " << seed;
        }
      }
      const auto before = w.ledger.SerializeAsString();
      const auto repeat = w.apply(env);
      EXPECT_FALSE(repeat.changed) << "seed " << seed << ": a repeat changed the ledger";
      EXPECT_EQ(w.ledger.SerializeAsString(), before);
    }
  }
}

// Verification: the desk's dispose clock runs while the verifiers hold the report; a
// postponement stops it and starts the auto-close clock, the reporter's answer restarts it; a
// reclassified report's resolution clock takes the new type's deadline, still from submission.
TEST(FollowUpTest, VerificationPostponementAndTheReportersAnswer) {
  Walk w;
  auto sub = submitted(v1::PRIORITY_NORMAL, "road-damage");
  sub.mutable_submitted()->mutable_complaint()->set_report_type(v1::REPORT_TYPE_COMPLAINT_LIGHT);
  auto s = w.apply(sub);
  const auto* res = find(s.starts, v1::SLA_STAGE_RESOLUTION, "triage");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->due_at_ms, cal().addWorkingDays(kOccurred, 2)) << "a light complaint";
  auto held = event("verification-1");
  held.mutable_verification_requested()->set_desk("triage");
  w.apply(held);
  EXPECT_TRUE(w.ledger.verifying());
  ASSERT_TRUE(find(w.owed(), v1::SLA_STAGE_DISPOSE, "triage"));

  auto postponed = event("postponed-1", kOccurred + kDay);
  postponed.mutable_postponed()->set_question("Di mana tepatnya?");
  s = w.apply(postponed);
  ASSERT_TRUE(ended(s, v1::SLA_STAGE_DISPOSE));
  EXPECT_EQ(ended(s, v1::SLA_STAGE_DISPOSE)->outcome, EndOutcome::Met) << "the desk acted";
  const auto* wait = find(s.starts, v1::SLA_STAGE_AUTO_CLOSE, "triage");
  ASSERT_TRUE(wait) << "unanswered, it closes";
  EXPECT_EQ(wait->started_at_ms, kOccurred + kDay);
  EXPECT_FALSE(find(w.owed(), v1::SLA_STAGE_DISPOSE, "triage"));

  // An answer to another question changes nothing.
  auto stray = event("answer-0", kOccurred + 2 * kDay);
  stray.mutable_reporter_answered()->set_in_reply_to("question-x");
  EXPECT_FALSE(w.apply(stray).changed);
  auto answer = event("answer-1", kOccurred + 2 * kDay);
  answer.mutable_reporter_answered()->set_in_reply_to("postponed-1");
  answer.mutable_reporter_answered()->set_answer("Jl. Yos Sudarso km 3");
  s = w.apply(answer);
  EXPECT_EQ(ended(s, v1::SLA_STAGE_AUTO_CLOSE)->outcome, EndOutcome::Cancelled);
  const auto* again = find(s.starts, v1::SLA_STAGE_DISPOSE, "triage");
  ASSERT_TRUE(again) << "back with the verifiers";
  EXPECT_EQ(again->started_at_ms, kOccurred + 2 * kDay);

  auto verified = event("verified-1", kOccurred + 3 * kDay);
  verified.mutable_verified()->set_report_type(v1::REPORT_TYPE_COMPLAINT_OVERSIGHT);
  s = w.apply(verified);
  ASSERT_TRUE(ended(s, v1::SLA_STAGE_RESOLUTION));
  const auto* res2 = find(s.starts, v1::SLA_STAGE_RESOLUTION, "triage");
  ASSERT_TRUE(res2) << "reclassified: the resolution clock takes the new deadline";
  EXPECT_EQ(res2->started_at_ms, kOccurred) << "still from the submission";
  EXPECT_EQ(res2->due_at_ms, cal().addWorkingDays(kOccurred, 60));
  EXPECT_EQ(res2->report_type, v1::REPORT_TYPE_COMPLAINT_OVERSIGHT);
  s = w.apply(routed("routed-1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
  EXPECT_TRUE(ended(s, v1::SLA_STAGE_DISPOSE));
  EXPECT_TRUE(find(w.owed(), v1::SLA_STAGE_ACKNOWLEDGE, "dinas-pu"));
}

// An agency's question to the reporter starts the auto-close clock (no answer: the report
// closes); the answer stops it and the agency owes a follow-up on the answer until it acts.
TEST(FollowUpTest, AnAgencysQuestionAndTheReportersAnswer) {
  Walk w;
  w.apply(submitted(v1::PRIORITY_NORMAL, "road-damage"));
  w.apply(routed("routed-1", v1::PRIORITY_NORMAL, {"dinas-pu"}));
  auto asked = event("asked-1", kOccurred + kDay);
  asked.mutable_reporter_asked()->set_assignment_id("routed-1-dinas-pu");
  asked.mutable_reporter_asked()->set_agency_id("dinas-pu");
  asked.mutable_reporter_asked()->set_question("Foto lokasinya?");
  auto s = w.apply(asked);
  EXPECT_TRUE(ended(s, v1::SLA_STAGE_ACKNOWLEDGE)) << "asking is taking the work up";
  ASSERT_TRUE(find(s.starts, v1::SLA_STAGE_AUTO_CLOSE, "dinas-pu"));
  auto answer = event("answer-1", kOccurred + 2 * kDay);
  auto* a = answer.mutable_reporter_answered();
  a->set_in_reply_to("asked-1");
  a->set_assignment_id("routed-1-dinas-pu");
  a->set_agency_id("dinas-pu");
  s = w.apply(answer);
  ASSERT_TRUE(ended(s, v1::SLA_STAGE_AUTO_CLOSE));
  const auto* reply = find(s.starts, v1::SLA_STAGE_FOLLOW_UP, "dinas-pu");
  ASSERT_TRUE(reply) << "the agency follows the answer up";
  EXPECT_EQ(reply->started_at_ms, kOccurred + 2 * kDay);
  s = w.apply(statusOf("status-1", "routed-1-dinas-pu", "dinas-pu",
                       v1::ASSIGNMENT_STATE_IN_PROGRESS, kOccurred + 3 * kDay));
  ASSERT_TRUE(ended(s, v1::SLA_STAGE_FOLLOW_UP));
  EXPECT_EQ(ended(s, v1::SLA_STAGE_FOLLOW_UP)->outcome, EndOutcome::Met);
  EXPECT_TRUE(find(w.owed(), v1::SLA_STAGE_RESOLUTION, "dinas-pu"));
}

}  // namespace
}  // namespace lapor::sla
