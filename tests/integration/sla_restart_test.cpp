// The monitor as a process: killed with SIGKILL while timers are pending and started again,
// every timer fires once; two instances on one Redis fire every timer exactly once between
// them. Events go straight onto lapor.complaints.v1, the monitor's input contract.
#include "events/envelope.h"
#include "integration_support.h"
#include "lifecycle_events.h"
#include "log/logger.h"
#include "process.h"
#include "redis/redis_client.h"
#include "sla_monitor_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;
using lapor::testing::ChildProcess;

class SlaRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = lapor::testing::requiredEnv("LAPOR_KAFKA_BROKERS");
    redis_opt_.host = lapor::testing::requiredEnv("LAPOR_REDIS_HOST");
    redis_opt_.port = std::stoi(lapor::testing::requiredEnv("LAPOR_REDIS_PORT"));
    redis_opt_.prefix = uniqueName("lapor-sla-restart") + ":";
    group_ = uniqueName("lapor-sla-restart");
    run_ = uniqueName("restart");
    redis_ = std::make_unique<redis::RedisClient>(redis_opt_,
                                                  log::Logger("sla-it", log::Level::Error));
  }

  std::unique_ptr<ChildProcess> monitor(const std::string& name) {
    return startSlaMonitor(run_ + "-" + name, {{"LAPOR_KAFKA_GROUP", group_},
                                               {"LAPOR_REDIS_PREFIX", redis_opt_.prefix},
                                               {"LAPOR_SLA_ACKNOWLEDGE_NORMAL", "8s"}});
  }

  // Routes `n` normal complaints to dinas-pu, one assignment each; returns the complaint ids.
  std::set<std::string> routeComplaints(int n) {
    std::set<std::string> ids;
    for (int i = 0; i < n; ++i) {
      const auto cid = run_ + "-" + std::to_string(i);
      EXPECT_TRUE(lapor::testing::produceEvent(
          brokers_, lapor::testing::routedEvent(cid, v1::PRIORITY_NORMAL, "road-damage",
                                                {"dinas-pu"}, lapor::testing::nowMs())));
      ids.insert(cid);
    }
    return ids;
  }

  // Timers of these complaints' obligations still claimed ("<obligation id>|<what>" members of
  // sla:inflight). The monitors also work through older complaints of the shared topic, whose
  // timers come and go meanwhile, so only these complaints' count.
  template <class Ids>
  int64_t inflightOf(const Ids& complaints) {
    std::set<std::string> obligations;
    for (const auto& cid : complaints)
      for (const auto& m :
           redis_->command({"SMEMBERS", redis_->key("sla:complaint:" + cid)}).elements)
        obligations.insert(m.str);
    int64_t n = 0;
    for (const auto& m :
         redis_->command({"ZRANGE", redis_->key("sla:inflight"), "0", "-1"}).elements)
      n += obligations.count(m.str.substr(0, m.str.find('|')));
    return n;
  }

  // Reads the lifecycle topic until every complaint has a breach and a level-1 escalation;
  // returns, per kind and complaint, the event ids seen (repeats included).
  std::map<std::string, std::map<std::string, std::vector<std::string>>> readOutcomes(
      const std::set<std::string>& complaints, std::chrono::milliseconds timeout) {
    std::map<std::string, std::map<std::string, std::vector<std::string>>> seen;
    TopicReader reader(brokers_, kafka::kComplaintsTopic);
    reader.readUntil(
        [&](const kafka::Message& m) {
          auto d = events::decode(m.value);
          if (!d.envelope || !complaints.count(d.envelope->complaint_id())) return false;
          const auto kind = events::eventKind(*d.envelope);
          if (kind == "escalated" && d.envelope->escalated().level() != 1) return false;
          seen[kind][d.envelope->complaint_id()].push_back(d.envelope->event_id());
          return seen["sla_breached"].size() == complaints.size() &&
                 seen["escalated"].size() == complaints.size() &&
                 seen["sla_warning"].size() == complaints.size();
        },
        timeout);
    return seen;
  }

  std::string brokers_, group_, run_;
  redis::RedisOptions redis_opt_;
  std::unique_ptr<redis::RedisClient> redis_;
};

std::set<std::string> distinct(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

TEST_F(SlaRestartTest, KilledWhileTimersArePendingFiresEachOnceAfterRestart) {
  constexpr int kCount = 12;
  auto first = monitor("first");
  const auto complaints = routeComplaints(kCount);
  // Every obligation and its timers are in Redis, none due yet (8 s deadlines).
  ASSERT_TRUE(waitFor(
      [&] {
        for (const auto& cid : complaints)
          if (redis_->command({"SCARD", redis_->key("sla:complaint:" + cid)}).integer != 1)
            return false;
        return true;
      },
      30s))
      << first->logTail();
  ASSERT_TRUE(first->signalAndWait(SIGKILL, 10s));
  auto second = monitor("second");
  auto seen = readOutcomes(complaints, 60s);
  for (const char* kind : {"sla_warning", "sla_breached", "escalated"}) {
    ASSERT_EQ(seen[kind].size(), static_cast<size_t>(kCount)) << kind << "\n"
                                                               << second->logTail();
    // One event per timer; a copy could only repeat the same event id, which consumers drop.
    for (const auto& [cid, ids] : seen[kind]) EXPECT_EQ(distinct(ids).size(), 1u) << kind << cid;
  }
  EXPECT_TRUE(waitFor([&] { return inflightOf(complaints) == 0; }, 10s));
}

TEST_F(SlaRestartTest, TwoInstancesFireEveryTimerExactlyOnce) {
  constexpr int kCount = 20;
  auto a = monitor("a");
  auto b = monitor("b");
  const auto complaints = routeComplaints(kCount);
  auto seen = readOutcomes(complaints, 60s);
  for (const char* kind : {"sla_warning", "sla_breached", "escalated"}) {
    ASSERT_EQ(seen[kind].size(), static_cast<size_t>(kCount)) << kind << "\n"
                                                               << a->logTail() << b->logTail();
    for (const auto& [cid, ids] : seen[kind]) EXPECT_EQ(ids.size(), 1u) << kind << " " << cid;
  }
  // The escalation level is recorded once the events are acknowledged by the broker.
  EXPECT_TRUE(waitFor(
      [&] {
        for (const auto& cid : complaints) {
          // The acknowledge obligation, beside the supervisor's escalation obligation.
          auto ids = redis_->command({"SMEMBERS", redis_->key("sla:complaint:" + cid)});
          bool recorded = false;
          for (const auto& id : ids.elements) {
            auto f = redis_->command(
                {"HMGET", redis_->key("sla:ob:" + id.str), "stage_name", "level"});
            if (f.elements.size() == 2 && f.elements[0].str == "acknowledge")
              recorded = f.elements[1].str == "1" || f.elements[1].str == "2";
          }
          if (!recorded) return false;
        }
        return true;
      },
      10s));
  // Both processes are still up: neither died to leave the work to the other.
  EXPECT_TRUE(a->running());
  EXPECT_TRUE(b->running());
}

}  // namespace
}  // namespace lapor::integration
