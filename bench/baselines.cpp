// Each baseline message carries the steady-clock time it was scheduled at, so the consumer in
// the same process measures the hop without clock skew.
#include "baselines.h"

#include "grpc/health/v1/health.grpc.pb.h"
#include "kafka/consumer.h"
#include "kafka/rdkafka_conf.h"
#include "kafka/transactional_processor.h"
#include "log/logger.h"

#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace lapor::bench {

namespace {

using Clock = std::chrono::steady_clock;
using Handle = std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)>;

Handle makeHandle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka baseline: ") + err);
  }
  return Handle(rk, rd_kafka_destroy);
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Payload layout: 1 byte phase (0 latency, 1 burst, 2 warm-up), 8 bytes scheduled time, then the
// body. The transactional hop copies it unchanged, so both hops are timed the same way.
constexpr size_t kHeader = 9;

void onDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err) static_cast<std::atomic<uint64_t>*>(opaque)->fetch_add(1);
}

// The consuming end of a hop: read_committed like the services', assigned every partition of
// the topic at its current end, timing each message against the time it carries.
class HopReader {
 public:
  HopReader(const std::string& brokers, const std::string& group, const std::string& topic,
            int partitions)
      : consumer_(nullptr, rd_kafka_destroy) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    kafka::detail::setOrThrow(conf, "bootstrap.servers", brokers);
    kafka::detail::setOrThrow(conf, "group.id", group);
    kafka::detail::setOrThrow(conf, "enable.auto.commit", "false");
    kafka::detail::setOrThrow(conf, "isolation.level", "read_committed");
    kafka::detail::setOrThrow(conf, "enable.partition.eof", "false");
    consumer_ = makeHandle(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(consumer_.get());
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
      int64_t lo = 0, hi = 0;
      rd_kafka_query_watermark_offsets(consumer_.get(), topic.c_str(), p, &lo, &hi, 10000);
      rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = hi;
    }
    rd_kafka_assign(consumer_.get(), parts);
    rd_kafka_topic_partition_list_destroy(parts);
    thread_ = std::thread([this] { loop(); });
  }
  ~HopReader() {
    stop_.store(true);
    thread_.join();
    rd_kafka_consumer_close(consumer_.get());
  }
  HopReader(const HopReader&) = delete;
  HopReader& operator=(const HopReader&) = delete;

  std::atomic<uint64_t> latency{0}, burst{0}, warmup{0};
  std::atomic<int64_t> last_burst_ns{0};

  LatencySummary summary() {
    std::lock_guard lk(mu_);
    return summarize(latency_ms_);
  }

 private:
  void loop() {
    while (!stop_.load()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), 100);
      if (!m) continue;
      const int64_t now = nowNs();
      if (!m->err && m->len >= kHeader) {
        const auto* bytes = static_cast<const char*>(m->payload);
        int64_t scheduled = 0;
        std::memcpy(&scheduled, bytes + 1, sizeof scheduled);
        if (bytes[0] == 0) {
          std::lock_guard lk(mu_);
          latency_ms_.push_back(static_cast<double>(now - scheduled) / 1e6);
          latency.fetch_add(1);
        } else if (bytes[0] == 2) {
          warmup.fetch_add(1);
        } else {
          last_burst_ns.store(now);
          burst.fetch_add(1);
        }
      }
      rd_kafka_message_destroy(m);
    }
  }

  Handle consumer_;
  std::mutex mu_;
  std::vector<double> latency_ms_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The producing end: as the services' producer (idempotent, acks=all, same linger).
class HopProducer {
 public:
  HopProducer(const KafkaBaselineOptions& o, std::string topic)
      : payloads_(o.payloads), topic_(std::move(topic)), producer_(nullptr, rd_kafka_destroy) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    kafka::detail::setOrThrow(conf, "bootstrap.servers", o.brokers);
    kafka::detail::setOrThrow(conf, "enable.idempotence", "true");
    kafka::detail::setOrThrow(conf, "acks", "all");
    kafka::detail::setOrThrow(conf, "linger.ms", std::to_string(o.linger_ms));
    rd_kafka_conf_set_dr_msg_cb(conf, onDelivery);
    rd_kafka_conf_set_opaque(conf, &errors);
    producer_ = makeHandle(RD_KAFKA_PRODUCER, conf);
  }
  ~HopProducer() { rd_kafka_flush(producer_.get(), 10000); }
  HopProducer(const HopProducer&) = delete;
  HopProducer& operator=(const HopProducer&) = delete;

  std::atomic<uint64_t> errors{0};

  void produce(char phase, int64_t scheduled_ns, uint64_t n) {
    const auto& body = payloads_[n % payloads_.size()];
    buffer_.assign(kHeader, '\0');
    buffer_[0] = phase;
    std::memcpy(buffer_.data() + 1, &scheduled_ns, sizeof scheduled_ns);
    buffer_ += body;
    const std::string key = "bench-" + std::to_string(n);
    while (true) {
      auto err = rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
                                   RD_KAFKA_V_KEY(key.data(), key.size()),
                                   RD_KAFKA_V_VALUE(buffer_.data(), buffer_.size()),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        errors.fetch_add(1);
        return;
      }
      rd_kafka_poll(producer_.get(), 10);  // the local queue is full: serve deliveries first
    }
    rd_kafka_poll(producer_.get(), 0);
  }
  void poll(int ms) { rd_kafka_poll(producer_.get(), ms); }
  // Serves delivery reports until `count` (plus failed produces) reaches `want` or `limit`.
  void waitReceived(const std::atomic<uint64_t>& count, uint64_t want, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (count.load() + errors.load() < want && Clock::now() < deadline) poll(10);
  }

 private:
  const std::vector<std::string>& payloads_;
  const std::string topic_;
  Handle producer_;
  std::string buffer_;
};

