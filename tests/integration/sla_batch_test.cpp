// The SLA monitor's batch path against the real Redis: a batch of interleaved lifecycle events
// of several complaints, with a repeat and an undecodable message, leaves exactly the ledgers
// and obligations the same events leave one at a time, reading each complaint's ledger once.
#include "events/envelope.h"
#include "integration_support.h"
#include "lifecycle_events.h"
#include "log/logger.h"
#include "obligation_store.h"
#include "redis_support.h"
#include "sla_handler.h"

#include <absl/time/time.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>

namespace lapor::integration {
namespace {

// Submitted, routed to two agencies, the lead acknowledges (twice: a repeat), the support
// agency rejects, the lead resolves.
std::vector<v1::EventEnvelope> lifeOf(const std::string& cid, int64_t t0) {
  using E = v1::EventEnvelope;
  std::vector<E> out;
  out.push_back(
      testing::submittedEvent(cid, v1::PRIORITY_HIGH, "fire", "Kebakaran gudang", 800, t0 - 1'000));
  out.push_back(
      testing::routedEvent(cid, v1::PRIORITY_HIGH, "fire", {"disdamkar", "rsud-kudungga"}, t0));
  const auto ack = testing::agencyEvent(cid, "disdamkar", t0 + 60'000, &E::mutable_acknowledged);
  out.push_back(ack.first);
  out.push_back(ack.first);
  auto rejected = testing::agencyEvent(cid, "rsud-kudungga", t0 + 120'000, &E::mutable_rejected);
  rejected.second->set_reason_code("not-our-authority");
  out.push_back(rejected.first);
  auto resolved = testing::agencyEvent(cid, "disdamkar", t0 + 180'000, &E::mutable_resolved);
  resolved.second->set_resolution("Api padam");
  out.push_back(resolved.first);
  return out;
}

std::string utcMonth(int64_t ms) {
  return absl::FormatTime("%Y-%m", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> obligationsOf(sla::ObligationStore& store, const std::string& cid) {
  std::vector<std::string> out;
  for (const auto& o : store.forComplaint(cid)) out.push_back(o.DebugString());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SlaBatchTest, ABatchLeavesTheLedgersAndObligationsOneEventAtATimeLeaves) {
  redis::RedisClient batch_redis(testRedisOptions(uniqueName("lapor-sla-vb") + ":"),
                                 log::Logger("sla-it", log::Level::Error));
  redis::RedisClient single_redis(testRedisOptions(uniqueName("lapor-sla-vs") + ":"),
                                  log::Logger("sla-it", log::Level::Error));
  sla::ObligationStore batch_store(batch_redis, std::chrono::hours(1));
  sla::ObligationStore single_store(single_redis, std::chrono::hours(1));
  const auto policy = sla::SlaPolicy::defaults();
  const sla::WorkCalendar calendar("Asia/Makassar", {});
  prometheus::Registry registry;
  sla::SlaMetrics metrics(registry);
  const log::Logger quiet("sla-it", log::Level::Error);
  sla::LifecycleHandler batched(batch_store, policy, calendar, quiet, metrics);
  sla::LifecycleHandler single(single_store, policy, calendar, quiet, metrics);

  const int64_t t0 = testing::nowMs();
  std::vector<std::string> cids;
  std::vector<std::vector<v1::EventEnvelope>> lives;
  for (const char* n : {"a", "b", "c"}) {
    cids.push_back(uniqueName(std::string("sla-batch-") + n));
    lives.push_back(lifeOf(cids.back(), t0));
  }
  const auto messages = testing::interleavedPoll(lives, 1);

  const auto reads = commandCalls(batch_redis, "get");
  const auto batch_sets = commandCalls(batch_redis, "set");
  const auto results = batched.handleBatch(messages);
  const auto batch_set_calls = commandCalls(batch_redis, "set") - batch_sets;  // one server's
  ASSERT_EQ(results.size(), messages.size());
  EXPECT_EQ(commandCalls(batch_redis, "get") - reads, static_cast<int64_t>(cids.size()))
      << "each complaint's ledger is read once in the batch, not once per event";
  for (size_t i = 0; i < results.size(); ++i) {
    const bool junk = messages[i].value == testing::kUndecodable;
    EXPECT_EQ(results[i].outcome, junk ? kafka::Outcome::DeadLetter : kafka::Outcome::Done)
        << "message " << i << ": " << results[i].reason << " " << results[i].detail;
  }
  const auto single_sets = commandCalls(single_redis, "set");
  for (const auto& m : messages) {
    const auto r = single.handle(m);
    EXPECT_NE(r.outcome, kafka::Outcome::Retry) << r.reason << " " << r.detail;
  }
  // Each complaint as submitted is written once (beside its ledger), in the batch as one at a
  // time: its later events in the batch save the ledger alone.
  EXPECT_EQ(batch_set_calls, commandCalls(single_redis, "set") - single_sets);
  for (const auto& cid : cids) {
    const auto b = obligationsOf(batch_store, cid);
    EXPECT_FALSE(b.empty()) << "no obligation of " << cid;
    EXPECT_EQ(b, obligationsOf(single_store, cid));
    EXPECT_EQ(batch_store.ledger(cid).SerializeAsString(),
              single_store.ledger(cid).SerializeAsString());
    EXPECT_EQ(batch_store.complaint(cid).description(), std::string(800, 'k'));
    EXPECT_EQ(batch_store.complaint(cid).SerializeAsString(),
              single_store.complaint(cid).SerializeAsString());
  }
  EXPECT_EQ(batch_store.auditOwners().without_owner, single_store.auditOwners().without_owner);
  // Every event's additions to the monthly counters, written with the ledger that records it.
  for (const auto& month : {utcMonth(t0 - 1'000), utcMonth(t0 + 180'000)})
    for (const std::string agency : {"", "disdamkar", "rsud-kudungga"})
      EXPECT_EQ(sorted(batch_store.summary(month, agency)),
                sorted(single_store.summary(month, agency)))
          << month << " " << agency;
  EXPECT_FALSE(batch_store.summary(utcMonth(t0 + 180'000), "").empty());

  for (auto* r : {&batch_redis, &single_redis}) deleteKeysOf(*r);
}

// An undeliverable report in the same batch as the events that started its clocks finds them:
// the passes before it wrote them, and its acknowledgement clock is brought forward as one event
// at a time brings it forward.
TEST(SlaBatchTest, AnUndeliverableReportFindsTheClocksItsBatchStartedBeforeIt) {
  redis::RedisClient batch_redis(testRedisOptions(uniqueName("lapor-sla-ub") + ":"),
                                 log::Logger("sla-it", log::Level::Error));
  sla::ObligationStore batch_store(batch_redis, std::chrono::hours(1));
  const auto policy = sla::SlaPolicy::defaults();
  const sla::WorkCalendar calendar("Asia/Makassar", {});
  prometheus::Registry registry;
  sla::SlaMetrics metrics(registry);
  sla::LifecycleHandler batched(batch_store, policy, calendar,
                                log::Logger("sla-it", log::Level::Error), metrics);

  const int64_t t0 = testing::nowMs();
  std::vector<std::vector<v1::EventEnvelope>> lives;
  std::vector<std::string> cids;
  for (const char* n : {"a", "b"}) {
    cids.push_back(uniqueName(std::string("sla-undeliverable-") + n));
    auto life = lifeOf(cids.back(), t0);
    life.resize(2);  // submitted, routed
    auto gave_up = testing::agencyEvent(cids.back(), "disdamkar", t0 + 30'000,
                                        &v1::EventEnvelope::mutable_undeliverable);
    gave_up.second->set_channel("webhook");
    gave_up.second->set_attempts(8);
    life.push_back(gave_up.first);
    lives.push_back(life);
  }
  const auto messages = testing::interleavedPoll(lives, 0);
  for (const auto& r : batched.handleBatch(messages))
    EXPECT_NE(r.outcome, kafka::Outcome::Retry) << r.reason << " " << r.detail;
  for (const auto& cid : cids) {
    const auto assignment = testing::assignmentIdFor(cid, "disdamkar");
    bool found = false;
    for (const auto& o : batch_store.forComplaint(cid)) {
      if (o.assignment_id() != assignment || o.stage() != v1::SLA_STAGE_ACKNOWLEDGE) continue;
      found = true;
      EXPECT_EQ(batch_store.record(o.obligation_id())->expedite_reason,
                "undeliverable: webhook gave up after 8 attempts");
    }
    EXPECT_TRUE(found) << "no acknowledgement clock for " << assignment;
    EXPECT_FALSE(batch_store.ledger(cid).complaint_id().empty());
  }
  deleteKeysOf(batch_redis);
}

}  // namespace
}  // namespace lapor::integration
