// What the pipeline is measured against, in the same run on the same broker: one Kafka hop
// (raw librdkafka produce -> consume, producer set up like the services') and one trivial gRPC
// unary call (the standard health Check of a running service).
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
