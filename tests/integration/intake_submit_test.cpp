// SubmitComplaint against real intake processes, Kafka and Redis: idempotent retries (also
// concurrent, on two instances), broker down, the shared per-publisher rate limit, API keys,
// field-level validation with google.rpc.BadRequest, and the promised response time.
#include "intake_fixture.h"
#include "integration_support.h"

#include "events/envelope.h"
#include "lifecycle_events.h"
#include "topic_reader.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

TEST(IntakeSubmitTest, AcceptedSubmissionPromisesTheSlaDefaultResponseTime) {
  auto stub = shared().a.stub();
  auto emergency = validComplaint(uniqueName("ref"));
  emergency.set_category("fire");
  emergency.set_priority(v1::PRIORITY_EMERGENCY);
  v1::SubmitComplaintResponse r;
  auto st = stub->SubmitComplaint(call().get(), emergency, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.expected_response_seconds(), 60);
  EXPECT_EQ(r.expected_response(), "within 60 seconds");
  EXPECT_FALSE(r.duplicate());
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_NEAR(static_cast<double>(r.expected_response_by_ms()), static_cast<double>(now + 60'000),
              30'000);

  v1::SubmitComplaintResponse n;
  st = stub->SubmitComplaint(call().get(), validComplaint(uniqueName("ref")), &n);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(n.expected_response(), "within 3 working days");
  EXPECT_EQ(n.expected_response_seconds(), 3 * 86400);
  // Three working days are at least three calendar days, at most five (a weekend between).
  EXPECT_GE(n.expected_response_by_ms(), now + 3 * 86'400'000 - 30'000);
  EXPECT_LE(n.expected_response_by_ms(), now + 5 * 86'400'000 + 30'000);
}

// An emergency's submission is also written to the emergency lane, the same event byte for
// byte, so routing can take it ahead of the lifecycle topic's backlog; nothing else is.
TEST(IntakeSubmitTest, AnEmergencysSubmissionAlsoTakesTheEmergencyLane) {
  auto stub = shared().a.stub();
  const auto ref = uniqueName("lane");
  auto emergency = validComplaint(ref);
  emergency.set_external_ref(ref);
  emergency.set_category("fire");
  emergency.set_priority(v1::PRIORITY_EMERGENCY);
  auto routine = validComplaint(uniqueName("routine"));
  routine.set_external_ref(ref + "-routine");
  v1::SubmitComplaintResponse a, b;
  ASSERT_TRUE(stub->SubmitComplaint(call().get(), emergency, &a).ok());
  ASSERT_TRUE(stub->SubmitComplaint(call().get(), routine, &b).ok());
  const auto recorded = submittedWithRef(ref);
  ASSERT_EQ(recorded.size(), 1u);
  ASSERT_EQ(submittedWithRef(ref + "-routine").size(), 1u);
  testing::TopicReader lane(brokers(), kafka::kEmergencySubmittedTopic);
  ASSERT_TRUE(lane.readToEnd(30s));
  std::vector<v1::EventEnvelope> laned;
  for (const auto& m : lane.seen()) {
    v1::EventEnvelope env;
    ASSERT_TRUE(env.ParseFromString(m.value));
    const auto& c = env.submitted().complaint();
    if (c.complaint_id() == a.complaint_id() || c.complaint_id() == b.complaint_id()) {
      EXPECT_EQ(m.key, c.complaint_id());
      laned.push_back(env);
    }
  }
  ASSERT_EQ(laned.size(), 1u) << "the routine complaint took the lane, or the emergency did not";
  EXPECT_EQ(laned[0].SerializeAsString(), recorded[0].SerializeAsString());
}

TEST(IntakeSubmitTest, RetryWithTheSameIdempotencyKeyGivesOneComplaint) {
  auto stub = shared().a.stub();
  const auto ref = uniqueName("retry");
  auto req = validComplaint(ref);
  req.set_external_ref(ref);
  req.set_idempotency_key(uniqueName("key"));
  v1::SubmitComplaintResponse first, second;
  ASSERT_TRUE(stub->SubmitComplaint(call(kPartnerKey).get(), req, &first).ok());
  // The retry goes to the other instance, as a load balancer may send it.
  auto st = shared().b.stub()->SubmitComplaint(call(kPartnerKey).get(), req, &second);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(second.tracking_id(), first.tracking_id());
  EXPECT_EQ(second.complaint_id(), first.complaint_id());
  EXPECT_TRUE(second.duplicate());
  // The reporter's secret, the same for the retry (whose caller may never have seen the first).
  EXPECT_EQ(first.reporter_secret().size(), 26u);
  EXPECT_EQ(second.reporter_secret(), first.reporter_secret());
  EXPECT_EQ(submittedWithRef(ref).size(), 1u);
}

// A key sent again with another complaint is a mistake of the caller, not a retry: it is told
// so, with the key named, and nothing is created (earlier versions answered with the first
// complaint and its promise).
TEST(IntakeSubmitTest, AnIdempotencyKeyReusedForAnotherComplaintIsAConflict) {
  const auto key = uniqueName("reused-key");
  auto road = validComplaint(uniqueName("road"));
  road.set_idempotency_key(key);
  v1::SubmitComplaintResponse first, second;
  ASSERT_TRUE(shared().a.stub()->SubmitComplaint(call(kPartnerKey).get(), road, &first).ok());
  auto fire = validComplaint(uniqueName("fire"));
  fire.set_idempotency_key(key);
  fire.set_category("fire");
  fire.set_priority(v1::PRIORITY_EMERGENCY);
  auto st = shared().b.stub()->SubmitComplaint(call(kPartnerKey).get(), fire, &second);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find(key), std::string::npos) << st.error_message();
  EXPECT_EQ(second.tracking_id(), "");
  EXPECT_TRUE(submittedWithRef(fire.external_ref()).empty());
  // The same external reference (the other way to make a retry) with other content: the same.
  auto by_ref = validComplaint(uniqueName("by-ref"));
  ASSERT_TRUE(shared().a.stub()->SubmitComplaint(call(kPartnerKey).get(), by_ref, &first).ok());
  auto changed = by_ref;
  changed.set_description("Deskripsi lain sama sekali untuk referensi yang sama");
  st = shared().a.stub()->SubmitComplaint(call(kPartnerKey).get(), changed, &second);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("external_ref"), std::string::npos) << st.error_message();
}

TEST(IntakeSubmitTest, SamePublisherAndExternalReferenceGivesOneComplaint) {
  const auto ref = uniqueName("extref");
  v1::SubmitComplaintResponse first, second, other_publisher;
  ASSERT_TRUE(shared()
                  .a.stub()
                  ->SubmitComplaint(call(kPartnerKey).get(), validComplaint(ref), &first)
                  .ok());
  ASSERT_TRUE(shared()
                  .b.stub()
                  ->SubmitComplaint(call(kPartnerKey).get(), validComplaint(ref), &second)
                  .ok());
  EXPECT_EQ(second.tracking_id(), first.tracking_id());
  // The same reference from another publisher is another publisher's complaint.
  ASSERT_TRUE(
      shared().a.stub()->SubmitComplaint(call().get(), validComplaint(ref), &other_publisher).ok());
  EXPECT_NE(other_publisher.tracking_id(), first.tracking_id());
  EXPECT_EQ(submittedWithRef(ref).size(), 2u);
}

TEST(IntakeSubmitTest, ConcurrentDuplicatesOnTwoInstancesGiveOneComplaint) {
  const auto ref = uniqueName("race");
  auto req = validComplaint(ref);
  req.set_idempotency_key(uniqueName("race-key"));
  constexpr int kCopies = 8;
  std::vector<v1::SubmitComplaintResponse> answers(kCopies);
  std::vector<grpc::Status> statuses(kCopies);
  std::vector<std::unique_ptr<v1::IntakeService::Stub>> stubs;
  for (int i = 0; i < kCopies; ++i)
    stubs.push_back(i % 2 == 0 ? shared().a.stub() : shared().b.stub());
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kCopies; ++i)
      threads.emplace_back([&, i] {
        statuses[i] = stubs[i]->SubmitComplaint(call(kPartnerKey).get(), req, &answers[i]);
      });
  }
  std::set<std::string> ids;
  int fresh = 0;
  for (int i = 0; i < kCopies; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    ids.insert(answers[i].tracking_id());
    if (!answers[i].duplicate()) ++fresh;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(submittedWithRef(ref).size(), 1u);
}

TEST(IntakeSubmitTest, BrokerDownIsUnavailableAndALaterRetrySucceedsOnce) {
  // An instance whose broker address is a closed port, sharing the store of the healthy ones.
  IntakeProcess down("broker-down", shared().prefix,
                     {{"LAPOR_KAFKA_BROKERS", "127.0.0.1:" + std::to_string(testing::freePort())},
                      {"LAPOR_KAFKA_CREATE_TOPICS", "false"},
                      {"LAPOR_KAFKA_PRODUCE_TIMEOUT", "2s"}});
  const auto ref = uniqueName("down");
  auto req = validComplaint(ref);
  req.set_idempotency_key(uniqueName("down-key"));
  req.mutable_reporter()->set_phone("+62 811 0000 1111");
  v1::SubmitComplaintResponse failed;
  auto st = down.stub()->SubmitComplaint(call(kPartnerKey).get(), req, &failed);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_TRUE(failed.tracking_id().empty());

  v1::SubmitComplaintResponse ok;
  st = shared().a.stub()->SubmitComplaint(call(kPartnerKey).get(), req, &ok);
  ASSERT_TRUE(st.ok()) << st.error_message();
  // The retry completes the failed attempt (whose event might have been written after all)
  // with that attempt's own ids, instead of starting a second complaint.
  EXPECT_TRUE(ok.duplicate());
  v1::SubmitComplaintResponse again;
  ASSERT_TRUE(shared().b.stub()->SubmitComplaint(call(kPartnerKey).get(), req, &again).ok());
  EXPECT_EQ(again.tracking_id(), ok.tracking_id());
  auto events = submittedWithRef(ref);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].submitted().complaint().tracking_id(), ok.tracking_id());
}

