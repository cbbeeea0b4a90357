// librdkafka used directly, so the tests do not depend on the code they check.
#include "topic_reader.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace lapor::testing {

namespace {
void destroy(rd_kafka_s* rk) {
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}
}  // namespace

TopicReader::TopicReader(const std::string& brokers, const std::string& topic, From from)
    : rk_(nullptr, destroy), topic_(topic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "lapor-test-reader", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
  // A reader from the beginning must not jump to the end when its first fetch hits an offset
  // error on a broker that is still starting (the default reset is "latest").
  if (from == From::Beginning)
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(err);
  rk_.reset(rk);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  // A topic that does not exist would give a reader of no partitions, which reads nothing and
  // so "finds nothing": wait a while for whoever creates it, then say so.
  const auto exists_by = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1)
      throw std::runtime_error("no metadata for topic " + topic);
    if (md->topics[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;
    rd_kafka_metadata_destroy(md);
    md = nullptr;
    if (std::chrono::steady_clock::now() >= exists_by)
      throw std::runtime_error("topic " + topic +
                               " does not exist: start what creates it before reading it");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(8);
  partitions_ = md->topics[0].partition_cnt;
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    const int32_t p = md->topics[0].partitions[i].id;
    int64_t low = 0, high = 0;
    if (from == From::End) {
      // A topic created a moment ago may not have its partition leaders yet: ask again, with
      // each query's own timeout as the wait, until the deadline.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
      do {
        err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 2000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_poll(rk, 100);  // metadata refresh
      } while (err != RD_KAFKA_RESP_ERR_NO_ERROR && std::chrono::steady_clock::now() < deadline);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error("no watermarks for " + topic + ": " + rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset =
        from == From::End ? high : RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
}

TopicReader::~TopicReader() = default;

std::optional<kafka::Message> TopicReader::readUntil(
    const std::function<bool(const kafka::Message&)>& pred, std::chrono::milliseconds timeout) {
  for (const auto& m : seen_)
    if (pred(m)) return m;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 100);
    if (!m) continue;
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) eof_at_[m->partition] = m->offset;
      rd_kafka_message_destroy(m);
      continue;
    }
    eof_at_.erase(m->partition);
    kafka::Message out;
    out.topic = rd_kafka_topic_name(m->rkt);
    out.partition = m->partition;
    out.offset = m->offset;
    if (m->key) out.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) out.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* h = nullptr;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* val;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; ++i)
        out.headers.emplace_back(name, val ? std::string(static_cast<const char*>(val), size) : "");
    }
    rd_kafka_message_destroy(m);
    seen_.push_back(std::move(out));
    if (pred(seen_.back())) return seen_.back();
  }
  return std::nullopt;
}

bool TopicReader::readToEnd(std::chrono::milliseconds timeout) {
  std::map<int32_t, int64_t> high;
  for (int32_t p = 0; p < partitions_; ++p) {
    int64_t low = 0;
    if (rd_kafka_query_watermark_offsets(rk_.get(), topic_.c_str(), p, &low, &high[p],
                                         static_cast<int>(timeout.count())) != 0)
      return false;
  }
  auto done = [&] {
    for (const auto& [p, h] : high) {
      auto it = eof_at_.find(p);
      if (it == eof_at_.end() || it->second < h) return false;
    }
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    readUntil([](const kafka::Message&) { return false; }, std::chrono::milliseconds(100));
  }
  return true;
}

bool produceRaw(const std::string& brokers, const std::string& topic, const std::string& key,
                const std::string& value) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) return false;
  auto e =
      rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  bool ok = e == RD_KAFKA_RESP_ERR_NO_ERROR && rd_kafka_flush(rk, 10000) == 0;
  rd_kafka_destroy(rk);
  return ok;
}

void commitGroupsAtEnd(const std::string& brokers, const std::vector<std::string>& groups) {
  using Handle = std::unique_ptr<rd_kafka_s, void (*)(rd_kafka_s*)>;
  auto consumer = [&](const std::string& group) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) throw std::runtime_error(err);
    return Handle(rk, destroy);
  };
  if (groups.empty()) return;
  // The ends, read once: every group is committed at the same positions.
  std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>
      ends(rd_kafka_topic_partition_list_new(64), rd_kafka_topic_partition_list_destroy);
  {
    auto rk = consumer(groups.front());
    const rd_kafka_metadata_t* raw_md = nullptr;
    if (rd_kafka_metadata(rk.get(), 1, nullptr, &raw_md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("no metadata from " + brokers);
    std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> md(
        raw_md, rd_kafka_metadata_destroy);
    for (int t = 0; t < md->topic_cnt; ++t) {
      const std::string topic = md->topics[t].topic;
      if (topic.starts_with("__")) continue;  // the broker's own
      for (int i = 0; i < md->topics[t].partition_cnt; ++i) {
        const int32_t p = md->topics[t].partitions[i].id;
        int64_t low = 0, high = 0;
        const auto e =
            rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &low, &high, 10000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
          throw std::runtime_error("no watermarks for " + topic + ": " + rd_kafka_err2str(e));
        if (high > 0) rd_kafka_topic_partition_list_add(ends.get(), topic.c_str(), p)->offset = high;
      }
    }
  }
  if (ends->cnt == 0) return;
  for (const auto& group : groups) {
    const auto e = rd_kafka_commit(consumer(group).get(), ends.get(), 0);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("committing the topics' ends for group " + group + ": " +
                               rd_kafka_err2str(e));
  }
}

}  // namespace lapor::testing
