// The tracking view's model: the complaint's status from its assignments' states (every pair
// of a lead's and a supporting agency's state), states that only move forward, and the same
// view from any order in which an assignment's events arrive.
#include "domain/view_model.h"

#include "events/envelope.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace lapor::intake {
namespace {

const std::vector<std::string> kStates{"dispatched", "delivered",   "undeliverable", "acknowledged",
                                       "in_progress", "on_scene",   "responded",     "resolved",
                                       "rejected",   "withdrawn"};

ViewModel twoAgencies(const std::string& lead, const std::string& support) {
  ViewModel m;
  m.submitted = true;
  m.assignments["a-lead"] = {"a-lead", "disdamkar", "lead", lead, 10, "e1", 0, 1};
  m.assignments["a-support"] = {"a-support", "rsud-kudungga", "support", support, 10, "e2", 0, 1};
  return m;
}

// R routed, I in progress, V resolved: rows the lead's state, columns the support's, in the
// order of kStates.
TEST(ViewModelTest, StatusOfEveryPairOfStates) {
  const std::vector<std::string> table{
      "RRRIIIIIRR",  // lead dispatched
      "RRRIIIIIRR",  // delivered
      "RRRIIIIIRR",  // undeliverable
      "IIIIIIIIII",  // acknowledged
      "IIIIIIIIII",  // in_progress
      "IIIIIIIIII",  // on_scene
      "IIIIIIIIII",  // responded
      "VVVVVVVVVV",  // resolved: the lead's resolution resolves the complaint
      "RRRIIIIIRR",  // rejected: waiting for its re-route; the support's work goes on
      "RRRIIIIIRR",  // withdrawn
  };
  for (size_t l = 0; l < kStates.size(); ++l)
    for (size_t s = 0; s < kStates.size(); ++s) {
      const char want = table[l][s];
      const auto expected = want == 'R'   ? v1::COMPLAINT_STATUS_ROUTED
                            : want == 'I' ? v1::COMPLAINT_STATUS_IN_PROGRESS
                                          : v1::COMPLAINT_STATUS_RESOLVED;
      EXPECT_EQ(statusOf(twoAgencies(kStates[l], kStates[s])), expected)
          << "lead " << kStates[l] << ", support " << kStates[s];
    }
}

TEST(ViewModelTest, ComplaintLevelFactsComeFirst) {
  auto m = twoAgencies("acknowledged", "dispatched");
  m.closed = true;
  EXPECT_EQ(statusOf(m), v1::COMPLAINT_STATUS_CLOSED);
  ViewModel submitted;
  submitted.submitted = true;
  EXPECT_EQ(statusOf(submitted), v1::COMPLAINT_STATUS_SUBMITTED);
  ViewModel desk;
  desk.triage = true;
  desk.assignments["t"] = {"t", "triage", "lead", "dispatched", 1, "e", 0, 1};
  EXPECT_EQ(statusOf(desk), v1::COMPLAINT_STATUS_TRIAGE);
  // Reopened: until an agency acts on it again, whatever the earlier round's states.
  auto again = twoAgencies("resolved", "resolved");
  again.round = 1;
  EXPECT_EQ(statusOf(again), v1::COMPLAINT_STATUS_REOPENED);
  again.assignments["a-reopened"] = {"a-reopened", "disdamkar", "lead", "delivered", 20, "e3", 1, 20};
  EXPECT_EQ(statusOf(again), v1::COMPLAINT_STATUS_REOPENED);
  again.assignments["a-reopened"].state = "acknowledged";
  EXPECT_EQ(statusOf(again), v1::COMPLAINT_STATUS_IN_PROGRESS);
  again.assignments["a-reopened"].state = "resolved";
  EXPECT_EQ(statusOf(again), v1::COMPLAINT_STATUS_RESOLVED);
}

TEST(ViewModelTest, StatesOnlyMoveForward) {
  AssignmentFacts a{"a", "disdamkar", "lead", "dispatched", 0, "", 0, 0};
  a = reportState(a, "acknowledged", 100, "ack");
  EXPECT_EQ(reportState(a, "delivered", 200, "late-delivered").state, "acknowledged")
      << "a late delivered never overwrites acknowledged";
  a = reportState(a, "on_scene", 300, "scene");
  a = reportState(a, "in_progress", 400, "progress");
  EXPECT_EQ(a.state, "in_progress") << "the newer report of the same rank";
  EXPECT_EQ(reportState(a, "on_scene", 300, "scene").state, "in_progress") << "a replay";
  a = reportState(a, "resolved", 500, "done");
  EXPECT_EQ(reportState(a, "acknowledged", 600, "ack2").state, "resolved");
  for (const auto& s : kStates) EXPECT_GT(stateRank(s), 0) << s;
}

v1::EventEnvelope event(const std::string& id, int64_t at) {
  return events::makeEnvelope("test", "c-1", "t", at, id);
}

v1::EventEnvelope routedEvent(int round = 0, const std::string& reason = "initial") {
  auto e = event("routed-" + std::to_string(round) + reason, 1000 + round);
  auto* r = e.mutable_routed();
  r->set_reason(reason);
  r->set_round(round);
  for (auto [id, agency, role] :
       {std::tuple{"a-damkar", "disdamkar", v1::ASSIGNMENT_ROLE_LEAD},
        std::tuple{"a-rsud", "rsud-kudungga", v1::ASSIGNMENT_ROLE_SUPPORT}}) {
    if (round > 0 && std::string(agency) != "disdamkar") continue;
    auto* a = r->add_assignments();
    a->set_assignment_id(round > 0 ? std::string(id) + "-r" + std::to_string(round) : id);
    a->set_agency_id(agency);
    a->set_role(role);
    a->set_dispatched_at_ms(1000 + round);
  }
  return e;
}

ViewModel fold(const std::vector<v1::EventEnvelope>& events) {
  ViewModel m;
  for (const auto& e : events) m = applyEvent(m, e).after;
  return m;
}

// The agencies a view lists (who may read it): an agency is listed with its first part, and an
// event of a part it has already changes the part, not the list.
TEST(ViewModelTest, AnAgencyIsListedWithItsFirstPartOnly) {
  const auto routed = applyEvent(ViewModel{}, routedEvent());
  auto listed = routed.agencies;
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, (std::vector<std::string>{"disdamkar", "rsud-kudungga"}));
  auto ack = event("ack", 2000);
  ack.mutable_acknowledged()->set_assignment_id("a-damkar");
  ack.mutable_acknowledged()->set_agency_id("disdamkar");
  const auto acked = applyEvent(routed.after, ack);
  ASSERT_EQ(acked.changed.size(), 1u);
  EXPECT_TRUE(acked.agencies.empty()) << "listed with its routing already";
  // A part the view has not seen routed (its events can come first): listed with it.
  auto early = event("early", 1500);
  early.mutable_delivered()->set_assignment_id("a-pu");
  early.mutable_delivered()->set_agency_id("dinas-pu");
  EXPECT_EQ(applyEvent(routed.after, early).agencies, std::vector<std::string>{"dinas-pu"});
  EXPECT_EQ(applyEvent(ViewModel{}, ack).agencies, std::vector<std::string>{"disdamkar"});
}

