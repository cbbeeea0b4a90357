// See rdkafka_conf.h.
#include "kafka/rdkafka_conf.h"

#include "kafka/consumer.h"

#include <algorithm>
#include <map>

#include <memory>
#include <stdexcept>

namespace lapor::kafka::detail {

namespace {
void onLog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* logger = static_cast<const log::Logger*>(rd_kafka_opaque(rk));
  if (!logger) return;
  nlohmann::json f = {{"facility", fac}, {"detail", buf}};
  if (level <= 3)
    logger->error("librdkafka", f);
  else if (level <= 4)
    logger->warn("librdkafka", f);
  else if (level <= 6)
    logger->info("librdkafka", f);
  else
    logger->debug("librdkafka", f);
}
}  // namespace

void setOrThrow(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::invalid_argument("kafka property " + key + "=" + value + ": " + err);
  }
}

rd_kafka_conf_t* consumerConf(const std::string& brokers, const ClientSecurity& security,
                              const std::string& group_id, const std::string& client_id,
                              bool read_committed) {
  rd_kafka_conf_t* conf = clientConf(brokers, security);
  setOrThrow(conf, "group.id", group_id);
  setOrThrow(conf, "client.id", client_id);
  setOrThrow(conf, "enable.auto.commit", "false");
  setOrThrow(conf, "enable.auto.offset.store", "false");
  setOrThrow(conf, "auto.offset.reset", "earliest");
  setOrThrow(conf, "isolation.level", read_committed ? "read_committed" : "read_uncommitted");
  setOrThrow(conf, "enable.partition.eof", "false");
  // A topic subscribed to before it exists (a service started before the one that creates it)
  // is picked up at the next metadata refresh: every 10 s, not librdkafka's 5 min.
  setOrThrow(conf, "topic.metadata.refresh.interval.ms", std::to_string(kTopicRefreshMs));
  return conf;
}

rd_kafka_t* newConsumer(rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

void routeLogs(rd_kafka_conf_t* conf, const log::Logger* logger) {
  rd_kafka_conf_set_log_cb(conf, onLog);
  rd_kafka_conf_set_opaque(conf, const_cast<log::Logger*>(logger));
}

void pollBatchFrom(const std::function<rd_kafka_message_t*(int)>& poll,
                   std::vector<Message>& batch, size_t max, int first_wait_ms,
                   const std::atomic<bool>& stop, const log::Logger& log) {
  // The last offset the batch holds of each partition: a message at or before it means the
  // partition was moved back (a rebalance inside a poll), which is rare; checking the whole
  // batch for every message made a batch of n messages cost n * n / 2 comparisons.
  std::map<std::pair<std::string, int32_t>, int64_t> last;
  for (const auto& b : batch) {
    auto& l = last[{b.topic, b.partition}];
    l = std::max(l, b.offset);
  }
  int timeout = first_wait_ms;
  while (batch.size() < max && !stop.load()) {
    rd_kafka_message_t* raw = poll(timeout);
    if (!raw) break;
    timeout = 0;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> m(raw,
                                                                         rd_kafka_message_destroy);
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        log.warn("kafka consumer error", {{"error", rd_kafka_message_errstr(m.get())}});
      continue;
    }
    auto msg = toMessage(m.get());
    auto [at, fresh] = last.try_emplace({msg.topic, msg.partition}, msg.offset);
    if (!fresh) {
      if (msg.offset <= at->second) {
        std::erase_if(batch, [&](const Message& b) {
          return b.topic == msg.topic && b.partition == msg.partition && b.offset >= msg.offset;
        });
      }
      at->second = msg.offset;
    }
    batch.push_back(std::move(msg));
  }
}

void pollBatch(rd_kafka_t* rk, std::vector<Message>& batch, size_t max, int first_wait_ms,
               const std::atomic<bool>& stop, const log::Logger& log) {
  pollBatchFrom([rk](int timeout) { return rd_kafka_consumer_poll(rk, timeout); }, batch, max,
                first_wait_ms, stop, log);
}

Message toMessage(const rd_kafka_message_t* m) {
  Message out;
  out.topic = rd_kafka_topic_name(m->rkt);
  out.partition = m->partition;
  out.offset = m->offset;
  if (m->key) out.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload) out.value.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_timestamp_type_t tstype;
  out.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
    const char* name;
    const void* val;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
      out.headers.emplace_back(name, val ? std::string(static_cast<const char*>(val), size) : "");
  }
  return out;
}

void subscribe(rd_kafka_t* rk, const std::vector<std::string>& topics) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const auto& t : topics)
    rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) throw std::runtime_error(std::string("kafka subscribe: ") + rd_kafka_err2str(err));
}

ConsumerMetrics::ConsumerMetrics(prometheus::Registry* registry, const std::string& service,
                                 const std::string& group)
    : group_(group) {
  if (!registry) return;
  const auto svc = metricName(service.empty() ? "lapor" : service);
  messages_ = &prometheus::BuildCounter()
                   .Name("lapor_" + svc + "_consumed_messages_total")
                   .Help("Kafka messages handled, by consumer group, topic and outcome")
                   .Register(*registry);
  deadlettered_ = &prometheus::BuildCounter()
                       .Name("lapor_" + svc + "_deadletters_total")
                       .Help("Messages sent to the dead-letter topic, by reason")
                       .Register(*registry);
  lag_ = &prometheus::BuildGauge()
              .Name("lapor_" + svc + "_consumer_lag_messages")
              .Help("Messages behind the partition's end after the last one handled, by consumer group")
              .Register(*registry);
}

void ConsumerMetrics::count(const std::string& topic, const char* outcome) {
  if (messages_) messages_->Add({{"group", group_}, {"topic", topic}, {"outcome", outcome}}).Increment();
}

void ConsumerMetrics::deadLettered(const std::string& reason) {
  if (deadlettered_) deadlettered_->Add({{"reason", reason}}).Increment();
}

void ConsumerMetrics::lag(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                          int64_t offset) {
  int64_t low = 0, high = 0;
  if (!lag_ || rd_kafka_get_watermark_offsets(rk, topic.c_str(), partition, &low, &high) != 0)
    return;
  lag_->Add({{"group", group_}, {"topic", topic}, {"partition", std::to_string(partition)}})
      .Set(static_cast<double>(std::max<int64_t>(0, high - offset - 1)));
}

}  // namespace lapor::kafka::detail
