// Kafka against a real broker: topic creation, the producer's delivery reports, and the
// consumer's guarantees (intact messages, dead-lettering, commit only after the effect).
#include "integration_support.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "log/logger.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>
#include <map>
#include <memory>
#include <mutex>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;
using kafka::Consumer;
using kafka::ConsumerOptions;
using kafka::HandleResult;
using kafka::Message;
using kafka::OutMessage;
using kafka::Producer;
using kafka::ProducerOptions;

log::Logger kafkaLogger() {
  return log::Logger("kafka-it", log::Level::Warn);
}

// Collects what a handler saw, for the test thread to look at.
class Recorder {
 public:
  void add(const Message& m) {
    std::lock_guard lk(mu_);
    seen_.push_back(m);
  }
  std::vector<Message> snapshot() const {
    std::lock_guard lk(mu_);
    return seen_;
  }
  size_t size() const {
    std::lock_guard lk(mu_);
    return seen_.size();
  }
  std::vector<std::string> values() const {
    std::vector<std::string> out;
    for (const auto& m : snapshot()) out.push_back(m.value);
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Message> seen_;
};

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = serviceEnv("LAPOR_KAFKA_BROKERS");
    ASSERT_TRUE(b) << missingEnvMessage("LAPOR_KAFKA_BROKERS");
    brokers_ = *b;
  }

  // A fresh topic with one partition.
  std::string newTopic(const std::string& what) {
    auto topic = uniqueName("lapor.it." + what);
    auto err = kafka::ensureTopics(brokers_, {topic}, 1, 15s);
    EXPECT_EQ(err, "") << "creating " << topic;
    return topic;
  }

  ProducerOptions producerOptions() const {
    ProducerOptions o;
    o.brokers = brokers_;
    o.client_id = "lapor-it";
    o.linger_ms = 0;
    o.message_timeout_ms = 15'000;
    return o;
  }

  ConsumerOptions consumerOptions(const std::string& topic, const std::string& group) const {
    ConsumerOptions o;
    o.brokers = brokers_;
    o.group_id = group;
    o.topics = {topic};
    o.client_id = "lapor-it";
    o.service = "kafka-it";
    o.commit_interval = 100ms;
    o.max_retry_backoff = 200ms;
    return o;
  }

  void produceAll(Producer& p, const std::vector<OutMessage>& msgs) {
    for (const auto& m : msgs) {
      auto r = p.produceAndWait(m, 15s);
      ASSERT_TRUE(r.ok) << r.error;
    }
  }

  std::string brokers_;
};

TEST_F(KafkaTest, EnsureTopicsCreatesTopicsAndIsIdempotent) {
  const auto a = uniqueName("lapor.it.ensure-a");
  const auto b = uniqueName("lapor.it.ensure-b");
  ASSERT_EQ(partitionCount(brokers_, a), -1);
  ASSERT_EQ(partitionCount(brokers_, b), -1);

  EXPECT_EQ(kafka::ensureTopics(brokers_, {a, b}, 2, 15s), "");
  EXPECT_TRUE(waitFor([&] { return partitionCount(brokers_, a) == 2; }, 10s))
      << partitionCount(brokers_, a);
  EXPECT_TRUE(waitFor([&] { return partitionCount(brokers_, b) == 2; }, 10s))
      << partitionCount(brokers_, b);

  // Again, and with one existing and one new topic: no error, nothing changes.
  EXPECT_EQ(kafka::ensureTopics(brokers_, {a, b}, 2, 15s), "");
  const auto c = uniqueName("lapor.it.ensure-c");
  EXPECT_EQ(kafka::ensureTopics(brokers_, {a, c}, 1, 15s), "");
  EXPECT_TRUE(waitFor([&] { return partitionCount(brokers_, c) == 1; }, 10s));
  EXPECT_EQ(partitionCount(brokers_, a), 2);
}

TEST_F(KafkaTest, EnsureTopicsReportsAnInvalidTopicName) {
  const auto bad = uniqueName("lapor.it.bad name!");
  auto err = kafka::ensureTopics(brokers_, {bad}, 1, 15s);
  EXPECT_NE(err, "");
  EXPECT_NE(err.find(bad), std::string::npos) << err;
}