// Re-dispatches, escalations and the SLA monitor's events never move the status back.
TEST(ViewModelTest, RedispatchAndEscalationNeverMoveTheStatusBack) {
  std::vector<v1::EventEnvelope> events{routedEvent()};
  auto ack = event("ack", 2000);
  ack.mutable_acknowledged()->set_assignment_id("a-damkar");
  ack.mutable_acknowledged()->set_agency_id("disdamkar");
  events.push_back(ack);
  ASSERT_EQ(statusOf(fold(events)), v1::COMPLAINT_STATUS_IN_PROGRESS);
  auto redispatch = event("re", 3000);
  auto* item = redispatch.mutable_dispatched()->mutable_item();
  item->set_kind(v1::DISPATCH_KIND_REDISPATCH);
  item->mutable_assignment()->set_assignment_id("a-rsud");
  item->mutable_assignment()->set_agency_id("rsud-kudungga");
  events.push_back(redispatch);
  auto legacy = routedEvent(0, "redispatch");
  legacy.set_event_id("routed-redispatch");
  events.push_back(legacy);
  auto escalation = event("esc", 3100);
  auto* e = escalation.mutable_dispatched()->mutable_item();
  e->set_kind(v1::DISPATCH_KIND_ESCALATION);
  e->mutable_assignment()->set_agency_id("ncc-112");
  e->mutable_assignment()->set_role(v1::ASSIGNMENT_ROLE_SUPERVISOR);
  events.push_back(escalation);
  auto withdrawn_escalation = escalation;
  withdrawn_escalation.set_event_id("esc-w");
  withdrawn_escalation.mutable_dispatched()->mutable_item()->set_kind(v1::DISPATCH_KIND_WITHDRAWN);
  events.push_back(withdrawn_escalation);
  auto escalated = event("escalated", 3200);
  escalated.mutable_escalated()->set_to_agency_id("ncc-112");
  events.push_back(escalated);
  auto m = fold(events);
  EXPECT_EQ(statusOf(m), v1::COMPLAINT_STATUS_IN_PROGRESS);
  EXPECT_EQ(m.assignments.size(), 2u) << "no supervisor among the agencies' parts";
  EXPECT_EQ(m.assignments.at("a-rsud").state, "dispatched");
}

