// A raw Kafka reader for tests: no group membership, every partition assigned, read_committed.
#pragma once

#include "kafka/message.h"

#include <chrono>
#include <functional>
#include <map>
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
  // Reads until every partition reported its end (partition EOF), so everything acknowledged
  // before the call is in seen(); false if that takes longer than `timeout`.
  bool readToEnd(std::chrono::milliseconds timeout);
  const std::vector<kafka::Message>& seen() const { return seen_; }

 private:
  std::unique_ptr<rd_kafka_s, void (*)(rd_kafka_s*)> rk_;
  std::vector<kafka::Message> seen_;
  int partitions_ = 0;
  std::string topic_;
  std::map<int32_t, int64_t> eof_at_;  // partition -> offset of its end, when last reached
};

// A raw producer send of arbitrary bytes (for malformed input), waiting for the ack.
bool produceRaw(const std::string& brokers, const std::string& topic, const std::string& key,
                const std::string& value);

// Commits the current end of every partition of every topic on the broker for each consumer
// group of `groups`, as `kafka-consumer-groups --reset-offsets --to-latest --all-topics` does,
// so services of those groups started next begin after what earlier tests left on a shared
// broker. The groups must have no active member. Throws on a failure.
void commitGroupsAtEnd(const std::string& brokers, const std::vector<std::string>& groups);

}  // namespace lapor::testing
