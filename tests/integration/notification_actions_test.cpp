// Agency actions against a real notification process: each checked against the assignment's
// state and recorded on lapor.complaints.v1; open work listed in pages; anonymous reporters
// stay anonymous; a state change whose event was not produced before a crash is published; a
// supervisor works and resolves an escalation as the SLA monitor sends it, recorded as
// escalation_updated and never as the agency's own assignment events.
#include "notification_support.h"

#include "domain/escalation.h"
#include "events/envelope.h"
#include "redis/redis_client.h"

#include <gtest/gtest.h>

#include <thread>

#include <map>
#include <set>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTok = "token-pu-1";
constexpr const char* kOther = "token-dlh-1";
constexpr const char* kSekda = "token-sekda-1";

NotificationOptions options() {
  NotificationOptions o;
  o.tokens = {{"dinas-pu", kTok}, {"dlh", kOther}, {"sekda", kSekda}};
  return o;
}

// The escalation of dinas-pu's unacknowledged assignment to sekda, built by the SLA monitor's
// own code, on lapor.dispatch.sekda.v1.
v1::EventEnvelope escalationEnvelope(const std::string& complaint,
                                     const std::string& assignment_id) {
  v1::Obligation ob;
  ob.set_obligation_id("ob-" + complaint);
  ob.set_complaint_id(complaint);
  ob.set_assignment_id(assignment_id);
  ob.set_agency_id("dinas-pu");
  ob.set_stage(v1::SLA_STAGE_ACKNOWLEDGE);
  ob.set_priority(v1::PRIORITY_NORMAL);
  ob.set_category("road-damage");
  auto env = events::makeEnvelope("sla-monitor", complaint, "trace-" + complaint, 1,
                                  events::nameUuid("escalation-item/ob-" + complaint + "/1"));
  *env.mutable_dispatched()->mutable_item() =
      sla::escalationItem(ob, "sekda", 1, sla::escalationReason(ob, 1, false), 1);
  return env;
}

class NotificationActions : public ::testing::Test {
 protected:
  NotificationActions()
      : n_(options()),
        stub_(n_.stub()),
        lifecycle_(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), kafka::kComplaintsTopic,
                   TopicReader::From::End) {}

  // Reads the agency's stream from the start up to the first item of `complaint`, confirming
  // each item as it is read when `confirm`.
  std::optional<v1::AgencyFeedItem> readUntil(const std::string& agency, const std::string& token,
                                              const std::string& complaint, bool confirm) {
    auto ctx = agencyContext(token, 20s);
    v1::SubscribeRequest req;
    req.set_agency_id(agency);
    auto reader = stub_->Subscribe(ctx.get(), req);
    v1::AgencyFeedItem item;
    std::optional<v1::AgencyFeedItem> mine;
    while (!mine && reader->Read(&item)) {
      if (item.item().assignment().complaint_id() == complaint) mine = item;
      if (!confirm) continue;
      v1::ConfirmDeliveryResponse cr;
      EXPECT_TRUE(stub_
                      ->ConfirmDelivery(agencyContext(token).get(),
                                        confirmation(agency, item.cursor(), item.stream_id()), &cr)
                      .ok());
    }
    ctx->TryCancel();
    reader->Finish();
    return mine;
  }

  // A NEW assignment for dinas-pu that notification has taken in.
  std::string assignment(const std::string& complaint, const std::string& title = "t") {
    auto env = dispatchEnvelope("dinas-pu", complaint, title);
    produceDispatch(env);
    const auto id = env.dispatched().item().assignment().assignment_id();
    EXPECT_TRUE(waitFor([&] { return state(id) != "missing"; }, 20s)) << n_.logTail();
    return id;
  }
  // "missing" until notification has taken the assignment in (an UpdateStatus to no state is
  // refused either way and changes nothing).
  std::string state(const std::string& id) {
    v1::UpdateStatusRequest req;
    req.set_agency_id("dinas-pu");
    req.set_assignment_id(id);
    req.set_state(v1::ASSIGNMENT_STATE_UNSPECIFIED);
    v1::UpdateStatusResponse resp;
    auto s = stub_->UpdateStatus(agencyContext(kTok).get(), req, &resp);
    return s.error_code() == grpc::StatusCode::NOT_FOUND ? "missing" : "present";
  }
  grpc::Status update(const std::string& id, v1::AssignmentState st, const std::string& msg = "") {
    v1::UpdateStatusRequest req;
    req.set_agency_id("dinas-pu");
    req.set_assignment_id(id);
    req.set_state(st);
    req.set_message(msg);
    req.set_operator_("op-1");
    v1::UpdateStatusResponse resp;
    return stub_->UpdateStatus(agencyContext(kTok).get(), req, &resp);
  }
  grpc::Status ack(const std::string& id, const std::string& token = kTok) {
    v1::AcknowledgeRequest req;
    req.set_agency_id(token == kTok ? "dinas-pu" : "dlh");
    req.set_assignment_id(id);
    v1::AcknowledgeResponse resp;
    return stub_->Acknowledge(agencyContext(token).get(), req, &resp);
  }
  grpc::Status reject(const std::string& id, const std::string& code, const std::string& note) {
    v1::RejectRequest req;
    req.set_agency_id("dinas-pu");
    req.set_assignment_id(id);
    req.set_reason_code(code);
    req.set_note(note);
    v1::RejectResponse resp;
    return stub_->Reject(agencyContext(kTok).get(), req, &resp);
  }
  // Whether the agency's open work lists the assignment.
  bool listed(const std::string& id) {
    v1::ListAssignmentsRequest req;
    req.set_agency_id("dinas-pu");
    req.set_page_size(500);
    do {
      v1::ListAssignmentsResponse resp;
      if (!stub_->ListAssignments(agencyContext(kTok).get(), req, &resp).ok()) return true;
      for (const auto& a : resp.assignments())
        if (a.assignment().assignment_id() == id) return true;
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return false;
  }
  // Event kinds recorded for `complaint` so far, after waiting for `n` of them.
  std::vector<v1::EventEnvelope> events(const std::string& complaint, size_t n,
                                        std::chrono::milliseconds timeout = 20s) {
    lifecycle_.readUntil(
        [&](const kafka::Message&) { return lifecycleOf(lifecycle_, complaint).size() >= n; },
        timeout);
    return lifecycleOf(lifecycle_, complaint);
  }

  NotificationProcess n_;
  std::unique_ptr<v1::AgencyService::Stub> stub_;
  TopicReader lifecycle_;
};

