// Redis for the integration tests that run a service's parts in-process: a client under a
// prefix of the test's own, and the removal of everything under it afterwards.
#pragma once

#include "process.h"
#include "redis/redis_client.h"

#include <string>

namespace lapor::integration {

// The test Redis (LAPOR_REDIS_HOST, LAPOR_REDIS_PORT), every key under `prefix`.
inline redis::RedisOptions testRedisOptions(const std::string& prefix) {
  redis::RedisOptions o;
  o.host = testing::requiredEnv("LAPOR_REDIS_HOST");
  o.port = std::stoi(testing::requiredEnv("LAPOR_REDIS_PORT"));
  o.prefix = prefix;
  return o;
}

// Deletes every key under the client's prefix.
inline void deleteKeysOf(redis::RedisClient& r) {
  auto keys = r.command({"KEYS", r.key("*")});
  for (const auto& k : keys.elements) r.command({"DEL", k.str});
}

}  // namespace lapor::integration