// The events of the agencies' assignments may reach the topic in any order (an outbox replays
// a delivery after the acknowledgement): every order gives the same view.
TEST(ViewModelTest, AnyOrderOfTheAssignmentsEventsGivesTheSameView) {
  auto delivered = event("delivered", 1500);
  delivered.mutable_delivered()->set_assignment_id("a-damkar");
  delivered.mutable_delivered()->set_agency_id("disdamkar");
  auto ack = event("ack", 1600);
  ack.mutable_acknowledged()->set_assignment_id("a-damkar");
  ack.mutable_acknowledged()->set_agency_id("disdamkar");
  auto scene = event("scene", 1700);
  scene.mutable_status_updated()->set_assignment_id("a-damkar");
  scene.mutable_status_updated()->set_agency_id("disdamkar");
  scene.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_ON_SCENE);
  auto support_delivered = event("s-delivered", 1550);
  support_delivered.mutable_delivered()->set_assignment_id("a-rsud");
  support_delivered.mutable_delivered()->set_agency_id("rsud-kudungga");
  auto support_ack = event("s-ack", 1800);
  support_ack.mutable_acknowledged()->set_assignment_id("a-rsud");
  support_ack.mutable_acknowledged()->set_agency_id("rsud-kudungga");
  std::vector<v1::EventEnvelope> later{delivered, ack, scene, support_delivered, support_ack};
  std::vector<int> order{0, 1, 2, 3, 4};
  std::optional<ViewModel> first;
  int permutations = 0;
  do {
    std::vector<v1::EventEnvelope> events{routedEvent()};
    for (int i : order) events.push_back(later[static_cast<size_t>(i)]);
    events.push_back(later[0]);  // and a repeat at the end
    auto m = fold(events);
    if (!first) first = m;
    EXPECT_EQ(m.assignments, first->assignments);
    EXPECT_EQ(statusOf(m), v1::COMPLAINT_STATUS_IN_PROGRESS);
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 120);
  EXPECT_EQ(first->assignments.at("a-damkar").state, "on_scene");
  EXPECT_EQ(first->assignments.at("a-rsud").state, "acknowledged");
}