TEST_F(KafkaTest, EnsureTopicsReportsAnUnreachableBroker) {
  const auto start = std::chrono::steady_clock::now();
  auto err = kafka::ensureTopics("127.0.0.1:1", {uniqueName("lapor.it.unreachable")}, 1, 1s);
  EXPECT_NE(err, "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(KafkaTest, ProduceAndWaitReportsPartitionAndOffset) {
  const auto topic = newTopic("produce");
  Producer producer(producerOptions(), kafkaLogger());
  for (int64_t i = 0; i < 3; ++i) {
    auto r = producer.produceAndWait({topic, "key", "value-" + std::to_string(i), {}}, 15s);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.partition, 0);
    EXPECT_EQ(r.offset, i);  // a fresh topic: offsets count from 0
  }
  // The future-returning form reports the same way.
  auto f = producer.produce({topic, "key", "value-3", {}});
  ASSERT_EQ(f.wait_for(15s), std::future_status::ready);
  auto r = f.get();
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.offset, 3);
  EXPECT_TRUE(producer.flush(5s));
}

TEST_F(KafkaTest, ProduceToMissingTopicFailsWithinTheMessageTimeout) {
  // The broker does not create topics on demand, so this message can never be delivered.
  const auto topic = uniqueName("lapor.it.missing");
  auto opts = producerOptions();
  opts.message_timeout_ms = 1'500;
  Producer producer(opts, kafkaLogger());
  const auto start = std::chrono::steady_clock::now();
  auto r = producer.produceAndWait({topic, "key", "lost", {}}, 20s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error, "");
  // The report came from librdkafka, not from produceAndWait giving up on it.
  EXPECT_EQ(r.error.find("timed out waiting for the broker"), std::string::npos) << r.error;
  EXPECT_LT(elapsed, 1'500ms + 5s) << r.error;
  EXPECT_EQ(partitionCount(brokers_, topic), -1) << "the broker created the topic after all";
}

TEST_F(KafkaTest, ProduceAndWaitGivesUpAfterItsOwnTimeout) {
  // librdkafka would keep the message for 1.5 s; the caller only waits 200 ms of that.
  auto opts = producerOptions();
  opts.message_timeout_ms = 1'500;
  Producer producer(opts, kafkaLogger());
  const auto start = std::chrono::steady_clock::now();
  auto r = producer.produceAndWait({uniqueName("lapor.it.missing"), "k", "v", {}}, 200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1'000ms);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("timed out waiting for the broker"), std::string::npos) << r.error;
}

TEST_F(KafkaTest, ConsumerReceivesKeyValueAndHeadersIntact) {
  const auto topic = newTopic("intact");
  const std::vector<OutMessage> sent = {
      {topic, "complaint-1", "first", {{"lapor.event_id", "e-1"}, {"lapor.trace_id", "t-1"}}},
      {topic,
       std::string("k\0ey", 4),
       std::string("bin\0\xff\x01 value", 12),
       {{"dup", "a"}, {"dup", "b"}, {"binary", std::string("\0\xfe", 2)}}},
      {topic, "complaint-3", "third", {}},
  };
  Producer producer(producerOptions(), kafkaLogger());
  produceAll(producer, sent);

  Recorder got;
  Consumer consumer(consumerOptions(topic, uniqueName("lapor-it-intact")), producer, kafkaLogger(),
                    nullptr);
  consumer.start([&](const Message& m) {
    got.add(m);
    return HandleResult::done();
  });
  ASSERT_TRUE(waitFor([&] { return got.size() >= sent.size(); }, 30s)) << got.size();
  EXPECT_TRUE(waitFor([&] { return consumer.processed() == sent.size(); }, 5s));

  const auto msgs = got.snapshot();
  ASSERT_EQ(msgs.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    EXPECT_EQ(msgs[i].topic, topic);
    EXPECT_EQ(msgs[i].partition, 0);
    EXPECT_EQ(msgs[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(msgs[i].key, sent[i].key);
    EXPECT_EQ(msgs[i].value, sent[i].value);
    EXPECT_EQ(msgs[i].headers, sent[i].headers);
    EXPECT_GT(msgs[i].timestamp_ms, 0);
  }
  EXPECT_EQ(msgs[0].header("lapor.event_id"), "e-1");
  EXPECT_EQ(msgs[1].header("dup"), "a");  // the first of repeated headers
  EXPECT_FALSE(msgs[2].header("lapor.event_id"));
}

TEST_F(KafkaTest, DeadLetterGoesToTheDeadLetterTopicAndTheNextMessageIsHandled) {
  const auto topic = newTopic("deadletter");
  // The dead-letter topic is shared by everything; this test picks out its own message by the
  // source-topic header and reads only what was written after it started.
  ASSERT_EQ(kafka::ensureTopics(brokers_, {kafka::kDeadLetterTopic}, 1, 15s), "");
  TopicReader dlq(brokers_, kafka::kDeadLetterTopic, TopicReader::From::End);

  Producer producer(producerOptions(), kafkaLogger());
  produceAll(producer, {{topic, "c-1", "good-1", {{"lapor.event_id", "e-1"}}},
                        {topic, "c-2", "bad", {{"lapor.event_id", "e-2"}}},
                        {topic, "c-3", "good-2", {{"lapor.event_id", "e-3"}}}});

  Recorder handled;
  std::atomic<int> bad_seen{0};
  auto opts = consumerOptions(topic, uniqueName("lapor-it-dlq"));
  Consumer consumer(opts, producer, kafkaLogger(), nullptr);
  consumer.start([&](const Message& m) {
    if (m.value == "bad") {
      ++bad_seen;
      return HandleResult::deadLetter("invalid", "payload is not an envelope");
    }
    handled.add(m);
    return HandleResult::done();
  });
  ASSERT_TRUE(waitFor([&] { return consumer.processed() == 3; }, 30s)) << consumer.processed();
  EXPECT_EQ(handled.values(), (std::vector<std::string>{"good-1", "good-2"}));
  EXPECT_EQ(bad_seen.load(), 1) << "a dead-lettered message is not handled again";

  auto dl = dlq.readUntil(
      [&](const Message& m) { return m.header("lapor.dlq.source.topic") == topic; }, 20s);
  ASSERT_TRUE(dl) << "no dead letter from " << topic << " among " << dlq.seen().size()
                  << " new messages on " << kafka::kDeadLetterTopic;
  EXPECT_EQ(dl->key, "c-2");
  EXPECT_EQ(dl->value, "bad");
  EXPECT_EQ(dl->header("lapor.event_id"), "e-2");  // the original headers travel along
  EXPECT_EQ(dl->header("lapor.dlq.reason"), "invalid");
  EXPECT_EQ(dl->header("lapor.dlq.detail"), "payload is not an envelope");
  EXPECT_EQ(dl->header("lapor.dlq.source.partition"), "0");
  EXPECT_EQ(dl->header("lapor.dlq.source.offset"), "1");
  EXPECT_EQ(dl->header("lapor.dlq.service"), opts.service);

  // Exactly one dead letter for this topic.
  dlq.readUntil([](const Message&) { return false; }, 300ms);
  size_t mine = 0;
  for (const auto& m : dlq.seen()) mine += m.header("lapor.dlq.source.topic") == topic;
  EXPECT_EQ(mine, 1u);
}

// A dead-letter sink that refuses the first `failures` messages.
class FlakySink : public kafka::MessageSink {
 public:
  explicit FlakySink(int failures) : failures_(failures) {}
  std::future<kafka::DeliveryReport> produce(OutMessage msg) override {
    std::promise<kafka::DeliveryReport> p;
    std::lock_guard lk(mu_);
    ++calls_;
    if (calls_ <= failures_) {
      p.set_value({false, "dead-letter topic unavailable", -1, -1});
    } else {
      accepted_.push_back(std::move(msg));
      p.set_value({true, "", 0, static_cast<int64_t>(accepted_.size() - 1)});
    }
    return p.get_future();
  }
  int calls() const {
    std::lock_guard lk(mu_);
    return calls_;
  }
  std::vector<OutMessage> accepted() const {
    std::lock_guard lk(mu_);
    return accepted_;
  }

 private:
  mutable std::mutex mu_;
  int failures_;
  int calls_ = 0;
  std::vector<OutMessage> accepted_;
};

TEST_F(KafkaTest, MessageIsKeptWhileTheDeadLetterTopicRefusesIt) {
  const auto topic = newTopic("dlq-refused");
  Producer producer(producerOptions(), kafkaLogger());
  produceAll(producer, {{topic, "c-1", "bad", {}}, {topic, "c-2", "good", {}}});

  FlakySink sink(2);
  Recorder handled;
  Consumer consumer(consumerOptions(topic, uniqueName("lapor-it-dlq-refused")), sink, kafkaLogger(),
                    nullptr);
  consumer.start([&](const Message& m) {
    if (m.value == "bad") return HandleResult::deadLetter("invalid", "bad");
    handled.add(m);
    return HandleResult::done();
  });
  ASSERT_TRUE(waitFor([&] { return consumer.processed() == 2; }, 30s)) << consumer.processed();
  EXPECT_EQ(sink.calls(), 3);
  ASSERT_EQ(sink.accepted().size(), 1u);
  EXPECT_EQ(sink.accepted()[0].value, "bad");
  EXPECT_EQ(sink.accepted()[0].topic, kafka::kDeadLetterTopic);
  EXPECT_EQ(handled.values(), std::vector<std::string>{"good"});
}

TEST_F(KafkaTest, HandlerExceptionIsRetriedNotSkipped) {
  const auto topic = newTopic("exception");
  Producer producer(producerOptions(), kafkaLogger());
  produceAll(producer, {{topic, "c-1", "flaky", {}}, {topic, "c-2", "after", {}}});

  std::atomic<int> attempts{0};
  Recorder handled;
  Consumer consumer(consumerOptions(topic, uniqueName("lapor-it-exception")), producer,
                    kafkaLogger(), nullptr);
  consumer.start([&](const Message& m) {
    if (m.value == "flaky" && ++attempts < 3) throw std::runtime_error("redis went away");
    handled.add(m);
    return HandleResult::done();
  });
  ASSERT_TRUE(waitFor([&] { return consumer.processed() == 2; }, 30s)) << consumer.processed();
  EXPECT_EQ(attempts.load(), 3);
  EXPECT_EQ(handled.values(), (std::vector<std::string>{"flaky", "after"}));
}

TEST_F(KafkaTest, OnlyHandledMessagesAreCommitted) {
  const auto topic = newTopic("commit");
  const auto group = uniqueName("lapor-it-commit");
  Producer producer(producerOptions(), kafkaLogger());
  produceAll(producer, {{topic, "c-0", "done-0", {}},
                        {topic, "c-1", "done-1", {}},
                        {topic, "c-2", "stuck", {}},
                        {topic, "c-3", "behind", {}}});

  // First member: finishes two messages, then keeps failing on the third.
  std::atomic<int> attempts{0};
  Recorder first_done;
  {
    Consumer first(consumerOptions(topic, group), producer, kafkaLogger(), nullptr);
    first.start([&](const Message& m) {
      if (m.value == "stuck") {
        ++attempts;
        return HandleResult::retry("unavailable", "downstream is down");
      }
      first_done.add(m);
      return HandleResult::done();
    });
    ASSERT_TRUE(waitFor([&] { return attempts.load() >= 3; }, 30s)) << attempts.load();
    EXPECT_EQ(first_done.values(), (std::vector<std::string>{"done-0", "done-1"}));
    EXPECT_EQ(first.processed(), 2u);
    first.stop();
  }
  const int attempts_at_stop = attempts.load();
  EXPECT_GE(attempts_at_stop, 3);

  // Second member of the same group: starts at the message that was never finished.
  Recorder second;
  Consumer next(consumerOptions(topic, group), producer, kafkaLogger(), nullptr);
  next.start([&](const Message& m) {
    second.add(m);
    return HandleResult::done();
  });
  ASSERT_TRUE(waitFor([&] { return second.size() >= 2; }, 30s)) << second.size();
  EXPECT_TRUE(waitFor([&] { return next.processed() == 2; }, 5s));
  const auto msgs = second.snapshot();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].value, "stuck");
  EXPECT_EQ(msgs[0].offset, 2);
  EXPECT_EQ(msgs[1].value, "behind");
  EXPECT_EQ(attempts.load(), attempts_at_stop) << "the stopped member kept handling";
}

TEST_F(KafkaTest, BatchesFinishInOrderAndTheRestOfABatchAfterARetryGoesOneByOne) {
  const auto topic = newTopic("batches");
  const auto group = uniqueName("lapor-it-batches");
  Producer producer(producerOptions(), kafkaLogger());
  // Produced before the consumer starts, so its first poll has them all fetched.
  std::vector<OutMessage> msgs;
  for (int i = 0; i < 12; ++i) msgs.push_back({topic, "c", "m-" + std::to_string(i), {}});
  msgs[3].value = "bad";
  msgs[6].value = "flaky";
  produceAll(producer, msgs);
  ASSERT_EQ(kafka::ensureTopics(brokers_, {kafka::kDeadLetterTopic}, 1, 15s), "");

  std::mutex mu;
  std::vector<std::vector<std::string>> calls;  // the values of every call, in order
  std::atomic<int> flaky_calls{0};
  auto opts = consumerOptions(topic, group);
  opts.max_batch = 5;
  Consumer consumer(opts, producer, kafkaLogger(), nullptr);
  consumer.startBatches(
      [&](const std::vector<Message>& batch) {
        std::lock_guard lk(mu);
        std::vector<HandleResult> out;
        calls.emplace_back();
        for (const auto& m : batch) {
          calls.back().push_back(m.value);
          if (m.value == "bad")
            out.push_back(HandleResult::deadLetter("invalid", "not an envelope"));
          else if (m.value == "flaky" && ++flaky_calls < 3)
            out.push_back(HandleResult::retry("unavailable", "downstream is down"));
          else
            out.push_back(HandleResult::done());
        }
        return out;
      });
  ASSERT_TRUE(waitFor([&] { return consumer.processed() == 12; }, 30s)) << consumer.processed();
  consumer.stop();
  std::lock_guard lk(mu);
  size_t largest = 0, bad_seen = 0;
  std::vector<std::string> first_seen;  // every value, in the order it first came
  for (const auto& c : calls) {
    largest = std::max(largest, c.size());
    for (const auto& v : c) {
      bad_seen += v == "bad";
      if (std::find(first_seen.begin(), first_seen.end(), v) == first_seen.end())
        first_seen.push_back(v);
    }
  }
  EXPECT_GT(largest, 1u) << "never more than one message at a time";
  EXPECT_LE(largest, 5u) << "a batch above max_batch";
  EXPECT_EQ(bad_seen, 1u) << "a dead-lettered message was handled again";
  std::vector<std::string> produced;
  for (const auto& m : msgs) produced.push_back(m.value);
  EXPECT_EQ(first_seen, produced) << "a message skipped or read out of order";
  // The batch that asked to retry "flaky": that message alone until it succeeds, then every
  // later message of that batch alone, in order; then batches again.
  auto first = std::find_if(calls.begin(), calls.end(), [](const auto& c) {
    return std::find(c.begin(), c.end(), "flaky") != c.end();
  });
  ASSERT_NE(first, calls.end());
  const auto at = std::find(first->begin(), first->end(), "flaky");
  std::vector<std::vector<std::string>> expected_after{{"flaky"}, {"flaky"}};
  for (auto it = at + 1; it != first->end(); ++it) expected_after.push_back({*it});
  ASSERT_GE(static_cast<size_t>(calls.end() - first - 1), expected_after.size());
  EXPECT_EQ(std::vector<std::vector<std::string>>(first + 1, first + 1 + expected_after.size()),
            expected_after);
  EXPECT_EQ(flaky_calls.load(), 3);

  // Everything was committed: a new member of the group reads only what came after.
  std::atomic<int> again{0};
  produceAll(producer, {{topic, "c", "after", {}}});
  Consumer next(consumerOptions(topic, group), producer, kafkaLogger(), nullptr);
  next.startBatches([&](const std::vector<Message>& batch) {
    std::vector<HandleResult> out;
    for (const auto& m : batch) {
      if (m.value != "after") ++again;
      out.push_back(HandleResult::done());
    }
    return out;
  });
  ASSERT_TRUE(waitFor([&] { return next.processed() == 1; }, 30s)) << next.processed();
  EXPECT_EQ(again.load(), 0) << "committed messages were read again";
}

TEST_F(KafkaTest, TwoMembersOfAGroupShareTheWorkAndAHandOverLosesAndRepeatsNothing) {
  const auto topic = uniqueName("lapor.it.group");
  ASSERT_EQ(kafka::ensureTopics(brokers_, {topic}, 4, 15s), "");
  const auto group = uniqueName("lapor-it-group");
  Producer producer(producerOptions(), kafkaLogger());

  Recorder first_seen, second_seen;
  auto first = std::make_unique<Consumer>(consumerOptions(topic, group), producer, kafkaLogger(),
                                          nullptr);
  Consumer second(consumerOptions(topic, group), producer, kafkaLogger(), nullptr);
  first->start([&](const Message& m) {
    first_seen.add(m);
    return HandleResult::done();
  });
  second.start([&](const Message& m) {
    second_seen.add(m);
    return HandleResult::done();
  });

  // The second member may join after the first took every partition and read all it was
  // given: messages keep coming (keys spread them over the four partitions) until both
  // members have had some, which each does once the group has shared the partitions.
  size_t warm = 0;
  ASSERT_TRUE(waitFor(
      [&] {
        const auto v = "w" + std::to_string(warm++);
        produceAll(producer, {{topic, v, v, {}}});
        return first_seen.size() > 0 && second_seen.size() > 0;
      },
      60s))
      << "both members should have had partitions: " << first_seen.size() << " + "
      << second_seen.size();

  std::vector<OutMessage> batch1, batch2;
  for (int i = 0; i < 200; ++i)
    batch1.push_back({topic, "k" + std::to_string(i), "a" + std::to_string(i), {}});
  for (int i = 0; i < 200; ++i)
    batch2.push_back({topic, "k" + std::to_string(i), "b" + std::to_string(i), {}});
  produceAll(producer, batch1);
  ASSERT_TRUE(
      waitFor([&] { return first_seen.size() + second_seen.size() >= warm + 200; }, 60s))
      << first_seen.size() << " + " << second_seen.size();

  // The first member leaves: it commits what it finished, the second takes its partitions over
  // and continues from there.
  first->stop();
  first.reset();
  produceAll(producer, batch2);
  ASSERT_TRUE(
      waitFor([&] { return first_seen.size() + second_seen.size() >= warm + 400; }, 60s))
      << first_seen.size() << " + " << second_seen.size();
  second.stop();

  std::map<std::string, int> count;
  for (const auto& m : first_seen.snapshot()) ++count[m.value];
  for (const auto& m : second_seen.snapshot()) ++count[m.value];
  EXPECT_EQ(count.size(), warm + 400) << "every message handled";
  for (const auto& [value, n] : count) EXPECT_EQ(n, 1) << value << " handled " << n << " times";
}

// Agency topics have one partition each (kafka.dispatch_partitions), and notification's
// instances share them with the round-robin assignment. Under librdkafka's default (range
// first) the member that sorts first would get partition 0 of every topic, i.e. all of them,
// and the other would sit idle: this test would then time out.
TEST_F(KafkaTest, RoundRobinMembersShareOnePartitionTopics) {
  std::vector<std::string> topics;
  for (int i = 0; i < 6; ++i) topics.push_back(uniqueName("lapor.it.onepart"));
  ASSERT_EQ(kafka::ensureTopics(brokers_, topics, 1, 15s), "");
  const auto group = uniqueName("lapor-it-rr");
  Producer producer(producerOptions(), kafkaLogger());
  auto options = consumerOptions(topics[0], group);
  options.topics = topics;
  options.assignment_strategy = "roundrobin,range";

  Recorder first_seen, second_seen;
  Consumer first(options, producer, kafkaLogger(), nullptr);
  Consumer second(options, producer, kafkaLogger(), nullptr);
  first.start([&](const Message& m) {
    first_seen.add(m);
    return HandleResult::done();
  });
  second.start([&](const Message& m) {
    second_seen.add(m);
    return HandleResult::done();
  });

  // A message to every topic per round, until both members have handled some: before the
  // second member joins, the first holds every topic.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  int rounds = 0;
  while (std::chrono::steady_clock::now() < deadline &&
         (first_seen.size() == 0 || second_seen.size() == 0)) {
    std::vector<OutMessage> round;
    for (const auto& t : topics) round.push_back({t, "k", "r" + std::to_string(rounds), {}});
    produceAll(producer, round);
    ++rounds;
    waitFor([&] { return first_seen.size() > 0 && second_seen.size() > 0; }, 1s);
  }
  EXPECT_GT(first_seen.size(), 0u) << "after " << rounds << " rounds";
  EXPECT_GT(second_seen.size(), 0u) << "after " << rounds << " rounds";
  first.stop();
  second.stop();
}

}  // namespace
}  // namespace lapor::integration

