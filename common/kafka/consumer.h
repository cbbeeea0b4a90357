// Group consumer that commits only after the handler's effect is done and dead-letters what
// it cannot process, so one bad message never stops a partition.
#pragma once

#include "kafka/message.h"
#include "kafka/client_security.h"
#include "kafka/lane_poller.h"
#include "kafka/rdkafka_conf.h"
#include "kafka/topic_admin.h"
#include "log/logger.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_message_s;

namespace lapor::kafka {

struct ConsumerOptions {
  std::string brokers;
  std::string group_id;
  std::vector<std::string> topics;
  ClientSecurity security;
  std::string client_id = "lapor";
  std::string service;  // for the dead-letter header and metric names
  std::chrono::milliseconds commit_interval{500};
  std::chrono::milliseconds max_retry_backoff{5000};
  bool read_committed = true;
  // fetch.wait.max.ms: how long the broker holds a fetch that has nothing to return. A
  // read_committed fetch has nothing until the transaction's commit marker moves the last
  // stable offset, so this bounds what a reader can add after a commit.
  std::chrono::milliseconds fetch_wait_max{500};
  // fetch.min.bytes: the broker answers a fetch once this much is there, or after
  // fetch_wait_max. Above 1, fewer and fuller fetches for a wait of at most fetch_wait_max.
  int fetch_min_bytes = 1;
  // startBatches: at most this many messages per batch.
  size_t max_batch = 100;
  // Of `topics`, the ones read first (kafka/lane_poller.h): every poll takes what they hold
  // before the rest, so their messages never wait behind the other topics' backlog.
  std::vector<std::string> lane_topics;
  // partition.assignment.strategy, in order of preference. librdkafka's default, range first,
  // gives partition i of every topic to the same member: with one-partition topics one member
  // would get them all. "roundrobin,range" shares them out topic by topic and still joins a
  // group whose older members offer only range.
  std::string assignment_strategy = "range,roundrobin";
};

using Handler = std::function<HandleResult(const Message&)>;
// What one poll returned, in the order read (at most max_batch messages, from any partitions):
// one result per message. Results are applied in order up to the first Retry (or the end of a
// shorter vector); that message and every later one of the batch then go through the
// one-message path (the same handler with a batch of one, retried with backoff), so a message
// is never counted done before the ones read before it. Effects of messages after a Retry may
// therefore be applied twice: as everywhere here, handlers must be safe to repeat.
using BatchHandler = std::function<std::vector<HandleResult>(const std::vector<Message>&)>;

class Consumer {
 public:
  // `deadletters` must outlive the consumer; `registry` may be null (no metrics).
  Consumer(ConsumerOptions options, MessageSink& deadletters, log::Logger logger,
           prometheus::Registry* registry);
  ~Consumer();  // stop()
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  void start(Handler handler);
  // The same loop, a batch at a time: after the first message (waited for up to 100 ms) it
  // takes whatever else the client has already fetched, without waiting for more; what the
  // lane topics hold comes first.
  void startBatches(BatchHandler handler);
  // Finishes the message in hand, commits what is done, leaves the group.
  void stop();

  // Messages handled to completion (Done or dead-lettered) since start; for tests and health.
  uint64_t processed() const { return processed_.load(); }

 private:
  struct Deleter {
    void operator()(rd_kafka_s* rk) const;
  };
  void loop();
  // False when the consumer stopped before the message was finished.
  bool handle(const Message& msg);
  // Done or dead-lettered: offset stored, true. A dead letter the topic refused becomes a Retry.
  bool finish(const Message& msg, HandleResult& r);
  void handleBatch(const std::vector<Message>& batch);
  void storeOffset(const Message& msg);
  void commit(bool sync);
  bool waitOrStop(std::chrono::milliseconds d);

  ConsumerOptions opt_;
  MessageSink& deadletters_;
  log::Logger log_;
  std::unique_ptr<rd_kafka_s, Deleter> rk_;
  std::unique_ptr<detail::LanePoller> poller_;
  Handler handler_;
  BatchHandler batch_handler_;
  size_t max_batch_ = 1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> processed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false;  // offsets stored since the last commit
  detail::ConsumerMetrics metrics_;
};

// The service-name part of metric names: "sla-monitor" -> "sla_monitor".
std::string metricName(const std::string& service);

}  // namespace lapor::kafka
