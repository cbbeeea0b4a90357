// Exactly once across crashes: a burst of 1,000 complaints, routing killed with SIGKILL in the
// middle of it and restarted (alone, and as one of two instances in a group); a read_committed
// reader of every dispatch topic must find exactly the assignments the rules give each
// complaint, none twice, none missing, with routing.delivery = transactions. With idempotent
// (the default) the same crash may leave a dispatch twice, but only as the same event (id and
// bytes) that readers drop. A seventh of the burst are emergencies, whose submissions also come
// on the emergency lane: each is still decided once.
#include "domain/complaint_router.h"
#include "domain/rule_set.h"
#include "events/envelope.h"
#include "integration_support.h"
#include "kafka/producer.h"
#include "routing_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <thread>

namespace lapor::integration {
namespace {

constexpr int kComplaints = 1000;

const std::vector<std::pair<std::string, std::string>> kMix = {
    {"fire", "rumah terbakar, ada korban terjebak"},  // three agencies
    {"fire", "kebakaran lahan gambut"},               // three others
    {"traffic-accident", ""},                         // three agencies
    {"flood", ""},                                    // two
    {"road-damage", ""},                              // one
    {"water", ""},                                    // one (pdam)
    {"other", ""},                                    // triage
};

class RoutingExactlyOnceTest : public ::testing::Test {
 protected:
  std::string brokers = testing::requiredEnv("LAPOR_KAFKA_BROKERS");
  agencies::AgencyDirectory directory = agencies::AgencyDirectory::loadFile(shippedAgencies());
  routing::RuleSet rules = routing::RuleSet::fromDirectory(directory);
  std::vector<v1::EventEnvelope> burst;
  // complaint id -> the assignment ids the rules give it
  std::map<std::string, std::set<std::string>> expected;

  void SetUp() override {
    for (int i = 0; i < kComplaints; ++i) {
      const auto& [category, text] = kMix[i % kMix.size()];
      auto env = submittedEnvelope(category, i % 2 ? "Sangatta Utara" : "Bengalon", text);
      // The house fires are emergencies: they come on the emergency lane too, so the crash
      // also finds submissions read twice, and the lane's copy decided first.
      if (i % kMix.size() == 0)
        env.mutable_submitted()->mutable_complaint()->set_priority(v1::PRIORITY_EMERGENCY);
      auto& ids = expected[env.complaint_id()];
      for (const auto& t : rules.route(env.submitted().complaint()).targets)
        ids.insert(routing::ComplaintRouter::assignmentIdFor(env.event_id(), t.agency_id));
      burst.push_back(std::move(env));
    }
  }

  // Produces the burst from a thread, as fast as the producer goes.
  std::thread produceBurst() {
    return std::thread([this] {
      kafka::Producer producer(inputProducer(brokers), log::Logger("test"));
      std::vector<std::future<kafka::DeliveryReport>> acks;
      for (const auto& env : burst) {
        acks.push_back(producer.produce(events::toMessage(kafka::kComplaintsTopic, env)));
        if (env.submitted().complaint().priority() == v1::PRIORITY_EMERGENCY)
          acks.push_back(producer.produce(events::toMessage(kafka::kEmergencySubmittedTopic, env)));
      }
      for (auto& f : acks) EXPECT_TRUE(kafka::awaitReport(f, std::chrono::seconds(30)).ok);
    });
  }

  // Committed `routed` events of this burst on the lifecycle topic, by complaint.
  size_t routedSoFar(testing::TopicReader& reader, std::chrono::milliseconds wait) {
    reader.readUntil([](const kafka::Message&) { return false; }, wait);
    std::set<std::string> done;
    for (const auto& m : reader.seen()) {
      if (!expected.count(m.key)) continue;
      auto d = events::decode(m.value);
      if (d.envelope && d.envelope->has_routed()) done.insert(m.key);
    }
    return done.size();
  }

