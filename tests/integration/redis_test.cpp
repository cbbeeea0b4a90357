// The Redis client against a real Redis: replies, binary safety, error replies, scripts after
// SCRIPT FLUSH, timeouts and reconnecting after the server dropped the connection.
#include "integration_support.h"
#include "log/logger.h"
#include "redis/redis_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;
using redis::RedisClient;
using redis::RedisError;
using redis::RedisOptions;
using redis::Reply;

log::Logger redisLogger() {
  return log::Logger("redis-it", log::Level::Error);
}

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = serviceEnv("LAPOR_REDIS_HOST");
    ASSERT_TRUE(host) << missingEnvMessage("LAPOR_REDIS_HOST");
    auto port = serviceEnv("LAPOR_REDIS_PORT");
    ASSERT_TRUE(port) << missingEnvMessage("LAPOR_REDIS_PORT");
    base_.host = *host;
    base_.port = std::stoi(*port);
    base_.prefix = uniqueName("lapor-it") + ":";
    client_ = std::make_unique<RedisClient>(base_, redisLogger());
  }

  void TearDown() override {
    if (!client_) return;
    // Remove what this test wrote; every key carries its unique prefix.
    std::string cursor = "0";
    do {
      auto r = client_->command({"SCAN", cursor, "MATCH", base_.prefix + "*", "COUNT", "1000"});
      cursor = r.elements.at(0).str;
      for (const auto& k : r.elements.at(1).elements) client_->command({"DEL", k.str});
    } while (cursor != "0");
  }

  RedisOptions base_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(RedisTest, KeysCarryThePrefix) {
  EXPECT_EQ(client_->key("obligation:1"), base_.prefix + "obligation:1");
  EXPECT_EQ(client_->options().prefix, base_.prefix);
}

TEST_F(RedisTest, CommandRoundTrip) {
  const auto key = client_->key("plain");
  auto set = client_->command({"SET", key, "hello"});
  EXPECT_EQ(set.type, Reply::Type::Status);
  EXPECT_EQ(set.str, "OK");

  auto get = client_->command({"GET", key});
  EXPECT_EQ(get.type, Reply::Type::String);
  EXPECT_EQ(get.str, "hello");

  auto missing = client_->command({"GET", client_->key("absent")});
  EXPECT_TRUE(missing.isNil());

  auto incr = client_->command({"INCRBY", client_->key("counter"), "41"});
  EXPECT_EQ(incr.type, Reply::Type::Integer);
  EXPECT_EQ(incr.integer, 41);
  EXPECT_EQ(client_->command({"INCR", client_->key("counter")}).integer, 42);

  client_->command({"RPUSH", client_->key("list"), "a", "b", "c"});
  auto range = client_->command({"LRANGE", client_->key("list"), "0", "-1"});
  ASSERT_EQ(range.type, Reply::Type::Array);
  ASSERT_EQ(range.elements.size(), 3u);
  EXPECT_EQ(range.elements[0].str, "a");
  EXPECT_EQ(range.elements[2].str, "c");
}

TEST_F(RedisTest, ValuesAndKeysAreBinarySafe) {
  const std::string value("before\0after\xff\r\n", 15);
  const std::string key = client_->key(std::string("bin\0key", 7));
  client_->command({"SET", key, value});
  auto get = client_->command({"GET", key});
  ASSERT_EQ(get.type, Reply::Type::String);
  EXPECT_EQ(get.str.size(), value.size());
  EXPECT_EQ(get.str, value);
  // The key with the NUL is a different key from its prefix up to the NUL.
  EXPECT_TRUE(client_->command({"GET", client_->key("bin")}).isNil());
  EXPECT_EQ(client_->command({"STRLEN", key}).integer, 15);
}

