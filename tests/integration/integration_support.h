// Helpers for the integration tests: where Kafka and Redis are, unique names, waiting on a
// condition with a deadline, and a raw reader for the tail of a topic.
#pragma once

#include "kafka/message.h"

#include <chrono>
#include <functional>
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

// Re-checks `pred` until it holds or `timeout` passes; returns the last result. The short
// pause between checks is the polling interval of the condition, not a synchronisation delay.
template <class Pred>
bool waitFor(Pred&& pred, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(interval);
  }
  return pred();
}

// Partitions of `topic` according to the broker's metadata; -1 when the topic does not exist.
int partitionCount(const std::string& brokers, const std::string& topic);

// Reads a topic from the end it had when constructed (every partition), without a group
// commit, so a test sees only what was written after it started.
class TailReader {
 public:
  TailReader(const std::string& brokers, const std::string& topic);
  ~TailReader();
  TailReader(const TailReader&) = delete;
  TailReader& operator=(const TailReader&) = delete;

  // Reads until `pred` holds for a message or `timeout` passes; returns the matching message.
  std::optional<kafka::Message> readUntil(const std::function<bool(const kafka::Message&)>& pred,
                                          std::chrono::milliseconds timeout);
  // Everything read so far.
  const std::vector<kafka::Message>& seen() const { return seen_; }

 private:
  std::unique_ptr<rd_kafka_s, void (*)(rd_kafka_s*)> rk_;
  std::vector<kafka::Message> seen_;
};

}  // namespace lapor::integration
