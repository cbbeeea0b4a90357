// hiredis behind a small reconnecting wrapper; replies are copied out and freed at once.
#include "redis/redis_client.h"

#include "redis/packed_value.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <cstdio>
#include <thread>

namespace lapor::redis {

namespace {
timeval toTimeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_NIL:
      out.type = Reply::Type::Nil;
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::Array;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

std::string sha1Hex(const std::string& s) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  char hex[SHA_DIGEST_LENGTH * 2 + 1];
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) std::snprintf(hex + i * 2, 3, "%02x", md[i]);
  return std::string(hex, SHA_DIGEST_LENGTH * 2);
}
}  // namespace

RedisClient::RedisClient(RedisOptions options, log::Logger logger)
    : opt_(std::move(options)), log_(std::move(logger)) {
  if (opt_.connections < 1) throw std::invalid_argument("redis.connections: must be at least 1");
  idle_.push_back(connect());  // a wrong address or login shows at start
  open_ = 1;
}

std::string RedisClient::pack(std::string value) const {
  return opt_.pack_values ? packValue(value) : value;
}

RedisClient::~RedisClient() = default;

RedisClient::Context RedisClient::connect() {
  redisContext* c =
      redisConnectWithTimeout(opt_.host.c_str(), opt_.port, toTimeval(opt_.connect_timeout));
  if (!c) throw RedisError("redis: out of memory creating a connection");
  Context guard(c, redisFree);
  if (c->err)
    throw RedisError("redis " + opt_.host + ":" + std::to_string(opt_.port) + ": " + c->errstr +
                     " (check redis.host / redis.port)");
  if (!opt_.password.empty()) {
    redisSetTimeout(c, toTimeval(opt_.command_timeout));
    auto* raw = static_cast<redisReply*>(
        opt_.username.empty()
            ? redisCommand(c, "AUTH %b", opt_.password.data(), opt_.password.size())
            : redisCommand(c, "AUTH %b %b", opt_.username.data(), opt_.username.size(),
                           opt_.password.data(), opt_.password.size()));
    if (!raw)
      throw RedisError("redis " + opt_.host + ":" + std::to_string(opt_.port) +
                       ": AUTH: " + c->errstr);
    const Reply reply = convert(raw);
    freeReplyObject(raw);
    if (reply.type == Reply::Type::Error)
      // A refused login is not retried: the next attempt would be refused the same way.
      throw AuthError("redis " + opt_.host + ":" + std::to_string(opt_.port) + ": AUTH as " +
                      (opt_.username.empty() ? std::string("default") : opt_.username) +
                      " refused: " + reply.str + " (check redis.username / redis.password)");
  }
  return guard;
}

RedisClient::Context RedisClient::acquire() {
  std::unique_lock lk(pool_mu_);
  pool_cv_.wait(lk, [&] { return !idle_.empty() || open_ < opt_.connections; });
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }
  ++open_;
  return Context(nullptr, redisFree);
}

void RedisClient::release(Context c) {
  {
    std::lock_guard lk(pool_mu_);
    if (c)
      idle_.push_back(std::move(c));
    else
      --open_;
  }
  pool_cv_.notify_one();
}

namespace {
// hiredis's argv form of one command (pointers into `argv`, which must outlive it).
struct ArgvView {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  explicit ArgvView(const std::vector<std::string>* argv) {
    for (const auto& a : *argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
  }
};
}  // namespace

std::vector<Reply> RedisClient::roundTrip(
    const std::vector<const std::vector<std::string>*>& commands, std::chrono::milliseconds timeout) {
  std::vector<ArgvView> views(commands.begin(), commands.end());
  std::string last_error;
  auto backoff = opt_.retry_backoff;
  // The connection is this call's for the whole round trip, and goes back however it ends.
  struct Held {
    RedisClient& client;
    Context ctx;
    ~Held() { client.release(std::move(ctx)); }
  } held{*this, acquire()};
  auto& ctx = held.ctx;
  for (int attempt = 1; attempt <= opt_.attempts; ++attempt) {
    try {
      if (!ctx) ctx = connect();
      redisSetTimeout(ctx.get(), toTimeval(timeout));
      bool ok = true;
      for (auto& v : views)
        if (redisAppendCommandArgv(ctx.get(), static_cast<int>(v.args.size()), v.args.data(),
                                   v.lens.data()) != REDIS_OK) {
          ok = false;
          break;
        }
      std::vector<Reply> replies;
      for (size_t i = 0; ok && i < commands.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(ctx.get(), &raw) != REDIS_OK || !raw) {
          ok = false;
          break;
        }
        replies.push_back(convert(static_cast<redisReply*>(raw)));
        freeReplyObject(raw);
      }
      if (ok) return replies;
      last_error = ctx->errstr;
      ctx.reset();  // part of the round trip may be unread: the connection cannot be reused
    } catch (const AuthError&) {
      throw;
    } catch (const RedisError& e) {
      last_error = e.what();
    }
    if (attempt < opt_.attempts) {
      log_.warn("redis call failed, reconnecting",
                {{"command", commands.front()->empty() ? "" : commands.front()->front()},
                 {"commands", commands.size()},
                 {"attempt", attempt},
                 {"error", last_error}});
      std::this_thread::sleep_for(backoff);  // bounded retry backoff, not synchronisation
      backoff *= 2;
    }
  }
  const std::string what = commands.size() == 1
                               ? "redis " + (commands.front()->empty() ? "" : commands.front()->front())
                               : "redis pipeline of " + std::to_string(commands.size()) + " commands";
  throw RedisError(what + " failed after " + std::to_string(opt_.attempts) + " attempts: " +
                   last_error);
}

