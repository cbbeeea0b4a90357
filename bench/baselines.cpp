// Each baseline message carries the steady-clock time it was scheduled at, so the consumer in
// the same process measures the hop without clock skew.
#include "baselines.h"

#include "grpc/health/v1/health.grpc.pb.h"
#include "kafka/consumer.h"
#include "kafka/rdkafka_conf.h"

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
// body.
constexpr size_t kHeader = 9;

void onDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err) static_cast<std::atomic<uint64_t>*>(opaque)->fetch_add(1);
}

}  // namespace

KafkaBaselineResult kafkaBaseline(const KafkaBaselineOptions& o) {
  if (o.payloads.empty()) throw std::invalid_argument("kafka baseline: no payloads");
  if (auto err = kafka::ensureTopics(o.brokers, {o.topic}, o.partitions, std::chrono::seconds(15));
      !err.empty())
    throw std::runtime_error("kafka baseline: " + err);

  KafkaBaselineResult res;
  res.rate = o.rate;
  for (const auto& p : o.payloads) res.payload_mean_bytes += static_cast<double>(p.size());
  res.payload_mean_bytes /= static_cast<double>(o.payloads.size());

  // Consumer: read_committed like the services', assigned every partition at its current end.
  rd_kafka_conf_t* cconf = rd_kafka_conf_new();
  kafka::detail::setOrThrow(cconf, "bootstrap.servers", o.brokers);
  kafka::detail::setOrThrow(cconf, "group.id", "lapor-bench-baseline");
  kafka::detail::setOrThrow(cconf, "enable.auto.commit", "false");
  kafka::detail::setOrThrow(cconf, "isolation.level", "read_committed");
  kafka::detail::setOrThrow(cconf, "enable.partition.eof", "false");
  Handle consumer = makeHandle(RD_KAFKA_CONSUMER, cconf);
  rd_kafka_poll_set_consumer(consumer.get());
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(o.partitions);
  for (int p = 0; p < o.partitions; ++p) {
    int64_t lo = 0, hi = 0;
    rd_kafka_query_watermark_offsets(consumer.get(), o.topic.c_str(), p, &lo, &hi, 10000);
    rd_kafka_topic_partition_list_add(parts, o.topic.c_str(), p)->offset = hi;
  }
  rd_kafka_assign(consumer.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);

  std::mutex mu;
  std::vector<double> latency_ms;
  std::atomic<uint64_t> received_latency{0}, received_burst{0}, received_warmup{0};
  std::atomic<int64_t> last_burst_ns{0};
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 100);
      if (!m) continue;
      const int64_t now = nowNs();
      if (!m->err && m->len >= kHeader) {
        const auto* bytes = static_cast<const char*>(m->payload);
        int64_t scheduled = 0;
        std::memcpy(&scheduled, bytes + 1, sizeof scheduled);
        if (bytes[0] == 0) {
          std::lock_guard lk(mu);
          latency_ms.push_back(static_cast<double>(now - scheduled) / 1e6);
          received_latency.fetch_add(1);
        } else if (bytes[0] == 2) {
          received_warmup.fetch_add(1);
        } else {
          last_burst_ns.store(now);
          received_burst.fetch_add(1);
        }
      }
      rd_kafka_message_destroy(m);
    }
  });

  // Producer: as the services' (idempotent, acks=all, same linger).
  std::atomic<uint64_t> errors{0};
  rd_kafka_conf_t* pconf = rd_kafka_conf_new();
  kafka::detail::setOrThrow(pconf, "bootstrap.servers", o.brokers);
  kafka::detail::setOrThrow(pconf, "enable.idempotence", "true");
  kafka::detail::setOrThrow(pconf, "acks", "all");
  kafka::detail::setOrThrow(pconf, "linger.ms", std::to_string(o.linger_ms));
  rd_kafka_conf_set_dr_msg_cb(pconf, onDelivery);
  rd_kafka_conf_set_opaque(pconf, &errors);
  Handle producer = makeHandle(RD_KAFKA_PRODUCER, pconf);

  std::string buffer;
  auto produce = [&](char phase, int64_t scheduled_ns, uint64_t n) {
    const auto& body = o.payloads[n % o.payloads.size()];
    buffer.assign(kHeader, '\0');
    buffer[0] = phase;
    std::memcpy(buffer.data() + 1, &scheduled_ns, sizeof scheduled_ns);
    buffer += body;
    const std::string key = "bench-" + std::to_string(n);
    while (true) {
      auto err = rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(o.topic.c_str()),
                                   RD_KAFKA_V_KEY(key.data(), key.size()),
                                   RD_KAFKA_V_VALUE(buffer.data(), buffer.size()),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        errors.fetch_add(1);
        return;
      }
      rd_kafka_poll(producer.get(), 10);  // the local queue is full: serve deliveries first
    }
    rd_kafka_poll(producer.get(), 0);
  };
  auto waitReceived = [&](const std::atomic<uint64_t>& count, uint64_t want,
                          std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (count.load() + errors.load() < want && Clock::now() < deadline)
      rd_kafka_poll(producer.get(), 10);  // serves delivery reports while waiting
  };

  // Warm-up, not measured: the idempotent producer gets its id, both sides their metadata and
  // connections; done once a message made the whole hop.
  for (uint64_t n = 0; received_warmup.load() == 0 && n < 400; ++n) {
    produce(2, nowNs(), n);
    rd_kafka_poll(producer.get(), 50);
  }

  // Latency at a fixed rate, open loop.
  const auto start = Clock::now() + std::chrono::milliseconds(20);
  const auto interval = std::chrono::duration<double>(1.0 / o.rate);
  for (uint64_t n = 0;; ++n) {
    const auto scheduled =
        start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(n));
    if (scheduled >= start + o.duration) break;
    std::this_thread::sleep_until(scheduled);
    produce(
        0,
        std::chrono::duration_cast<std::chrono::nanoseconds>(scheduled.time_since_epoch()).count(),
        n);
    ++res.sent;
  }
  waitReceived(received_latency, res.sent, std::chrono::seconds(30));

  // Throughput: everything at once.
  const int64_t burst_start = nowNs();
  for (uint64_t n = 0; n < o.burst_messages; ++n) produce(1, burst_start, n);
  waitReceived(received_burst, o.burst_messages, std::chrono::seconds(60));
  rd_kafka_flush(producer.get(), 10000);

  stop.store(true);
  reader.join();
  rd_kafka_consumer_close(consumer.get());

  res.received = received_latency.load();
  res.errors = errors.load();
  {
    std::lock_guard lk(mu);
    res.latency = summarize(latency_ms);
  }
  res.burst_messages = received_burst.load();
  res.burst_seconds = static_cast<double>(last_burst_ns.load() - burst_start) / 1e9;
  if (res.burst_seconds > 0)
    res.throughput = static_cast<double>(res.burst_messages) / res.burst_seconds;
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