  // Waits until `n` complaints of the burst have a committed `routed` event.
  size_t waitRouted(testing::TopicReader& reader, size_t n, std::chrono::seconds timeout) {
    size_t got = 0;
    waitFor([&] { return (got = routedSoFar(reader, std::chrono::milliseconds(200))) >= n; },
            timeout, std::chrono::milliseconds(1));
    return got;
  }

  // One instance (batches of 10) routes the burst; SIGKILL once 100 complaints are routed, then
  // a restart routes the rest. `before_kill` looks at the first instance while it runs.
  void killInTheMiddleOfABurstAndRestart(
      RoutingRun run, const std::function<void(RoutingInstance&)>& before_kill = {}) {
    run.extra_env["LAPOR_ROUTING_MAX_BATCH"] = "10";
    auto routing = std::make_unique<RoutingInstance>(run, "solo");
    testing::TopicReader lifecycle(brokers, kafka::kComplaintsTopic);

    auto producing = produceBurst();
    const auto at_kill = waitRouted(lifecycle, 100, std::chrono::seconds(30));
    if (at_kill < 100u) producing.join();
    ASSERT_GE(at_kill, 100u) << routing->process().logTail();
    if (before_kill) before_kill(*routing);
    ASSERT_TRUE(routing->process().signalAndWait(SIGKILL, std::chrono::seconds(5)));
    producing.join();
    RecordProperty("routed_at_kill", std::to_string(at_kill));
    EXPECT_LT(at_kill, static_cast<size_t>(kComplaints)) << "the kill came after the burst";

    routing = std::make_unique<RoutingInstance>(run, "solo");
    ASSERT_EQ(waitRouted(lifecycle, kComplaints, std::chrono::seconds(40)),
              static_cast<size_t>(kComplaints))
        << routing->process().logTail();
  }

  // Reads every dispatch topic. Each assignment the rules give must be there and nothing else;
  // `repeats` says whether a copy may come again. A copy that comes again must be the same event:
  // the same event id and the same bytes, so a reader dropping repeated event ids sees it once.
  // Returns how many copies were repeats.
  size_t expectTheExpectedAssignments(bool repeats) {
    std::map<std::string, std::multiset<std::string>> seen;  // complaint -> assignment ids
    std::map<std::string, std::set<std::string>> copies;      // assignment id -> distinct bytes
    std::map<std::string, size_t> per_agency;
    for (const auto& env : burst)
      for (const auto& t : rules.route(env.submitted().complaint()).targets)
        ++per_agency[t.agency_id];
    for (const auto& a : directory.agencies()) {
      testing::TopicReader reader(brokers, kafka::dispatchTopic(a.id));
      // Each transaction holds a complaint's routed event and its dispatches, so once every
      // routed event is visible so is every dispatch (idempotent: every dispatch was delivered
      // before its cause's offset moved); read to the expected count of distinct assignments,
      // then a little longer for anything extra.
      std::set<std::string> mine;
      const size_t want = per_agency[a.id];
      if (want > 0)
        reader.readUntil(
            [&](const kafka::Message& m) {
              if (!expected.count(m.key)) return false;
              auto d = events::decode(m.value);
              if (d.envelope && d.envelope->has_dispatched())
                mine.insert(d.envelope->dispatched().item().assignment().assignment_id());
              return mine.size() >= want;
            },
            std::chrono::seconds(20));
      reader.readUntil([](const kafka::Message&) { return false; }, std::chrono::milliseconds(300));
      for (const auto& m : reader.seen()) {
        if (!expected.count(m.key)) continue;
        auto d = events::decode(m.value);
        EXPECT_TRUE(d.envelope && d.envelope->has_dispatched()) << "not a dispatch on " << m.topic;
        if (!d.envelope || !d.envelope->has_dispatched()) return 0;
        const auto& item = d.envelope->dispatched().item();
        EXPECT_EQ(item.assignment().agency_id(), a.id);
        EXPECT_EQ(item.rules_version(), rules.version());
        seen[m.key].insert(item.assignment().assignment_id());
        copies[item.assignment().assignment_id()].insert(m.value);
      }
    }
    size_t missing = 0, duplicated = 0, wrong = 0, changed = 0;
    for (const auto& [complaint, ids] : expected) {
      const auto& got = seen[complaint];
      for (const auto& id : ids) {
        const auto n = got.count(id);
        if (n == 0) ++missing;
        if (n > 1) duplicated += n - 1;
        if (copies[id].size() > 1) ++changed;
      }
      for (const auto& id : got)
        if (!ids.count(id)) ++wrong;
    }
    EXPECT_EQ(missing, 0u) << "assignments missing";
    if (!repeats) {
      EXPECT_EQ(duplicated, 0u) << "assignments dispatched more than once";
    }
    EXPECT_EQ(changed, 0u) << "assignments dispatched again as a different event";
    EXPECT_EQ(wrong, 0u) << "assignments the rules do not give";
    size_t total = 0;
    for (const auto& [c, ids] : expected) total += ids.size();
    RecordProperty("assignments", std::to_string(total));
    RecordProperty("repeated_copies", std::to_string(duplicated));
    return duplicated;
  }

