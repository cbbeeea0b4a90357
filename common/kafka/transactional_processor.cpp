// Transactional loop: poll a batch, transform every message, produce the results and the
// batch's offsets in one transaction; abort and rewind on any failure, recreate the producer
// when it was fenced or failed fatally.
#include "kafka/transactional_processor.h"

#include "kafka/consumer.h"
#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace lapor::kafka {

namespace {

using ErrorPtr = std::unique_ptr<rd_kafka_error_t, void (*)(rd_kafka_error_t*)>;
ErrorPtr wrap(rd_kafka_error_t* e) {
  return ErrorPtr(e, rd_kafka_error_destroy);
}

// Per partition, the first (for rewinding) and the next (for committing) offset of a batch.
struct Span {
  int64_t first = -1;
  int64_t next = -1;
};
std::map<std::pair<std::string, int32_t>, Span> spans(const std::vector<Message>& batch) {
  std::map<std::pair<std::string, int32_t>, Span> out;
  for (const auto& m : batch) {
    auto& s = out[{m.topic, m.partition}];
    if (s.first < 0) s.first = m.offset;
    s.next = m.offset + 1;
  }
  return out;
}

// Next offsets per partition moved past a batch's spans.
void advance(std::map<std::pair<std::string, int32_t>, int64_t>& next,
             const std::map<std::pair<std::string, int32_t>, Span>& batch) {
  for (const auto& [tp, s] : batch) next[tp] = std::max(next[tp], s.next);
}

}  // namespace

OutMessage deadLetterOf(const Message& msg, const std::string& service, const std::string& reason,
                        const std::string& detail) {
  OutMessage dl{kDeadLetterTopic, msg.key, msg.value, msg.headers};
  dl.headers.emplace_back("lapor.dlq.reason", reason);
  dl.headers.emplace_back("lapor.dlq.detail", detail);
  dl.headers.emplace_back("lapor.dlq.source.topic", msg.topic);
  dl.headers.emplace_back("lapor.dlq.source.partition", std::to_string(msg.partition));
  dl.headers.emplace_back("lapor.dlq.source.offset", std::to_string(msg.offset));
  dl.headers.emplace_back("lapor.dlq.service", service);
  return dl;
}

void TransactionalProcessor::Deleter::operator()(rd_kafka_s* rk) const {
  rd_kafka_destroy(rk);
}

TransactionalProcessor::TransactionalProcessor(TransactionalOptions options, log::Logger logger,
                                               prometheus::Registry* registry)
    : opt_(std::move(options)), log_(std::move(logger)), metrics_(registry, opt_.service, opt_.group_id) {
  if (opt_.brokers.empty()) throw std::invalid_argument("kafka.brokers is empty");
  if (opt_.group_id.empty()) throw std::invalid_argument("kafka consumer group id is empty");
  if (opt_.topics.empty()) throw std::invalid_argument("kafka consumer has no topics");
  if (transactions() && opt_.transactional_id.empty())
    throw std::invalid_argument("kafka transactional id is empty (set the instance id)");
  if (registry && transactions()) {
    const auto svc = metricName(opt_.service.empty() ? "lapor" : opt_.service);
    transactions_ = &prometheus::BuildCounter()
                         .Name("lapor_" + svc + "_transactions_total")
                         .Help("Kafka transactions, by outcome (committed, aborted)")
                         .Register(*registry);
  }
  rd_kafka_conf_t* conf = detail::consumerConf(opt_.brokers, opt_.security, opt_.group_id,
                                                opt_.client_id, true);
  if (!opt_.group_instance_id.empty())
    detail::setOrThrow(conf, "group.instance.id", opt_.group_instance_id);
  detail::setOrThrow(conf, "session.timeout.ms", std::to_string(opt_.session_timeout.count()));
  detail::setOrThrow(conf, "fetch.wait.max.ms", std::to_string(opt_.fetch_wait_max.count()));
  detail::setOrThrow(conf, "fetch.min.bytes", std::to_string(opt_.fetch_min_bytes));
  detail::routeLogs(conf, &log_);
  consumer_.reset(detail::newConsumer(conf));
  poller_ =
      std::make_unique<detail::LanePoller>(consumer_.get(), opt_.topics, opt_.lane_topics);
}

TransactionalProcessor::~TransactionalProcessor() {
  stop();
}