TEST(IntakeSubmitTest, CrashAfterTheKafkaAckThenConcurrentRetriesGiveOneComplaint) {
  // This instance exits right after Kafka acknowledges, before it marks the key done: what a
  // crash at that moment leaves behind is a pending claim whose lease then lapses.
  IntakeProcess crashing("crash-after-ack", shared().prefix,
                         {{"LAPOR_INTAKE_FAULT_EXIT_AFTER_ACK", "true"}});
  const auto ref = uniqueName("crash");
  auto req = validComplaint(ref);
  req.set_idempotency_key(uniqueName("crash-key"));
  v1::SubmitComplaintResponse lost;
  EXPECT_FALSE(crashing.stub()->SubmitComplaint(call(kPartnerKey).get(), req, &lost).ok());
  ASSERT_TRUE(testing::waitFor([&] { return !crashing.process().running(); }, 20s));
  auto before = submittedWithRef(ref);
  ASSERT_EQ(before.size(), 1u);  // Kafka has the complaint; the caller never heard of it
  const auto& original = before[0].submitted().complaint();

  // Retries on both instances at once: they wait out the lease, one of them produces the
  // claim's event again, all answer with the original ids.
  constexpr int kCopies = 4;
  std::vector<v1::SubmitComplaintResponse> answers(kCopies);
  std::vector<grpc::Status> statuses(kCopies);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kCopies; ++i)
      threads.emplace_back([&, i] {
        auto stub = i % 2 == 0 ? shared().a.stub() : shared().b.stub();
        statuses[i] = stub->SubmitComplaint(call(kPartnerKey, 60s).get(), req, &answers[i]);
      });
  }
  for (int i = 0; i < kCopies; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(answers[i].tracking_id(), original.tracking_id());
    EXPECT_EQ(answers[i].complaint_id(), original.complaint_id());
    EXPECT_TRUE(answers[i].duplicate());
  }
  auto after = submittedWithRef(ref);
  std::set<std::string> complaint_ids, event_ids;
  for (const auto& e : after) {
    complaint_ids.insert(e.submitted().complaint().complaint_id());
    event_ids.insert(e.event_id());
  }
  EXPECT_EQ(after.size(), 2u);  // the original and one re-production of the very same event
  EXPECT_EQ(complaint_ids.size(), 1u);
  EXPECT_EQ(event_ids, std::set<std::string>{before[0].event_id()});

  // The tracking view drops the repeated event id: one complaint, submitted once. A marker
  // event of the same complaint (same key, same partition) produced after the repeat shows
  // when the view has read past it.
  auto marker = events::makeEnvelope("test", original.complaint_id(), "", testing::nowMs(), "");
  marker.mutable_feedback()->set_rating(5);
  ASSERT_TRUE(testing::produceEvent(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), marker));
  v1::GetComplaintRequest get;
  get.set_tracking_id(original.tracking_id());
  v1::ComplaintView view;
  ASSERT_TRUE(testing::waitFor(
      [&] {
        if (!shared().a.stub()->GetComplaint(call().get(), get, &view).ok()) return false;
        for (const auto& t : view.timeline())
          if (t.what() == "feedback") return true;
        return false;
      },
      20s));
  EXPECT_EQ(view.complaint_id(), original.complaint_id());
  int submitted_entries = 0;
  for (const auto& t : view.timeline())
    if (t.what() == "submitted") ++submitted_entries;
  EXPECT_EQ(submitted_entries, 1);

  // Later retries are plain duplicates of the now completed key.
  v1::SubmitComplaintResponse later;
  ASSERT_TRUE(shared().a.stub()->SubmitComplaint(call(kPartnerKey).get(), req, &later).ok());
  EXPECT_EQ(later.tracking_id(), original.tracking_id());
  EXPECT_EQ(submittedWithRef(ref).size(), 2u);
}

