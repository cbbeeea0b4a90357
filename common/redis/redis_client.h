// Redis client: one connection, every call with a timeout, reconnect with bounded retry.
#pragma once

#include "log/logger.h"

#include <chrono>
#include <condition_variable>
#include <deque>
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
  // The most connections open at once. Each call takes an idle one (or opens one) for its round
  // trip, so calls from this many threads run side by side; more wait for a connection. A
  // client used from one thread only ever opens one.
  int connections = 1;
  // Whether records that repeat text are written compressed (redis/packed_value.h). Readers
  // take both forms either way; `false` is for the first step of an upgrade from a version
  // that cannot read them, while instances of both run (docs/deployment.md, "Upgrades").
  bool pack_values = true;
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

// A Lua script with its SHA1, computed once: keep one per script (a static or a member) and
// hand it to eval, so no call hashes the text again.
class Script {
 public:
  explicit Script(std::string text);
  const std::string& text() const { return text_; }
  const std::string& sha() const { return sha_; }

 private:
  std::string text_, sha_;
};

// One script call: run alone (RedisClient::eval) or queued into a pipeline (Pipeline::eval).
struct ScriptCall {
  const Script* script = nullptr;
  std::vector<std::string> keys, args;
};

// Commands for one round trip (RedisClient::pipeline). Not a transaction: Redis runs them in
// order, and other clients' commands may run between them.
class Pipeline {
 public:
  void command(std::vector<std::string> argv);
  // EVALSHA of `script`; a NOSCRIPT reply (Redis restarted) is run again with EVAL. `script`
  // must outlive the pipeline.
  void eval(const Script& script, const std::vector<std::string>& keys,
            const std::vector<std::string>& args);
  void eval(const ScriptCall& c) { eval(*c.script, c.keys, c.args); }
  // The same for a script text (copied; its SHA from the client's cache when sent).
  void eval(const std::string& script, const std::vector<std::string>& keys,
            const std::vector<std::string>& args);
  size_t size() const { return commands_.size(); }
  bool empty() const { return commands_.empty(); }

 private:
  friend class RedisClient;
  std::vector<std::vector<std::string>> commands_;
  std::vector<const std::string*> scripts_;  // per command: the script text for EVALSHA, else null
  std::deque<std::string> owned_;            // texts given as strings
};

class RedisClient {
 public:
  RedisClient(RedisOptions options, log::Logger logger);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command (binary-safe argv). Throws RedisError after `attempts` failed tries, or at
  // once for a Redis error reply. Thread-safe: concurrent calls use up to `connections`
  // connections, so two calls from different threads may reach Redis in either order.
  Reply command(const std::vector<std::string>& argv);
  // Same, with a longer timeout for blocking reads (XREAD BLOCK).
  Reply commandWithTimeout(const std::vector<std::string>& argv, std::chrono::milliseconds t);

  // EVALSHA with a fallback to EVAL when the script is not loaded (after a Redis restart).
  Reply eval(const std::string& script, const std::vector<std::string>& keys,
             const std::vector<std::string>& args);
  Reply eval(const Script& script, const std::vector<std::string>& keys,
             const std::vector<std::string>& args);
  Reply eval(const ScriptCall& c) { return eval(*c.script, c.keys, c.args); }

  // Every command of `p` in one round trip; the replies in the same order. An error reply is
  // returned as a Reply of Type::Error, not thrown, so one refused command does not hide what
  // the others did. An I/O failure sends the whole pipeline again on a new connection (as
  // command() does for one command: every command must be safe to repeat) and throws
  // RedisError after `attempts`. A script Redis no longer holds (NOSCRIPT) runs again alone with
  // EVAL after the rest. Thread-safe; the connection is held for the whole round trip.
  std::vector<Reply> pipeline(const Pipeline& p);
  // The same, for pipelines that only succeed whole: the first error reply is thrown as
  // RedisError("redis <what>: <error>"), after every command of `p` ran.
  std::vector<Reply> pipelineOrThrow(const Pipeline& p, const std::string& what);

  std::string key(const std::string& suffix) const { return opt_.prefix + suffix; }
  const RedisOptions& options() const { return opt_; }
  // A record as this client writes it: packed (redis/packed_value.h) unless pack_values is off.
  std::string pack(std::string value) const;

 private:
  using Context = std::unique_ptr<redisContext, void (*)(redisContext*)>;
  // A new connection, logged in; throws RedisError (AuthError for a refused login).
  Context connect();
  // An idle connection, or an empty one for the caller to open when fewer than `connections`
  // are open; waits while all are in use. Every acquire() is paired with a release().
  Context acquire();
  // Back to the idle ones; an empty one (closed after an I/O error) frees its place.
  void release(Context c);
  // The commands in one round trip, their replies (error replies included) in order; an I/O
  // failure reconnects and sends them all again, up to `attempts`, then throws RedisError.
  std::vector<Reply> roundTrip(const std::vector<const std::vector<std::string>*>& commands,
                               std::chrono::milliseconds timeout);
  // EVALSHA's argv, or EVAL with `text` when Redis does not hold the script.
  Reply evalsha(std::vector<std::string> argv, const std::string& text);
  // One command; an error reply is thrown.
  Reply run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);
  // The SHA1 of a script, computed once per distinct script text.
  std::string shaOf(const std::string& script);

  RedisOptions opt_;
  log::Logger log_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<Context> idle_;
  int open_ = 0;  // connections idle or taken by a call
  // Script text -> SHA1 hex. The services hold a fixed handful of scripts, so the map stays
  // small; it is keyed by content because some callers build the text on each call.
  std::mutex sha_mu_;
  std::unordered_map<std::string, std::string> shas_;
};

}  // namespace lapor::redis