TEST(ViewModelTest, AReopenWaitsForTheAgencyAndTheDesksCloseSaysWhy) {
  auto resolved = event("resolved", 2000);
  resolved.mutable_resolved()->set_assignment_id("a-damkar");
  resolved.mutable_resolved()->set_agency_id("disdamkar");
  auto reopened = event("reopened", 3000);
  reopened.mutable_reopened()->set_reason("masih berasap");
  auto m = fold({routedEvent(), resolved});
  EXPECT_EQ(statusOf(m), v1::COMPLAINT_STATUS_RESOLVED);
  auto change = applyEvent(m, reopened);
  EXPECT_EQ(statusOf(change.after), v1::COMPLAINT_STATUS_REOPENED);
  m = applyEvent(change.after, routedEvent(1, "reopened")).after;
  EXPECT_EQ(statusOf(m), v1::COMPLAINT_STATUS_REOPENED) << "routed back, not yet acted on";
  auto ack = event("ack-r1", 3500);
  ack.mutable_acknowledged()->set_assignment_id("a-damkar-r1");
  ack.mutable_acknowledged()->set_agency_id("disdamkar");
  m = applyEvent(m, ack).after;
  EXPECT_EQ(statusOf(m), v1::COMPLAINT_STATUS_IN_PROGRESS);

  auto desk = event("closed", 4000);
  desk.mutable_closed()->set_reason("triage");
  desk.mutable_closed()->set_reason_code("duplicate");
  desk.mutable_closed()->set_duplicate_of("LPR-7K3M-Q9XA-4");
  auto closed = applyEvent(m, desk);
  EXPECT_EQ(statusOf(closed.after), v1::COMPLAINT_STATUS_CLOSED);
  EXPECT_EQ(closed.after.close_reason, "duplicate");
  EXPECT_EQ(closed.after.duplicate_of, "LPR-7K3M-Q9XA-4");
  EXPECT_NE(closed.note.find("LPR-7K3M-Q9XA-4"), std::string::npos) << closed.note;
}

// The verifiers' stage: VERIFYING, POSTPONED with the question open, VERIFYING again on the
// reporter's answer, then the route as usual; never published before it is verified.
TEST(ViewModelTest, VerificationPostponementAndAnswerThenTheRoute) {
  auto requested = event("vr", 100);
  requested.mutable_verification_requested()->set_desk("triage");
  auto m = applyEvent(ViewModel{}, requested).after;
  EXPECT_EQ(statusOf(m), v1::COMPLAINT_STATUS_VERIFYING);
  EXPECT_FALSE(published(m));

  auto postponed = event("pp", 200);
  postponed.mutable_postponed()->set_operator_("verifier-ani");
  postponed.mutable_postponed()->set_question("Di RT berapa lubangnya?");
  auto change = applyEvent(m, postponed);
  EXPECT_EQ(statusOf(change.after), v1::COMPLAINT_STATUS_POSTPONED);
  EXPECT_EQ(change.note, "Di RT berapa lubangnya?");
  EXPECT_EQ(change.after.question.event_id, "pp");
  EXPECT_EQ(change.note.find("verifier-ani"), std::string::npos);
  m = change.after;

  auto answered = event("ans", 300);
  answered.mutable_reporter_answered()->set_answer("RT 05");
  answered.mutable_reporter_answered()->set_in_reply_to("pp");
  change = applyEvent(m, answered);
  EXPECT_EQ(statusOf(change.after), v1::COMPLAINT_STATUS_VERIFYING) << "back to the verifiers";
  EXPECT_EQ(change.after.question, OpenQuestion{});
  EXPECT_EQ(change.note, "RT 05");
  m = change.after;

  auto verified = event("ver", 400);
  auto* v = verified.mutable_verified();
  v->set_operator_("verifier-ani");
  v->set_title("Jalan berlubang di RT 05");
  v->set_confidential(true);
  v->set_report_type(v1::REPORT_TYPE_COMPLAINT_LIGHT);
  change = applyEvent(m, verified);
  EXPECT_TRUE(published(change.after));
  EXPECT_EQ(statusOf(change.after), v1::COMPLAINT_STATUS_SUBMITTED);
  const std::vector<std::pair<std::string, std::string>> edits{
      {"title", "Jalan berlubang di RT 05"},
      {"confidential", "1"},
      {"report_type", std::to_string(v1::REPORT_TYPE_COMPLAINT_LIGHT)}};
  EXPECT_EQ(change.fields, edits) << "an empty description leaves it unchanged";
  m = applyEvent(change.after, routedEvent()).after;
  EXPECT_EQ(statusOf(m), v1::COMPLAINT_STATUS_ROUTED);
  // A late or replayed request never takes a routed report back to the verifiers.
  requested.set_event_id("vr-late");
  EXPECT_EQ(statusOf(applyEvent(m, requested).after), v1::COMPLAINT_STATUS_ROUTED);
  postponed.set_event_id("pp-late");
  EXPECT_EQ(statusOf(applyEvent(m, postponed).after), v1::COMPLAINT_STATUS_ROUTED);
}