TEST_F(NotificationActions, TheLifeOfAnAssignmentBecomesEventsInOrder) {
  const auto complaint = uniqueName("life");
  const auto id = assignment(complaint);
  ASSERT_TRUE(ack(id).ok());
  ASSERT_TRUE(update(id, v1::ASSIGNMENT_STATE_IN_PROGRESS).ok());
  ASSERT_TRUE(update(id, v1::ASSIGNMENT_STATE_RESPONDED, "Tim sudah menambal jalan").ok());
  v1::ResolveRequest res;
  res.set_agency_id("dinas-pu");
  res.set_assignment_id(id);
  res.set_resolution("Jalan sudah diperbaiki");
  v1::UpdateStatusResponse resp;
  auto s = stub_->Resolve(agencyContext(kTok).get(), res, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.state(), v1::ASSIGNMENT_STATE_RESOLVED);

  auto ev = events(complaint, 4);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].acknowledged().assignment_id(), id);
  EXPECT_EQ(ev[1].status_updated().state(), v1::ASSIGNMENT_STATE_IN_PROGRESS);
  EXPECT_EQ(ev[1].status_updated().operator_(), "op-1");
  EXPECT_EQ(ev[2].status_updated().state(), v1::ASSIGNMENT_STATE_RESPONDED);
  EXPECT_EQ(ev[2].status_updated().message(), "Tim sudah menambal jalan");
  EXPECT_EQ(ev[3].resolved().resolution(), "Jalan sudah diperbaiki");
  EXPECT_EQ(ev[3].resolved().agency_id(), "dinas-pu");
  for (const auto& e : ev) EXPECT_EQ(e.producer(), "notification");

  // Resolved is final: nothing more is accepted, and nothing more recorded.
  EXPECT_EQ(update(id, v1::ASSIGNMENT_STATE_IN_PROGRESS).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(reject(id, "duplicate", "").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(NotificationActions, InvalidTransitionsAreRefusedAndRecordNothing) {
  const auto complaint = uniqueName("invalid");
  const auto id = assignment(complaint);
  // Never acknowledged: no progress, no resolution.
  auto s = update(id, v1::ASSIGNMENT_STATE_RESOLVED, "selesai");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("acknowledge"), std::string::npos) << s.error_message();
  EXPECT_EQ(update(id, v1::ASSIGNMENT_STATE_IN_PROGRESS).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Bad arguments.
  EXPECT_EQ(update(id, v1::ASSIGNMENT_STATE_ACKNOWLEDGED).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(ack(id).ok());
  EXPECT_EQ(update(id, v1::ASSIGNMENT_STATE_RESPONDED, "").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(reject(id, "because", "x").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Another agency's token.
  EXPECT_EQ(ack(id, kOther).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // A second acknowledgement is harmless and records nothing new.
  EXPECT_TRUE(ack(id).ok());

  // Withdrawn by routing: nothing can be done on it any more.
  const auto withdrawn = assignment(complaint, "w");
  produceDispatch(dispatchEnvelope("dinas-pu", complaint, "w", v1::DISPATCH_KIND_WITHDRAWN, withdrawn));
  ASSERT_TRUE(waitFor([&] { return !listed(withdrawn); }, 20s));
  EXPECT_EQ(ack(withdrawn).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // Only the one acknowledgement was recorded (a second event would show within 2 s).
  auto ev = events(complaint, 2, 2s);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].has_acknowledged());
}

// AcknowledgeBatch answers every assignment as Acknowledge would have answered it alone, in
// the order given, and records one `acknowledged` event for each assignment it moved; a call
// refused as a whole changes nothing.
TEST_F(NotificationActions, AcknowledgeBatchAnswersEachAsAcknowledgeAloneWould) {
  const auto complaint = uniqueName("batch");
  const auto a = assignment(complaint, "a"), b = assignment(complaint, "b"),
             c = assignment(complaint, "c"), earlier = assignment(complaint, "earlier"),
             withdrawn = assignment(complaint, "withdrawn"), spare = assignment(complaint, "spare");
  ASSERT_TRUE(ack(earlier).ok());
  produceDispatch(
      dispatchEnvelope("dinas-pu", complaint, "w", v1::DISPATCH_KIND_WITHDRAWN, withdrawn));
  ASSERT_TRUE(waitFor([&] { return !listed(withdrawn); }, 20s));
  auto theirs_env = dispatchEnvelope("dlh", complaint, "theirs");
  produceDispatch(theirs_env);
  const auto theirs = theirs_env.dispatched().item().assignment().assignment_id();
  ASSERT_TRUE(waitFor([&] {
    v1::UpdateStatusRequest req;
    req.set_agency_id("dlh");
    req.set_assignment_id(theirs);
    v1::UpdateStatusResponse resp;
    return stub_->UpdateStatus(agencyContext(kOther).get(), req, &resp).error_code() !=
           grpc::StatusCode::NOT_FOUND;
  }, 20s));

  auto batch = [&](const std::vector<std::string>& ids, const std::string& token = kTok,
                   const std::string& agency = "dinas-pu") {
    v1::AcknowledgeBatchRequest req;
    req.set_agency_id(agency);
    for (const auto& id : ids) req.add_assignment_ids(id);
    req.set_operator_("op-batch");
    v1::AcknowledgeBatchResponse resp;
    auto ctx = token.empty() ? std::make_unique<grpc::ClientContext>() : agencyContext(token);
    auto s = stub_->AcknowledgeBatch(ctx.get(), req, &resp);
    return std::make_pair(s, resp);
  };

  // Refused as a whole, recording nothing: no credential, another agency's, an empty list, a
  // list naming an assignment twice, more than 500.
  EXPECT_EQ(batch({spare}, "").first.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(batch({spare}, kOther).first.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(batch({}).first.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto twice = batch({spare, a, spare}).first;
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(twice.error_message().find("assignment_ids[2]"), std::string::npos)
      << twice.error_message();
  std::vector<std::string> many(501);
  for (size_t i = 0; i < many.size(); ++i) many[i] = spare + "-" + std::to_string(i);
  auto too_many = batch(many).first;
  EXPECT_EQ(too_many.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(too_many.error_message().find("at most 500"), std::string::npos)
      << too_many.error_message();

  const std::vector<std::string> ids{a, "no-such-assignment", b, earlier, withdrawn, c, theirs};
  auto [s, resp] = batch(ids);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.results_size(), static_cast<int>(ids.size()));
  const std::vector<std::string> codes{"OK", "NOT_FOUND", "OK", "OK", "FAILED_PRECONDITION",
                                       "OK", "PERMISSION_DENIED"};
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& r = resp.results(static_cast<int>(i));
    EXPECT_EQ(r.assignment_id(), ids[i]);
    EXPECT_EQ(r.code(), codes[i]) << ids[i] << ": " << r.message();
    if (codes[i] == "OK") {
      EXPECT_EQ(r.state(), v1::ASSIGNMENT_STATE_ACKNOWLEDGED) << ids[i];
    } else {
      EXPECT_FALSE(r.message().empty()) << ids[i];
    }
  }
  // The same call again: every acknowledgement a repeat, nothing new recorded.
  auto again = batch({a, b, c});
  ASSERT_TRUE(again.first.ok());
  for (const auto& r : again.second.results()) EXPECT_EQ(r.code(), "OK") << r.message();

  // One event each for a, b, c and the earlier single acknowledgement; none for the spare the
  // refused calls named (a fifth would show within 2 s).
  auto ev = events(complaint, 5, 2s);
  ASSERT_EQ(ev.size(), 4u);
  std::multiset<std::string> acked;
  for (const auto& e : ev) {
    ASSERT_TRUE(e.has_acknowledged());
    EXPECT_EQ(e.acknowledged().agency_id(), "dinas-pu");
    acked.insert(e.acknowledged().assignment_id());
    if (e.acknowledged().assignment_id() != earlier) {
      EXPECT_EQ(e.acknowledged().operator_(), "op-batch");
    }
  }
  EXPECT_EQ(acked, (std::multiset<std::string>{a, b, c, earlier}));
  // The spare was left as it was: acknowledging it alone records it now.
  ASSERT_TRUE(ack(spare).ok());
  EXPECT_EQ(events(complaint, 5).size(), 5u);
}

// Single Acknowledge calls on the same assignments at the same moment change their state
// between the batch's read and its write: the batch decides those again (or leaves them to the
// single call's path), and every assignment is acknowledged once, by whichever call was first,
// and every call is answered OK.
TEST_F(NotificationActions, AcknowledgeBatchRacingSingleAcknowledgementsRecordsEachOnce) {
  const auto complaint = uniqueName("race");
  constexpr int kN = 60;
  std::vector<std::string> ids;
  for (int i = 0; i < kN; ++i) {
    auto env = dispatchEnvelope("dinas-pu", complaint, "race-" + std::to_string(i));
    produceDispatch(env);
    ids.push_back(env.dispatched().item().assignment().assignment_id());
  }
  for (const auto& id : ids) ASSERT_TRUE(waitFor([&] { return state(id) != "missing"; }, 20s));

  std::vector<grpc::Status> singles(kN);
  v1::AcknowledgeBatchRequest req;
  req.set_agency_id("dinas-pu");
  for (const auto& id : ids) req.add_assignment_ids(id);
  req.set_operator_("op-batch");
  v1::AcknowledgeBatchResponse resp;
  grpc::Status batch;
  {
    // From the other end of the list, so the two meet in the middle.
    std::jthread racer([&] {
      for (int i = kN - 1; i >= 0; --i) singles[i] = ack(ids[i]);
    });
    batch = stub_->AcknowledgeBatch(agencyContext(kTok).get(), req, &resp);
  }
  ASSERT_TRUE(batch.ok()) << batch.error_message();
  ASSERT_EQ(resp.results_size(), kN);
  for (int i = 0; i < kN; ++i) {
    EXPECT_TRUE(singles[i].ok()) << ids[i] << ": " << singles[i].error_message();
    EXPECT_EQ(resp.results(i).code(), "OK") << ids[i] << ": " << resp.results(i).message();
    EXPECT_EQ(resp.results(i).state(), v1::ASSIGNMENT_STATE_ACKNOWLEDGED) << ids[i];
  }
  // One acknowledgement each: one event id per assignment. A single call that finds the
  // batch's event still waiting for the broker's confirmation produces that same event again
  // (same event id, which every reader drops as a repeat), so a copy may show; a second
  // acknowledgement would be a second event id (it would show within 3 s).
  auto ev = events(complaint, 2 * kN, 3s);
  std::map<std::string, std::set<std::string>> event_ids;
  for (const auto& e : ev) {
    ASSERT_TRUE(e.has_acknowledged()) << e.ShortDebugString();
    event_ids[e.acknowledged().assignment_id()].insert(e.event_id());
  }
  ASSERT_EQ(event_ids.size(), ids.size());
  for (const auto& id : ids) EXPECT_EQ(event_ids[id].size(), 1u) << id;
}

TEST_F(NotificationActions, RejectRecordsTheReasonForRouting) {
  const auto complaint = uniqueName("reject");
  const auto id = assignment(complaint);
  auto s = reject(id, "not-our-authority", "Jalan provinsi, bukan wewenang kabupaten");
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto ev = events(complaint, 1);
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_TRUE(ev[0].has_rejected());
  EXPECT_EQ(ev[0].rejected().assignment_id(), id);
  EXPECT_EQ(ev[0].rejected().agency_id(), "dinas-pu");
  EXPECT_EQ(ev[0].rejected().reason_code(), "not-our-authority");
  EXPECT_EQ(ev[0].rejected().note(), "Jalan provinsi, bukan wewenang kabupaten");
  EXPECT_EQ(ev[0].complaint_id(), complaint);
  EXPECT_EQ(ack(id).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(NotificationActions, ListAssignmentsPagesThroughOpenWorkOnly) {
  const auto complaint = uniqueName("list");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(assignment(complaint, "open-" + std::to_string(i)));
  ASSERT_TRUE(reject(ids[1], "duplicate", "").ok());
  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  bool closed_meanwhile = false;
  do {
    v1::ListAssignmentsRequest req;
    req.set_agency_id("dinas-pu");
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListAssignmentsResponse resp;
    auto s = stub_->ListAssignments(agencyContext(kTok).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LE(resp.assignments_size(), 2);
    for (const auto& a : resp.assignments()) {
      EXPECT_EQ(a.assignment().agency_id(), "dinas-pu");
      if (a.assignment().complaint_id() == complaint) listed.push_back(a.assignment().assignment_id());
    }
    // Work listed on an earlier page closes meanwhile: the next page must not skip anything.
    if (listed.size() == 1 && !closed_meanwhile) {
      ASSERT_TRUE(reject(listed[0], "duplicate", "").ok());
      closed_meanwhile = true;
    }
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 1000);
  EXPECT_EQ(listed, (std::vector<std::string>{ids[0], ids[2], ids[3], ids[4]}));
  v1::ListAssignmentsRequest bad;
  bad.set_agency_id("dinas-pu");
  bad.set_page_size(501);
  v1::ListAssignmentsResponse resp;
  EXPECT_EQ(stub_->ListAssignments(agencyContext(kTok).get(), bad, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad.set_page_size(2);
  bad.set_page_token("4");
  EXPECT_EQ(stub_->ListAssignments(agencyContext(kTok).get(), bad, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(NotificationActions, AnAnonymousReporterIsNeverNamedToTheAgency) {
  const auto complaint = uniqueName("anon");
  auto env = dispatchEnvelope("dinas-pu", complaint, "anon");
  env.mutable_dispatched()->mutable_item()->mutable_complaint()->set_anonymous(true);
  env.mutable_dispatched()->mutable_item()->mutable_complaint()->set_reporter_ref("rep-123");
  produceDispatch(env);
  // Confirmed as read, so that a long feed never waits on the stream's window.
  auto mine = readUntil("dinas-pu", kTok, complaint, true);
  ASSERT_TRUE(mine);
  EXPECT_TRUE(mine->item().complaint().anonymous());
  EXPECT_EQ(mine->item().complaint().reporter_ref(), "");
  EXPECT_EQ(mine->SerializeAsString().find("rep-123"), std::string::npos);
}

TEST_F(NotificationActions, AStateChangeWhoseEventWasNotProducedIsPublishedAfterARestart) {
  const auto complaint = uniqueName("outbox");
  const auto id = assignment(complaint);
  n_.stop(SIGKILL);
  // What a crash between the state change and its event leaves behind: the new state and the
  // event in the outbox, nothing on Kafka.
  redis::RedisOptions ro;
  ro.host = testing::requiredEnv("LAPOR_REDIS_HOST");
  ro.port = std::stoi(testing::requiredEnv("LAPOR_REDIS_PORT"));
  ro.prefix = n_.redisPrefix();
  redis::RedisClient r(ro, log::Logger("test"));
  auto env = events::makeEnvelope("notification", complaint, "", 1, events::newUuid());
  env.mutable_acknowledged()->set_assignment_id(id);
  env.mutable_acknowledged()->set_agency_id("dinas-pu");
  r.command({"HSET", r.key("notif:assignment:" + id), "state", "acknowledged", "pending",
             env.event_id()});
  r.command({"HSET", r.key("notif:outbox"), env.event_id(), env.SerializeAsString()});
  r.command({"ZADD", r.key("notif:outbox:due"), "1", env.event_id()});
  n_.start();
  stub_ = n_.stub();  // the old connection died with the old process
  auto ev = events(complaint, 1);
  ASSERT_EQ(ev.size(), 1u) << n_.logTail();
  EXPECT_EQ(ev[0].event_id(), env.event_id());
  EXPECT_TRUE(waitFor([&] { return r.command({"HLEN", r.key("notif:outbox")}).integer == 0; }, 10s));
  // The client's retry of the acknowledgement is answered without a second event.
  auto s = ack(id);
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  lifecycle_.readUntil([](const kafka::Message&) { return false; }, 1000ms);
  EXPECT_EQ(lifecycleOf(lifecycle_, complaint).size(), 1u);
}

TEST_F(NotificationActions, ASupervisorWorksAnEscalationAsItsOwnAndRecordsNoAssignmentEvent) {
  const auto complaint = uniqueName("escalation");
  const auto original = assignment(complaint);
  const auto env = escalationEnvelope(complaint, original);
  const auto escalation = env.dispatched().item().assignment().assignment_id();
  ASSERT_NE(escalation, original);
  produceDispatch(env);

  auto supervisorList = [&] {
    std::vector<v1::ListedAssignment> out;
    v1::ListAssignmentsRequest req;
    req.set_agency_id("sekda");
    req.set_page_size(500);
    v1::ListAssignmentsResponse resp;
    if (stub_->ListAssignments(agencyContext(kSekda).get(), req, &resp).ok())
      for (const auto& a : resp.assignments())
        if (a.assignment().complaint_id() == complaint) out.push_back(a);
    return out;
  };
  ASSERT_TRUE(waitFor([&] { return !supervisorList().empty(); }, 20s)) << n_.logTail();
  auto open = supervisorList();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].assignment().assignment_id(), escalation);
  EXPECT_EQ(open[0].assignment().agency_id(), "sekda");
  EXPECT_EQ(open[0].assignment().role(), v1::ASSIGNMENT_ROLE_SUPERVISOR);

  auto acknowledge = [&](const std::string& agency, const std::string& token,
                         const std::string& id) {
    v1::AcknowledgeRequest req;
    req.set_agency_id(agency);
    req.set_assignment_id(id);
    req.set_operator_("op-" + agency);
    v1::AcknowledgeResponse resp;
    return stub_->Acknowledge(agencyContext(token).get(), req, &resp);
  };
  auto supervisorUpdate = [&](v1::AssignmentState st, const std::string& msg) {
    v1::UpdateStatusRequest req;
    req.set_agency_id("sekda");
    req.set_assignment_id(escalation);
    req.set_state(st);
    req.set_message(msg);
    req.set_operator_("op-sekda");
    v1::UpdateStatusResponse resp;
    return stub_->UpdateStatus(agencyContext(kSekda).get(), req, &resp);
  };

  // Each side keeps to its own item.
  EXPECT_EQ(acknowledge("dinas-pu", kTok, escalation).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(acknowledge("sekda", kTok, escalation).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(acknowledge("sekda", kSekda, original).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // An escalation is never handed back to routing, and has no scene.
  v1::RejectRequest rej;
  rej.set_agency_id("sekda");
  rej.set_assignment_id(escalation);
  rej.set_reason_code("not-our-authority");
  rej.set_note("bukan urusan sekda");
  v1::RejectResponse rej_resp;
  auto s = stub_->Reject(agencyContext(kSekda).get(), rej, &rej_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("Resolve"), std::string::npos) << s.error_message();

  s = acknowledge("sekda", kSekda, escalation);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(supervisorUpdate(v1::ASSIGNMENT_STATE_ON_SCENE, "").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  s = supervisorUpdate(v1::ASSIGNMENT_STATE_RESPONDED, "Kadis PU: tambal dalam dua hari");
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ResolveRequest res;
  res.set_agency_id("sekda");
  res.set_assignment_id(escalation);
  res.set_resolution("Dinas PU sudah menjadwalkan perbaikan");
  res.set_operator_("op-sekda");
  v1::UpdateStatusResponse res_resp;
  s = stub_->Resolve(agencyContext(kSekda).get(), res, &res_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(res_resp.state(), v1::ASSIGNMENT_STATE_RESOLVED);
  EXPECT_TRUE(waitFor([&] { return supervisorList().empty(); }, 5s)) << "resolved: not open";
  // Rejecting after all is still refused, and records nothing.
  EXPECT_EQ(stub_->Reject(agencyContext(kSekda).get(), rej, &rej_resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // Three escalation_updated events and nothing else (a fourth would show within 2 s).
  auto ev = events(complaint, 4, 2s);
  ASSERT_EQ(ev.size(), 3u);
  const v1::AssignmentState states[] = {v1::ASSIGNMENT_STATE_ACKNOWLEDGED,
                                        v1::ASSIGNMENT_STATE_RESPONDED,
                                        v1::ASSIGNMENT_STATE_RESOLVED};
  for (size_t i = 0; i < ev.size(); ++i) {
    ASSERT_TRUE(ev[i].has_escalation_updated()) << events::eventKind(ev[i]);
    const auto& u = ev[i].escalation_updated();
    EXPECT_EQ(u.escalation_id(), escalation);
    EXPECT_EQ(u.agency_id(), "sekda");
    EXPECT_EQ(u.escalated_assignment_id(), original);
    EXPECT_EQ(u.escalated_agency_id(), "dinas-pu");
    EXPECT_EQ(u.level(), 1);
    EXPECT_EQ(u.state(), states[i]);
    EXPECT_EQ(u.operator_(), "op-sekda");
    EXPECT_EQ(ev[i].producer(), "notification");
    EXPECT_EQ(ev[i].trace_id(), "trace-" + complaint);
  }
  EXPECT_EQ(ev[1].escalation_updated().message(), "Kadis PU: tambal dalam dua hari");
  EXPECT_EQ(ev[2].escalation_updated().message(), "Dinas PU sudah menjadwalkan perbaikan");

  // The agency's own assignment is untouched by all this: still open, still its to take up.
  EXPECT_TRUE(listed(original));
  s = acknowledge("dinas-pu", kTok, original);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ev = events(complaint, 4);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[3].acknowledged().assignment_id(), original);
  EXPECT_EQ(ev[3].acknowledged().agency_id(), "dinas-pu");
}

TEST_F(NotificationActions, TheDeliveryOfAnEscalationIsNoAssignmentDelivery) {
  const auto complaint = uniqueName("escalation-delivery");
  const auto env = escalationEnvelope(complaint, "a-" + complaint);
  const auto escalation = env.dispatched().item().assignment().assignment_id();
  produceDispatch(env);
  auto mine = readUntil("sekda", kSekda, complaint, false);
  ASSERT_TRUE(mine) << n_.logTail();
  EXPECT_EQ(mine->item().kind(), v1::DISPATCH_KIND_ESCALATION);
  EXPECT_EQ(mine->item().assignment().role(), v1::ASSIGNMENT_ROLE_SUPERVISOR);
  EXPECT_EQ(mine->item().escalated_assignment_id(), "a-" + complaint);
  EXPECT_EQ(mine->item().escalated_agency_id(), "dinas-pu");
  EXPECT_EQ(mine->item().escalated_stage(), "acknowledge");

  v1::ConfirmDeliveryResponse confirmed;
  auto s = stub_->ConfirmDelivery(agencyContext(kSekda).get(),
                                  confirmation("sekda", mine->cursor()), &confirmed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto ev = events(complaint, 2, 3s);
  ASSERT_EQ(ev.size(), 1u) << "one event, and no AssignmentDelivered";
  ASSERT_TRUE(ev[0].has_escalation_updated()) << events::eventKind(ev[0]);
  EXPECT_EQ(ev[0].escalation_updated().escalation_id(), escalation);
  EXPECT_EQ(ev[0].escalation_updated().state(), v1::ASSIGNMENT_STATE_DELIVERED);
  EXPECT_EQ(ev[0].escalation_updated().agency_id(), "sekda");
}

}  // namespace
}  // namespace lapor::integration