void TransactionalProcessor::makeProducer() {
  if (!transactions()) {
    // Idempotent: retries never duplicate or reorder within a producer's session; a replay
    // after a crash may repeat a batch (see the header). A delivery report comes within the
    // operation timeout, delivered or not.
    ProducerOptions o;
    o.brokers = opt_.brokers;
    o.security = opt_.security;
    o.client_id = opt_.client_id;
    o.linger_ms = opt_.linger_ms;
    o.message_timeout_ms = static_cast<int>(opt_.operation_timeout.count());
    plain_.reset();  // the old one, if any, first delivers or fails what it still holds
    plain_ = std::make_unique<Producer>(o, log_);
    return;
  }

  // The new producer is built and initialised before the old one goes: init_transactions fences
  // the old one anyway, and if it fails the loop keeps a handle whose next transaction fails
  // and comes back here after the backoff.
  rd_kafka_conf_t* conf = detail::clientConf(opt_.brokers, opt_.security);
  detail::setOrThrow(conf, "client.id", opt_.client_id);
  detail::setOrThrow(conf, "transactional.id", opt_.transactional_id);
  detail::setOrThrow(conf, "transaction.timeout.ms",
                     std::to_string(opt_.transaction_timeout.count()));
  detail::setOrThrow(conf, "linger.ms", std::to_string(opt_.linger_ms));
  detail::setOrThrow(conf, "retry.backoff.ms", std::to_string(opt_.retry_backoff.count()));
  detail::routeLogs(conf, &log_);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka transactional producer: ") + err);
  }
  std::unique_ptr<rd_kafka_s, Deleter> fresh(rk);
  // Fences any earlier producer with this transactional.id and aborts what it left open.
  auto e = wrap(rd_kafka_init_transactions(rk, static_cast<int>(opt_.operation_timeout.count())));
  if (e)
    throw std::runtime_error(std::string("kafka init_transactions (kafka.brokers, ") +
                             "transactional id " + opt_.transactional_id +
                             "): " + rd_kafka_error_string(e.get()));
  producer_ = std::move(fresh);
}

void TransactionalProcessor::start(TransformHandler handler) {
  start(TransformBatchHandler([h = std::move(handler)](const std::vector<Message>& batch) {
    std::vector<TransformResult> results;
    results.reserve(batch.size());
    for (const auto& msg : batch) {
      try {
        results.push_back(h(msg));
      } catch (const std::exception& e) {
        results.push_back(TransformResult::retry("exception", e.what()));
      }
      if (results.back().outcome == Outcome::Retry) break;  // the batch is abandoned there
    }
    return results;
  }));
}

void TransactionalProcessor::start(TransformBatchHandler handler) {
  handler_ = std::move(handler);
  makeProducer();
  detail::subscribe(consumer_.get(), opt_.topics);
  thread_ = std::thread([this] { loop(); });
}

void TransactionalProcessor::stop() {
  {
    std::lock_guard lk(mu_);
    if (stop_.exchange(true) && !thread_.joinable()) return;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (consumer_) {
    poller_.reset();
    rd_kafka_consumer_close(consumer_.get());
    consumer_.reset();
  }
  producer_.reset();
  plain_.reset();
}

bool TransactionalProcessor::waitOrStop(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, d, [this] { return stop_.load(); });
}

std::vector<Message> TransactionalProcessor::collect() {
  std::vector<Message> batch;
  poller_->poll(batch, opt_.max_batch, 100, stop_, log_);
  if (batch.empty() && pending_.empty()) return batch;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(consumer_.get(), &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR && assigned) {
    auto held = [&](const std::string& topic, int32_t partition) {
      return rd_kafka_topic_partition_list_find(assigned, topic.c_str(), partition) != nullptr;
    };
    // Keep only partitions still assigned to this member.
    std::erase_if(batch, [&](const Message& b) { return !held(b.topic, b.partition); });
    // The uncommitted offsets of a partition this member lost are its new owner's to commit
    // (it reads on from the last committed one); kept, they could be committed later, should
    // the partition come back, over the newer ones its owner committed meanwhile.
    std::erase_if(pending_, [&](const auto& p) { return !held(p.first.first, p.first.second); });
    rd_kafka_topic_partition_list_destroy(assigned);
  }
  return batch;
}