namespace lapor::integration {
namespace {

// Topic settings from configuration against the real broker: an existing topic's retention and
// min ISR are brought to the configured values once (the second start finds nothing to do), a
// replication factor the cluster cannot hold is refused with the key to change, and one that
// differs on an existing topic is reported rather than silently accepted.
TEST(KafkaTopicSettings, ExistingTopicsAreReconciledOnceAndDifferencesReported) {
  const auto brokers = serviceEnv("LAPOR_KAFKA_BROKERS");
  ASSERT_TRUE(brokers) << missingEnvMessage("LAPOR_KAFKA_BROKERS");
  const auto topic = uniqueName("lapor.it.reconcile");
  auto week = kafka::TopicSettings::singleReplica(1);
  week.retention_ms = 7LL * 24 * 3600 * 1000;
  auto r = kafka::ensureTopics(*brokers, {}, {topic}, week, 15s);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.created, std::vector<std::string>{topic});

  auto month = kafka::TopicSettings::singleReplica(1);
  r = kafka::ensureTopics(*brokers, {}, {topic}, month, 15s);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.reconciled.size(), 1u) << ::testing::PrintToString(r.warnings);
  EXPECT_NE(r.reconciled[0].find("retention.ms 604800000 -> 2592000000"), std::string::npos)
      << r.reconciled[0];
  r = kafka::ensureTopics(*brokers, {}, {topic}, month, 15s);
  EXPECT_TRUE(r.reconciled.empty()) << r.reconciled[0];
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];

  auto replicated = month;
  replicated.replication_factor = 3;
  replicated.min_insync_replicas = 2;
  r = kafka::ensureTopics(*brokers, {}, {topic}, replicated, 15s);
  ASSERT_EQ(r.error, "");
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings[0].find("replication factor 1, configured 3"), std::string::npos)
      << r.warnings[0];

  r = kafka::ensureTopics(*brokers, {}, {uniqueName("lapor.it.rf3")}, replicated, 15s);
  EXPECT_NE(r.error.find("kafka.replication_factor=3"), std::string::npos) << r.error;
}