// An agency's question opens, the answer to it closes it; an answer to an older question
// leaves a newer one open. Delegation and notices show no operator and no contact.
TEST(ViewModelTest, AgencyQuestionsDelegationAndNotices) {
  auto m = applyEvent(ViewModel{}, routedEvent()).after;
  auto asked = event("ask-1", 2000);
  auto* q = asked.mutable_reporter_asked();
  q->set_assignment_id("a-damkar");
  q->set_agency_id("disdamkar");
  q->set_question("Apakah masih ada orang di dalam?");
  q->set_operator_("petugas-budi");
  auto change = applyEvent(m, asked);
  EXPECT_EQ(change.agency, "disdamkar");
  EXPECT_EQ(change.note, "Apakah masih ada orang di dalam?");
  EXPECT_EQ(change.after.question,
            (OpenQuestion{"ask-1", "Apakah masih ada orang di dalam?", "a-damkar", "disdamkar"}));
  EXPECT_EQ(statusOf(change.after), v1::COMPLAINT_STATUS_ROUTED) << "a question moves no status";
  auto second = asked;
  second.set_event_id("ask-2");
  second.mutable_reporter_asked()->set_question("Lantai berapa?");
  m = applyEvent(change.after, second).after;
  auto late = event("ans-1", 2100);
  late.mutable_reporter_answered()->set_in_reply_to("ask-1");
  late.mutable_reporter_answered()->set_answer("Tidak ada");
  m = applyEvent(m, late).after;
  EXPECT_EQ(m.question.event_id, "ask-2") << "the newer question stays open";
  auto answer = event("ans-2", 2200);
  answer.mutable_reporter_answered()->set_in_reply_to("ask-2");
  answer.mutable_reporter_answered()->set_agency_id("disdamkar");
  m = applyEvent(m, answer).after;
  EXPECT_EQ(m.question, OpenQuestion{});

  auto delegated = event("del", 2300);
  delegated.mutable_delegated()->set_agency_id("disdamkar");
  delegated.mutable_delegated()->set_unit_id("pos-sangatta");
  delegated.mutable_delegated()->set_operator_("kepala-bidang");
  change = applyEvent(m, delegated);
  EXPECT_EQ(change.agency, "disdamkar");
  EXPECT_NE(change.note.find("pos-sangatta"), std::string::npos);
  EXPECT_EQ(change.note.find("kepala-bidang"), std::string::npos);
  auto revoked = event("rev", 2400);
  revoked.mutable_delegation_revoked()->set_agency_id("disdamkar");
  revoked.mutable_delegation_revoked()->set_unit_id("pos-sangatta");
  EXPECT_NE(applyEvent(m, revoked).note.find("pos-sangatta"), std::string::npos);

  auto notified = event("n", 2500);
  notified.mutable_reporter_notified()->set_notice("dispatched");
  notified.mutable_reporter_notified()->set_channel("email");
  notified.mutable_reporter_notified()->set_delivered(true);
  change = applyEvent(m, notified);
  EXPECT_EQ(change.note, "dispatched by email");
  EXPECT_EQ(statusOf(change.after), statusOf(m));
}