void TransactionalProcessor::loop() {
  while (!stop_.load()) {
    auto batch = collect();
    if (batch.empty()) {
      try {
        if (pendingDue()) flushPending();
      } catch (const std::exception& e) {
        log_.error("kafka transactional producer unavailable", {{"error", e.what()}});
      }
      continue;
    }
    bool committed = false;
    try {
      committed = runTransaction(batch);
      if (committed && pendingDue()) flushPending();
    } catch (const std::exception& e) {
      // Only a replacement producer that could not be initialised throws here.
      log_.error("kafka transactional producer unavailable", {{"error", e.what()}});
    }
    if (committed) {
      backoff_ = std::chrono::milliseconds(100);
      continue;
    }
    rewind(batch);
    if (waitOrStop(backoff_)) break;
    backoff_ = std::min(backoff_ * 2, opt_.max_retry_backoff);
  }
  // Leaving: what was read past without producing is committed now, so a successor does not
  // read it again.
  try {
    if (!pending_.empty()) flushPending(true);
  } catch (const std::exception& e) {
    log_.warn("kafka offsets not committed at stop", {{"error", e.what()}});
  }
}

bool TransactionalProcessor::pendingDue() const {
  return !pending_.empty() && std::chrono::steady_clock::now() - pending_since_ >= pending_limit_;
}

bool TransactionalProcessor::runTransaction(const std::vector<Message>& batch) {
  const int op_ms = static_cast<int>(opt_.operation_timeout.count());
  auto abandon = [&] {
    aborted_.fetch_add(1);
    if (transactions_) transactions_->Add({{"outcome", "aborted"}}).Increment();
    return false;
  };
  auto fail = [&](const std::string& what, rd_kafka_error_t* raw) {
    auto e = wrap(raw);
    const bool fatal = e && rd_kafka_error_is_fatal(e.get());
    log_.warn("kafka transaction aborted",
              {{"step", what},
               {"error", e ? rd_kafka_error_string(e.get()) : "handler asked for a retry"},
               {"fatal", fatal},
               {"messages", batch.size()}});
    if (fatal || !transactions()) {
      // Transactions: fenced or broken, a new producer with the same id starts clean.
      // Idempotent: a fresh producer, and the replay produces the batch again.
      makeProducer();
    } else {
      auto a = wrap(rd_kafka_abort_transaction(producer_.get(), op_ms));
      if (a) {
        log_.error("kafka abort failed; recreating the producer",
                   {{"error", rd_kafka_error_string(a.get())}});
        makeProducer();
      }
    }
    return abandon();
  };

  // Decide the whole batch first: a batch that produces nothing needs no transaction.
  std::vector<std::pair<std::string, std::string>> deadletters;  // topic, reason
  std::vector<OutMessage> out;
  std::vector<TransformResult> results;
  try {
    results = handler_(batch);
  } catch (const std::exception& e) {
    results = {TransformResult::retry("exception", e.what())};
  }
  if (results.size() < batch.size() &&
      (results.empty() || results.back().outcome != Outcome::Retry))
    results.push_back(TransformResult::retry("handler", "fewer results than messages"));
  for (size_t i = 0; i < results.size() && i < batch.size(); ++i) {
    const auto& msg = batch[i];
    auto& r = results[i];
    if (r.outcome == Outcome::Retry) {
      log_.warn("message will be retried", {{"topic", msg.topic},
                                            {"partition", msg.partition},
                                            {"offset", msg.offset},
                                            {"reason", r.reason},
                                            {"detail", r.detail}});
      metrics_.count(msg.topic, "retry");
      log_.warn("kafka transaction aborted", {{"step", "handler"},
                                              {"error", "handler asked for a retry"},
                                              {"fatal", false},
                                              {"messages", batch.size()}});
      return abandon();  // nothing was produced yet
    }
    if (r.outcome == Outcome::DeadLetter) {
      r.out = {deadLetterOf(msg, opt_.service, r.reason, r.detail)};
      deadletters.emplace_back(msg.topic, r.reason);
      log_.warn("message dead-lettered", {{"topic", msg.topic},
                                          {"partition", msg.partition},
                                          {"offset", msg.offset},
                                          {"reason", r.reason},
                                          {"detail", r.detail}});
    }
    for (auto& o : r.out) out.push_back(std::move(o));
  }

  auto ranges = spans(batch);
  // Offsets left for a later commit, due once the oldest of them is `limit` old.
  auto defer = [&](std::chrono::milliseconds limit) {
    if (pending_.empty()) {
      pending_since_ = std::chrono::steady_clock::now();
      pending_limit_ = limit;
    } else {
      pending_limit_ = std::min(pending_limit_, limit);
    }
    advance(pending_, ranges);
    pending_count_ += batch.size();
    for (const auto& m : batch) {
      metrics_.count(m.topic, "done");
      metrics_.lag(consumer_.get(), m.topic, m.partition, m.offset);
    }
  };
  if (out.empty()) {
    defer(opt_.idle_commit_interval);
    return true;
  }

  if (!transactions()) {
    std::vector<std::future<DeliveryReport>> reports;
    for (auto& o : out) reports.push_back(plain_->produce(std::move(o)));
    // Every output is written before the offsets move past its cause; they are committed with
    // the next ones (flushPending, once commit_interval old).
    if (auto e = awaitDeliveries(reports)) return fail("deliver", e);
    defer(opt_.commit_interval);
    for (const auto& [topic, reason] : deadletters) {
      metrics_.count(topic, "deadletter");
      metrics_.deadLettered(reason);
    }
    return true;
  }
  // The batch's offsets, with those of earlier batches that produced nothing.
  auto commit = pending_;
  advance(commit, ranges);
  if (auto e = rd_kafka_begin_transaction(producer_.get())) return fail("begin", e);
  for (const auto& o : out) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(o.headers.size());
    for (const auto& [k, v] : o.headers)
      rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    auto err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(o.topic.c_str()),
        RD_KAFKA_V_KEY(o.key.data(), o.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(o.value.data()), o.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err) {
      rd_kafka_headers_destroy(hdrs);
      return fail("produce " + o.topic, rd_kafka_error_new(err, "%s", rd_kafka_err2str(err)));
    }
  }
  if (auto e = commitOffsets(commit)) return fail("send_offsets", e);
  while (true) {
    auto c = wrap(rd_kafka_commit_transaction(producer_.get(), op_ms));
    if (!c) break;
    if (rd_kafka_error_is_retriable(c.get()) && !stop_.load()) continue;  // outcome unknown yet
    return fail("commit", c.release());
  }
  committed_.fetch_add(batch.size() + pending_count_);
  pending_.clear();
  pending_count_ = 0;
  if (transactions_) transactions_->Add({{"outcome", "committed"}}).Increment();
  for (const auto& m : batch) {
    metrics_.count(m.topic, "done");
    metrics_.lag(consumer_.get(), m.topic, m.partition, m.offset);
  }
  for (const auto& [topic, reason] : deadletters) {
    metrics_.count(topic, "deadletter");
    metrics_.deadLettered(reason);
  }
  return true;
}

