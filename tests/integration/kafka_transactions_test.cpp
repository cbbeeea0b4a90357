// TransactionalProcessor against the real broker: outputs and offsets commit together, a
// handler's retry aborts the batch and it is done again without duplicates, dead letters go in
// the same transaction, and a second processor with the same transactional id fences the first.
// With Delivery::Idempotent the same loop runs without transactions and commits plain offsets.
#include "integration_support.h"
#include "kafka/consumer.h"
#include "kafka/transactional_processor.h"
#include "log/logger.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

class TransactionalProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = serviceEnv("LAPOR_KAFKA_BROKERS");
    ASSERT_TRUE(b) << missingEnvMessage("LAPOR_KAFKA_BROKERS");
    brokers = *b;
    ASSERT_EQ(kafka::ensureTopics(brokers, {in, out, kafka::kDeadLetterTopic}, 2, 15s), "");
  }
  kafka::TransactionalOptions options(const std::string& instance) {
    kafka::TransactionalOptions o;
    o.brokers = brokers;
    o.group_id = group;
    o.topics = {in};
    o.service = "txn-test";
    o.transactional_id = group + "-" + instance;
    o.max_batch = 7;
    o.max_retry_backoff = 200ms;
    return o;
  }
  // Produces `marker`, starts a processor of the same group and returns what it handled until
  // its first commit: only the marker when every earlier offset was committed.
  std::vector<std::string> successorSees(const std::string& marker) {
    EXPECT_TRUE(testing::produceRaw(brokers, in, "k", marker));
    std::mutex mu;
    std::vector<std::string> seen;
    kafka::TransactionalProcessor again(options("a"), log::Logger("test"), nullptr);
    again.start([&](const kafka::Message& m) {
      std::lock_guard lk(mu);
      seen.push_back(m.value);
      return kafka::TransformResult::done();
    });
    EXPECT_TRUE(waitFor([&] { return again.committed() >= 1; }, 60s));
    again.stop();
    std::lock_guard lk(mu);
    return seen;
  }
  // Copies message "i" to `out` as "out-i", except that "20" asks for a retry while
  // `failures_left` lasts and "33" is dead-lettered.
  kafka::TransformHandler retriesTwentyAndDeadLettersThirtyThree(std::atomic<int>& failures_left) {
    return [this, &failures_left](const kafka::Message& m) {
      if (m.value == "20" && failures_left.fetch_sub(1) > 0)
        return kafka::TransformResult::retry("test", "not yet");
      if (m.value == "33") return kafka::TransformResult::deadLetter("test-reason", "bad one");
      return kafka::TransformResult::done({{out, m.key, "out-" + m.value, {}}});
    };
  }
  std::string brokers;
  std::string in = uniqueName("lapor.test.txn-in");
  std::string out = uniqueName("lapor.test.txn-out");
  std::string group = uniqueName("lapor-test-txn");
};

TEST_F(TransactionalProcessorTest, RetryAbortsTheBatchAndEveryOutputAppearsOnce) {
  constexpr int kMessages = 50;
  for (int i = 0; i < kMessages; ++i)
    ASSERT_TRUE(testing::produceRaw(brokers, in, "k" + std::to_string(i % 5), std::to_string(i)));
  std::atomic<int> failures_left{3};
  kafka::TransactionalProcessor p(options("a"), log::Logger("test"), nullptr);
  // Message 20 fails three times: its batch (and what was produced for it) is aborted.
  p.start(retriesTwentyAndDeadLettersThirtyThree(failures_left));
  ASSERT_TRUE(waitFor([&] { return p.committed() >= kMessages; }, 60s));
  EXPECT_GE(p.aborted(), 3u);

  TopicReader reader(brokers, out);
  reader.readUntil([](const kafka::Message&) { return false; }, 2s);
  std::map<std::string, int> seen;
  for (const auto& m : reader.seen()) ++seen[m.value];
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMessages - 1));
  for (const auto& [v, n] : seen) EXPECT_EQ(n, 1) << v << " appeared " << n << " times";
  EXPECT_EQ(seen.count("out-33"), 0u);

  TopicReader dlq(brokers, kafka::kDeadLetterTopic);
  auto dl = dlq.readUntil(
      [&](const kafka::Message& m) { return m.header("lapor.dlq.source.topic") == in; }, 30s);
  ASSERT_TRUE(dl);
  EXPECT_EQ(dl->value, "33");
  EXPECT_EQ(dl->header("lapor.dlq.reason"), "test-reason");
}