// Warm-up (not measured: producer id, metadata, connections, a group joining) until a message
// made the whole hop, then latency at a fixed rate, open loop, then throughput with everything
// produced at once.
void measureHop(const KafkaBaselineOptions& o, HopProducer& producer, HopReader& reader,
                std::chrono::milliseconds warmup_limit, KafkaBaselineResult& res) {
  res.rate = o.rate;
  for (const auto& p : o.payloads) res.payload_mean_bytes += static_cast<double>(p.size());
  res.payload_mean_bytes /= static_cast<double>(o.payloads.size());

  const auto warmup_end = Clock::now() + warmup_limit;
  for (uint64_t n = 0; reader.warmup.load() == 0 && Clock::now() < warmup_end; ++n) {
    producer.produce(2, nowNs(), n);
    producer.poll(50);
  }

  const auto start = Clock::now() + std::chrono::milliseconds(20);
  const auto interval = std::chrono::duration<double>(1.0 / o.rate);
  for (uint64_t n = 0;; ++n) {
    const auto scheduled =
        start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(n));
    if (scheduled >= start + o.duration) break;
    std::this_thread::sleep_until(scheduled);
    producer.produce(
        0,
        std::chrono::duration_cast<std::chrono::nanoseconds>(scheduled.time_since_epoch()).count(),
        n);
    ++res.sent;
  }
  producer.waitReceived(reader.latency, res.sent, std::chrono::seconds(30));

  const int64_t burst_start = nowNs();
  for (uint64_t n = 0; n < o.burst_messages; ++n) producer.produce(1, burst_start, n);
  producer.waitReceived(reader.burst, o.burst_messages, std::chrono::seconds(60));
  producer.poll(0);

  res.received = reader.latency.load();
  res.errors = producer.errors.load();
  res.latency = reader.summary();
  res.burst_messages = reader.burst.load();
  res.burst_seconds = static_cast<double>(reader.last_burst_ns.load() - burst_start) / 1e9;
  if (res.burst_seconds > 0)
    res.throughput = static_cast<double>(res.burst_messages) / res.burst_seconds;
}

}  // namespace

KafkaBaselineResult kafkaBaseline(const KafkaBaselineOptions& o) {
  if (o.payloads.empty()) throw std::invalid_argument("kafka baseline: no payloads");
  if (auto err = kafka::ensureTopics(o.brokers, {o.topic}, o.partitions, std::chrono::seconds(15));
      !err.empty())
    throw std::runtime_error("kafka baseline: " + err);
  KafkaBaselineResult res;
  HopReader reader(o.brokers, "lapor-bench-baseline", o.topic, o.partitions);
  HopProducer producer(o, o.topic);
  measureHop(o, producer, reader, std::chrono::seconds(20), res);
  return res;
}

TransactionalBaselineResult transactionalBaseline(const TransactionalBaselineOptions& t) {
  const auto& o = t.hop;
  if (o.payloads.empty()) throw std::invalid_argument("transactional baseline: no payloads");
  if (auto err = kafka::ensureTopics(o.brokers, {t.input_topic, t.output_topic}, o.partitions,
                                     std::chrono::seconds(15));
      !err.empty())
    throw std::runtime_error("transactional baseline: " + err);
  TransactionalBaselineResult res;
  HopReader reader(o.brokers, t.group_id + "-reader", t.output_topic, o.partitions);

  // Routing's defaults (services/routing/app.cpp) for everything not named here.
  kafka::TransactionalOptions po;
  po.brokers = o.brokers;
  po.group_id = t.group_id;
  po.topics = {t.input_topic};
  po.client_id = "lapor-bench";
  po.service = "bench";
  po.transactional_id = t.transactional_id;
  po.group_instance_id = t.transactional_id;
  kafka::TransactionalProcessor processor(po, log::Logger("lapor-bench", log::Level::Warn),
                                          nullptr);
  const std::string& out_topic = t.output_topic;
  processor.start([&out_topic](const kafka::Message& m) {
    return kafka::TransformResult::done({kafka::OutMessage{out_topic, m.key, m.value, {}}});
  });

  HopProducer producer(o, t.input_topic);
  // The processor's group has to form and be assigned the input's partitions first.
  measureHop(o, producer, reader, std::chrono::seconds(60), res);
  processor.stop();
  res.transactions_aborted = processor.aborted();
  return res;
}

GrpcBaselineResult grpcBaseline(const std::string& target, std::chrono::milliseconds duration,
                                int threads) {
  GrpcBaselineResult res;
  res.target = target;
  res.threads = threads;
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  std::atomic<uint64_t> calls{0}, errors{0};
  auto call = [&]() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    const bool ok = stub->Check(&ctx, req, &resp).ok();
    (ok ? calls : errors).fetch_add(1);
  };

  // Latency: one caller, back to back.
  std::vector<double> latency_ms;
  const auto half = duration / 2;
  for (const auto end = Clock::now() + half; Clock::now() < end;) {
    const auto t0 = Clock::now();
    call();
    latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  res.latency = summarize(std::move(latency_ms));

  // Throughput: several callers at once.
  calls.store(0);
  const auto t0 = Clock::now();
  const auto end = t0 + half;
  std::vector<std::thread> callers;
  for (int i = 0; i < threads; ++i)
    callers.emplace_back([&] {
      while (Clock::now() < end) call();
    });
  for (auto& t : callers) t.join();
  res.calls = calls.load();
  res.errors = errors.load();
  res.throughput =
      static_cast<double>(res.calls) / std::chrono::duration<double>(Clock::now() - t0).count();
  return res;
}

}  // namespace lapor::bench
