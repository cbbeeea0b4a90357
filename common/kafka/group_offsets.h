// How far a consumer group has got: its committed offsets (an OffsetFetch to the group's
// coordinator). Notification reads them for the agencies that consume their dispatch topic with
// their own group. An interface, so the logic that uses it is testable without a broker;
// ConsumerGroupOffsets is the real thing.
#pragma once

#include "kafka/client_security.h"
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
  ClientSecurity security;  // the service's own TLS / SASL settings
  std::string client_id = "lapor";
  std::chrono::milliseconds timeout{5000};   // per request
  std::map<std::string, std::string> extra;  // any other librdkafka property (e.g. security)
};

// One consumer handle per group asked about, with that group.id, that never subscribes nor
// commits: it only reads the group's committed offsets (rd_kafka_committed) on the topic's
// partitions. Not the admin API's ListConsumerGroupOffsets: in librdkafka (2.0.2 and later
// releases alike) a coordinator-targeted admin request that meets a broker disconnect can abort
// the process (assertion "eonce->refcnt > 0" in rd_kafka_enq_once_del_source_return), which a
// broker killed under load showed here. Not thread-safe: one caller at a time.
class ConsumerGroupOffsets final : public GroupOffsetsReader {
 public:
  // Throws std::invalid_argument naming a bad property (checked once here, on a first handle).
  ConsumerGroupOffsets(const GroupOffsetsOptions& options, log::Logger logger);
  ~ConsumerGroupOffsets() override;
  ConsumerGroupOffsets(const ConsumerGroupOffsets&) = delete;
  ConsumerGroupOffsets& operator=(const ConsumerGroupOffsets&) = delete;

  GroupOffsets committed(const std::string& group, const std::string& topic) override;

 private:
  struct Deleter {
    void operator()(rd_kafka_s* rk) const;
  };
  using Handle = std::unique_ptr<rd_kafka_s, Deleter>;
  Handle open(const std::string& group);  // throws std::invalid_argument / std::runtime_error

  log::Logger log_;  // before the handles: librdkafka may log while one is destroyed
  GroupOffsetsOptions options_;
  std::map<std::string, Handle> handles_;  // group -> its handle
};

}  // namespace lapor::kafka
