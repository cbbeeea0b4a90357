// The result of one run: a JSON document with every figure and a table for people, with the
// pipeline's figures next to the baselines' and as ratios of them.
#pragma once

#include "baselines.h"
#include "measure.h"
#include "pipeline.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lapor::bench {

struct RunReport {
  std::string started_at;  // UTC, ISO 8601
  std::string command;
  MachineInfo machine;
  // The broker's JVM heap options as its command line gave them (the last of each wins), e.g.
  // "-Xms1g -Xmx1g"; empty without a broker pid.
  std::string broker_heap;
  std::string broker_threads;  // the broker's request threads (parseBrokerThreads)
  nlohmann::json settings;
  KafkaBaselineResult kafka;
  TransactionalBaselineResult transactional;
  GrpcBaselineResult grpc;
  struct Warmup {
    double seconds = 0;    // how long the first warm-up ran
    int rounds = 0;
    double jit_share = -1; // the broker's JIT compilers in the last round, of one core; -1 unknown
    bool settled = false;  // below --warmup-jit-below when it ended
    // The rounds after the baselines, until the JIT settled again.
    double seconds_after_baselines = 0;
    int rounds_after_baselines = 0;
  } warmup;
  std::vector<StepResult> steps;
  uint64_t acknowledged = 0, ack_errors = 0, stream_errors = 0, orphan_deliveries = 0;
  uint64_t confirm_errors = 0;  // ConfirmDelivery calls that failed
  std::map<std::string, std::pair<uint64_t, std::string>> ack_errors_by_code;  // count, a message

  uint64_t totalLost() const;
  // Every step completed something and nothing accepted was lost.
  bool passed() const;
};

nlohmann::json toJson(const RunReport& r);
std::string renderTable(const RunReport& r);

}  // namespace lapor::bench
