// The SLA monitor in the running stack, with deadlines of seconds: a complaint nobody
// acknowledges gets a warning, a breach and two escalation levels up the supervisor chain
// (dinas-pu -> sekda -> inspektorat); an emergency nobody acknowledges goes to the 112 desk at
// once and is re-dispatched. Lifecycle events are written straight onto lapor.complaints.v1.
// Complaints submitted through intake show the supervisor's side: the escalation arrives on
// its stream as its own work, and what it does leaves the complaint's status alone.
#include "events/envelope.h"
#include "lapor/v1/agency_service.grpc.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "lapor/v1/sla.grpc.pb.h"
#include "lifecycle_events.h"
#include "agency_client.h"
#include "operator_context.h"
#include "stack.h"
#include "topic_reader.h"
#include "wait.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>
#include <random>
#include <thread>

namespace lapor::testing {
namespace {

using namespace std::chrono_literals;

Stack* g_stack = nullptr;
constexpr int64_t kDeadlineMs = 3000;

class StackEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_stack = new Stack({{"LAPOR_SLA_ACKNOWLEDGE_NORMAL", "3s"},
                         {"LAPOR_SLA_ACKNOWLEDGE_EMERGENCY", "3s"},
                         {"LAPOR_SLA_DISPOSE_NORMAL", "3s"},
                         {"LAPOR_SLA_AUTO_CLOSE_NORMAL", "2s"},
                         {"LAPOR_SLA_TICK", "100ms"}});
  }
  void TearDown() override {
    EXPECT_EQ(g_stack->stopAll(), "");
    delete g_stack;
    g_stack = nullptr;
  }
};

std::string uniqueComplaint(const std::string& what) {
  return "sla-e2e-" + what + "-" + std::to_string(std::random_device{}());
}

std::unique_ptr<v1::SlaService::Stub> sla() {
  return v1::SlaService::NewStub(grpc::CreateChannel(g_stack->endpoint("sla-monitor").grpc(),
                                                     grpc::InsecureChannelCredentials()));
}

std::vector<v1::Obligation> obligations(const std::string& complaint_id) {
  v1::GetObligationsRequest req;
  req.set_complaint_id(complaint_id);
  v1::GetObligationsResponse resp;
  EXPECT_TRUE(sla()->GetObligations(operatorContext("auditor").get(), req, &resp).ok());
  return {resp.obligations().begin(), resp.obligations().end()};
}

std::optional<v1::Obligation> obligation(const std::string& complaint_id,
                                         const std::string& agency, v1::SlaStage stage) {
  for (auto& o : obligations(complaint_id))
    if (o.agency_id() == agency && o.stage() == stage) return o;
  return std::nullopt;
}

std::string notificationTarget() {
  return g_stack->endpoint("notification").grpc();
}


