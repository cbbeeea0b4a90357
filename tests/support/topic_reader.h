// A raw Kafka reader for tests: no group membership, every partition assigned, read_committed.
#pragma once

#include "kafka/message.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct rd_kafka_s;

namespace lapor::testing {

class TopicReader {
 public:
  // Beginning: everything the topic holds. End: only what is written after construction (for
  // shared topics such as the dead-letter topic).
  enum class From { Beginning, End };
  TopicReader(const std::string& brokers, const std::string& topic, From from = From::Beginning);
  ~TopicReader();
  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;
  // Reads until `pred` holds for a message or `timeout` passes; everything read is kept in
  // seen(). Returns the matching message.
  std::optional<kafka::Message> readUntil(const std::function<bool(const kafka::Message&)>& pred,
                                          std::chrono::milliseconds timeout);
  const std::vector<kafka::Message>& seen() const { return seen_; }

 private:
  std::unique_ptr<rd_kafka_s, void (*)(rd_kafka_s*)> rk_;
  std::vector<kafka::Message> seen_;
};

// A raw producer send of arbitrary bytes (for malformed input), waiting for the ack.
bool produceRaw(const std::string& brokers, const std::string& topic, const std::string& key,
                const std::string& value);

}  // namespace lapor::testing