TEST_F(TransactionalProcessorTest, ARestartWithTheSameIdContinuesAfterTheCommittedOffsets) {
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(testing::produceRaw(brokers, in, "k", std::to_string(i)));
  auto handler = [&](const kafka::Message& m) {
    return kafka::TransformResult::done({{out, m.key, "out-" + m.value, {}}});
  };
  {
    kafka::TransactionalProcessor p(options("a"), log::Logger("test"), nullptr);
    p.start(handler);
    ASSERT_TRUE(waitFor([&] { return p.committed() >= 10; }, 60s));
  }
  for (int i = 10; i < 15; ++i)
    ASSERT_TRUE(testing::produceRaw(brokers, in, "k", std::to_string(i)));
  kafka::TransactionalProcessor again(options("a"), log::Logger("test"), nullptr);
  again.start(handler);
  ASSERT_TRUE(waitFor([&] { return again.committed() >= 5; }, 60s));
  TopicReader reader(brokers, out);
  reader.readUntil([](const kafka::Message&) { return false; }, 2s);
  EXPECT_EQ(reader.seen().size(), 15u) << "the second run repeated committed input";
  EXPECT_EQ(again.committed(), 5u);
}

// A batch that produces nothing starts no transaction: its offsets are committed with later ones
// (here: alone, after kafka.idle_commit_interval), and a successor does not read it again.
TEST_F(TransactionalProcessorTest, BatchesThatProduceNothingShareOneOffsetsTransaction) {
  constexpr int kMessages = 30;  // five batches of at most 7
  for (int i = 0; i < kMessages; ++i)
    ASSERT_TRUE(testing::produceRaw(brokers, in, "k" + std::to_string(i % 3), std::to_string(i)));
  prometheus::Registry registry;
  std::atomic<int> handled{0};
  auto o = options("a");
  o.idle_commit_interval = 2s;
  {
    kafka::TransactionalProcessor p(o, log::Logger("test"), &registry);
    p.start([&](const kafka::Message&) {
      ++handled;
      return kafka::TransformResult::done();
    });
    ASSERT_TRUE(waitFor([&] { return p.committed() >= kMessages; }, 60s));
    EXPECT_EQ(handled.load(), kMessages);
  }
  double transactions = 0;
  for (const auto& family : registry.Collect())
    if (family.name == "lapor_txn_test_transactions_total")
      for (const auto& m : family.metric) transactions += m.counter.value;
  EXPECT_GE(transactions, 1);
  EXPECT_LE(transactions, 2) << "a transaction per batch that produced nothing";

  // The successor starts after all 30: the first message it sees is the new one.
  EXPECT_EQ(successorSees("after"), std::vector<std::string>{"after"});
}

// Stopping commits what was read past, however long the idle interval.
TEST_F(TransactionalProcessorTest, StopCommitsOffsetsThatWaitedForATransaction) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(testing::produceRaw(brokers, in, "k", std::to_string(i)));
  auto o = options("a");
  o.idle_commit_interval = 60s;
  std::atomic<int> handled{0};
  {
    kafka::TransactionalProcessor p(o, log::Logger("test"), nullptr);
    p.start([&](const kafka::Message&) {
      ++handled;
      return kafka::TransformResult::done();
    });
    ASSERT_TRUE(waitFor([&] { return handled.load() >= 10; }, 60s));
    EXPECT_EQ(p.committed(), 0u) << "committed before the interval or a transaction";
  }
  EXPECT_EQ(successorSees("after"), std::vector<std::string>{"after"});
}

