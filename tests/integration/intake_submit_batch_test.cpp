// SubmitComplaints against real intake processes, Kafka and Redis: each complaint of a call is
// answered as SubmitComplaint would answer it alone (new, retried, conflicting, invalid, over the
// rate limit, the event log down), a retried call gives no second complaint, and a list that
// cannot be right is refused whole with nothing recorded.
#include "intake_fixture.h"
#include "integration_support.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

// The ComplaintSubmitted events on lapor.complaints.v1 for each of `refs`, read once.
std::map<std::string, std::vector<v1::EventEnvelope>> submittedByRef(
    const std::set<std::string>& refs) {
  testing::TopicReader reader(brokers(), "lapor.complaints.v1");
  if (!reader.readToEnd(30s)) throw std::runtime_error("could not read lapor.complaints.v1");
  std::map<std::string, std::vector<v1::EventEnvelope>> out;
  for (const auto& m : reader.seen()) {
    v1::EventEnvelope env;
    if (env.ParseFromString(m.value) && env.has_submitted() &&
        refs.count(env.submitted().complaint().external_ref()))
      out[env.submitted().complaint().external_ref()].push_back(env);
  }
  return out;
}

v1::SubmitComplaintsResponse submitAll(IntakeProcess& intake, const v1::SubmitComplaintsRequest& req,
                                       const std::string& key, grpc::Status* st) {
  v1::SubmitComplaintsResponse resp;
  *st = intake.stub()->SubmitComplaints(call(key).get(), req, &resp);
  return resp;
}

