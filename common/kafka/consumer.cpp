// Consumer loop after librdkafka's complex consumer example: manual offset store after the
// effect, periodic commit, commit on revoke and on close.
#include "kafka/consumer.h"

#include "kafka/rdkafka_conf.h"
#include "kafka/transactional_processor.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace lapor::kafka {

namespace {

void onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                 void*) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, parts);
  } else {
    // Revoked: commit what is finished before another member takes the partitions over.
    rd_kafka_commit(rk, nullptr, 0);
    rd_kafka_assign(rk, nullptr);
  }
}

}  // namespace

std::string metricName(const std::string& service) {
  std::string s = service;
  for (auto& c : s)
    if (c == '-') c = '_';
  return s;
}

void Consumer::Deleter::operator()(rd_kafka_s* rk) const {
  rd_kafka_destroy(rk);
}

Consumer::Consumer(ConsumerOptions options, MessageSink& deadletters, log::Logger logger,
                   prometheus::Registry* registry)
    : opt_(std::move(options)),
      deadletters_(deadletters),
      log_(std::move(logger)),
      metrics_(registry, opt_.service, opt_.group_id) {
  if (opt_.brokers.empty()) throw std::invalid_argument("kafka.brokers is empty");
  if (opt_.group_id.empty()) throw std::invalid_argument("kafka consumer group id is empty");
  if (opt_.topics.empty()) throw std::invalid_argument("kafka consumer has no topics");
  rd_kafka_conf_t* conf =
      detail::consumerConf(opt_.brokers, opt_.security, opt_.group_id, opt_.client_id, opt_.read_committed);
  detail::setOrThrow(conf, "fetch.wait.max.ms", std::to_string(opt_.fetch_wait_max.count()));
  detail::setOrThrow(conf, "fetch.min.bytes", std::to_string(opt_.fetch_min_bytes));
  detail::setOrThrow(conf, "partition.assignment.strategy", opt_.assignment_strategy);
  rd_kafka_conf_set_rebalance_cb(conf, onRebalance);
  detail::routeLogs(conf, &log_);
  rk_.reset(detail::newConsumer(conf));
  poller_ = std::make_unique<detail::LanePoller>(rk_.get(), opt_.topics, opt_.lane_topics);
}

Consumer::~Consumer() {
  stop();
}

void Consumer::start(Handler handler) {
  handler_ = std::move(handler);
  detail::subscribe(rk_.get(), opt_.topics);
  thread_ = std::thread([this] { loop(); });
}

void Consumer::startBatches(BatchHandler handler) {
  if (opt_.max_batch == 0) throw std::invalid_argument("kafka.max_batch must be at least 1");
  batch_handler_ = std::move(handler);
  max_batch_ = opt_.max_batch;
  // A message the batch left unfinished is retried alone, through the same handler.
  handler_ = [this](const Message& m) {
    auto r = batch_handler_({m});
    return r.empty() ? HandleResult::retry("batch", "the handler returned no result") : r[0];
  };
  detail::subscribe(rk_.get(), opt_.topics);
  thread_ = std::thread([this] { loop(); });
}

void Consumer::stop() {
  {
    std::lock_guard lk(mu_);
    if (stop_.exchange(true) && !thread_.joinable()) return;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (rk_) {
    commit(true);
    poller_.reset();
    rd_kafka_consumer_close(rk_.get());
    rk_.reset();
  }
}

bool Consumer::waitOrStop(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, d, [this] { return stop_.load(); });
}

void Consumer::loop() {
  auto last_commit = std::chrono::steady_clock::now();
  std::vector<Message> batch;
  while (!stop_.load()) {
    batch.clear();
    poller_->poll(batch, batch_handler_ ? max_batch_ : 1, 100, stop_, log_);
    if (batch_handler_ && !batch.empty()) {
      handleBatch(batch);
    } else if (!batch.empty()) {
      handle(batch[0]);
      metrics_.lag(rk_.get(), batch[0].topic, batch[0].partition, batch[0].offset);
    }
    if (dirty_ && std::chrono::steady_clock::now() - last_commit >= opt_.commit_interval) {
      commit(false);
      last_commit = std::chrono::steady_clock::now();
    }
  }
}

bool Consumer::finish(const Message& msg, HandleResult& r) {
  if (r.outcome == Outcome::Done) {
    metrics_.count(msg.topic, "done");
    storeOffset(msg);
    return true;
  }
  if (r.outcome == Outcome::DeadLetter) {
    auto report = deadletters_.produce(deadLetterOf(msg, opt_.service, r.reason, r.detail)).get();
    if (report.ok) {
      log_.warn("message dead-lettered", {{"topic", msg.topic},
                                          {"partition", msg.partition},
                                          {"offset", msg.offset},
                                          {"reason", r.reason},
                                          {"detail", r.detail}});
      metrics_.count(msg.topic, "deadletter");
      metrics_.deadLettered(r.reason);
      storeOffset(msg);
      return true;
    }
    // The dead-letter topic did not take it: keep the message rather than lose it.
    r = HandleResult::retry("deadletter-failed", report.error);
  }
  return false;
}

bool Consumer::handle(const Message& msg) {
  auto backoff = std::chrono::milliseconds(100);
  while (true) {
    HandleResult r;
    try {
      r = handler_(msg);
    } catch (const std::exception& e) {
      // An exception is a transient failure (Redis, broker): never skip the message for it.
      r = HandleResult::retry("exception", e.what());
    }
    if (finish(msg, r)) return true;
    metrics_.count(msg.topic, "retry");
    log_.warn("message will be retried", {{"topic", msg.topic},
                                          {"partition", msg.partition},
                                          {"offset", msg.offset},
                                          {"reason", r.reason},
                                          {"detail", r.detail},
                                          {"backoff_ms", backoff.count()}});
    // Stopping: the offset stays uncommitted, redelivered later.
    if (waitOrStop(backoff)) return false;
    backoff = std::min(backoff * 2, opt_.max_retry_backoff);
  }
}

void Consumer::handleBatch(const std::vector<Message>& batch) {
  std::vector<HandleResult> results;
  try {
    results = batch_handler_(batch);
  } catch (const std::exception& e) {
    // Nothing of the batch counts as done: each message goes through the one-message path.
    log_.warn("batch will be handled one message at a time",
              {{"messages", batch.size()}, {"error", e.what()}});
    results.clear();
  }
  size_t i = 0;
  // In order, up to the first message the batch did not finish: from there on, one at a time
  // with the retry backoff, so a later message is never stored before an earlier one.
  for (; i < batch.size() && i < results.size(); ++i) {
    if (results[i].outcome == Outcome::Retry || !finish(batch[i], results[i])) break;
    metrics_.lag(rk_.get(), batch[i].topic, batch[i].partition, batch[i].offset);
  }
  for (; i < batch.size(); ++i) {
    if (!handle(batch[i])) return;  // stopping: the rest is read again by whoever comes next
    metrics_.lag(rk_.get(), batch[i].topic, batch[i].partition, batch[i].offset);
  }
}

void Consumer::storeOffset(const Message& msg) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, msg.topic.c_str(), msg.partition)->offset =
      msg.offset + 1;
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk_.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) log_.warn("offset not stored (partition revoked?)", {{"error", rd_kafka_err2str(err)}});
  dirty_ = true;
  processed_.fetch_add(1);
}

void Consumer::commit(bool sync) {
  if (!dirty_) return;
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), nullptr, sync ? 0 : 1);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    log_.warn("offset commit failed", {{"error", rd_kafka_err2str(err)}});
  dirty_ = false;
}

}  // namespace lapor::kafka