v1::SubmitComplaintResponse submit(const std::string& category) {
  v1::SubmitComplaintRequest req;
  req.set_channel(v1::CHANNEL_WEB);
  req.set_category(category);
  req.set_priority(v1::PRIORITY_NORMAL);
  req.set_title("Laporan uji eskalasi " + category);
  req.set_description("Deskripsi laporan uji eskalasi untuk kategori " + category);
  auto* loc = req.mutable_location();
  loc->set_has_coordinates(true);
  loc->set_lat(0.5108);
  loc->set_lon(117.6422);
  loc->set_kecamatan("Sangatta Utara");
  v1::SubmitComplaintResponse resp;
  auto s = g_stack->stub<v1::IntakeService>("intake")->SubmitComplaint(callContext(5s).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

// Intake's tracking view once `pred` holds for it (or the last one read after 20 s).
v1::ComplaintView viewWhen(const std::string& tracking_id,
                           const std::function<bool(const v1::ComplaintView&)>& pred) {
  v1::GetComplaintRequest req;
  req.set_tracking_id(tracking_id);
  v1::ComplaintView view;
  waitFor(
      [&] {
        view.Clear();
        return g_stack->stub<v1::IntakeService>("intake")->GetComplaint(callContext(5s).get(), req, &view).ok() &&
               pred(view);
      },
      20s);
  return view;
}

bool hasEntry(const v1::ComplaintView& v, const std::string& what, const std::string& note_part) {
  for (const auto& t : v.timeline())
    if (t.what() == what && t.note().find(note_part) != std::string::npos) return true;
  return false;
}

std::optional<v1::Obligation> ofStage(const std::string& complaint_id, v1::SlaStage stage) {
  for (auto& o : obligations(complaint_id))
    if (o.stage() == stage) return o;
  return std::nullopt;
}

// The escalation item a supervisor received on its dispatch topic for the complaint.
std::optional<v1::DispatchItem> escalationItem(TopicReader& feed, const std::string& complaint_id,
                                               int level) {
  auto m = feed.readUntil(
      [&](const kafka::Message& msg) {
        auto d = events::decode(msg.value);
        return d.envelope && d.envelope->complaint_id() == complaint_id &&
               d.envelope->dispatched().item().kind() == v1::DISPATCH_KIND_ESCALATION &&
               d.envelope->dispatched().item().escalation_level() == level;
      },
      30s);
  if (!m) return std::nullopt;
  return events::decode(m->value).envelope->dispatched().item();
}

TEST(SlaEndToEnd, ComplaintWalksThroughWarningBreachAndTwoEscalationLevels) {
  const auto cid = uniqueComplaint("road");
  TopicReader lifecycle(g_stack->brokers(), kafka::kComplaintsTopic);
  TopicReader sekda(g_stack->brokers(), kafka::dispatchTopic("sekda"));
  TopicReader inspektorat(g_stack->brokers(), kafka::dispatchTopic("inspektorat"));
  const auto routed_at = nowMs();
  ASSERT_TRUE(produceEvent(g_stack->brokers(),
                           routedEvent(cid, v1::PRIORITY_NORMAL, "road-damage", {"dinas-pu"},
                                       routed_at)));

  auto top = lifecycle.readUntil(
      [&](const kafka::Message& m) {
        auto d = events::decode(m.value);
        return d.envelope && d.envelope->complaint_id() == cid &&
               d.envelope->escalated().level() == 2;
      },
      40s);
  ASSERT_TRUE(top) << lifecycle.seen().size() << " messages read\n" << g_stack->logs();

  std::vector<std::string> kinds;
  std::optional<v1::EventEnvelope> warning, breach, level1, level2;
  for (const auto& e : eventsOf(lifecycle.seen(), cid)) {
    if (e.producer() != "sla-monitor") continue;
    kinds.push_back(events::eventKind(e) +
                    (e.has_escalated() ? std::to_string(e.escalated().level()) : ""));
    if (e.has_sla_warning()) warning = e;
    if (e.has_sla_breached()) breach = e;
    if (e.has_escalated() && e.escalated().level() == 1) level1 = e;
    if (e.has_escalated() && e.escalated().level() == 2) level2 = e;
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"sla_warning", "sla_breached", "escalated1",
                                             "escalated2"}));
  ASSERT_TRUE(warning && breach && level1 && level2);
  EXPECT_EQ(warning->sla_warning().stage(), v1::SLA_STAGE_ACKNOWLEDGE);
  EXPECT_EQ(warning->sla_warning().due_at_ms(), routed_at + kDeadlineMs);
  EXPECT_GE(warning->occurred_at_ms(), routed_at + kDeadlineMs * 8 / 10);  // 80%
  EXPECT_EQ(breach->sla_breached().agency_id(), "dinas-pu");
  EXPECT_GE(breach->sla_breached().breached_at_ms(), routed_at + kDeadlineMs);
  EXPECT_EQ(level1->escalated().from_agency_id(), "dinas-pu");
  EXPECT_EQ(level1->escalated().to_agency_id(), "sekda");
  EXPECT_EQ(level2->escalated().to_agency_id(), "inspektorat");
  // The next level waits one more full deadline.
  EXPECT_GE(level2->occurred_at_ms() - level1->occurred_at_ms(), kDeadlineMs);

  auto item1 = escalationItem(sekda, cid, 1);
  ASSERT_TRUE(item1) << "sekda got no escalation item";
  // The supervisor's own piece of work, naming the agency's assignment it is about.
  EXPECT_EQ(item1->assignment().agency_id(), "sekda");
  EXPECT_EQ(item1->assignment().role(), v1::ASSIGNMENT_ROLE_SUPERVISOR);
  EXPECT_FALSE(item1->assignment().assignment_id().empty());
  EXPECT_NE(item1->assignment().assignment_id(), assignmentIdFor(cid, "dinas-pu"));
  EXPECT_EQ(item1->escalated_assignment_id(), assignmentIdFor(cid, "dinas-pu"));
  EXPECT_EQ(item1->escalated_agency_id(), "dinas-pu");
  EXPECT_EQ(item1->escalated_stage(), "acknowledge");
  EXPECT_NE(item1->note().find("acknowledge"), std::string::npos) << item1->note();
  auto item2 = escalationItem(inspektorat, cid, 2);
  ASSERT_TRUE(item2) << "inspektorat got no escalation item";
  EXPECT_EQ(item2->assignment().agency_id(), "inspektorat");
  EXPECT_NE(item2->assignment().assignment_id(), item1->assignment().assignment_id());
  EXPECT_EQ(item2->escalated_assignment_id(), assignmentIdFor(cid, "dinas-pu"));

  // The level is recorded once the escalation's events are acknowledged (a crash in between
  // fires the timer again, with the same event ids), so it can follow the event by a moment.
  std::optional<v1::Obligation> ob;
  waitFor(
      [&] {
        ob = obligation(cid, "dinas-pu", v1::SLA_STAGE_ACKNOWLEDGE);
        return ob && ob->escalation_level() >= 2;
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(ob);
  EXPECT_EQ(ob->state(), v1::OBLIGATION_STATE_BREACHED);
  EXPECT_EQ(ob->escalation_level(), 2);

  // The numbers behind the dashboards: a breach for dinas-pu, its compliance below 100%.
  v1::ListBreachesRequest breq;
  breq.set_agency_id("dinas-pu");
  v1::ListBreachesResponse bresp;
  ASSERT_TRUE(sla()->ListBreaches(operatorContext("auditor").get(), breq, &bresp).ok());
  bool listed = false;
  for (const auto& b : bresp.obligations()) listed |= b.complaint_id() == cid;
  EXPECT_TRUE(listed);
  v1::GetComplianceRequest creq;
  creq.set_agency_id("dinas-pu");
  creq.set_window_ms(3'600'000);
  v1::GetComplianceResponse cresp;
  ASSERT_TRUE(sla()->GetCompliance(operatorContext("auditor").get(), creq, &cresp).ok());
  EXPECT_GE(cresp.due(), 1);
  EXPECT_LT(cresp.ratio(), 1.0);

  // A late acknowledgement ends the clock; the breach stays on record.
  auto ack = events::makeEnvelope("notification", cid, "trace-" + cid, nowMs());
  ack.mutable_acknowledged()->set_assignment_id(assignmentIdFor(cid, "dinas-pu"));
  ack.mutable_acknowledged()->set_agency_id("dinas-pu");
  ASSERT_TRUE(produceEvent(g_stack->brokers(), ack));
  EXPECT_TRUE(waitFor(
      [&] {
        auto o = obligation(cid, "dinas-pu", v1::SLA_STAGE_ACKNOWLEDGE);
        return o && o->ended_at_ms() > 0;
      },
      15s));
  EXPECT_EQ(obligation(cid, "dinas-pu", v1::SLA_STAGE_ACKNOWLEDGE)->state(),
            v1::OBLIGATION_STATE_BREACHED);
}

TEST(SlaEndToEnd, UnacknowledgedEmergencyGoesTo112AtOnceAndIsRedispatched) {
  const auto cid = uniqueComplaint("fire");
  TopicReader lifecycle(g_stack->brokers(), kafka::kComplaintsTopic);
  TopicReader desk(g_stack->brokers(), kafka::dispatchTopic("ncc-112"));
  ASSERT_TRUE(produceEvent(g_stack->brokers(),
                           routedEvent(cid, v1::PRIORITY_EMERGENCY, "fire",
                                       {"disdamkar", "rsud-kudungga"}, nowMs())));
  // The hospital acknowledges at once; the fire department stays silent.
  auto ack = events::makeEnvelope("notification", cid, "trace-" + cid, nowMs());
  ack.mutable_acknowledged()->set_assignment_id(assignmentIdFor(cid, "rsud-kudungga"));
  ack.mutable_acknowledged()->set_agency_id("rsud-kudungga");
  ASSERT_TRUE(produceEvent(g_stack->brokers(), ack));

  std::optional<v1::EventEnvelope> breach, redispatch, escalated;
  auto done = lifecycle.readUntil(
      [&](const kafka::Message& m) {
        auto d = events::decode(m.value);
        if (!d.envelope || d.envelope->complaint_id() != cid) return false;
        if (d.envelope->has_sla_breached()) breach = d.envelope;
        if (d.envelope->has_redispatch_requested()) redispatch = d.envelope;
        if (d.envelope->has_escalated()) escalated = d.envelope;
        return breach && redispatch && escalated;
      },
      30s);
  ASSERT_TRUE(done) << g_stack->logs();
  EXPECT_EQ(breach->sla_breached().agency_id(), "disdamkar");
  EXPECT_EQ(breach->sla_breached().stage(), v1::SLA_STAGE_ACKNOWLEDGE);
  EXPECT_EQ(redispatch->redispatch_requested().assignment_id(), assignmentIdFor(cid, "disdamkar"));
  EXPECT_EQ(escalated->escalated().level(), 1);
  EXPECT_EQ(escalated->escalated().to_agency_id(), "ncc-112") << "straight to the 112 desk";
  // Escalated in the same pass as the breach, not one deadline later.
  EXPECT_LT(escalated->occurred_at_ms() - breach->occurred_at_ms(), kDeadlineMs);
  auto item = escalationItem(desk, cid, 1);
  ASSERT_TRUE(item) << "the 112 desk got no escalation item";
  EXPECT_EQ(item->complaint().priority(), v1::PRIORITY_EMERGENCY);

  // Nothing breached for the hospital, which acknowledged in time.
  for (const auto& e : eventsOf(lifecycle.seen(), cid)) {
    if (e.has_sla_breached()) {
      EXPECT_NE(e.sla_breached().agency_id(), "rsud-kudungga");
    }
  }
  auto hospital = obligation(cid, "rsud-kudungga", v1::SLA_STAGE_ACKNOWLEDGE);
  ASSERT_TRUE(hospital);
  EXPECT_EQ(hospital->state(), v1::OBLIGATION_STATE_MET);

  // Units on scene end the 15-minute clock of the lead agency.
  auto scene = events::makeEnvelope("notification", cid, "trace-" + cid, nowMs());
  scene.mutable_status_updated()->set_assignment_id(assignmentIdFor(cid, "disdamkar"));
  scene.mutable_status_updated()->set_agency_id("disdamkar");
  scene.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_ON_SCENE);
  ASSERT_TRUE(produceEvent(g_stack->brokers(), scene));
  EXPECT_TRUE(waitFor(
      [&] {
        auto o = obligation(cid, "disdamkar", v1::SLA_STAGE_ON_SCENE);
        return o && o->state() == v1::OBLIGATION_STATE_MET;
      },
      15s));
}

TEST(SlaEndToEnd, AnsweredComplaintWithoutReplyIsClosedAndAReplyKeepsItOpen) {
  const auto quiet = uniqueComplaint("quiet"), replied = uniqueComplaint("replied");
  TopicReader lifecycle(g_stack->brokers(), kafka::kComplaintsTopic);
  for (const auto& cid : {quiet, replied}) {
    ASSERT_TRUE(produceEvent(g_stack->brokers(),
                             routedEvent(cid, v1::PRIORITY_NORMAL, "road-damage", {"dinas-pu"},
                                         nowMs())));
    auto resolved = events::makeEnvelope("notification", cid, "trace-" + cid, nowMs());
    resolved.mutable_resolved()->set_assignment_id(assignmentIdFor(cid, "dinas-pu"));
    resolved.mutable_resolved()->set_agency_id("dinas-pu");
    resolved.mutable_resolved()->set_resolution("Jalan sudah diperbaiki");
    ASSERT_TRUE(produceEvent(g_stack->brokers(), resolved));
  }
  // The reporter's reply, as intake writes it: the feedback and the close it decides.
  auto feedback = events::makeEnvelope("intake", replied, "trace-" + replied, nowMs());
  feedback.mutable_feedback()->set_rating(4);
  feedback.mutable_feedback()->set_solved(true);
  ASSERT_TRUE(produceEvent(g_stack->brokers(), feedback));
  auto by_reporter = events::makeEnvelope("intake", replied, "trace-" + replied, nowMs());
  by_reporter.mutable_closed()->set_reason("feedback");
  ASSERT_TRUE(produceEvent(g_stack->brokers(), by_reporter));

  auto closed = lifecycle.readUntil(
      [&](const kafka::Message& m) {
        auto d = events::decode(m.value);
        return d.envelope && d.envelope->complaint_id() == quiet && d.envelope->has_closed();
      },
      20s);
  ASSERT_TRUE(closed) << "no auto-close for an answered complaint without reply";
  EXPECT_EQ(events::decode(closed->value).envelope->closed().reason(), "auto-close");
  EXPECT_TRUE(waitFor(
      [&] {
        auto o = obligation(quiet, "dinas-pu", v1::SLA_STAGE_AUTO_CLOSE);
        return o && o->state() == v1::OBLIGATION_STATE_CLOSED;
      },
      10s));
  auto kept = obligation(replied, "dinas-pu", v1::SLA_STAGE_AUTO_CLOSE);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->state(), v1::OBLIGATION_STATE_CANCELLED) << "the reporter replied";
  for (const auto& e : eventsOf(lifecycle.seen(), replied)) {
    if (e.has_closed()) {
      EXPECT_EQ(e.closed().reason(), "feedback") << "never auto-closed";
    }
  }
}

