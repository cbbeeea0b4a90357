// Redis for the integration tests that run a service's parts in-process: a client under a
// prefix of the test's own, and the removal of everything under it afterwards.
#pragma once

#include "process.h"
#include "redis/redis_client.h"

#include <cstdint>
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

// How many times Redis has run `command` (lower case, e.g. "hgetall"), scripts' commands
// included, since it started: INFO commandstats, cmdstat_<command>:calls=N. Each test stack
// runs one test at a time, so the difference over a step is that step's.
inline int64_t commandCalls(redis::RedisClient& r, const std::string& command) {
  const auto info = r.command({"INFO", "commandstats"}).str;
  const auto name = "cmdstat_" + command + ":calls=";
  const auto at = info.find(name);
  if (at == std::string::npos) return 0;
  return std::stoll(info.substr(at + name.size()));
}

}  // namespace lapor::integration
