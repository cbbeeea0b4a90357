// Redis client: one connection, every call with a timeout, reconnect with bounded retry.
#pragma once

#include "log/logger.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

struct redisContext;
struct redisReply;

namespace lapor::redis {

class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Redis refused our credentials (AUTH / ACL user); retrying cannot help.
class AuthError : public RedisError {
 public:
  using RedisError::RedisError;
};

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  int attempts = 3;                              // per command, reconnecting in between
  std::chrono::milliseconds retry_backoff{100};  // doubled each attempt
  std::string prefix = "lapor:";                 // every key we write starts with it
  std::string username;  // Redis ACL user ("" = the default user)
  std::string password;  // AUTH after every connect when not empty
};

// A decoded reply; arrays nest. Owns no hiredis memory.
struct Reply {
  enum class Type { Nil, Status, Error, Integer, String, Array };
  Type type = Type::Nil;
  long long integer = 0;
  std::string str;
  std::vector<Reply> elements;

  bool isNil() const { return type == Type::Nil; }
  // For a flat field/value array (HGETALL, stream entries): the value of `name`, or null.
  const std::string* field(const std::string& name) const {
    for (size_t i = 0; i + 1 < elements.size(); i += 2)
      if (elements[i].str == name) return &elements[i + 1].str;
    return nullptr;
  }
};

// Commands for one round trip (RedisClient::pipeline). Not a transaction: Redis runs them in
// order, and other clients' commands may run between them.
class Pipeline {
 public:
  void command(std::vector<std::string> argv);
  // EVALSHA of `script`; a NOSCRIPT reply (Redis restarted) is run again with EVAL.
  void eval(const std::string& script, const std::vector<std::string>& keys,
            const std::vector<std::string>& args);
  size_t size() const { return commands_.size(); }
  bool empty() const { return commands_.empty(); }

 private:
  friend class RedisClient;
  std::vector<std::vector<std::string>> commands_;
  std::vector<std::string> scripts_;  // per command: the script text for EVALSHA, else ""
};

class RedisClient {
 public:
  RedisClient(RedisOptions options, log::Logger logger);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command (binary-safe argv). Throws RedisError after `attempts` failed tries, or at
  // once for a Redis error reply. Thread-safe.
  Reply command(const std::vector<std::string>& argv);
  // Same, with a longer timeout for blocking reads (XREAD BLOCK).
  Reply commandWithTimeout(const std::vector<std::string>& argv, std::chrono::milliseconds t);

  // EVALSHA with a fallback to EVAL when the script is not loaded (after a Redis restart).
  Reply eval(const std::string& script, const std::vector<std::string>& keys,
             const std::vector<std::string>& args);

  // Every command of `p` in one round trip; the replies in the same order. An error reply is
  // returned as a Reply of Type::Error, not thrown, so one refused command does not hide what
  // the others did. An I/O failure sends the whole pipeline again on a new connection (as
  // command() does for one command: every command must be safe to repeat) and throws
  // RedisError after `attempts`. A script Redis no longer holds (NOSCRIPT) runs again alone with
  // EVAL after the rest. Thread-safe; the connection is held for the whole round trip.
  std::vector<Reply> pipeline(const Pipeline& p);

  std::string key(const std::string& suffix) const { return opt_.prefix + suffix; }
  const RedisOptions& options() const { return opt_; }

 private:
  void connect();
  Reply run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);
  // The SHA1 of a script, computed once per distinct script text.
  std::string shaOf(const std::string& script);

  RedisOptions opt_;
  log::Logger log_;
  std::mutex mu_;
  std::unique_ptr<redisContext, void (*)(redisContext*)> ctx_;
  // Script text -> SHA1 hex. The services hold a fixed handful of scripts, so the map stays
  // small; it is keyed by content because some callers build the text on each call.
  std::mutex sha_mu_;
  std::unordered_map<std::string, std::string> shas_;
};

}  // namespace lapor::redis
