// Who may publish: API keys per publisher (kept as SHA-256 hashes in the config) and the
// per-publisher rate limit, counted in Redis so every intake instance shares one budget.
#pragma once

#include "config/config.h"
#include "redis/redis_client.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lapor::intake {

struct Publisher {
  std::string id;
  std::string key_sha256;  // lower-case hex; empty for the keyless public publisher
  int64_t rate_limit = 0;  // submissions per window; 0 = no limit
};

class PublisherRegistry {
 public:
  PublisherRegistry(std::vector<Publisher> publishers, std::optional<Publisher> keyless,
                    std::chrono::milliseconds window);
  // Sections `publishers` (a list of {id, key_sha256, rate_limit}) and `auth`.
  static PublisherRegistry fromConfig(const config::Config& cfg);

  struct Auth {
    const Publisher* publisher = nullptr;  // null: refused, see error
    std::string error;
  };
  // `key` is the presented API key, nullopt when the caller sent none.
  Auth authenticate(const std::optional<std::string>& key) const;
  std::chrono::milliseconds window() const { return window_; }

 private:
  std::vector<Publisher> publishers_;
  std::optional<Publisher> keyless_;
  std::chrono::milliseconds window_;
};

// Fixed window per publisher: INCR a counter that expires with its window, atomically in Lua.
class RateLimiter {
 public:
  explicit RateLimiter(redis::RedisClient& redis) : redis_(redis) {}
  struct Taken {
    int64_t allowed = 0;  // how many of the submissions counted are within the limit
    std::optional<std::chrono::milliseconds> retry_after;  // when some are not: till the reset
  };
  // Counts `count` submissions at once (the first `allowed` of them pass). Throws RedisError.
  Taken take(const Publisher& p, std::chrono::milliseconds window, int64_t count = 1);

 private:
  redis::RedisClient& redis_;
};

}  // namespace lapor::intake
