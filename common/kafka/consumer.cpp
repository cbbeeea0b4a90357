// Consumer loop after librdkafka's complex consumer example: manual offset store after the
// effect, periodic commit, commit on revoke and on close.
#include "kafka/consumer.h"

#include "kafka/rdkafka_conf.h"
#include "kafka/transactional_processor.h"

#include <librdkafka/rdkafka.h>

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
      metrics_(registry, opt_.service) {
  if (opt_.brokers.empty()) throw std::invalid_argument("kafka.brokers is empty");
  if (opt_.group_id.empty()) throw std::invalid_argument("kafka consumer group id is empty");
  if (opt_.topics.empty()) throw std::invalid_argument("kafka consumer has no topics");
  rd_kafka_conf_t* conf =
      detail::consumerConf(opt_.brokers, opt_.group_id, opt_.client_id, opt_.read_committed);
  rd_kafka_conf_set_rebalance_cb(conf, onRebalance);
  detail::routeLogs(conf, &log_);
  rk_.reset(detail::newConsumer(conf));
}

Consumer::~Consumer() {
  stop();
}

void Consumer::start(Handler handler) {
  handler_ = std::move(handler);
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
  while (!stop_.load()) {
    rd_kafka_message_t* raw = rd_kafka_consumer_poll(rk_.get(), 100);
    if (raw) {
      std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> m(
          raw, rd_kafka_message_destroy);
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        handle(detail::toMessage(m.get()));
        metrics_.lag(rk_.get(), rd_kafka_topic_name(m->rkt), m->partition, m->offset);
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        log_.warn("kafka consumer error", {{"error", rd_kafka_message_errstr(m.get())}});
      }
    }
    if (dirty_ && std::chrono::steady_clock::now() - last_commit >= opt_.commit_interval) {
      commit(false);
      last_commit = std::chrono::steady_clock::now();
    }
  }
}

void Consumer::handle(const Message& msg) {
  auto backoff = std::chrono::milliseconds(100);
  while (true) {
    HandleResult r;
    try {
      r = handler_(msg);
    } catch (const std::exception& e) {
      // An exception is a transient failure (Redis, broker): never skip the message for it.
      r = HandleResult::retry("exception", e.what());
    }
    if (r.outcome == Outcome::Done) {
      metrics_.count(msg.topic, "done");
      storeOffset(msg);
      return;
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
        return;
      }
      // The dead-letter topic did not take it: keep the message rather than lose it.
      r = HandleResult::retry("deadletter-failed", report.error);
    }
    metrics_.count(msg.topic, "retry");
    log_.warn("message will be retried", {{"topic", msg.topic},
                                          {"partition", msg.partition},
                                          {"offset", msg.offset},
                                          {"reason", r.reason},
                                          {"detail", r.detail},
                                          {"backoff_ms", backoff.count()}});
    if (waitOrStop(backoff)) return;  // stopping: the offset stays uncommitted, redelivered later
    backoff = std::min(backoff * 2, opt_.max_retry_backoff);
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

std::string ensureTopics(const std::string& brokers, const std::vector<std::string>& topics,
                         int partitions, std::chrono::milliseconds timeout) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return err;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return err;
  }
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> guard(rk, rd_kafka_destroy);
  std::vector<rd_kafka_NewTopic_t*> news;
  for (const auto& t : topics) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.c_str(), partitions, 1, err, sizeof err);
    if (!nt) {
      for (auto* n : news) rd_kafka_NewTopic_destroy(n);
      return "topic " + t + ": " + err;
    }
    news.push_back(nt);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, static_cast<int>(timeout.count()), err,
                                              sizeof err);
  rd_kafka_CreateTopics(rk, news.data(), news.size(), opts, q);
  std::string result;
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(timeout.count()) + 1000);
  if (!ev) {
    result = "timed out creating topics (is kafka.brokers=" + brokers + " reachable?)";
  } else if (rd_kafka_event_error(ev)) {
    result = rd_kafka_event_error_string(ev);
  } else {
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** rs = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      auto e = rd_kafka_topic_result_error(rs[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        result += std::string(rd_kafka_topic_result_name(rs[i])) + ": " +
                  rd_kafka_topic_result_error_string(rs[i]) + "; ";
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  for (auto* n : news) rd_kafka_NewTopic_destroy(n);
  return result;
}

}  // namespace lapor::kafka
