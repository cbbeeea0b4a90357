// lapor-sla-monitor as a process, with the shipped configuration, against the run's Kafka and
// Redis: the one launcher of the SLA monitor's process tests.
#pragma once

#include "integration_support.h"
#include "process.h"

#include <map>
#include <memory>
#include <string>

#ifndef LAPOR_BUILD_DIR
#error "LAPOR_BUILD_DIR must be defined"
#endif

namespace lapor::integration {

// `env` adds or overrides LAPOR_* settings (the caller's group and Redis prefix, say); Kafka's
// brokers, Redis's host and port, free gRPC and metrics ports and a 100 ms tick are set unless
// given. The log goes to <run dir>/logs/<log_name>.log.
inline std::unique_ptr<testing::ChildProcess> startSlaMonitor(
    const std::string& log_name, std::map<std::string, std::string> env) {
  const std::map<std::string, std::string> defaults{
      {"LAPOR_KAFKA_BROKERS", testing::requiredEnv("LAPOR_KAFKA_BROKERS")},
      {"LAPOR_REDIS_HOST", testing::requiredEnv("LAPOR_REDIS_HOST")},
      {"LAPOR_REDIS_PORT", testing::requiredEnv("LAPOR_REDIS_PORT")},
      {"LAPOR_GRPC_PORT", std::to_string(testing::freePort())},
      {"LAPOR_METRICS_PORT", std::to_string(testing::freePort())},
      {"LAPOR_SLA_TICK", "100ms"},
  };
  env.insert(defaults.begin(), defaults.end());  // what the caller gave stays
  return std::make_unique<testing::ChildProcess>(
      log_name,
      std::vector<std::string>{LAPOR_BUILD_DIR "/services/sla-monitor/lapor-sla-monitor",
                               "--config", LAPOR_SOURCE_DIR "/deploy/config/sla-monitor.yaml"},
      env, testing::runDir() + "/logs/" + log_name + ".log");
}

}  // namespace lapor::integration
