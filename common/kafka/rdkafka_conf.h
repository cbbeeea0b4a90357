// librdkafka configuration helpers shared by the producer, the consumer and topic creation.
#pragma once

#include "kafka/client_security.h"
#include "kafka/message.h"
#include "log/logger.h"

#include <librdkafka/rdkafka.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace lapor::kafka::detail {

// Sets one property; on a bad key or value destroys `conf` and throws std::invalid_argument
// naming the property.
void setOrThrow(rd_kafka_conf_t* conf, const std::string& key, const std::string& value);

// A new consumer configuration with what every consumer here sets: brokers and security,
// group, client id, offsets committed and stored by hand, `earliest` for a new group, the
// isolation level, and no partition-EOF events. Callers add their own properties, then call
// newConsumer.
// How often a consumer refreshes topic metadata, so a subscribed topic created after the
// subscription is joined within this long.
inline constexpr int kTopicRefreshMs = 10'000;

rd_kafka_conf_t* consumerConf(const std::string& brokers, const ClientSecurity& security,
                              const std::string& group_id, const std::string& client_id,
                              bool read_committed);

// The consumer handle for `conf` (taken over; destroyed on failure), its main queue redirected
// to the consumer queue; throws std::runtime_error with librdkafka's reason.
rd_kafka_t* newConsumer(rd_kafka_conf_t* conf);

// Routes librdkafka's own log lines through `logger` (which must outlive the handle) instead
// of raw stderr. Uses the handle's opaque pointer.
void routeLogs(rd_kafka_conf_t* conf, const log::Logger* logger);

// A consumed librdkafka message as our own Message (key, value, headers, timestamp).
Message toMessage(const rd_kafka_message_t* m);

// Polls `rk` until `batch` holds `max` messages or nothing more is at hand: the first poll
// waits up to `first_wait_ms`, later ones take only what is already fetched. Consumer errors
// other than partition EOF are logged and skipped. A rebalance inside a poll may move a
// partition back to its committed offset: what the batch holds of it from that offset on is
// dropped, so no message is in the batch twice.
void pollBatch(rd_kafka_t* rk, std::vector<Message>& batch, size_t max, int first_wait_ms,
               const std::atomic<bool>& stop, const log::Logger& log);
// The same, from any source of messages: `poll(timeout_ms)` gives the next one or null.
void pollBatchFrom(const std::function<rd_kafka_message_t*(int)>& poll,
                   std::vector<Message>& batch, size_t max, int first_wait_ms,
                   const std::atomic<bool>& stop, const log::Logger& log);

// Subscribes a consumer handle to `topics` (group-managed partitions); throws on failure.
void subscribe(rd_kafka_t* rk, const std::vector<std::string>& topics);

// What every consumer of a service reports: messages by group, topic and outcome, dead letters
// by reason, and the lag behind each partition's end by group. The group tells two consumers of
// one service on the same topic apart (intake's view and its reporter notices). Without a
// registry it records nothing.
class ConsumerMetrics {
 public:
  ConsumerMetrics() = default;
  ConsumerMetrics(prometheus::Registry* registry, const std::string& service,
                  const std::string& group);
  void count(const std::string& topic, const char* outcome);
  void deadLettered(const std::string& reason);
  // Messages after `offset` up to the partition's end, from the handle's cached watermarks
  // (no broker round trip).
  void lag(rd_kafka_t* rk, const std::string& topic, int32_t partition, int64_t offset);

 private:
  prometheus::Family<prometheus::Counter>* messages_ = nullptr;
  prometheus::Family<prometheus::Counter>* deadlettered_ = nullptr;
  prometheus::Family<prometheus::Gauge>* lag_ = nullptr;
  std::string group_;
};

}  // namespace lapor::kafka::detail
