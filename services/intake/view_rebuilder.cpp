// A group-less reader with every partition assigned from the beginning and partition EOF
// events on, so "caught up" is the broker's own word rather than a guess.
#include "view_rebuilder.h"

#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <set>
#include <stdexcept>

namespace lapor::intake {

namespace {
uint64_t dropView(redis::RedisClient& redis) {
  uint64_t dropped = 0;
  std::string cursor = "0";
  do {
    auto r = redis.command({"SCAN", cursor, "MATCH", redis.key("view:*"), "COUNT", "1000"});
    if (r.elements.size() != 2) throw redis::RedisError("unexpected SCAN reply");
    cursor = r.elements[0].str;
    std::vector<std::string> del{"UNLINK"};
    for (const auto& k : r.elements[1].elements) del.push_back(k.str);
    if (del.size() > 1) dropped += static_cast<uint64_t>(redis.command(del).integer);
  } while (cursor != "0");
  return dropped;
}
}  // namespace

RebuildStats rebuildView(const std::string& brokers, const kafka::ClientSecurity& security,
                         redis::RedisClient& redis,
                         ViewHandler& handler, const log::Logger& logger,
                         std::chrono::milliseconds timeout) {
  using kafka::detail::setOrThrow;
  const std::string topic = kafka::kComplaintsTopic;
  rd_kafka_conf_t* conf = kafka::detail::clientConf(brokers, security);
  setOrThrow(conf, "group.id", "lapor-intake-rebuild");  // required by the API; never joined
  setOrThrow(conf, "enable.auto.commit", "false");
  setOrThrow(conf, "enable.partition.eof", "true");
  setOrThrow(conf, "isolation.level", "read_committed");
  kafka::detail::routeLogs(conf, &logger);
  char err[512];
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!raw) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka: ") + err);
  }
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(raw, [](rd_kafka_t* k) {
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
  });
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  const auto merr = rd_kafka_metadata(rk.get(), 0, t, &md, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(t);
  if (merr != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("kafka (kafka.brokers=" + brokers + "): no metadata for " + topic +
                             ": " + rd_kafka_err2str(merr));
  std::set<int32_t> open;
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(8);
  for (int i = 0; md->topic_cnt == 1 && i < md->topics[0].partition_cnt; ++i) {
    const int32_t p = md->topics[0].partitions[i].id;
    open.insert(p);
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_metadata_destroy(md);

  RebuildStats stats;
  stats.keys_dropped = dropView(redis);
  rd_kafka_assign(rk.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!open.empty()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("kafka: did not reach the end of " + topic + " in time");
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 200);
    if (!m) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(
        m, rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      open.erase(m->partition);
      continue;
    }
    if (m->err) {
      logger.warn("rebuild: consumer error", {{"error", rd_kafka_message_errstr(m)}});
      continue;
    }
    kafka::Message msg;
    msg.topic = topic;
    msg.partition = m->partition;
    msg.offset = m->offset;
    if (m->key) msg.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) msg.value.assign(static_cast<const char*>(m->payload), m->len);
    ++stats.events;
    if (handler.handle(msg).outcome != kafka::Outcome::Done) ++stats.undecodable;
  }
  return stats;
}

}  // namespace lapor::intake