TEST(IntakeSubmitBatchTest, EachComplaintIsAnsweredAsSubmitComplaintWouldAnswerItAlone) {
  // Known to intake before the call: two complaints, each under a key of its own.
  auto earlier = validComplaint(uniqueName("earlier"));
  earlier.set_idempotency_key(uniqueName("earlier-key"));
  auto taken = validComplaint(uniqueName("taken"));
  taken.set_idempotency_key(uniqueName("taken-key"));
  v1::SubmitComplaintResponse first, other;
  ASSERT_TRUE(shared().a.stub()->SubmitComplaint(call(kPartnerKey).get(), earlier, &first).ok());
  ASSERT_TRUE(shared().a.stub()->SubmitComplaint(call(kPartnerKey).get(), taken, &other).ok());

  v1::SubmitComplaintsRequest req;
  auto* fresh = req.add_complaints();  // 0: new, with a key
  *fresh = validComplaint(uniqueName("fresh"));
  fresh->set_idempotency_key(uniqueName("fresh-key"));
  fresh->mutable_reporter()->set_phone("+62 811 2222 3333");
  *req.add_complaints() = earlier;  // 1: a retry of the earlier one
  auto* reused = req.add_complaints();  // 2: the key of `taken` with another complaint
  *reused = validComplaint(uniqueName("reused"));
  reused->set_idempotency_key(taken.idempotency_key());
  reused->set_category("fire");
  auto* untitled = req.add_complaints();  // 3: invalid
  *untitled = validComplaint(uniqueName("untitled"));
  untitled->set_title(" ");
  auto* garbled = req.add_complaints();  // 4: not UTF-8 in a nested field
  *garbled = validComplaint(uniqueName("garbled"));
  garbled->mutable_location()->set_address("Jalan \xC3\x28 rusak");
  auto* emergency = req.add_complaints();  // 5: new, its external_ref as its key
  *emergency = validComplaint(uniqueName("emergency"));
  emergency->set_category("fire");
  emergency->set_priority(v1::PRIORITY_EMERGENCY);

  grpc::Status st;
  const auto resp = submitAll(shared().a, req, kPartnerKey, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.results_size(), req.complaints_size());
  const auto& r = resp.results();
  EXPECT_EQ(r[0].code(), "OK") << r[0].message();
  EXPECT_FALSE(r[0].complaint().duplicate());
  EXPECT_EQ(r[0].complaint().reporter_secret().size(), 26u);
  EXPECT_EQ(r[0].complaint().expected_response(), "within 3 working days");
  EXPECT_EQ(r[1].code(), "OK") << r[1].message();
  EXPECT_TRUE(r[1].complaint().duplicate());
  EXPECT_EQ(r[1].complaint().tracking_id(), first.tracking_id());
  EXPECT_EQ(r[1].complaint().reporter_secret(), first.reporter_secret());
  EXPECT_EQ(r[2].code(), "FAILED_PRECONDITION");
  EXPECT_NE(r[2].message().find(taken.idempotency_key()), std::string::npos) << r[2].message();
  EXPECT_NE(r[2].message().find(other.tracking_id()), std::string::npos) << r[2].message();
  EXPECT_FALSE(r[2].has_complaint());
  EXPECT_EQ(r[3].code(), "INVALID_ARGUMENT");
  ASSERT_EQ(r[3].violations_size(), 1);
  EXPECT_EQ(r[3].violations(0).field(), "title");
  EXPECT_EQ(r[4].code(), "INVALID_ARGUMENT");
  ASSERT_EQ(r[4].violations_size(), 1);
  EXPECT_EQ(r[4].violations(0).field(), "location.address");
  EXPECT_EQ(r[5].code(), "OK") << r[5].message();
  EXPECT_EQ(r[5].complaint().expected_response(), "within 60 seconds");
  EXPECT_NE(r[5].complaint().tracking_id(), r[0].complaint().tracking_id());

  // The same call again, on the other instance (a client retrying after a lost answer): the
  // same ids, and still one complaint each.
  const auto again = submitAll(shared().b, req, kPartnerKey, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(again.results_size(), req.complaints_size());
  for (int i : {0, 1, 5}) {
    SCOPED_TRACE(i);
    EXPECT_EQ(again.results(i).code(), "OK");
    EXPECT_TRUE(again.results(i).complaint().duplicate());
    EXPECT_EQ(again.results(i).complaint().tracking_id(), r[i].complaint().tracking_id());
    EXPECT_EQ(again.results(i).complaint().reporter_secret(), r[i].complaint().reporter_secret());
  }
  for (int i : {2, 3, 4}) EXPECT_EQ(again.results(i).code(), r[i].code()) << i;

  std::set<std::string> refs;
  for (const auto& c : req.complaints()) refs.insert(c.external_ref());
  const auto events = submittedByRef(refs);
  for (int i : {0, 1, 5}) {
    const auto& ref = req.complaints(i).external_ref();
    ASSERT_EQ(events.count(ref), 1u) << ref;
    ASSERT_EQ(events.at(ref).size(), 1u) << ref;
    EXPECT_EQ(events.at(ref)[0].submitted().complaint().tracking_id(),
              r[i].complaint().tracking_id());
  }
  EXPECT_FALSE(events.at(fresh->external_ref())[0].submitted().complaint().reporter_ref().empty());
  for (int i : {2, 3, 4}) EXPECT_EQ(events.count(req.complaints(i).external_ref()), 0u) << i;
}

TEST(IntakeSubmitBatchTest, AListThatCannotBeRightIsRefusedWholeAndRecordsNothing) {
  grpc::Status st;
  // Empty.
  submitAll(shared().a, v1::SubmitComplaintsRequest(), kPartnerKey, &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("complaints"), std::string::npos) << st.error_message();

  // Two complaints with one idempotency key, two with one external reference: the later one
  // is named, and neither of them (nor the good one beside them) is recorded.
  v1::SubmitComplaintsRequest twice;
  const auto key = uniqueName("twice-key");
  for (int i = 0; i < 2; ++i) {
    auto* c = twice.add_complaints();
    *c = validComplaint(uniqueName("twice"));
    c->set_idempotency_key(key);
  }
  *twice.add_complaints() = validComplaint(uniqueName("beside"));
  const auto same_ref = uniqueName("same-ref");
  *twice.add_complaints() = validComplaint(same_ref);
  *twice.add_complaints() = validComplaint(same_ref);
  submitAll(shared().a, twice, kPartnerKey, &st);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  auto br = badRequestOf(st);
  ASSERT_TRUE(br.has_value());
  std::set<std::string> fields;
  for (const auto& v : br->field_violations()) fields.insert(v.field());
  EXPECT_EQ(fields, (std::set<std::string>{"complaints[1].idempotency_key",
                                           "complaints[4].external_ref"}));

  // More than 500.
  v1::SubmitComplaintsRequest many;
  for (int i = 0; i < 501; ++i) many.add_complaints()->set_external_ref("many-" + std::to_string(i));
  submitAll(shared().a, many, kPartnerKey, &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("at most 500"), std::string::npos) << st.error_message();

  // No publisher key that intake knows.
  v1::SubmitComplaintsRequest one;
  *one.add_complaints() = validComplaint(uniqueName("nokey"));
  submitAll(shared().a, one, "not-a-key", &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  std::set<std::string> refs{one.complaints(0).external_ref()};
  for (const auto& c : twice.complaints()) refs.insert(c.external_ref());
  EXPECT_TRUE(submittedByRef(refs).empty());
}

TEST(IntakeSubmitBatchTest, EachComplaintCountsAgainstThePublishersRateLimit) {
  // An instance of its own (a fresh store), so the limited publisher's window is all its own.
  IntakeProcess intake("batch-rate-limit", freshPrefix());
  v1::SubmitComplaintsRequest req;
  for (int i = 0; i < kLimitedRate + 2; ++i)
    *req.add_complaints() = validComplaint(uniqueName("limited-batch"));
  grpc::Status st;
  const auto resp = submitAll(intake, req, kLimitedKey, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.results_size(), req.complaints_size());
  for (int i = 0; i < req.complaints_size(); ++i) {
    SCOPED_TRACE(i);
    if (i < kLimitedRate) {
      EXPECT_EQ(resp.results(i).code(), "OK") << resp.results(i).message();
      continue;
    }
    EXPECT_EQ(resp.results(i).code(), "RESOURCE_EXHAUSTED");
    EXPECT_GT(resp.results(i).retry_after_ms(), 0);
    EXPECT_LE(resp.results(i).retry_after_ms(), 60'000);
  }
  // The window is used up: a single call is refused as well.
  v1::SubmitComplaintResponse r;
  EXPECT_EQ(intake.stub()
                ->SubmitComplaint(call(kLimitedKey).get(), validComplaint(uniqueName("l")), &r)
                .error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  std::set<std::string> refs;
  for (const auto& c : req.complaints()) refs.insert(c.external_ref());
  EXPECT_EQ(submittedByRef(refs).size(), static_cast<size_t>(kLimitedRate));
}

TEST(IntakeSubmitBatchTest, EventLogDownLeavesEachComplaintForItsRetryToComplete) {
  IntakeProcess down("batch-broker-down", shared().prefix,
                     {{"LAPOR_KAFKA_BROKERS", "127.0.0.1:" + std::to_string(testing::freePort())},
                      {"LAPOR_KAFKA_CREATE_TOPICS", "false"},
                      {"LAPOR_KAFKA_PRODUCE_TIMEOUT", "2s"}});
  v1::SubmitComplaintsRequest req;
  for (int i = 0; i < 3; ++i) {
    auto* c = req.add_complaints();
    *c = validComplaint(uniqueName("down-batch"));
    c->set_idempotency_key(uniqueName("down-batch-key"));
  }
  grpc::Status st;
  const auto failed = submitAll(down, req, kPartnerKey, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(failed.results_size(), 3);
  for (const auto& r : failed.results()) {
    EXPECT_EQ(r.code(), "UNAVAILABLE");
    EXPECT_NE(r.message().find("same idempotency key"), std::string::npos) << r.message();
  }
  // The retry completes each failed attempt with its own ids; a second retry changes nothing.
  const auto ok = submitAll(shared().a, req, kPartnerKey, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const auto again = submitAll(shared().b, req, kPartnerKey, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::set<std::string> refs;
  for (const auto& c : req.complaints()) refs.insert(c.external_ref());
  const auto events = submittedByRef(refs);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(ok.results(i).code(), "OK") << ok.results(i).message();
    EXPECT_TRUE(ok.results(i).complaint().duplicate());
    EXPECT_EQ(again.results(i).complaint().tracking_id(), ok.results(i).complaint().tracking_id());
    const auto& ref = req.complaints(i).external_ref();
    ASSERT_EQ(events.count(ref), 1u);
    ASSERT_EQ(events.at(ref).size(), 1u);
    EXPECT_EQ(events.at(ref)[0].submitted().complaint().tracking_id(),
              ok.results(i).complaint().tracking_id());
  }
}

TEST(IntakeSubmitBatchTest, CrashAfterTheKafkaAckLeavesEachComplaintForConcurrentRetriesToComplete) {
  // This instance exits once Kafka acknowledged the whole call, before it marks any key done:
  // every complaint of the call is left as a pending claim whose lease then lapses.
  IntakeProcess crashing("batch-crash-after-ack", shared().prefix,
                         {{"LAPOR_INTAKE_FAULT_EXIT_AFTER_ACK", "true"}});
  constexpr int kComplaints = 4;
  v1::SubmitComplaintsRequest req;
  std::set<std::string> refs;
  for (int i = 0; i < kComplaints; ++i) {
    auto* c = req.add_complaints();
    *c = validComplaint(uniqueName("crash-batch"));
    c->set_idempotency_key(uniqueName("crash-batch-key"));
    refs.insert(c->external_ref());
  }
  grpc::Status st;
  submitAll(crashing, req, kPartnerKey, &st);
  EXPECT_FALSE(st.ok());
  ASSERT_TRUE(testing::waitFor([&] { return !crashing.process().running(); }, 20s));
  const auto before = submittedByRef(refs);
  ASSERT_EQ(before.size(), refs.size());  // Kafka has every complaint; the caller heard of none
  for (const auto& [ref, events] : before) ASSERT_EQ(events.size(), 1u) << ref;

  // The same call again on both instances at once: each complaint's claim is taken over by one
  // of them once its lease lapses, its event produced again, and every answer names the
  // original ids.
  constexpr int kCopies = 4;
  std::vector<v1::SubmitComplaintsResponse> answers(kCopies);
  std::vector<grpc::Status> statuses(kCopies);
  {
    std::vector<std::jthread> threads;
    for (int k = 0; k < kCopies; ++k)
      threads.emplace_back([&, k] {
        auto& intake = k % 2 == 0 ? shared().a : shared().b;
        statuses[k] = intake.stub()->SubmitComplaints(call(kPartnerKey, 60s).get(), req, &answers[k]);
      });
  }
  const auto after = submittedByRef(refs);
  for (int k = 0; k < kCopies; ++k) {
    SCOPED_TRACE(k);
    ASSERT_TRUE(statuses[k].ok()) << statuses[k].error_message();
    ASSERT_EQ(answers[k].results_size(), kComplaints);
    for (int i = 0; i < kComplaints; ++i) {
      SCOPED_TRACE(i);
      const auto& r = answers[k].results(i);
      const auto& original = before.at(req.complaints(i).external_ref())[0].submitted().complaint();
      EXPECT_EQ(r.code(), "OK") << r.message();
      EXPECT_TRUE(r.complaint().duplicate());
      EXPECT_EQ(r.complaint().tracking_id(), original.tracking_id());
      EXPECT_EQ(r.complaint().complaint_id(), original.complaint_id());
    }
  }
  for (const auto& ref : refs) {
    SCOPED_TRACE(ref);
    const auto& original = before.at(ref)[0];
    ASSERT_EQ(after.count(ref), 1u);
    // The original and one re-production of the very same event, never a second complaint.
    ASSERT_EQ(after.at(ref).size(), 2u);
    for (const auto& e : after.at(ref)) {
      EXPECT_EQ(e.event_id(), original.event_id());
      EXPECT_EQ(e.submitted().complaint().complaint_id(),
                original.submitted().complaint().complaint_id());
    }
  }

  // Later calls are plain duplicates of the now completed keys and produce nothing.
  const auto later = submitAll(shared().a, req, kPartnerKey, &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  for (int i = 0; i < kComplaints; ++i) {
    EXPECT_EQ(later.results(i).code(), "OK");
    EXPECT_EQ(later.results(i).complaint().tracking_id(),
              answers[0].results(i).complaint().tracking_id());
  }
  for (const auto& [ref, events] : submittedByRef(refs)) EXPECT_EQ(events.size(), 2u) << ref;
}

}  // namespace
}  // namespace lapor::integration
