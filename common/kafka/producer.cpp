// Producer: a poll thread serves delivery callbacks, which only fulfil the caller's promise.
#include "kafka/producer.h"

#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <stdexcept>

namespace lapor::kafka {

namespace {
void onDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  // Ownership of the promise was handed to librdkafka in produce(); take it back here.
  std::unique_ptr<std::promise<DeliveryReport>> p(
      static_cast<std::promise<DeliveryReport>*>(m->_private));
  if (!p) return;
  DeliveryReport r;
  r.ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (!r.ok) r.error = rd_kafka_err2str(m->err);
  r.partition = m->partition;
  r.offset = m->offset;
  p->set_value(std::move(r));
}
}  // namespace

void Producer::Deleter::operator()(rd_kafka_s* rk) const {
  rd_kafka_destroy(rk);
}

Producer::Producer(const ProducerOptions& o, log::Logger logger) : log_(std::move(logger)) {
  if (o.brokers.empty()) throw std::invalid_argument("kafka.brokers is empty");
  rd_kafka_conf_t* conf = detail::clientConf(o.brokers, o.security);
  detail::setOrThrow(conf, "client.id", o.client_id);
  // The promise of the system: nothing is acknowledged before every in-sync replica has it,
  // and retries never duplicate or reorder a complaint's events.
  detail::setOrThrow(conf, "enable.idempotence", "true");
  detail::setOrThrow(conf, "acks", "all");
  detail::setOrThrow(conf, "linger.ms", std::to_string(o.linger_ms));
  detail::setOrThrow(conf, "message.timeout.ms", std::to_string(o.message_timeout_ms));
  for (const auto& [k, v] : o.extra) detail::setOrThrow(conf, k, v);
  rd_kafka_conf_set_dr_msg_cb(conf, onDelivery);
  detail::routeLogs(conf, &log_);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka producer: ") + err);
  }
  rk_.reset(rk);
  poller_ = std::thread([this] {
    while (!stop_.load()) rd_kafka_poll(rk_.get(), 100);
  });
}

Producer::~Producer() {
  if (!flush(std::chrono::seconds(10)))
    log_.error("kafka producer closed with undelivered messages",
               {{"in_flight", rd_kafka_outq_len(rk_.get())}});
  stop_.store(true);
  if (poller_.joinable()) poller_.join();
}

std::future<DeliveryReport> Producer::produce(OutMessage msg) {
  auto promise = std::make_unique<std::promise<DeliveryReport>>();
  auto future = promise->get_future();
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(msg.headers.size());
  for (const auto& [k, v] : msg.headers)
    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                        static_cast<ssize_t>(v.size()));
  rd_kafka_resp_err_t err =
      rd_kafka_producev(rk_.get(), RD_KAFKA_V_TOPIC(msg.topic.c_str()),
                        RD_KAFKA_V_KEY(msg.key.data(), msg.key.size()),
                        RD_KAFKA_V_VALUE(msg.value.data(), msg.value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                        RD_KAFKA_V_OPAQUE(promise.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(hdrs);  // not taken over on failure
    promise->set_value(DeliveryReport{false, rd_kafka_err2str(err), -1, -1});
    return future;
  }
  promise.release();  // the delivery callback owns it now
  return future;
}

bool Producer::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count())) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

}  // namespace lapor::kafka
