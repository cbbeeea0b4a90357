// What the pipeline is measured against, in the same run on the same broker: one Kafka hop
// (raw librdkafka produce -> consume, producer set up like the services'), one transactional
// hop (consume -> produce in a transaction -> read_committed consume, through routing's own
// TransactionalProcessor with a handler that only copies) and one trivial gRPC unary call (the
// standard health Check of a running service).
#pragma once

#include "measure.h"

#include <chrono>
#include <string>
#include <vector>

namespace lapor::bench {

struct KafkaBaselineOptions {
  std::string brokers;
  std::string topic = "lapor.bench.baseline.v1";
  int partitions = 3;
  int linger_ms = 2;   // the services' kafka.linger_ms default
  double rate = 1000;  // messages/s for the latency phase
  std::chrono::milliseconds duration{3000};
  size_t burst_messages = 20000;      // produced flat out for the throughput phase
  std::vector<std::string> payloads;  // cycled; sizes as the pipeline's events
};

struct KafkaBaselineResult {
  double rate = 0;
  uint64_t sent = 0, received = 0, errors = 0;
  double payload_mean_bytes = 0;
  LatencySummary latency;  // scheduled produce -> consumed, at `rate`
  uint64_t burst_messages = 0;
  double burst_seconds = 0;
  double throughput = 0;  // messages/s, first produce -> last consumed
};

KafkaBaselineResult kafkaBaseline(const KafkaBaselineOptions& options);

// Routing with no work: the same producer writes to `input_topic`; a TransactionalProcessor
// configured as routing's (transactional.id, linger.ms 1, retry.backoff.ms 10, one transaction
// with its offsets per batch of what one poll returns) copies every message to `output_topic`;
// a read_committed consumer reads it there. The latency is scheduled produce -> consumed from
// the output, at the same rate and for the same duration as the Kafka hop.
struct TransactionalBaselineOptions {
  KafkaBaselineOptions hop;  // brokers, rate, duration, burst, payloads, linger of the producer
  std::string input_topic = "lapor.bench.txn-in.v1";
  std::string output_topic = "lapor.bench.txn-out.v1";
  std::string group_id = "lapor-bench-txn-baseline";
  std::string transactional_id = "lapor-bench-txn-baseline";
};

struct TransactionalBaselineResult : KafkaBaselineResult {
  uint64_t transactions_aborted = 0;
};

TransactionalBaselineResult transactionalBaseline(const TransactionalBaselineOptions& options);

struct GrpcBaselineResult {
  std::string target;
  LatencySummary latency;  // one caller, one call at a time
  int threads = 0;
  uint64_t calls = 0, errors = 0;
  double throughput = 0;  // calls/s with `threads` callers
};

GrpcBaselineResult grpcBaseline(const std::string& target, std::chrono::milliseconds duration,
                                int threads);

}  // namespace lapor::bench