// Agency dispatch topics are created with kafka.dispatch_partitions, every other topic with
// kafka.topic_partitions, and an existing topic that differs is reported with the right key.
TEST(KafkaTopicSettings, DispatchTopicsGetTheirOwnPartitionCount) {
  const auto brokers = serviceEnv("LAPOR_KAFKA_BROKERS");
  ASSERT_TRUE(brokers) << missingEnvMessage("LAPOR_KAFKA_BROKERS");
  const auto agency = uniqueName("it-agency");
  const auto dispatch = kafka::dispatchTopic(agency);
  const auto other = uniqueName("lapor.it.partitions");
  auto s = kafka::TopicSettings::singleReplica(3);
  s.dispatch_partitions = 1;
  auto r = kafka::ensureTopics(*brokers, {}, {dispatch, other}, s, 15s);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(partitionCount(*brokers, dispatch), 1);
  EXPECT_EQ(partitionCount(*brokers, other), 3);

  s.dispatch_partitions = 2;
  r = kafka::ensureTopics(*brokers, {}, {dispatch, other}, s, 15s);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.warnings.size(), 1u) << ::testing::PrintToString(r.warnings);
  EXPECT_NE(r.warnings[0].find(dispatch + ": 1 partitions, configured 2 (kafka.dispatch_partitions"),
            std::string::npos)
      << r.warnings[0];
}