// Delivery::Idempotent: no transaction at all (the transactions metric is not even registered),
// every output and dead letter is written, a retry rewinds the batch, and the offsets committed
// after the outputs' delivery reports let a successor start after everything handled.
TEST_F(TransactionalProcessorTest, IdempotentDeliveryWritesEveryOutputAndCommitsPlainOffsets) {
  constexpr int kMessages = 50;
  for (int i = 0; i < kMessages; ++i)
    ASSERT_TRUE(testing::produceRaw(brokers, in, "k" + std::to_string(i % 5), std::to_string(i)));
  prometheus::Registry registry;
  std::atomic<int> failures_left{3};
  auto o = options("a");
  o.delivery = kafka::Delivery::Idempotent;
  o.transactional_id.clear();  // not needed without transactions
  {
    kafka::TransactionalProcessor p(o, log::Logger("test"), &registry);
    p.start(retriesTwentyAndDeadLettersThirtyThree(failures_left));
    ASSERT_TRUE(waitFor([&] { return p.committed() >= kMessages; }, 60s));
    EXPECT_GE(p.aborted(), 3u);
  }
  for (const auto& family : registry.Collect())
    EXPECT_NE(family.name, "lapor_txn_test_transactions_total") << "a transaction was counted";

  TopicReader reader(brokers, out);
  reader.readUntil([](const kafka::Message&) { return false; }, 2s);
  std::map<std::string, int> seen;
  for (const auto& m : reader.seen()) ++seen[m.value];
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMessages - 1));
  EXPECT_EQ(seen.count("out-33"), 0u);
  EXPECT_EQ(seen.count("out-20"), 1u) << "the retried message's output is missing";

  TopicReader dlq(brokers, kafka::kDeadLetterTopic);
  auto dl = dlq.readUntil(
      [&](const kafka::Message& m) { return m.header("lapor.dlq.source.topic") == in; }, 30s);
  ASSERT_TRUE(dl);
  EXPECT_EQ(dl->value, "33");

  EXPECT_EQ(successorSees("after"), std::vector<std::string>{"after"});
}

// Delivery::Idempotent commits the offsets of batches whose outputs were delivered with the
// next ones, once they are kafka.commit_interval old, not one commit per batch; stopping
// commits them at once, so a successor starts after everything handled.
TEST_F(TransactionalProcessorTest, IdempotentDeliveryCommitsOffsetsOncePerInterval) {
  constexpr int kMessages = 10;  // at least two batches of at most 7
  for (int i = 0; i < kMessages; ++i)
    ASSERT_TRUE(testing::produceRaw(brokers, in, "k" + std::to_string(i % 5), std::to_string(i)));
  std::atomic<int> failures_left{0};
  auto o = options("a");
  o.delivery = kafka::Delivery::Idempotent;
  o.transactional_id.clear();
  o.commit_interval = 60s;
  {
    kafka::TransactionalProcessor p(o, log::Logger("test"), nullptr);
    p.start(retriesTwentyAndDeadLettersThirtyThree(failures_left));
    TopicReader reader(brokers, out);
    int outputs = 0;
    reader.readUntil([&](const kafka::Message&) { return ++outputs == kMessages; }, 60s);
    ASSERT_EQ(outputs, kMessages) << "not every output was delivered";
    EXPECT_EQ(p.committed(), 0u) << "offsets committed before the interval";
  }
  EXPECT_EQ(successorSees("after"), std::vector<std::string>{"after"});
}

// The outputs' producer waits the configured linger.ms for company (kafka.linger_ms of the
// service): with 1.5 s, an output reaches its topic no sooner than that after its handler ran.
TEST_F(TransactionalProcessorTest, IdempotentOutputsWaitTheConfiguredLinger) {
  auto o = options("a");
  o.delivery = kafka::Delivery::Idempotent;
  o.transactional_id.clear();
  o.linger_ms = 1500;
  std::atomic<int64_t> handled_ms{0};
  auto nowMs = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  kafka::TransactionalProcessor p(o, log::Logger("test"), nullptr);
  p.start([&](const kafka::Message& m) {
    handled_ms = nowMs();
    return kafka::TransformResult::done({{out, m.key, "out-" + m.value, {}}});
  });
  TopicReader reader(brokers, out);
  ASSERT_TRUE(testing::produceRaw(brokers, in, "k", "x"));
  int64_t seen_ms = 0;
  auto got = reader.readUntil(
      [&](const kafka::Message& m) {
        seen_ms = nowMs();
        return m.value == "out-x";
      },
      60s);
  ASSERT_TRUE(got) << "the output never arrived";
  ASSERT_GT(handled_ms.load(), 0);
  EXPECT_GE(seen_ms - handled_ms.load(), 1400) << "the output did not wait for its linger";
}

}  // namespace
}  // namespace lapor::integration
