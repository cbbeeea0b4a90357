// How far a consumer group has got: its committed offsets, read through the Kafka admin API
// (ListConsumerGroupOffsets). Notification reads them for the agencies that consume their
// dispatch topic with their own group. An interface, so the logic that uses it is testable
// without a broker; AdminGroupOffsets is the real thing.
#pragma once

#include "log/logger.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

struct rd_kafka_s;

namespace lapor::kafka {

struct GroupOffsets {
  std::string error;                   // "" on success
  std::map<int32_t, int64_t> next;     // partition -> committed offset (the next one to read)
  bool ok() const { return error.empty(); }
};

class GroupOffsetsReader {
 public:
  virtual ~GroupOffsetsReader() = default;
  // The offsets `group` committed on the partitions of `topic`; a partition it never committed
  // on (or a group that does not exist) is absent.
  virtual GroupOffsets committed(const std::string& group, const std::string& topic) = 0;
};

struct GroupOffsetsOptions {
  std::string brokers;
  std::string client_id = "lapor";
  std::chrono::milliseconds timeout{5000};   // per request
  std::map<std::string, std::string> extra;  // any other librdkafka property (e.g. security)
};

class AdminGroupOffsets final : public GroupOffsetsReader {
 public:
  // Throws std::invalid_argument naming a bad property.
  AdminGroupOffsets(const GroupOffsetsOptions& options, log::Logger logger);
  ~AdminGroupOffsets() override;
  AdminGroupOffsets(const AdminGroupOffsets&) = delete;
  AdminGroupOffsets& operator=(const AdminGroupOffsets&) = delete;

  GroupOffsets committed(const std::string& group, const std::string& topic) override;

 private:
  struct Deleter {
    void operator()(rd_kafka_s* rk) const;
  };
  log::Logger log_;  // before rk_: librdkafka may log while it is destroyed
  std::chrono::milliseconds timeout_;
  std::unique_ptr<rd_kafka_s, Deleter> rk_;
};

}  // namespace lapor::kafka