TEST(IntakeSubmitTest, RateLimitIsSharedByTwoInstances) {
  // kLimitedRate submissions per window for publisher "limited", counted in Redis.
  int accepted = 0;
  for (int i = 0; i < kLimitedRate; ++i) {
    auto& instance = i % 2 == 0 ? shared().a : shared().b;
    v1::SubmitComplaintResponse r;
    auto st = instance.stub()->SubmitComplaint(call(kLimitedKey).get(),
                                               validComplaint(uniqueName("limited")), &r);
    ASSERT_TRUE(st.ok()) << i << ": " << st.error_message();
    ++accepted;
  }
  EXPECT_EQ(accepted, kLimitedRate);
  for (auto* instance : {&shared().a, &shared().b}) {
    v1::SubmitComplaintResponse r;
    const auto ref = uniqueName("over");
    auto st = instance->stub()->SubmitComplaint(call(kLimitedKey).get(), validComplaint(ref), &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
    auto retry = retryInfoOf(st);
    ASSERT_TRUE(retry.has_value()) << "no google.rpc.RetryInfo in the status";
    EXPECT_GT(retry->retry_delay().seconds() * 1000 + retry->retry_delay().nanos() / 1'000'000, 0);
    EXPECT_LE(retry->retry_delay().seconds(), 60);
  }
  // Other publishers have budgets of their own.
  v1::SubmitComplaintResponse r;
  EXPECT_TRUE(shared()
                  .a.stub()
                  ->SubmitComplaint(call(kPartnerKey).get(), validComplaint(uniqueName("p")), &r)
                  .ok());
}

TEST(IntakeSubmitTest, UnknownApiKeyIsUnauthenticated) {
  v1::SubmitComplaintResponse r;
  auto st = shared().a.stub()->SubmitComplaint(call("not-a-key").get(),
                                               validComplaint(uniqueName("nokey")), &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

struct BadInput {
  std::string name;
  std::function<void(v1::SubmitComplaintRequest&)> breakIt;
  std::string field;
};

TEST(IntakeSubmitTest, EachBadInputGetsItsFieldViolationAndProducesNoEvent) {
  const std::string bad_utf8 = "Jalan \xC3\x28 rusak";
  const std::vector<BadInput> cases{
      {"no channel", [](auto& r) { r.clear_channel(); }, "channel"},
      {"no category", [](auto& r) { r.clear_category(); }, "category"},
      {"unknown category", [](auto& r) { r.set_category("alien-invasion"); }, "category"},
      {"no priority", [](auto& r) { r.clear_priority(); }, "priority"},
      {"unknown priority", [](auto& r) { r.set_priority(static_cast<v1::Priority>(42)); },
       "priority"},
      {"no title", [](auto& r) { r.set_title("   "); }, "title"},
      {"title too long", [](auto& r) { r.set_title(std::string(201, 'j')); }, "title"},
      {"no description", [](auto& r) { r.clear_description(); }, "description"},
      {"description over 4000 characters",
       [](auto& r) { r.set_description(std::string(4001, 'x')); }, "description"},
      {"latitude out of range", [](auto& r) { r.mutable_location()->set_lat(91); }, "location.lat"},
      {"longitude out of range", [](auto& r) { r.mutable_location()->set_lon(-181); },
       "location.lon"},
      {"no location at all", [](auto& r) { r.clear_location(); }, "location"},
      {"invalid UTF-8 in the description", [&](auto& r) { r.set_description(bad_utf8); },
       "description"},
      {"invalid UTF-8 in the address",
       [&](auto& r) { r.mutable_location()->set_address(bad_utf8); }, "location.address"},
      {"invalid UTF-8 in the reporter's name",
       [&](auto& r) { r.mutable_reporter()->set_name(bad_utf8); }, "reporter.name"},
      {"e-mail without @", [](auto& r) { r.mutable_reporter()->set_email("siti.example.org"); },
       "reporter.email"},
      {"observed in seconds, not milliseconds",
       [](auto& r) { r.set_observed_at_ms(1'764'400'000); }, "observed_at_ms"},
      {"observed in the future",
       [](auto& r) {
         r.set_observed_at_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count() +
                              86'400'000);
       },
       "observed_at_ms"},
      {"attachment without url",
       [](auto& r) { r.add_attachments()->set_content_type("image/png"); }, "attachments[0].url"},
  };
  auto stub = shared().a.stub();
  const auto ref = uniqueName("bad");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto req = validComplaint(ref);
    c.breakIt(req);
    v1::SubmitComplaintResponse r;
    auto st = stub->SubmitComplaint(call(kPartnerKey).get(), req, &r);
    ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    auto br = badRequestOf(st);
    ASSERT_TRUE(br.has_value()) << "no google.rpc.BadRequest in the status";
    std::set<std::string> fields;
    for (const auto& v : br->field_violations()) fields.insert(v.field());
    EXPECT_EQ(fields, std::set<std::string>{c.field});
    EXPECT_FALSE(br->field_violations(0).description().empty());
    EXPECT_TRUE(r.tracking_id().empty());
  }
  // A request over the server's message size limit (64 KiB in the test config) is refused
  // before it is read.
  auto huge = validComplaint(ref);
  huge.set_description(std::string(100 * 1024, 'x'));
  v1::SubmitComplaintResponse r;
  EXPECT_EQ(stub->SubmitComplaint(call(kPartnerKey).get(), huge, &r).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(submittedWithRef(ref).empty());
}

}  // namespace
}  // namespace lapor::integration
