// hiredis behind a small reconnecting wrapper; replies are copied out and freed at once.
#include "redis/redis_client.h"

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
    : opt_(std::move(options)), log_(std::move(logger)), ctx_(nullptr, redisFree) {
  std::lock_guard lk(mu_);
  connect();
}

RedisClient::~RedisClient() = default;

void RedisClient::connect() {
  ctx_.reset();
  redisContext* c =
      redisConnectWithTimeout(opt_.host.c_str(), opt_.port, toTimeval(opt_.connect_timeout));
  if (!c) throw RedisError("redis: out of memory creating a connection");
  std::unique_ptr<redisContext, void (*)(redisContext*)> guard(c, redisFree);
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
  ctx_ = std::move(guard);
}

Reply RedisClient::run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  std::string last_error;
  auto backoff = opt_.retry_backoff;
  std::lock_guard lk(mu_);
  for (int attempt = 1; attempt <= opt_.attempts; ++attempt) {
    try {
      if (!ctx_) connect();
      redisSetTimeout(ctx_.get(), toTimeval(timeout));
      auto* raw = static_cast<redisReply*>(
          redisCommandArgv(ctx_.get(), static_cast<int>(args.size()), args.data(), lens.data()));
      if (raw) {
        Reply out = convert(raw);
        freeReplyObject(raw);
        if (out.type == Reply::Type::Error) throw RedisError("redis " + argv[0] + ": " + out.str);
        return out;
      }
      last_error = ctx_->errstr;
      ctx_.reset();  // the connection is in an unknown state after an I/O error
    } catch (const AuthError&) {
      throw;
    } catch (const RedisError& e) {
      if (ctx_) throw;  // an error reply from a live connection: retrying will not help
      last_error = e.what();
    }
    if (attempt < opt_.attempts) {
      log_.warn(
          "redis call failed, reconnecting",
          {{"command", argv.empty() ? "" : argv[0]}, {"attempt", attempt}, {"error", last_error}});
      std::this_thread::sleep_for(backoff);  // bounded retry backoff, not synchronisation
      backoff *= 2;
    }
  }
  throw RedisError("redis " + (argv.empty() ? std::string() : argv[0]) + " failed after " +
                   std::to_string(opt_.attempts) + " attempts: " + last_error);
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

void Pipeline::command(std::vector<std::string> argv) {
  commands_.push_back(std::move(argv));
  scripts_.emplace_back();
}

void Pipeline::eval(const std::string& script, const std::vector<std::string>& keys,
                    const std::vector<std::string>& args) {
  std::vector<std::string> argv{"EVALSHA", sha1Hex(script), std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  commands_.push_back(std::move(argv));
  scripts_.push_back(script);
}

std::vector<Reply> RedisClient::pipeline(const Pipeline& p) {
  std::vector<Reply> out;
  if (p.empty()) return out;
  std::string last_error;
  auto backoff = opt_.retry_backoff;
  {
    std::lock_guard lk(mu_);
    for (int attempt = 1; attempt <= opt_.attempts && out.empty(); ++attempt) {
      try {
        if (!ctx_) connect();
        redisSetTimeout(ctx_.get(), toTimeval(opt_.command_timeout));
        bool appended = true;
        for (const auto& argv : p.commands_) {
          std::vector<const char*> args;
          std::vector<size_t> lens;
          for (const auto& a : argv) {
            args.push_back(a.data());
            lens.push_back(a.size());
          }
          if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(args.size()), args.data(),
                                     lens.data()) != REDIS_OK) {
            appended = false;
            break;
          }
        }
        std::vector<Reply> replies;
        for (size_t i = 0; appended && i < p.commands_.size(); ++i) {
          void* raw = nullptr;
          if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || !raw) {
            appended = false;
            break;
          }
          replies.push_back(convert(static_cast<redisReply*>(raw)));
          freeReplyObject(raw);
        }
        if (appended) {
          out = std::move(replies);
          break;
        }
        last_error = ctx_->errstr;
        ctx_.reset();  // part of the pipeline may be unread: the connection cannot be reused
      } catch (const AuthError&) {
        throw;
      } catch (const RedisError& e) {
        last_error = e.what();
      }
      if (attempt < opt_.attempts) {
        log_.warn("redis pipeline failed, reconnecting",
                  {{"commands", p.size()}, {"attempt", attempt}, {"error", last_error}});
        std::this_thread::sleep_for(backoff);  // bounded retry backoff, not synchronisation
        backoff *= 2;
      }
    }
  }
  if (out.empty())
    throw RedisError("redis pipeline of " + std::to_string(p.size()) + " commands failed after " +
                     std::to_string(opt_.attempts) + " attempts: " + last_error);
  for (size_t i = 0; i < out.size(); ++i) {
    if (p.scripts_[i].empty() || out[i].type != Reply::Type::Error ||
        out[i].str.find("NOSCRIPT") == std::string::npos)
      continue;
    auto argv = p.commands_[i];
    argv[0] = "EVAL";
    argv[1] = p.scripts_[i];
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

Reply RedisClient::eval(const std::string& script, const std::vector<std::string>& keys,
                        const std::vector<std::string>& args) {
  std::vector<std::string> argv{"EVALSHA", shaOf(script), std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    return command(argv);
  } catch (const RedisError& e) {
    if (std::string(e.what()).find("NOSCRIPT") == std::string::npos) throw;
  }
  argv[0] = "EVAL";
  argv[1] = script;
  return command(argv);
}

}  // namespace lapor::redis
