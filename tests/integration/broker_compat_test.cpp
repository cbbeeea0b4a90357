// Debian's librdkafka (2.0.x) against the pinned Kafka 4.x broker: the features the system
// relies on (idempotent producer, transactions with read_committed readers, consumer groups)
// must work, or the broker version has to change (docs/architecture.md).
#include "kafka/consumer.h"
#include "log/logger.h"
#include "topic_reader.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>

namespace {

std::string brokers() {
  const char* b = std::getenv("LAPOR_KAFKA_BROKERS");
  if (!b) ADD_FAILURE() << "LAPOR_KAFKA_BROKERS is not set: run the tests with `make test`";
  return b ? b : "";
}

std::string unique(const std::string& base) {
  return base + "-" + std::to_string(std::random_device{}());
}

using Handle = std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)>;

Handle transactionalProducer(const std::string& txn_id) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "transactional.id", txn_id.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  return Handle(rk, rd_kafka_destroy);
}

void ok(rd_kafka_error_t* e, const char* what) {
  if (e) {
    ADD_FAILURE() << what << ": " << rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
  }
}

void produce(rd_kafka_t* rk, const std::string& topic, const std::string& value) {
  ASSERT_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
}

TEST(BrokerCompatibility, TransactionsCommitAndAbortAsSeenByReadCommitted) {
  const auto topic = unique("lapor.test.txn");
  ASSERT_EQ(lapor::kafka::ensureTopics(brokers(), {topic}, 1, std::chrono::seconds(15)), "");
  auto rk = transactionalProducer(unique("lapor-test-txn"));
  ok(rd_kafka_init_transactions(rk.get(), 30000), "init_transactions");

  ok(rd_kafka_begin_transaction(rk.get()), "begin");
  produce(rk.get(), topic, "aborted-1");
  ok(rd_kafka_abort_transaction(rk.get(), 30000), "abort");

  ok(rd_kafka_begin_transaction(rk.get()), "begin");
  produce(rk.get(), topic, "committed-1");
  produce(rk.get(), topic, "committed-2");
  ok(rd_kafka_commit_transaction(rk.get(), 30000), "commit");

  lapor::testing::TopicReader reader(brokers(), topic);
  ASSERT_TRUE(
      reader.readUntil([](const lapor::kafka::Message& m) { return m.value == "committed-2"; },
                       std::chrono::seconds(30)));
  std::vector<std::string> values;
  for (const auto& m : reader.seen()) values.push_back(m.value);
  EXPECT_EQ(values, (std::vector<std::string>{"committed-1", "committed-2"}))
      << "a read_committed reader must not see the aborted message";
}

TEST(BrokerCompatibility, OffsetsSentToATransactionAreCommittedWithIt) {
  // The consume -> produce -> commit loop that exactly-once routing builds on.
  const auto in = unique("lapor.test.txn-in");
  const auto out = unique("lapor.test.txn-out");
  const auto group = unique("lapor-test-txn-group");
  ASSERT_EQ(lapor::kafka::ensureTopics(brokers(), {in, out}, 1, std::chrono::seconds(15)), "");
  ASSERT_TRUE(lapor::testing::produceRaw(brokers(), in, "k", "input"));

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
  Handle consumer(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err), [](rd_kafka_t* rk) {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  });
  ASSERT_TRUE(consumer);
  rd_kafka_poll_set_consumer(consumer.get());
  auto* subs = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(subs, in.c_str(), RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(consumer.get(), subs), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(subs);

  rd_kafka_message_t* msg = nullptr;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!msg && std::chrono::steady_clock::now() < deadline) {
    msg = rd_kafka_consumer_poll(consumer.get(), 200);
    if (msg && msg->err) {
      rd_kafka_message_destroy(msg);
      msg = nullptr;
    }
  }
  ASSERT_NE(msg, nullptr) << "the input message never arrived";
  const int64_t next = msg->offset + 1;
  rd_kafka_message_destroy(msg);

  auto rk = transactionalProducer(unique("lapor-test-txn-loop"));
  ok(rd_kafka_init_transactions(rk.get(), 30000), "init_transactions");
  ok(rd_kafka_begin_transaction(rk.get()), "begin");
  produce(rk.get(), out, "output");
  auto* offsets = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offsets, in.c_str(), 0)->offset = next;
  auto* meta = rd_kafka_consumer_group_metadata(consumer.get());
  ok(rd_kafka_send_offsets_to_transaction(rk.get(), offsets, meta, 30000), "send_offsets");
  rd_kafka_consumer_group_metadata_destroy(meta);
  rd_kafka_topic_partition_list_destroy(offsets);
  ok(rd_kafka_commit_transaction(rk.get(), 30000), "commit");

  auto* committed = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(committed, in.c_str(), 0);
  ASSERT_EQ(rd_kafka_committed(consumer.get(), committed, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(committed->elems[0].offset, next)
      << "the group offset must commit with the transaction";
  rd_kafka_topic_partition_list_destroy(committed);

  lapor::testing::TopicReader reader(brokers(), out);
  EXPECT_TRUE(reader.readUntil([](const lapor::kafka::Message& m) { return m.value == "output"; },
                               std::chrono::seconds(30)));
}

}  // namespace
