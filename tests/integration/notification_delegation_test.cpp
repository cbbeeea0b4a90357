// Work units against a real notification process: an agency delegates an assignment to one of
// its units, the unit works it on its own stream with its own token, and every action counts
// as the agency's (agency_id) with the unit beside it (unit_id) on lapor.complaints.v1 and as
// UNIT_PROGRESS on the agency's stream; a unit sees and touches only what it holds now; a
// unit's Reject hands the work back to its agency; questions to the reporter become
// ReporterAsked, and the reporter's answer (ReporterAnswered, as intake writes it) reaches the
// stream of whoever asked, once.
#include "notification_support.h"

#include "events/envelope.h"
#include "kafka/producer.h"

#include <gtest/gtest.h>

#include <thread>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPu = "dinas-pu";
constexpr const char* kUnit = "dinas-pu-upt-jalan-sangatta";
constexpr const char* kUnit2 = "dinas-pu-upt-jalan-wahau";
constexpr const char* kDlhUnit = "dlh-upt-persampahan";

const std::map<std::string, std::string> kTokens = {{kPu, "token-pu"},
                                                    {kUnit, "token-upt-sangatta"},
                                                    {kUnit2, "token-upt-wahau"},
                                                    {"dlh", "token-dlh"},
                                                    {kDlhUnit, "token-dlh-upt"}};

NotificationOptions options() {
  NotificationOptions o;
  o.tokens = kTokens;
  return o;
}

std::string tok(const std::string& caller) { return kTokens.at(caller); }

// The reporter's answer as intake writes it on the lifecycle topic.
void produceAnswer(const std::string& complaint, const std::string& event_id,
                   const std::string& assignment_id, const std::string& question_id,
                   const std::string& answer) {
  static kafka::Producer producer(
      [] {
        kafka::ProducerOptions o;
        o.brokers = testing::requiredEnv("LAPOR_KAFKA_BROKERS");
        o.client_id = "notif-it-intake";
        return o;
      }(),
      log::Logger("test"));
  auto env = events::makeEnvelope("intake", complaint, "trace-" + complaint, 1, event_id);
  auto* a = env.mutable_reporter_answered();
  a->set_answer(answer);
  a->set_in_reply_to(question_id);
  a->set_assignment_id(assignment_id);
  a->set_agency_id(kPu);
  auto rep = producer.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env), 15s);
  ASSERT_TRUE(rep.ok) << rep.error;
}