// Where a message of another topic is taken, counted in the bulk topic's messages handled
// before it: the bulk topic's backlog is fetched before it is produced (the first batch waits
// for its acknowledgement), and every batch takes 10 ms of work.
int handledBeforeTheUrgentOne(Producer& producer, const std::string& bulk,
                              const std::string& urgent, ConsumerOptions opts) {
  constexpr int kBacklog = 2000;
  std::vector<std::future<kafka::DeliveryReport>> sent;
  for (int i = 0; i < kBacklog; ++i)
    sent.push_back(producer.produce({bulk, "c" + std::to_string(i % 7), "bulk", {}}));
  for (const auto& r : kafka::awaitReports(sent, 30s)) EXPECT_TRUE(r.ok) << r.error;
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, urgent_sent = false;
  int bulk_handled = 0, urgent_at = -1;
  opts.max_batch = 10;
  Consumer consumer(opts, producer, kafkaLogger(), nullptr);
  consumer.startBatches([&](const std::vector<Message>& batch) {
    std::unique_lock lk(mu);
    if (!started) {
      started = true;
      cv.notify_all();
      cv.wait_for(lk, 30s, [&] { return urgent_sent; });
    }
    for (const auto& m : batch) {
      if (m.topic == urgent)
        urgent_at = bulk_handled;
      else
        ++bulk_handled;
    }
    lk.unlock();
    std::this_thread::sleep_for(10ms);  // the work a batch takes, not a wait for anything
    return std::vector<HandleResult>(batch.size(), HandleResult::done());
  });
  {
    std::unique_lock lk(mu);
    EXPECT_TRUE(cv.wait_for(lk, 30s, [&] { return started; })) << "no batch came";
  }
  auto r = producer.produceAndWait({urgent, "u", "urgent", {}}, 15s);
  EXPECT_TRUE(r.ok) << r.error;
  {
    std::lock_guard lk(mu);
    urgent_sent = true;
  }
  cv.notify_all();
  EXPECT_TRUE(waitFor([&] { return consumer.processed() == kBacklog + 1; }, 60s))
      << consumer.processed();
  consumer.stop();
  std::lock_guard lk(mu);
  return urgent_at;
}

