// Exactly-once consume -> transform -> produce: each batch of consumed messages, the messages a
// handler derives from them (and any dead letters) and the consumed offsets are committed in
// one Kafka transaction, after librdkafka's transactions example. A crash or an aborted
// transaction rewinds to the last committed offsets, so read_committed readers see every
// output exactly once.
//
// With `Delivery::Idempotent` the same loop produces with an idempotent producer instead, waits
// for the batch's delivery reports and then commits the offsets: no transaction and no wait for
// commit markers, but a crash (or a failed delivery) between the produce and the offset commit
// replays the batch, so a reader may see an output again. The handler's outputs are the same
// bytes on a replay (derived ids), so a reader that drops a repeated event id sees each once.
#pragma once

#include "kafka/lane_poller.h"
#include "kafka/message.h"
#include "kafka/producer.h"
#include "kafka/rdkafka_conf.h"
#include "log/logger.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_error_s;
struct rd_kafka_topic_partition_list_s;

namespace lapor::kafka {

// How outputs and offsets are committed together (see the top of this file).
enum class Delivery {
  Transactions,  // exactly once for read_committed readers
  Idempotent,    // at least once, a repeat carries the same event id and bytes
};

struct TransactionalOptions {
  Delivery delivery = Delivery::Transactions;
  std::string brokers;
  std::string group_id;
  std::vector<std::string> topics;
  ClientSecurity security;
  std::string client_id = "lapor";
  std::string service;  // dead-letter header and metric names
  // Stable per instance: a restarted instance with the same id fences its predecessor and
  // aborts the transaction it left open, instead of waiting for the transaction timeout.
  // Required with Delivery::Transactions only.
  std::string transactional_id;
  // Static group membership (group.instance.id); "" for dynamic membership. With it a restart
  // takes its partitions back at once instead of after the session timeout.
  std::string group_instance_id;
  std::chrono::milliseconds session_timeout{10'000};
  std::chrono::milliseconds transaction_timeout{30'000};
  std::chrono::milliseconds operation_timeout{30'000};  // init/commit/abort calls
  // librdkafka retry.backoff.ms of the producer: what AddPartitionsToTxn/AddOffsetsToTxn wait
  // before asking again when the coordinator answers CONCURRENT_TRANSACTIONS, i.e. while the
  // previous commit's markers are still being written. Its 100 ms default would be paid by
  // almost every transaction that follows another closely.
  std::chrono::milliseconds retry_backoff{10};
  // librdkafka linger.ms of the producer: how long a batch's outputs may wait for more to share
  // a produce request. Every output pays it once on its way to its readers.
  int linger_ms = 1;
  // Consumer fetch.wait.max.ms (see ConsumerOptions::fetch_wait_max).
  std::chrono::milliseconds fetch_wait_max{500};
  int fetch_min_bytes = 1;  // (see ConsumerOptions::fetch_min_bytes)
  size_t max_batch = 500;
  // Of `topics`, the ones read first (kafka/lane_poller.h).
  std::vector<std::string> lane_topics;
  // A batch that produces nothing (events this service only reads past, or state it only
  // remembers) starts no transaction: its offsets wait for the next transaction that produces,
  // or are committed alone once they are this old. A crash before then replays those messages,
  // whose effects are idempotent by contract (see TransformHandler).
  std::chrono::milliseconds idle_commit_interval{1000};
  // Delivery::Idempotent: the offsets of a batch whose outputs the broker confirmed are
  // committed with the next ones once they are this old, not after every batch (an offset
  // commit is a write of the group coordinator's: one per batch is about one per complaint at
  // low rates). A crash or a partition moving to another instance produces at most this much
  // again, with the same event ids, which every reader drops as repeats.
  std::chrono::milliseconds commit_interval{200};
  std::chrono::milliseconds max_retry_backoff{5000};
};

// What the handler derived from one message.
struct TransformResult {
  Outcome outcome = Outcome::Done;
  std::string reason;  // bounded code: metric label and dead-letter header
  std::string detail;
  std::vector<OutMessage> out;  // produced in the transaction when Done

  static TransformResult done(std::vector<OutMessage> out = {}) {
    TransformResult r;
    r.out = std::move(out);
    return r;
  }
  static TransformResult deadLetter(std::string reason, std::string detail) {
    return {Outcome::DeadLetter, std::move(reason), std::move(detail), {}};
  }
  static TransformResult retry(std::string reason, std::string detail) {
    return {Outcome::Retry, std::move(reason), std::move(detail), {}};
  }
};

// Called again for the same message after an abort or a crash: effects outside Kafka must be
// idempotent (routing keys them by the cause's id).
using TransformHandler = std::function<TransformResult(const Message&)>;
// The same for a whole batch (what one poll returned, in the order read): one result per
// message, in the batch's order, so a handler can read and write its state for the batch in
// one round trip. A Retry anywhere abandons the batch, as with TransformHandler.
using TransformBatchHandler =
    std::function<std::vector<TransformResult>(const std::vector<Message>&)>;

// The dead-letter copy of `msg` with the reason and the source in headers (lapor.dlq.*).
OutMessage deadLetterOf(const Message& msg, const std::string& service, const std::string& reason,
                        const std::string& detail);

class TransactionalProcessor {
 public:
  // `registry` may be null (no metrics).
  TransactionalProcessor(TransactionalOptions options, log::Logger logger,
                         prometheus::Registry* registry);
  ~TransactionalProcessor();  // stop()
  TransactionalProcessor(const TransactionalProcessor&) = delete;
  TransactionalProcessor& operator=(const TransactionalProcessor&) = delete;

  // Initialises transactions (fencing an earlier instance with the same id), subscribes and
  // starts the loop thread. Throws when the broker refuses.
  void start(TransformHandler handler);
  void start(TransformBatchHandler handler);
  // Finishes or aborts the batch in hand and leaves the group.
  void stop();

  // Messages whose offsets committed since start (with their outputs); for tests and health.
  uint64_t committed() const { return committed_.load(); }
  uint64_t aborted() const { return aborted_.load(); }

 private:
  struct Deleter {
    void operator()(rd_kafka_s* rk) const;
  };
  void makeProducer();
  void loop();
  std::vector<Message> collect();
  // True when the batch committed; false when it was aborted (and the consumer rewound).
  bool runTransaction(const std::vector<Message>& batch);
  // Delivery::Idempotent: waits for every delivery report of a batch; null when all were
  // delivered.
  rd_kafka_error_s* awaitDeliveries(std::vector<std::future<DeliveryReport>>& reports);
  // Delivery::Idempotent: commits the given next offsets of still-assigned partitions.
  rd_kafka_error_s* commitConsumerOffsets(
      const std::map<std::pair<std::string, int32_t>, int64_t>& next, bool async);
  // The still-assigned partitions of `next`, with their offsets (caller destroys).
  rd_kafka_topic_partition_list_s* assignedOffsets(
      const std::map<std::pair<std::string, int32_t>, int64_t>& next);
  bool transactions() const { return opt_.delivery == Delivery::Transactions; }
  // Commits the offsets still pending: with Transactions those of batches that produced
  // nothing, in a transaction of their own; with Idempotent every batch's, asynchronously
  // unless `stopping` (the last commit before the group is left).
  bool flushPending(bool stopping = false);
  // send_offsets_to_transaction for the given next offsets of still-assigned partitions.
  rd_kafka_error_s* commitOffsets(const std::map<std::pair<std::string, int32_t>, int64_t>& next);
  bool pendingDue() const;
  void rewind(const std::vector<Message>& batch);
  bool waitOrStop(std::chrono::milliseconds d);

  TransactionalOptions opt_;
  log::Logger log_;
  std::unique_ptr<rd_kafka_s, Deleter> consumer_;
  std::unique_ptr<detail::LanePoller> poller_;
  std::unique_ptr<rd_kafka_s, Deleter> producer_;
  TransformBatchHandler handler_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> aborted_{0};
  // Delivery::Idempotent: the project's idempotent producer; producer_ stays null.
  std::unique_ptr<Producer> plain_;
  std::chrono::milliseconds backoff_{100};
  // Next offsets not committed yet: of the batches that produced nothing, and with Idempotent
  // of those whose outputs were delivered.
  std::map<std::pair<std::string, int32_t>, int64_t> pending_;
  uint64_t pending_count_ = 0;
  std::chrono::steady_clock::time_point pending_since_{};
  // How old the oldest pending offset may get: idle_commit_interval, or commit_interval once
  // a batch with outputs is among them.
  std::chrono::milliseconds pending_limit_{};
  std::mutex mu_;
  std::condition_variable cv_;
  detail::ConsumerMetrics metrics_;
  prometheus::Family<prometheus::Counter>* transactions_ = nullptr;
};

}  // namespace lapor::kafka