class NotificationDelegation : public ::testing::Test {
 protected:
  NotificationDelegation()
      : n_(options()),
        stub_(n_.stub()),
        lifecycle_(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), kafka::kComplaintsTopic,
                   TopicReader::From::End) {}

  // A NEW assignment for dinas-pu that notification has taken in.
  std::string assignment(const std::string& complaint, const std::string& title = "Jalan berlubang") {
    auto env = dispatchEnvelope(kPu, complaint, title);
    produceDispatch(env);
    const auto id = env.dispatched().item().assignment().assignment_id();
    EXPECT_TRUE(waitFor([&] { return listed(kPu, id); }, 20s)) << n_.logTail();
    return id;
  }
  bool listed(const std::string& caller, const std::string& id) {
    v1::ListAssignmentsRequest req;
    req.set_agency_id(caller);
    req.set_page_size(500);
    v1::ListAssignmentsResponse resp;
    if (!stub_->ListAssignments(agencyContext(tok(caller)).get(), req, &resp).ok()) return false;
    for (const auto& a : resp.assignments())
      if (a.assignment().assignment_id() == id) return true;
    return false;
  }
  grpc::Status delegate(const std::string& caller, const std::string& id, const std::string& unit,
                        const std::string& note = "Mohon segera ditangani") {
    v1::DelegateRequest req;
    req.set_agency_id(caller);
    req.set_assignment_id(id);
    req.set_unit_id(unit);
    req.set_note(note);
    req.set_operator_("kabid-bina-marga");
    v1::DelegateResponse resp;
    return stub_->Delegate(agencyContext(tok(caller)).get(), req, &resp);
  }
  grpc::Status takeBack(const std::string& id) {
    v1::TakeBackRequest req;
    req.set_agency_id(kPu);
    req.set_assignment_id(id);
    req.set_note("ditangani langsung");
    v1::TakeBackResponse resp;
    return stub_->TakeBack(agencyContext(tok(kPu)).get(), req, &resp);
  }
  // Acknowledge as `caller` with the token of `token_of`.
  grpc::Status ack(const std::string& caller, const std::string& id,
                   const std::string& token_of = "") {
    v1::AcknowledgeRequest req;
    req.set_agency_id(caller);
    req.set_assignment_id(id);
    req.set_operator_("mandor-1");
    v1::AcknowledgeResponse resp;
    return stub_->Acknowledge(agencyContext(tok(token_of.empty() ? caller : token_of)).get(), req,
                              &resp);
  }
  grpc::Status ask(const std::string& caller, const std::string& id, const std::string& question,
                   std::string* question_id = nullptr, const std::string& request_id = "") {
    v1::AskReporterRequest req;
    req.set_agency_id(caller);
    req.set_assignment_id(id);
    req.set_question(question);
    req.set_operator_("mandor-1");
    req.set_request_id(request_id);
    v1::AskReporterResponse resp;
    auto s = stub_->AskReporter(agencyContext(tok(caller)).get(), req, &resp);
    if (question_id) *question_id = resp.question_id();
    return s;
  }
  // The items of `complaint` on `owner`'s stream, read from the start until `done` holds for
  // them (or the stream's deadline passes).
  std::vector<v1::DispatchItem> feed(
      const std::string& owner, const std::string& complaint,
      const std::function<bool(const std::vector<v1::DispatchItem>&)>& done) {
    auto ctx = agencyContext(tok(owner), 15s);
    v1::SubscribeRequest req;
    req.set_agency_id(owner);
    auto reader = stub_->Subscribe(ctx.get(), req);
    std::vector<v1::DispatchItem> out;
    v1::AgencyFeedItem item;
    while (!done(out) && reader->Read(&item)) {
      if (item.item().assignment().complaint_id() == complaint) out.push_back(item.item());
      stub_->ConfirmDelivery(agencyContext(tok(owner)).get(),
                             confirmation(owner, item.cursor(), item.stream_id()),
                             std::make_unique<v1::ConfirmDeliveryResponse>().get());
    }
    ctx->TryCancel();
    reader->Finish();
    return out;
  }
  static std::function<bool(const std::vector<v1::DispatchItem>&)> count(v1::DispatchKind kind,
                                                                         size_t n) {
    return [kind, n](const std::vector<v1::DispatchItem>& items) {
      return static_cast<size_t>(std::count_if(items.begin(), items.end(), [&](const auto& i) {
               return i.kind() == kind;
             })) >= n;
    };
  }
  // Every lifecycle event of `complaint` produced so far but deliveries (reading the agency's
  // stream confirms its items).
  std::vector<v1::EventEnvelope> events(const std::string& complaint) {
    EXPECT_TRUE(lifecycle_.readToEnd(20s));
    auto all = lifecycleOf(lifecycle_, complaint);
    std::erase_if(all, [](const auto& e) { return e.has_delivered(); });
    return all;
  }

  NotificationProcess n_;
  std::unique_ptr<v1::AgencyService::Stub> stub_;
  TopicReader lifecycle_;
};