rd_kafka_topic_partition_list_t* TransactionalProcessor::assignedOffsets(
    const std::map<std::pair<std::string, int32_t>, int64_t>& next) {
  // Only partitions still assigned: offsets of a partition another member took over belong to
  // that member now (it reads from the last committed offset).
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(consumer_.get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR)
    assigned = nullptr;
  rd_kafka_topic_partition_list_t* offsets =
      rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
  for (const auto& [tp, n] : next) {
    if (assigned && !rd_kafka_topic_partition_list_find(assigned, tp.first.c_str(), tp.second))
      continue;
    rd_kafka_topic_partition_list_add(offsets, tp.first.c_str(), tp.second)->offset = n;
  }
  if (assigned) rd_kafka_topic_partition_list_destroy(assigned);
  return offsets;
}

rd_kafka_error_t* TransactionalProcessor::commitOffsets(
    const std::map<std::pair<std::string, int32_t>, int64_t>& next) {
  rd_kafka_topic_partition_list_t* offsets = assignedOffsets(next);
  rd_kafka_error_t* e = nullptr;
  if (offsets->cnt > 0) {
    rd_kafka_consumer_group_metadata_t* meta = rd_kafka_consumer_group_metadata(consumer_.get());
    e = rd_kafka_send_offsets_to_transaction(producer_.get(), offsets, meta,
                                             static_cast<int>(opt_.operation_timeout.count()));
    rd_kafka_consumer_group_metadata_destroy(meta);
  }
  rd_kafka_topic_partition_list_destroy(offsets);
  return e;
}