TEST_F(RedisTest, ErrorReplyThrowsAtOnceWithoutRetrying) {
  auto opts = base_;
  opts.attempts = 3;
  opts.retry_backoff = 2s;  // a retry would be obvious from the time taken
  RedisClient client(opts, redisLogger());
  const auto counter = client.key("runs");
  // The script leaves a trace of every run, then fails.
  const std::string script = "redis.call('INCR', KEYS[1]); return redis.error_reply('ERR boom')";
  const auto start = std::chrono::steady_clock::now();
  try {
    client.command({"EVAL", script, "1", counter});
    FAIL() << "an error reply did not throw";
  } catch (const RedisError& e) {
    EXPECT_NE(std::string(e.what()).find("boom"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(client.command({"GET", counter}).str, "1") << "the command ran more than once";

  // A plain wrong-type error too; the connection stays usable afterwards.
  client.command({"SET", client.key("text"), "not a number"});
  EXPECT_THROW(client.command({"INCR", client.key("text")}), RedisError);
  EXPECT_EQ(client.command({"PING"}).str, "PONG");
}

TEST_F(RedisTest, EvalRunsScriptsAndFallsBackAfterScriptFlush) {
  const std::string script = "return {KEYS[1], ARGV[1], redis.call('INCRBY', KEYS[1], ARGV[1])}";
  const auto key = client_->key("eval");

  auto first = client_->eval(script, {key}, {"5"});
  ASSERT_EQ(first.type, Reply::Type::Array);
  ASSERT_EQ(first.elements.size(), 3u);
  EXPECT_EQ(first.elements[0].str, key);
  EXPECT_EQ(first.elements[1].str, "5");
  EXPECT_EQ(first.elements[2].integer, 5);

  // Loaded now, so the next call can use EVALSHA.
  auto sha = client_->command({"SCRIPT", "LOAD", script}).str;
  EXPECT_EQ(client_->command({"SCRIPT", "EXISTS", sha}).elements.at(0).integer, 1);
  EXPECT_EQ(client_->eval(script, {key}, {"1"}).elements.at(2).integer, 6);

  // As after a Redis restart: the script cache is empty, EVALSHA says NOSCRIPT.
  client_->command({"SCRIPT", "FLUSH"});
  ASSERT_EQ(client_->command({"SCRIPT", "EXISTS", sha}).elements.at(0).integer, 0);
  auto after = client_->eval(script, {key}, {"10"});
  ASSERT_EQ(after.elements.size(), 3u);
  EXPECT_EQ(after.elements[2].integer, 16) << "the script ran once, through EVAL";
  EXPECT_EQ(client_->command({"GET", key}).str, "16");
}

TEST_F(RedisTest, ScriptErrorsOtherThanNoscriptAreNotRetried) {
  const std::string script = "redis.call('INCR', KEYS[1]); return redis.error_reply('ERR nope')";
  const auto counter = client_->key("script-runs");
  for (int i = 1; i <= 2; ++i) {  // first EVALSHA misses and falls back, second hits the cache
    try {
      client_->eval(script, {counter}, {});
      FAIL() << "a script error did not throw";
    } catch (const RedisError& e) {
      EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
    }
    EXPECT_EQ(client_->command({"GET", counter}).str, std::to_string(i));
  }
}

TEST_F(RedisTest, PipelineRepliesInOrderAndReturnsErrorRepliesWithoutThrowing) {
  const auto counter = client_->key("pipe-counter");
  const auto text = client_->key("pipe-text");
  const std::string script = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
  redis::Pipeline p;
  p.command({"SET", text, "hello"});
  p.eval(script, {counter}, {"2"});
  p.command({"INCR", text});  // not a number: an error reply
  p.eval(script, {counter}, {"3"});
  p.command({"GET", text});
  const auto replies = client_->pipeline(p);
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_EQ(replies[1].integer, 2);
  EXPECT_EQ(replies[2].type, Reply::Type::Error);
  EXPECT_NE(replies[2].str.find("not an integer"), std::string::npos) << replies[2].str;
  EXPECT_EQ(replies[3].integer, 5) << "the commands after an error reply ran too";
  EXPECT_EQ(replies[4].str, "hello");
  EXPECT_TRUE(client_->pipeline(redis::Pipeline{}).empty());
}

TEST_F(RedisTest, PipelineRunsAScriptRedisForgotOnceWithEval) {
  const auto counter = client_->key("pipe-flushed");
  const std::string script = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
  client_->command({"SCRIPT", "FLUSH"});
  redis::Pipeline p;
  p.eval(script, {counter}, {"4"});
  p.command({"GET", counter});
  const auto replies = client_->pipeline(p);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].integer, 4) << replies[0].str;
  EXPECT_TRUE(replies[1].isNil()) << "the GET ran before the script was run again with EVAL";
  EXPECT_EQ(client_->command({"GET", counter}).str, "4") << "the script ran exactly once";
}

TEST_F(RedisTest, PipelineReconnectsAfterTheServerKilledTheConnection) {
  const auto old_id = client_->command({"CLIENT", "ID"}).integer;
  RedisClient admin(base_, redisLogger());
  ASSERT_EQ(admin.command({"CLIENT", "KILL", "ID", std::to_string(old_id)}).integer, 1);
  redis::Pipeline p;
  p.command({"SET", client_->key("pipe-survives"), "yes"});
  p.command({"CLIENT", "ID"});
  const auto replies = client_->pipeline(p);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_NE(replies[1].integer, old_id) << "the pipeline went over the killed connection";
  EXPECT_EQ(client_->command({"GET", client_->key("pipe-survives")}).str, "yes");
}

TEST_F(RedisTest, ReconnectsAfterTheServerKilledTheConnection) {
  client_->command({"SET", client_->key("survives"), "yes"});
  const auto old_id = client_->command({"CLIENT", "ID"}).integer;

  RedisClient admin(base_, redisLogger());
  auto killed = admin.command({"CLIENT", "KILL", "ID", std::to_string(old_id)});
  ASSERT_EQ(killed.integer, 1) << "connection " << old_id << " was not killed";

  auto get = client_->command({"GET", client_->key("survives")});
  EXPECT_EQ(get.str, "yes");
  const auto new_id = client_->command({"CLIENT", "ID"}).integer;
  EXPECT_NE(new_id, old_id) << "the command went over the killed connection";
}

TEST_F(RedisTest, ConnectFailureNamesHostAndPort) {
  auto opts = base_;
  opts.port = 1;  // nothing listens there
  opts.connect_timeout = 500ms;
  try {
    RedisClient unreachable(opts, redisLogger());
    FAIL() << "connected to port 1";
  } catch (const RedisError& e) {
    EXPECT_NE(std::string(e.what()).find(":1"), std::string::npos) << e.what();
  }
}

TEST_F(RedisTest, CommandTimeoutIsEnforced) {
  auto opts = base_;
  opts.attempts = 1;
  RedisClient client(opts, redisLogger());
  const auto start = std::chrono::steady_clock::now();
  // BLPOP would block for 5 s on the empty list.
  EXPECT_THROW(client.commandWithTimeout({"BLPOP", client.key("empty"), "5"}, 300ms), RedisError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  // The client connects again for the next command.
  EXPECT_EQ(client.command({"PING"}).str, "PONG");
}

// Calls from several threads each take a connection of their own, up to redis.connections:
// three BLPOPs block in Redis side by side while a fourth waits for a connection, and every one
// gets its value once the list is filled. With one shared connection only one would ever be
// blocked in Redis at a time.
TEST_F(RedisTest, CallsFromSeveralThreadsShareUpToConnectionsConnections) {
  auto options = base_;
  options.connections = 3;
  RedisClient pooled(options, redisLogger());
  const auto key = pooled.key("queue");
  std::vector<std::string> got(4);
  std::vector<std::thread> callers;
  for (size_t i = 0; i < got.size(); ++i)
    callers.emplace_back([&, i] {
      auto r = pooled.commandWithTimeout({"BLPOP", key, "20"}, 30s);
      if (r.elements.size() == 2) got[i] = r.elements[1].str;
    });
  auto blocked = [&] {
    const auto list = client_->command({"CLIENT", "LIST"}).str;
    size_t n = 0;
    for (size_t at = list.find("cmd=blpop"); at != std::string::npos;
         at = list.find("cmd=blpop", at + 1))
      ++n;
    return n;
  };
  EXPECT_TRUE(waitFor([&] { return blocked() == 3; }, 10s)) << blocked() << " blocked";
  EXPECT_EQ(blocked(), 3u) << "more connections than redis.connections";
  client_->command({"RPUSH", key, "a", "b", "c", "d"});
  for (auto& t : callers) t.join();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(RedisTest, LongerTimeoutForBlockingReads) {
  const auto start = std::chrono::steady_clock::now();
  auto r = client_->commandWithTimeout({"BLPOP", client_->key("empty"), "1"}, 5s);
  EXPECT_TRUE(r.isNil() || (r.type == Reply::Type::Array && r.elements.empty()));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
}

}  // namespace
}  // namespace lapor::integration

namespace lapor::integration {
namespace {

// A Redis ACL user per service: the client logs in after every connect, and a refused login
// fails at once with the keys to check instead of being retried like a lost connection.
TEST_F(RedisTest, LogsInAsItsAclUserAndReportsARefusedLogin) {
  const auto user = uniqueName("lapor-it-user");
  client_->command({"ACL", "SETUSER", user, "on", ">it-secret", "~*", "&*", "+@all", "-@dangerous"});
  struct DropUser {
    RedisClient& c;
    std::string u;
    ~DropUser() { c.command({"ACL", "DELUSER", u}); }
  } drop{*client_, user};

  auto opts = base_;
  opts.username = user;
  opts.password = "it-secret";
  RedisClient as_user(opts, redisLogger());
  EXPECT_EQ(as_user.command({"ACL", "WHOAMI"}).str, user);
  EXPECT_THROW(as_user.command({"FLUSHALL"}), RedisError);  // -@dangerous holds

  opts.password = "wrong";
  opts.attempts = 5;
  opts.retry_backoff = 1s;  // five attempts would take 15 s: a refused login must not retry
  const auto start = std::chrono::steady_clock::now();
  try {
    RedisClient refused(opts, redisLogger());
    ADD_FAILURE() << "a wrong password was accepted";
  } catch (const redis::AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("redis.username / redis.password"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("wrong"), std::string::npos) << "password in the message";
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace lapor::integration