TEST_F(NotificationDelegation, TheUnitWorksWhatItsAgencyDelegatedAndTheAgencySeesIt) {
  const auto complaint = uniqueName("delegate");
  const auto id = assignment(complaint);
  auto s = delegate(kPu, id, kUnit);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(delegate(kPu, id, kUnit).ok());  // a repeat: no second event

  auto mine = feed(kUnit, complaint, count(v1::DISPATCH_KIND_DELEGATED, 1));
  ASSERT_EQ(mine.size(), 1u) << n_.logTail();
  EXPECT_EQ(mine[0].kind(), v1::DISPATCH_KIND_DELEGATED);
  EXPECT_EQ(mine[0].note(), "Mohon segera ditangani");
  EXPECT_EQ(mine[0].unit_id(), kUnit);
  EXPECT_EQ(mine[0].assignment().assignment_id(), id);
  EXPECT_EQ(mine[0].assignment().agency_id(), kPu);
  EXPECT_EQ(mine[0].assignment().unit_id(), kUnit);
  EXPECT_EQ(mine[0].complaint().title(), "Jalan berlubang");
  EXPECT_EQ(mine[0].complaint().description(), "uji");  // the complaint as its agency got it
  EXPECT_TRUE(listed(kUnit, id));

  ASSERT_TRUE(ack(kUnit, id).ok());
  ASSERT_TRUE(ack(kUnit, id).ok());  // a repeat: nothing new anywhere
  v1::UpdateStatusRequest up;
  up.set_agency_id(kUnit);
  up.set_assignment_id(id);
  up.set_state(v1::ASSIGNMENT_STATE_RESPONDED);
  up.set_message("Lubang sudah ditambal");
  v1::UpdateStatusResponse ur;
  s = stub_->UpdateStatus(agencyContext(tok(kUnit)).get(), up, &ur);
  ASSERT_TRUE(s.ok()) << s.error_message();

  const auto progress = feed(kPu, complaint, count(v1::DISPATCH_KIND_UNIT_PROGRESS, 2));
  std::vector<std::string> notes;
  for (const auto& i : progress)
    if (i.kind() == v1::DISPATCH_KIND_UNIT_PROGRESS) {
      EXPECT_EQ(i.unit_id(), kUnit);
      notes.push_back(i.note());
    }
  EXPECT_EQ(notes, (std::vector<std::string>{"acknowledged", "responded: Lubang sudah ditambal"}));

  // The agency can still act itself; its resolution tells the unit to stop.
  v1::ResolveRequest res;
  res.set_agency_id(kPu);
  res.set_assignment_id(id);
  res.set_resolution("Jalan sudah diperbaiki");
  ASSERT_TRUE(stub_->Resolve(agencyContext(tok(kPu)).get(), res, &ur).ok());
  EXPECT_FALSE(listed(kUnit, id));
  up.set_state(v1::ASSIGNMENT_STATE_IN_PROGRESS);
  EXPECT_EQ(stub_->UpdateStatus(agencyContext(tok(kUnit)).get(), up, &ur).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  const auto told = feed(kUnit, complaint, count(v1::DISPATCH_KIND_DELEGATION_REVOKED, 1));
  ASSERT_EQ(told.size(), 2u);
  EXPECT_EQ(told[1].note(), "resolved by the agency");

  const auto ev = events(complaint);
  ASSERT_EQ(ev.size(), 4u);
  ASSERT_TRUE(ev[0].has_delegated());
  EXPECT_EQ(ev[0].delegated().agency_id(), kPu);
  EXPECT_EQ(ev[0].delegated().unit_id(), kUnit);
  EXPECT_EQ(ev[0].delegated().note(), "Mohon segera ditangani");
  EXPECT_EQ(ev[0].delegated().operator_(), "kabid-bina-marga");
  ASSERT_TRUE(ev[1].has_acknowledged());
  EXPECT_EQ(ev[1].acknowledged().agency_id(), kPu);
  EXPECT_EQ(ev[1].acknowledged().unit_id(), kUnit);
  ASSERT_TRUE(ev[2].has_status_updated());
  EXPECT_EQ(ev[2].status_updated().agency_id(), kPu);
  EXPECT_EQ(ev[2].status_updated().unit_id(), kUnit);
  ASSERT_TRUE(ev[3].has_resolved());
  EXPECT_EQ(ev[3].resolved().unit_id(), "");
}

TEST_F(NotificationDelegation, AUnitSeesAndTouchesOnlyWhatItHoldsNow) {
  const auto complaint = uniqueName("isolation");
  const auto held = assignment(complaint, "held");
  const auto other = assignment(complaint, "other");
  ASSERT_TRUE(delegate(kPu, held, kUnit).ok());

  // Whose token speaks for whom.
  v1::SubscribeRequest sub;
  sub.set_agency_id(kPu);
  v1::AgencyFeedItem item;
  auto ctx = agencyContext(tok(kUnit), 5s);
  EXPECT_EQ(stub_->Subscribe(ctx.get(), sub)->Finish().error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  sub.set_agency_id(kUnit);
  ctx = agencyContext(tok(kPu), 5s);
  EXPECT_EQ(stub_->Subscribe(ctx.get(), sub)->Finish().error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ack(kUnit, held, kPu).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ack(kPu, held, kUnit).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // What is not delegated to it, to its sibling, or to another agency's unit.
  EXPECT_EQ(ack(kUnit, other).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ack(kUnit2, held).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ack(kDlhUnit, held).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(listed(kUnit, other));
  EXPECT_TRUE(listed(kUnit, held));
  EXPECT_FALSE(listed(kUnit2, held));
  EXPECT_TRUE(listed(kPu, held));  // the agency stays accountable
  // Only the assignment's agency delegates, and only to its own units.
  EXPECT_EQ(delegate("dlh", held, kDlhUnit).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  auto s = delegate(kPu, other, kDlhUnit);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("unit_id"), std::string::npos) << s.error_message();
  EXPECT_EQ(delegate(kPu, other, "upt-nowhere").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(delegate(kUnit, other, kUnit).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_TRUE(takeBack(held).ok());
  ASSERT_TRUE(takeBack(held).ok());  // a repeat
  EXPECT_EQ(ack(kUnit, held).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(listed(kUnit, held));
  const auto mine = feed(kUnit, complaint, count(v1::DISPATCH_KIND_DELEGATION_REVOKED, 1));
  ASSERT_EQ(mine.size(), 2u);  // nothing of `other`
  EXPECT_EQ(mine[0].kind(), v1::DISPATCH_KIND_DELEGATED);
  EXPECT_EQ(mine[1].kind(), v1::DISPATCH_KIND_DELEGATION_REVOKED);
  EXPECT_EQ(mine[1].note(), "ditangani langsung");
  for (const auto& i : mine) EXPECT_EQ(i.assignment().assignment_id(), held);

  const auto ev = events(complaint);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].has_delegated());
  ASSERT_TRUE(ev[1].has_delegation_revoked());
  EXPECT_EQ(ev[1].delegation_revoked().unit_id(), kUnit);
  EXPECT_EQ(ev[1].delegation_revoked().note(), "ditangani langsung");
}

TEST_F(NotificationDelegation, MovingToAnotherUnitAndAUnitsRejectGoBackToTheAgency) {
  const auto complaint = uniqueName("move");
  const auto id = assignment(complaint);
  ASSERT_TRUE(delegate(kPu, id, kUnit).ok());
  ASSERT_TRUE(delegate(kPu, id, kUnit2, "Lokasi di Muara Wahau").ok());
  EXPECT_EQ(ack(kUnit, id).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(listed(kUnit2, id));
  EXPECT_FALSE(listed(kUnit, id));

  v1::RejectRequest rej;
  rej.set_agency_id(kUnit2);
  rej.set_assignment_id(id);
  rej.set_reason_code("not-our-authority");
  rej.set_note("Jalan provinsi");
  v1::RejectResponse rr;
  auto s = stub_->Reject(agencyContext(tok(kUnit2)).get(), rej, &rr);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rr.state(), v1::ASSIGNMENT_STATE_DISPATCHED);  // still the agency's, as it was
  EXPECT_EQ(ack(kUnit2, id).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(listed(kPu, id));
  const auto seen = feed(kPu, complaint, count(v1::DISPATCH_KIND_UNIT_PROGRESS, 1));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().note(), "rejected: not-our-authority: Jalan provinsi");
  EXPECT_EQ(seen.back().unit_id(), kUnit2);

  const auto ev = events(complaint);
  ASSERT_EQ(ev.size(), 4u);  // no AssignmentRejected: routing never hears of it
  EXPECT_EQ(ev[0].delegated().unit_id(), kUnit);
  EXPECT_EQ(ev[1].delegation_revoked().unit_id(), kUnit);
  EXPECT_EQ(ev[1].delegation_revoked().note(), std::string("moved to ") + kUnit2);
  EXPECT_EQ(ev[2].delegated().unit_id(), kUnit2);
  EXPECT_EQ(ev[2].delegated().note(), "Lokasi di Muara Wahau");
  ASSERT_TRUE(ev[3].has_delegation_revoked());
  EXPECT_EQ(ev[3].delegation_revoked().unit_id(), kUnit2);
  EXPECT_EQ(ev[3].delegation_revoked().agency_id(), kPu);
  EXPECT_EQ(ev[3].delegation_revoked().note(), "not-our-authority: Jalan provinsi");
}

TEST_F(NotificationDelegation, TheReportersAnswerReachesWhoeverAskedOnce) {
  const auto complaint = uniqueName("ask");
  const auto id = assignment(complaint);
  ASSERT_TRUE(delegate(kPu, id, kUnit).ok());
  auto s = ask(kUnit, id, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("question"), std::string::npos) << s.error_message();
  EXPECT_EQ(ask(kUnit, id, std::string(2001, 'x')).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ask(kUnit2, id, "?").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  std::string by_unit, by_agency;
  s = ask(kUnit, id, "Di RT berapa lubangnya?", &by_unit);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(ask(kPu, id, "Apakah ada foto?", &by_agency).ok());
  ASSERT_FALSE(by_unit.empty());
  EXPECT_NE(by_unit, by_agency);

  const auto ev = events(complaint);
  ASSERT_EQ(ev.size(), 3u);
  ASSERT_TRUE(ev[1].has_reporter_asked());
  EXPECT_EQ(ev[1].event_id(), by_unit);
  EXPECT_EQ(ev[1].reporter_asked().assignment_id(), id);
  EXPECT_EQ(ev[1].reporter_asked().agency_id(), kPu);
  EXPECT_EQ(ev[1].reporter_asked().unit_id(), kUnit);
  EXPECT_EQ(ev[1].reporter_asked().question(), "Di RT berapa lubangnya?");
  EXPECT_EQ(ev[1].reporter_asked().operator_(), "mandor-1");
  EXPECT_EQ(ev[2].reporter_asked().unit_id(), "");

  const auto answer = events::newUuid();
  produceAnswer(complaint, answer, id, by_unit, "RT 05, depan masjid");
  produceAnswer(complaint, answer, id, by_unit, "RT 05, depan masjid");  // redelivered
  produceAnswer(complaint, events::newUuid(), id, by_agency, "Foto menyusul");

  auto answers = [](const std::vector<v1::DispatchItem>& items) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& i : items)
      if (i.kind() == v1::DISPATCH_KIND_REPORTER_ANSWER) out.emplace_back(i.in_reply_to(), i.note());
    return out;
  };
  const auto agency = answers(feed(kPu, complaint, count(v1::DISPATCH_KIND_REPORTER_ANSWER, 2)));
  EXPECT_EQ(agency, (std::vector<std::pair<std::string, std::string>>{
                        {by_unit, "RT 05, depan masjid"}, {by_agency, "Foto menyusul"}}))
      << n_.logTail();
  // The unit hears the answer to its own question only.
  const auto unit = answers(feed(kUnit, complaint, count(v1::DISPATCH_KIND_REPORTER_ANSWER, 1)));
  EXPECT_EQ(unit, (std::vector<std::pair<std::string, std::string>>{
                      {by_unit, "RT 05, depan masjid"}}));
}

TEST_F(NotificationDelegation, AQuestionRetriedWithItsRequestIdIsAskedOnce) {
  const auto complaint = uniqueName("ask-again");
  const auto id = assignment(complaint);
  EXPECT_EQ(ask(kPu, id, "?", nullptr, std::string(201, 'r')).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  std::string first, retried, other;
  ASSERT_TRUE(ask(kPu, id, "Apakah ada foto?", &first, "q-1").ok());
  // A retry, even one whose text changed, answers the first question; another id asks anew.
  ASSERT_TRUE(ask(kPu, id, "Apakah ada foto? (ulang)", &retried, "q-1").ok());
  ASSERT_TRUE(ask(kPu, id, "Di RT berapa?", &other, "q-2").ok());
  EXPECT_EQ(retried, first);
  EXPECT_NE(other, first);
  // The same request four times at once: one question.
  std::vector<std::string> ids(4);
  std::vector<grpc::Status> statuses(4);
  {
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < ids.size(); ++i)
      threads.emplace_back([&, i] { statuses[i] = ask(kPu, id, "Kapan?", &ids[i], "q-3"); });
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(ids[i], ids[0]);
  }
  // Once the assignment is resolved, a new question is refused and a retry still answers.
  v1::ResolveRequest res;
  res.set_agency_id(kPu);
  res.set_assignment_id(id);
  res.set_resolution("Sudah diperbaiki");
  v1::UpdateStatusResponse resolved;
  ASSERT_TRUE(ack(kPu, id).ok());
  const auto st = stub_->Resolve(agencyContext(tok(kPu)).get(), res, &resolved);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(ask(kPu, id, "Lagi?", nullptr, "q-4").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(ask(kPu, id, "Apakah ada foto?", &retried, "q-1").ok());
  EXPECT_EQ(retried, first);

  std::vector<std::string> asked;
  for (const auto& e : events(complaint))
    if (e.has_reporter_asked()) asked.push_back(e.event_id());
  EXPECT_EQ(asked, (std::vector<std::string>{first, other, ids[0]}));
}

}  // namespace
}  // namespace lapor::integration

namespace lapor::integration {
namespace {

// lapor-cli's agency commands: delegate, ask (as the unit) and take-back, each with its
// caller's token, give the same events as the calls; a wrong token exits 1 with the status.
TEST_F(NotificationDelegation, TheCliDelegatesAsksAndTakesBack) {
  const auto complaint = uniqueName("cli-delegation");
  const auto id = assignment(complaint);
  auto run = [&](std::vector<std::string> args, const std::string& token) {
    args.push_back("--notification");
    args.push_back(n_.target());
    args.push_back("--token");
    args.push_back(token);
    return runCli(args, {});
  };
  auto d = run({"delegate", id, "--agency", kPu, "--unit", kUnit, "--note", "Mohon dicek"},
               tok(kPu));
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_NE(d.output.find(kUnit), std::string::npos) << d.output;
  auto q = run({"ask", id, "--agency", kUnit, "--question", "Di depan rumah nomor berapa?"},
               tok(kUnit));
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find("questionId"), std::string::npos) << q.output;
  auto t = run({"take-back", id, "--agency", kPu, "--note", "ditangani langsung"}, tok(kPu));
  ASSERT_EQ(t.exit_code, 0) << t.output;
  auto wrong = run({"take-back", id, "--agency", kPu}, "not-a-token");
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("take-back: "), std::string::npos) << wrong.output;

  std::vector<v1::EventEnvelope> ev;
  ASSERT_TRUE(waitFor(
      [&] {
        ev = events(complaint);
        return ev.size() >= 3;
      },
      30s))
      << n_.logTail();
  ASSERT_TRUE(ev[0].has_delegated());
  EXPECT_EQ(ev[0].delegated().unit_id(), kUnit);
  ASSERT_TRUE(ev[1].has_reporter_asked());
  EXPECT_EQ(ev[1].reporter_asked().question(), "Di depan rumah nomor berapa?");
  EXPECT_TRUE(ev[2].has_delegation_revoked());
}

}  // namespace
}  // namespace lapor::integration