TEST_F(KafkaTest, ALaneTopicIsReadAheadOfTheOtherTopicsBacklog) {
  ASSERT_EQ(kafka::ensureTopics(brokers_, {kafka::kDeadLetterTopic}, 1, 15s), "");
  Producer producer(producerOptions(), kafkaLogger());
  {
    const auto bulk = newTopic("lane-bulk"), urgent = newTopic("lane-urgent");
    auto opts = consumerOptions(bulk, uniqueName("lapor-it-lane"));
    opts.topics.push_back(urgent);
    opts.lane_topics = {urgent};
    const int at = handledBeforeTheUrgentOne(producer, bulk, urgent, opts);
    EXPECT_GE(at, 0);
    EXPECT_LT(at, 1000) << "the lane's message waited behind the other topic's backlog";
  }
  {
    // The same without the lane: it waits behind the backlog the client fetched first.
    const auto bulk = newTopic("nolane-bulk"), urgent = newTopic("nolane-urgent");
    auto opts = consumerOptions(bulk, uniqueName("lapor-it-nolane"));
    opts.topics.push_back(urgent);
    const int at = handledBeforeTheUrgentOne(producer, bulk, urgent, opts);
    EXPECT_GT(at, 1000) << "without a lane the backlog fetched first comes first";
  }
}