// The verifiers close a report: archived with the reason for the reporter, or not ours with
// the body it belongs to; neither was ever published, and no question stays open.
TEST(ViewModelTest, TheVerifiersCloseArchivedOrNotOurs) {
  auto requested = event("vr", 100);
  requested.mutable_verification_requested()->set_desk("triage");
  auto postponed = event("pp", 200);
  postponed.mutable_postponed()->set_question("Lokasi tepatnya?");
  const auto waiting = fold({requested, postponed});
  auto archive = event("arch", 300);
  archive.mutable_closed()->set_reason("verification");
  archive.mutable_closed()->set_reason_code("archived");
  archive.mutable_closed()->set_note("Tidak ada jawaban dari pelapor");
  auto c = applyEvent(waiting, archive);
  EXPECT_EQ(statusOf(c.after), v1::COMPLAINT_STATUS_CLOSED);
  EXPECT_EQ(c.after.close_reason, "archived");
  EXPECT_EQ(c.after.question, OpenQuestion{});
  EXPECT_FALSE(published(c.after));
  auto has = [&](const std::string& k, const std::string& v) {
    return std::find(c.fields.begin(), c.fields.end(), std::pair{k, v}) != c.fields.end();
  };
  EXPECT_TRUE(has("status_note", "Tidak ada jawaban dari pelapor"));
  EXPECT_TRUE(has("forward_to", ""));

  auto not_ours = event("no", 300);
  not_ours.mutable_closed()->set_reason("verification");
  not_ours.mutable_closed()->set_reason_code("not-ours");
  not_ours.mutable_closed()->set_forward_to("Pemerintah Provinsi Kalimantan Timur");
  c = applyEvent(waiting, not_ours);
  EXPECT_EQ(c.after.close_reason, "not-ours");
  EXPECT_TRUE(has("forward_to", "Pemerintah Provinsi Kalimantan Timur"));
  EXPECT_NE(c.note.find("Pemerintah Provinsi Kalimantan Timur"), std::string::npos);
  EXPECT_EQ(statusOf(applyEvent(c.after, requested).after), v1::COMPLAINT_STATUS_CLOSED);

  // Every fact of the model survives the view hash.
  std::map<std::string, std::string> stored;
  for (const auto& [k, v] : modelFields(waiting)) stored[k] = v;
  stored["submitted_at_ms"] = "5";
  auto back = modelFromFields(stored);
  EXPECT_EQ(back.verification, Verification::Pending);
  EXPECT_TRUE(back.postponed);
  EXPECT_EQ(back.question, waiting.question);
  EXPECT_TRUE(back.submitted);
}

TEST(ViewModelTest, AssignmentFactsPackAndUnpack) {
  AssignmentFacts a{"id-1", "dinas-pu", "support", "on_scene", 123, "ev-9", 2, 100};
  auto b = AssignmentFacts::unpack("id-1", a.pack());
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, a);
  EXPECT_FALSE(AssignmentFacts::unpack("x", "dinas-pu"));
}

// An update writes only what changed: an unchanged field (absent counting as "") is not sent.
TEST(ViewModelTest, ChangedModelFieldsAreOnlyTheOnesThatDiffer) {
  ViewModel m;
  std::map<std::string, std::string> stored;
  for (const auto& [k, v] : modelFields(m)) stored[k] = v;
  EXPECT_TRUE(changedModelFields(stored, m).empty());
  // Absent and empty are the same; "0" for a flag that was never written is a change.
  EXPECT_EQ(changedModelFields({}, m).size(), 4u) << "triage, round, closed, postponed";
  m.closed = true;
  m.close_reason = "spam";
  auto changed = changedModelFields(stored, m);
  std::map<std::string, std::string> got(changed.begin(), changed.end());
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"closed", "1"}, {"close_reason", "spam"}}));
}

}  // namespace
}  // namespace lapor::intake