TEST(SlaEndToEnd, DueSoonListsOpenDeadlinesAndBadQueriesAreRefused) {
  const auto cid = uniqueComplaint("due");
  ASSERT_TRUE(produceEvent(g_stack->brokers(),
                           routedEvent(cid, v1::PRIORITY_HIGH, "road-damage", {"dlh"}, nowMs())));
  ASSERT_TRUE(waitFor([&] { return obligation(cid, "dlh", v1::SLA_STAGE_ACKNOWLEDGE).has_value(); },
                      15s));
  // One working day: from a Friday evening or a weekend (in the regency's zone) that is more
  // than two calendar days, so the windows are measured from the obligation's own deadline.
  const auto due = obligation(cid, "dlh", v1::SLA_STAGE_ACKNOWLEDGE)->due_at_ms();
  const int64_t until_due = due - nowMs();
  ASSERT_GT(until_due, 3'600'000) << "high priority: acknowledge within 1 working day";
  auto listed = [&](int64_t within_ms) {
    v1::ListDueSoonRequest req;
    req.set_agency_id("dlh");
    req.set_within_ms(within_ms);
    // The most a call lists: the monitor of this stack also read the bursts earlier tests left
    // on the shard's lifecycle topic (routing's 1,000-complaint tests, all of high priority),
    // whose dlh obligations fall due before this one and filled the default page of 100.
    req.set_limit(1000);
    v1::ListDueSoonResponse resp;
    EXPECT_TRUE(sla()->ListDueSoon(operatorContext("auditor").get(), req, &resp).ok());
    for (const auto& o : resp.obligations())
      if (o.complaint_id() == cid) return true;
    return false;
  };
  EXPECT_TRUE(listed(until_due + 60'000)) << "due within its own deadline and a minute";
  EXPECT_FALSE(listed(3'600'000)) << "not due within the hour";

  v1::ListDueSoonRequest bad_due;
  v1::ListDueSoonResponse due_resp;
  EXPECT_EQ(sla()->ListDueSoon(operatorContext("auditor").get(), bad_due, &due_resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetComplianceRequest bad_window;
  v1::GetComplianceResponse compliance;
  EXPECT_EQ(sla()->GetCompliance(operatorContext("auditor").get(), bad_window, &compliance).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListBreachesRequest bad_since;
  bad_since.set_since_ms(-1);
  v1::ListBreachesResponse breaches;
  EXPECT_EQ(sla()->ListBreaches(operatorContext("auditor").get(), bad_since, &breaches).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(SlaEndToEnd, ASupervisorTakesUpAnEscalationAndTheComplaintStaysAsItWas) {
  FeedReader roads(notificationTarget(), "dinas-pu");
  FeedReader sekda(notificationTarget(), "sekda");
  const auto sub = submit("road-damage");  // Dinas PU leads; nobody acknowledges within 3 s
  ASSERT_FALSE(sub.tracking_id().empty());
  const auto cid = sub.complaint_id();
  auto own = roads.waitForItem(
      [&](const auto& i) {
        return i.assignment().complaint_id() == cid && i.kind() == v1::DISPATCH_KIND_NEW;
      },
      30s);
  ASSERT_TRUE(own) << g_stack->logs();
  auto esc = sekda.waitForItem(
      [&](const auto& i) {
        return i.assignment().complaint_id() == cid && i.kind() == v1::DISPATCH_KIND_ESCALATION &&
               i.escalated_agency_id() == "dinas-pu";
      },
      30s);
  ASSERT_TRUE(esc) << "sekda's stream carried no escalation\n" << g_stack->logs();
  const auto escalation_id = esc->assignment().assignment_id();
  EXPECT_EQ(esc->assignment().agency_id(), "sekda");
  EXPECT_EQ(esc->assignment().role(), v1::ASSIGNMENT_ROLE_SUPERVISOR);
  EXPECT_EQ(esc->escalated_assignment_id(), own->assignment().assignment_id());
  EXPECT_EQ(esc->escalated_stage(), "acknowledge");
  EXPECT_EQ(esc->escalation_level(), 1);
  EXPECT_NE(escalation_id, own->assignment().assignment_id());

  auto agency = g_stack->stub<v1::AgencyService>("notification");
  v1::AcknowledgeRequest ack;
  ack.set_agency_id("dinas-pu");  // the breaching agency cannot act on the supervisor's item
  ack.set_assignment_id(escalation_id);
  v1::AcknowledgeResponse ack_resp;
  EXPECT_EQ(agency->Acknowledge(agencyContext("dinas-pu").get(), ack, &ack_resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ack.set_agency_id("sekda");
  ack.set_operator_("sekretaris-daerah");
  auto s = agency->Acknowledge(agencyContext("sekda").get(), ack, &ack_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ack_resp.state(), v1::ASSIGNMENT_STATE_ACKNOWLEDGED);

  // The tracking view records the supervisor's action; the complaint is still routed to Dinas
  // PU, which is still the only agency on it, with its assignment not acknowledged.
  auto view = viewWhen(sub.tracking_id(), [](const auto& v) {
    return hasEntry(v, "escalation_updated", "escalation acknowledged by sekda");
  });
  ASSERT_TRUE(hasEntry(view, "escalation_updated", "escalation acknowledged by sekda"))
      << view.DebugString();
  EXPECT_TRUE(hasEntry(view, "escalated", "acknowledge deadline breached by dinas-pu"));
  EXPECT_EQ(view.status(), v1::COMPLAINT_STATUS_ROUTED);
  EXPECT_EQ(std::vector<std::string>(view.agencies().begin(), view.agencies().end()),
            std::vector<std::string>{"dinas-pu"});
  ASSERT_EQ(view.assignments_size(), 1);
  const auto state = view.assignments(0).state();  // delivered once the reader confirmed it
  EXPECT_TRUE(state == "dispatched" || state == "delivered") << state;
  for (const auto& t : view.timeline()) EXPECT_NE(t.what(), "acknowledged");

  // Dinas PU's clock was not met by the supervisor's acknowledgement.
  auto ob = obligation(cid, "dinas-pu", v1::SLA_STAGE_ACKNOWLEDGE);
  ASSERT_TRUE(ob);
  EXPECT_EQ(ob->state(), v1::OBLIGATION_STATE_BREACHED);
  EXPECT_EQ(ob->ended_at_ms(), 0);
}

TEST(SlaEndToEnd, AComplaintLevelEscalationReachesTheSupervisorAndNotTheDeadLetterTopic) {
  FeedReader sekda(notificationTarget(), "sekda");
  TopicReader dlq(g_stack->brokers(), kafka::kDeadLetterTopic);
  const auto sub = submit("other");  // no rule matches: triage, disposal due within 3 s
  ASSERT_FALSE(sub.tracking_id().empty());
  const auto cid = sub.complaint_id();
  auto esc = sekda.waitForItem(
      [&](const auto& i) {
        return i.assignment().complaint_id() == cid && i.kind() == v1::DISPATCH_KIND_ESCALATION;
      },
      30s);
  ASSERT_TRUE(esc) << "sekda's stream carried no escalation\n" << g_stack->logs();
  EXPECT_EQ(esc->escalated_stage(), "dispose");
  EXPECT_EQ(esc->escalated_agency_id(), "triage");
  EXPECT_EQ(esc->escalated_assignment_id(), "");
  EXPECT_EQ(esc->assignment().role(), v1::ASSIGNMENT_ROLE_SUPERVISOR);
  EXPECT_FALSE(esc->assignment().assignment_id().empty());

  // The supervisor deals with it; that neither resolves the complaint nor stops its clocks.
  auto agency = g_stack->stub<v1::AgencyService>("notification");
  v1::AcknowledgeRequest ack;
  ack.set_agency_id("sekda");
  ack.set_assignment_id(esc->assignment().assignment_id());
  v1::AcknowledgeResponse ack_resp;
  auto s = agency->Acknowledge(agencyContext("sekda").get(), ack, &ack_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ResolveRequest res;
  res.set_agency_id("sekda");
  res.set_assignment_id(esc->assignment().assignment_id());
  res.set_resolution("Operator triase diminta memproses hari ini");
  v1::UpdateStatusResponse res_resp;
  s = agency->Resolve(agencyContext("sekda").get(), res, &res_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto view = viewWhen(sub.tracking_id(), [](const auto& v) {
    return hasEntry(v, "escalation_updated", "escalation resolved by sekda");
  });
  ASSERT_TRUE(hasEntry(view, "escalation_updated", "escalation resolved by sekda"))
      << view.DebugString();
  EXPECT_EQ(view.status(), v1::COMPLAINT_STATUS_TRIAGE);
  EXPECT_EQ(view.status_note(), "");
  auto resolution = ofStage(cid, v1::SLA_STAGE_RESOLUTION);
  ASSERT_TRUE(resolution);
  EXPECT_EQ(resolution->state(), v1::OBLIGATION_STATE_OPEN);
  EXPECT_FALSE(ofStage(cid, v1::SLA_STAGE_AUTO_CLOSE).has_value()) << "nothing was answered";

  // Nothing of this complaint was dead-lettered by any service.
  ASSERT_TRUE(dlq.readToEnd(15s));
  for (const auto& m : dlq.seen())
    EXPECT_NE(m.key, cid) << m.header("lapor.dlq.reason").value_or("") << ": "
                          << m.header("lapor.dlq.detail").value_or("");
}

}  // namespace
}  // namespace lapor::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new lapor::testing::StackEnvironment);
  return RUN_ALL_TESTS();
}