TEST_F(KafkaTest, ALaneThatIsNeverEmptyTakesTurnsWithTheOtherTopics) {
  ASSERT_EQ(kafka::ensureTopics(brokers_, {kafka::kDeadLetterTopic}, 1, 15s), "");
  Producer producer(producerOptions(), kafkaLogger());
  const auto bulk = newTopic("turns-bulk"), urgent = newTopic("turns-urgent");
  std::vector<std::future<kafka::DeliveryReport>> sent;
  // Ten times as many on the lane: its batches take over a second, so the other topic's first
  // fetch (its partition may be fetched later than the lane's) arrives while the lane is still
  // full, and from then on the two must take turns.
  constexpr int kBulk = 200, kUrgent = 2000;
  for (int i = 0; i < kUrgent; ++i) {
    if (i < kBulk) sent.push_back(producer.produce({bulk, "b", "bulk", {}}));
    sent.push_back(producer.produce({urgent, "u", "urgent", {}}));
  }
  for (const auto& r : kafka::awaitReports(sent, 30s)) ASSERT_TRUE(r.ok) << r.error;
  auto opts = consumerOptions(bulk, uniqueName("lapor-it-turns"));
  opts.topics.push_back(urgent);
  opts.lane_topics = {urgent};
  opts.max_batch = 10;
  std::mutex mu;
  int urgent_left = kUrgent, bulk_before_last_urgent = 0, mixed = 0;
  Consumer consumer(opts, producer, kafkaLogger(), nullptr);
  consumer.startBatches([&](const std::vector<Message>& batch) {
    {
      std::lock_guard lk(mu);
      const auto lane = std::count_if(batch.begin(), batch.end(),
                                      [&](const Message& m) { return m.topic == urgent; });
      if (lane != 0 && lane != static_cast<long>(batch.size())) ++mixed;
      if (urgent_left > 0) bulk_before_last_urgent += static_cast<int>(batch.size()) - lane;
      urgent_left -= static_cast<int>(lane);
    }
    std::this_thread::sleep_for(5ms);  // the work a batch takes, not a wait for anything
    return std::vector<HandleResult>(batch.size(), HandleResult::done());
  });
  ASSERT_TRUE(waitFor([&] { return consumer.processed() == kBulk + kUrgent; }, 60s))
      << consumer.processed();
  consumer.stop();
  std::lock_guard lk(mu);
  EXPECT_EQ(mixed, 0) << "a batch held lane and other messages";
  // Batches of 10 in turns: every one of the others is done before the lane's last; with the
  // lane always first, none would be.
  EXPECT_GE(bulk_before_last_urgent, kBulk / 2) << "the lane starved the other topic";
}

TEST_F(KafkaTest, ALaneTopicMustBeOneOfTheConsumersTopics) {
  Producer producer(producerOptions(), kafkaLogger());
  auto opts = consumerOptions(newTopic("lane-only"), uniqueName("lapor-it-lane-bad"));
  opts.lane_topics = {"lapor.it.not-subscribed"};
  EXPECT_THROW(Consumer(opts, producer, kafkaLogger(), nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace lapor::integration