Reply RedisClient::run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  auto out = std::move(roundTrip({&argv}, timeout).front());
  if (out.type == Reply::Type::Error) throw RedisError("redis " + argv[0] + ": " + out.str);
  return out;
}

Reply RedisClient::command(const std::vector<std::string>& argv) {
  return run(argv, opt_.command_timeout);
}

Reply RedisClient::commandWithTimeout(const std::vector<std::string>& argv,
                                      std::chrono::milliseconds t) {
  return run(argv, t);
}

std::string RedisClient::shaOf(const std::string& script) {
  std::lock_guard lk(sha_mu_);
  auto it = shas_.find(script);
  if (it != shas_.end()) return it->second;
  // Bounded in case a caller ever builds scripts from data: start over rather than grow.
  if (shas_.size() >= 256) shas_.clear();
  return shas_.emplace(script, sha1Hex(script)).first->second;
}

Script::Script(std::string text) : text_(std::move(text)), sha_(sha1Hex(text_)) {}

namespace {
std::vector<std::string> evalshaArgv(std::string sha, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv{"EVALSHA", std::move(sha), std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}
}  // namespace

void Pipeline::command(std::vector<std::string> argv) {
  commands_.push_back(std::move(argv));
  scripts_.push_back(nullptr);
}

void Pipeline::eval(const Script& script, const std::vector<std::string>& keys,
                    const std::vector<std::string>& args) {
  commands_.push_back(evalshaArgv(script.sha(), keys, args));
  scripts_.push_back(&script.text());
}

void Pipeline::eval(const std::string& script, const std::vector<std::string>& keys,
                    const std::vector<std::string>& args) {
  commands_.push_back(evalshaArgv("", keys, args));  // the SHA is filled in when sent
  scripts_.push_back(&owned_.emplace_back(script));
}

std::vector<Reply> RedisClient::pipelineOrThrow(const Pipeline& p, const std::string& what) {
  auto replies = pipeline(p);
  for (const auto& r : replies)
    if (r.type == Reply::Type::Error) throw RedisError("redis " + what + ": " + r.str);
  return replies;
}

std::vector<Reply> RedisClient::pipeline(const Pipeline& p) {
  if (p.empty()) return {};
  // Scripts given as text get their SHA now (a copy of the command); the rest go as queued.
  std::deque<std::vector<std::string>> filled;
  std::vector<const std::vector<std::string>*> send;
  for (size_t i = 0; i < p.commands_.size(); ++i) {
    if (p.scripts_[i] && p.commands_[i][1].empty()) {
      filled.push_back(p.commands_[i]);
      filled.back()[1] = shaOf(*p.scripts_[i]);
      send.push_back(&filled.back());
    } else {
      send.push_back(&p.commands_[i]);
    }
  }
  auto out = roundTrip(send, opt_.command_timeout);
  for (size_t i = 0; i < out.size(); ++i) {
    if (!p.scripts_[i] || out[i].type != Reply::Type::Error ||
        out[i].str.find("NOSCRIPT") == std::string::npos)
      continue;
    auto argv = *send[i];
    argv[0] = "EVAL";
    argv[1] = *p.scripts_[i];
    try {
      out[i] = command(argv);
    } catch (const AuthError&) {
      throw;
    } catch (const RedisError& e) {
      out[i].str = e.what();  // still an error reply, now the script's own
    }
  }
  return out;
}

Reply RedisClient::evalsha(std::vector<std::string> argv, const std::string& text) {
  try {
    return command(argv);
  } catch (const RedisError& e) {
    if (std::string(e.what()).find("NOSCRIPT") == std::string::npos) throw;
  }
  argv[0] = "EVAL";
  argv[1] = text;
  return command(argv);
}

Reply RedisClient::eval(const Script& script, const std::vector<std::string>& keys,
                        const std::vector<std::string>& args) {
  return evalsha(evalshaArgv(script.sha(), keys, args), script.text());
}

Reply RedisClient::eval(const std::string& script, const std::vector<std::string>& keys,
                        const std::vector<std::string>& args) {
  return evalsha(evalshaArgv(shaOf(script), keys, args), script);
}

}  // namespace lapor::redis
