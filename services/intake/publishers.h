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
  // nullopt when allowed; otherwise how long until the window resets. Throws RedisError.
  std::optional<std::chrono::milliseconds> take(const Publisher& p,
                                                std::chrono::milliseconds window);

 private:
  redis::RedisClient& redis_;
};

}  // namespace lapor::intake