  void expectExactlyTheExpectedAssignments() { expectTheExpectedAssignments(false); }
};

TEST_F(RoutingExactlyOnceTest, SigkillInTheMiddleOfABurstLosesAndDuplicatesNothing) {
  auto run = newRoutingRun(shippedAgencies());
  run.extra_env["LAPOR_ROUTING_DELIVERY"] = "transactions";
  ASSERT_NO_FATAL_FAILURE(killInTheMiddleOfABurstAndRestart(run));
  expectExactlyTheExpectedAssignments();
}

TEST_F(RoutingExactlyOnceTest, TwoInstancesShareABurstAndOneIsKilled) {
  auto run = newRoutingRun(shippedAgencies());
  run.extra_env["LAPOR_ROUTING_DELIVERY"] = "transactions";
  run.extra_env["LAPOR_ROUTING_MAX_BATCH"] = "10";
  auto a = std::make_unique<RoutingInstance>(run, "a");
  auto b = std::make_unique<RoutingInstance>(run, "b");
  testing::TopicReader lifecycle(brokers, kafka::kComplaintsTopic);

  auto producing = produceBurst();
  const auto at_kill = waitRouted(lifecycle, 100, std::chrono::seconds(30));
  ASSERT_GE(at_kill, 100u) << a->process().logTail() << b->process().logTail();
  ASSERT_TRUE(a->process().signalAndWait(SIGKILL, std::chrono::seconds(5)));
  producing.join();
  RecordProperty("routed_at_kill", std::to_string(at_kill));

  a = std::make_unique<RoutingInstance>(run, "a");
  ASSERT_EQ(waitRouted(lifecycle, kComplaints, std::chrono::seconds(40)),
            static_cast<size_t>(kComplaints))
      << a->process().logTail() << b->process().logTail();
  // Both members routed part of the burst: the group shared the partitions.
  EXPECT_GT(b->logLines("complaint routed"), 0u);
  EXPECT_GT(a->logLines("complaint routed"), 0u);
  EXPECT_LT(b->logLines("complaint routed"), static_cast<size_t>(kComplaints));
  expectExactlyTheExpectedAssignments();
}

TEST_F(RoutingExactlyOnceTest, IdempotentDeliveryRepeatsOnlyTheSameEventsAfterASigkill) {
  auto run = newRoutingRun(shippedAgencies());
  run.extra_env["LAPOR_ROUTING_DELIVERY"] = "idempotent";
  ASSERT_NO_FATAL_FAILURE(killInTheMiddleOfABurstAndRestart(run, [](RoutingInstance& routing) {
    EXPECT_EQ(routing.logLines("\"mode\":\"idempotent\""), 1u) << routing.process().logTail();
  }));
  expectTheExpectedAssignments(true);
}

}  // namespace
}  // namespace lapor::integration
