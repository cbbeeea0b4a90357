// `lapor-intake --rebuild-view`: drops the tracking view and replays lapor.complaints.v1 from
// its beginning to its current end through the same ViewHandler, then returns.
#pragma once

#include "kafka/client_security.h"
#include "log/logger.h"
#include "redis/redis_client.h"
#include "view_handler.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace lapor::intake {

struct RebuildStats {
  uint64_t events = 0;       // messages read from the topic
  uint64_t undecodable = 0;  // skipped (they sit in the dead-letter topic already)
  uint64_t keys_dropped = 0;
};

// Throws std::runtime_error (Kafka) or redis::RedisError; the view is then partial and a rerun
// completes it.
RebuildStats rebuildView(const std::string& brokers, const kafka::ClientSecurity& security,
                         redis::RedisClient& redis,
                         ViewHandler& handler, const log::Logger& logger,
                         std::chrono::milliseconds timeout);

}  // namespace lapor::intake
