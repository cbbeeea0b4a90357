// Helpers for the integration tests: where Kafka and Redis are, unique names, waiting on a
// condition with a deadline (tests/support), raw topic readers.
#pragma once

#include "kafka/message.h"
#include "topic_reader.h"
#include "wait.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

struct rd_kafka_s;

namespace lapor::integration {

// The value of an environment variable set by tests/run.sh, or nullopt when it is absent.
std::optional<std::string> serviceEnv(const std::string& name);
// The message a test fails with when the variable is missing.
std::string missingEnvMessage(const std::string& name);

// `prefix` followed by a random suffix, so concurrent and repeated runs never share a topic,
// a consumer group or a Redis key.
std::string uniqueName(const std::string& prefix);

using lapor::testing::waitFor;

// Partitions of `topic` according to the broker's metadata; -1 when the topic does not exist.
int partitionCount(const std::string& brokers, const std::string& topic);

using lapor::testing::TopicReader;

// One run of build/tools/lapor-cli to its end (at most 30 s): exit code and what it printed
// (stdout and stderr), with `env` as its environment.
struct CliRun {
  int exit_code = -1;
  std::string output;
};
CliRun runCli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);

}  // namespace lapor::integration
