// API keys are compared as SHA-256 hashes in constant time, so neither the config file nor the
// timing of an answer gives a key away.
#include "publishers.h"

#include "auth/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>

namespace lapor::intake {

namespace {
// Counts ARGV[3] submissions; returns {how many of them are within the limit, -1} when all are,
// else {that many, the milliseconds left in the window}.
constexpr const char* kTakeScript = R"lua(
local count = tonumber(ARGV[3])
local n = redis.call('INCRBY', KEYS[1], count)
if n == count then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local over = n - tonumber(ARGV[2])
if over <= 0 then return {count, -1} end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); left = tonumber(ARGV[1]) end
return {math.max(0, count - over), left}
)lua";

bool isHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

PublisherRegistry::PublisherRegistry(std::vector<Publisher> publishers,
                                     std::optional<Publisher> keyless,
                                     std::chrono::milliseconds window)
    : publishers_(std::move(publishers)), keyless_(std::move(keyless)), window_(window) {}

PublisherRegistry PublisherRegistry::fromConfig(const config::Config& cfg) {
  std::vector<Publisher> list;
  const auto node = cfg.node("publishers");
  if (node && !node.IsSequence())
    throw cfg.error("publishers", "", "must be a list of {id, key_sha256, rate_limit}");
  if (node) {
    for (size_t i = 0; i < node.size(); ++i) {
      const auto& n = node[i];
      const auto where = "[" + std::to_string(i) + "]";
      Publisher p;
      try {
        p.id = n["id"] ? n["id"].as<std::string>() : "";
        p.key_sha256 = lower(n["key_sha256"] ? n["key_sha256"].as<std::string>() : "");
        p.rate_limit = n["rate_limit"] ? n["rate_limit"].as<int64_t>() : 0;
      } catch (const YAML::Exception& e) {
        throw cfg.error("publishers", where, e.what());
      }
      if (p.id.empty() || p.id == "public")
        throw cfg.error("publishers", where + ".id", "is required and must not be 'public'");
      if (!isHex64(p.key_sha256))
        throw cfg.error("publishers", where + ".key_sha256",
                        "must be the SHA-256 of the key in hex (64 characters)");
      if (p.rate_limit < 0) throw cfg.error("publishers", where + ".rate_limit", "must be >= 0");
      for (const auto& other : list)
        if (other.id == p.id || other.key_sha256 == p.key_sha256)
          throw cfg.error("publishers", where, "repeats the id or key of '" + other.id + "'");
      list.push_back(std::move(p));
    }
  }
  std::optional<Publisher> keyless;
  if (cfg.getBool("auth", "allow_keyless", true))
    keyless = Publisher{"public", "", cfg.getInt("auth", "keyless_rate_limit", 600, 0)};
  const auto window = cfg.getDuration("auth", "rate_window", std::chrono::seconds(60));
  if (window < std::chrono::milliseconds(100))
    throw cfg.error("auth", "rate_window", "must be at least 100ms");
  return PublisherRegistry(std::move(list), std::move(keyless), window);
}

PublisherRegistry::Auth PublisherRegistry::authenticate(
    const std::optional<std::string>& key) const {
  if (!key || key->empty()) {
    if (keyless_) return {&*keyless_, ""};
    return {nullptr, "an API key is required (x-api-key metadata, api_key form field)"};
  }
  const auto hash = auth::sha256Hex(*key);
  const Publisher* found = nullptr;
  for (const auto& p : publishers_)  // no early exit: the time taken does not depend on the key
    if (CRYPTO_memcmp(p.key_sha256.data(), hash.data(), hash.size()) == 0) found = &p;
  if (!found) return {nullptr, "unknown API key"};
  return {found, ""};
}

RateLimiter::Taken RateLimiter::take(const Publisher& p, std::chrono::milliseconds window,
                                     int64_t count) {
  if (p.rate_limit <= 0 || count <= 0) return {count, std::nullopt};
  auto r = redis_.eval(kTakeScript, {redis_.key("intake:rate:" + p.id)},
                       {std::to_string(window.count()), std::to_string(p.rate_limit),
                        std::to_string(count)});
  if (r.elements.size() != 2) throw redis::RedisError("rate limit: unexpected reply");
  Taken t{r.elements[0].integer, std::nullopt};
  if (r.elements[1].integer >= 0) t.retry_after = std::chrono::milliseconds(r.elements[1].integer);
  return t;
}

}  // namespace lapor::intake