rd_kafka_error_t* TransactionalProcessor::commitConsumerOffsets(
    const std::map<std::pair<std::string, int32_t>, int64_t>& next, bool async) {
  rd_kafka_topic_partition_list_t* offsets = assignedOffsets(next);
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (offsets->cnt > 0) err = rd_kafka_commit(consumer_.get(), offsets, async ? 1 : 0);
  rd_kafka_topic_partition_list_destroy(offsets);
  return err ? rd_kafka_error_new(err, "%s", rd_kafka_err2str(err)) : nullptr;
}

rd_kafka_error_t* TransactionalProcessor::awaitDeliveries(
    std::vector<std::future<DeliveryReport>>& reports) {
  // Each report comes within message.timeout.ms (the operation timeout); the wait allows a
  // second more before it counts the message as not delivered.
  const auto wait = opt_.operation_timeout + std::chrono::seconds(1);
  uint64_t failed = 0;
  std::string last_error;
  for (const auto& r : awaitReports(reports, wait))
    if (!r.ok) {
      ++failed;
      last_error = r.error;
    }
  if (failed == 0) return nullptr;
  return rd_kafka_error_new(RD_KAFKA_RESP_ERR__FAIL, "%llu messages not delivered: %s",
                            static_cast<unsigned long long>(failed), last_error.c_str());
}

bool TransactionalProcessor::flushPending(bool stopping) {
  const int op_ms = static_cast<int>(opt_.operation_timeout.count());
  if (!transactions()) {
    // Asynchronous in the loop (a commit that is lost only replays what is already out, and
    // the next batch does not wait for the group coordinator); synchronous at stop, the last
    // commit before the group is left.
    if (auto e = wrap(commitConsumerOffsets(pending_, !stopping))) {
      log_.warn("kafka offsets commit failed", {{"error", rd_kafka_error_string(e.get())}});
      pending_since_ = std::chrono::steady_clock::now();  // not at once again
      return false;
    }
    committed_.fetch_add(pending_count_);
    pending_.clear();
    pending_count_ = 0;
    return true;
  }
  auto e = wrap(rd_kafka_begin_transaction(producer_.get()));
  if (!e) e = wrap(commitOffsets(pending_));
  while (!e) {
    auto c = wrap(rd_kafka_commit_transaction(producer_.get(), op_ms));
    if (!c) {
      committed_.fetch_add(pending_count_);
      pending_.clear();
      pending_count_ = 0;
      if (transactions_) transactions_->Add({{"outcome", "committed"}}).Increment();
      return true;
    }
    if (!rd_kafka_error_is_retriable(c.get()) || stop_.load()) {
      e = std::move(c);
      break;
    }
  }
  // Nothing was produced: keep the offsets for the next transaction and try again later.
  const bool fatal = rd_kafka_error_is_fatal(e.get());
  log_.warn("kafka offsets-only transaction failed",
            {{"error", rd_kafka_error_string(e.get())}, {"fatal", fatal}});
  if (fatal) {
    makeProducer();
  } else if (auto a = wrap(rd_kafka_abort_transaction(producer_.get(), op_ms))) {
    makeProducer();
  }
  if (transactions_) transactions_->Add({{"outcome", "aborted"}}).Increment();
  pending_since_ = std::chrono::steady_clock::now();  // not at once again
  return false;
}

void TransactionalProcessor::rewind(const std::vector<Message>& batch) {
  // Back to the first message of the aborted batch: everything before it is committed, or
  // handled and its offsets pending.
  auto ranges = spans(batch);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(ranges.size()));
  for (const auto& [tp, s] : ranges)
    rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)->offset = s.first;
  auto e = wrap(rd_kafka_seek_partitions(consumer_.get(), list, 5000));
  bool failed = static_cast<bool>(e);
  for (int i = 0; i < list->cnt; ++i) failed = failed || list->elems[i].err;
  rd_kafka_topic_partition_list_destroy(list);
  if (!failed) return;
  // A partition left where it was would skip the aborted messages. Fall back to fetching every
  // assigned partition again from its committed offset (RD_KAFKA_OFFSET_INVALID).
  log_.error("kafka rewind after abort failed; restarting from the committed offsets",
             {{"error", e ? rd_kafka_error_string(e.get()) : "a partition could not be sought"}});
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(consumer_.get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || !assigned)
    return;
  for (int i = 0; i < assigned->cnt; ++i) assigned->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
  rd_kafka_assign(consumer_.get(), assigned);
  rd_kafka_topic_partition_list_destroy(assigned);
}

}  // namespace lapor::kafka
