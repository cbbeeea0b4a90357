// librdkafka used directly here, so the helpers do not depend on the code under test.
#include "integration_support.h"

#include <librdkafka/rdkafka.h>

#include <cstdlib>
#include <random>
#include <stdexcept>

namespace lapor::integration {

std::optional<std::string> serviceEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

std::string missingEnvMessage(const std::string& name) {
  return name +
         " is not set. The integration tests need a real Kafka broker and Redis: run them with "
         "`make test` (tests/run.sh starts both and sets LAPOR_KAFKA_BROKERS, LAPOR_REDIS_HOST "
         "and LAPOR_REDIS_PORT).";
}

std::string uniqueName(const std::string& prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  std::string out = prefix + "-";
  for (int i = 0; i < 12; ++i) out += kHex[rng() % 16];
  return out;
}

namespace {
std::string errstr(const char* what, const char* err) {
  return std::string(what) + ": " + err;
}

void closeConsumer(rd_kafka_s* rk) {
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

void setConf(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr(key, err));
  }
}
}  // namespace

int partitionCount(const std::string& brokers, const std::string& topic) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  setConf(conf, "bootstrap.servers", brokers);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr("metadata client", err));
  }
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> guard(rk, rd_kafka_destroy);
  // All topics: asking for one by name could create it on a broker that auto-creates.
  const rd_kafka_metadata_t* md = nullptr;
  auto e = rd_kafka_metadata(rk, 1, nullptr, &md, 10'000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(errstr("metadata", rd_kafka_err2str(e)));
  int count = -1;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
      count = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return count;
}

TailReader::TailReader(const std::string& brokers, const std::string& topic)
    : rk_(nullptr, closeConsumer) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  setConf(conf, "bootstrap.servers", brokers);
  setConf(conf, "group.id", uniqueName("lapor-it-tail"));  // never joined: partitions are assigned
  setConf(conf, "enable.auto.commit", "false");
  setConf(conf, "enable.partition.eof", "false");
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr("tail reader", err));
  }
  rk_.reset(rk);
  rd_kafka_poll_set_consumer(rk);

  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  auto e = rd_kafka_metadata(rk, 0, t, &md, 10'000);
  rd_kafka_topic_destroy(t);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(errstr(("metadata of " + topic).c_str(), rd_kafka_err2str(e)));
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> md_guard(
      md, rd_kafka_metadata_destroy);
  if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("topic " + topic + " does not exist");

  rd_kafka_topic_partition_list_t* parts =
      rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    const int32_t p = md->topics[0].partitions[i].id;
    int64_t low = 0, high = 0;
    e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10'000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(parts);
      throw std::runtime_error(errstr("watermarks", rd_kafka_err2str(e)));
    }
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = high;
  }
  e = rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(errstr("assign", rd_kafka_err2str(e)));
}

TailReader::~TailReader() = default;

std::optional<kafka::Message> TailReader::readUntil(
    const std::function<bool(const kafka::Message&)>& pred, std::chrono::milliseconds timeout) {
  for (const auto& m : seen_)
    if (pred(m)) return m;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 100);
    if (!m) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(
        m, rd_kafka_message_destroy);
    if (m->err) continue;
    kafka::Message out;
    out.topic = rd_kafka_topic_name(m->rkt);
    out.partition = m->partition;
    out.offset = m->offset;
    if (m->key) out.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) out.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* h = nullptr;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h) {
      const char* name;
      const void* val;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
        out.headers.emplace_back(name, val ? std::string(static_cast<const char*>(val), size) : "");
    }
    seen_.push_back(std::move(out));
    if (pred(seen_.back())) return seen_.back();
  }
  return std::nullopt;
}

}  // namespace lapor::integration
