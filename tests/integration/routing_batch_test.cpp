// Routing's batch path against the real Redis: one batch of interleaved events of several
// complaints (a rejection after the submission it rejects, a producer's repeat, an undecodable
// record, an event routing passes by) decides exactly what the same events decide one at a
// time, and the batch again (a replay after a crash) sends the same outputs.
#include "agencies/agency_directory.h"
#include "domain/complaint_router.h"
#include "domain/rule_set.h"
#include "domain/verification.h"
#include "events/envelope.h"
#include "integration_support.h"
#include "redis/packed_value.h"
#include "redis_support.h"
#include "routing_handler.h"
#include "routing_support.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

namespace lapor::integration {
namespace {

kafka::Message messageOf(const v1::EventEnvelope& env, int64_t offset,
                         const std::string& topic = kafka::kComplaintsTopic) {
  auto out = events::toMessage(topic, env);
  kafka::Message m;
  m.topic = out.topic;
  m.partition = 0;
  m.offset = offset;
  m.key = out.key;
  m.value = out.value;
  m.headers = out.headers;
  return m;
}

// What a result says, comparable across two stores: outcome, reason and every output.
std::string describe(const kafka::TransformResult& r) {
  std::string s = std::to_string(static_cast<int>(r.outcome)) + "/" + r.reason;
  for (const auto& o : r.out) s += "|" + o.topic + "/" + o.key + "/" + o.value;
  return s;
}

struct Routing {
  explicit Routing(const std::string& prefix)
      : redis(testRedisOptions(prefix), log::Logger("test")),
        store(redis, std::chrono::hours(1)),
        handler(rules, store, router, clock, log::Logger("test", log::Level::Error), metrics) {}
  agencies::AgencyDirectory directory = agencies::AgencyDirectory::loadFile(shippedAgencies());
  routing::RulesHolder rules{
      std::make_shared<const routing::RuleSet>(routing::RuleSet::fromDirectory(directory))};
  // No channel waits for the verifiers: every submission is dispatched at once.
  routing::ComplaintRouter router{2, routing::VerificationPolicy::parse("", "", directory)};
  time::ManualClock clock{1'764'000'000'000};
  prometheus::Registry registry;
  routing::RoutingMetrics metrics{registry};
  redis::RedisClient redis;
  routing::RoutingStore store;
  routing::RoutingHandler handler;
};

TEST(RoutingBatchTest, ABatchDecidesWhatTheSameEventsDecideOneAtATime) {
  // The lead agency of a fire, learnt from a first decision in a store of its own.
  const auto fire = submittedEnvelope("fire", "Sangatta Utara");
  const auto road = submittedEnvelope("road-damage", "Bengalon");
  const auto flood = submittedEnvelope("flood", "Kaliorang");
  std::string lead, lead_agency;
  {
    Routing probe(uniqueName("lapor-it-rb-probe") + ":");
    const auto r = probe.handler.handle(messageOf(fire, 1));
    ASSERT_EQ(r.outcome, kafka::Outcome::Done);
    for (const auto& o : r.out) {
      v1::EventEnvelope env;
      ASSERT_TRUE(env.ParseFromString(o.value));
      if (env.has_dispatched() &&
          env.dispatched().item().assignment().role() == v1::ASSIGNMENT_ROLE_LEAD) {
        lead = env.dispatched().item().assignment().assignment_id();
        lead_agency = env.dispatched().item().assignment().agency_id();
      }
    }
    ASSERT_FALSE(lead.empty()) << "the fire was dispatched to no lead agency";
  }
  auto rejected = events::makeEnvelope("notification", fire.complaint_id(), "", 1'764'000'001'000);
  rejected.mutable_rejected()->set_assignment_id(lead);
  rejected.mutable_rejected()->set_agency_id(lead_agency);
  rejected.mutable_rejected()->set_reason_code("not-our-authority");
  auto ack = events::makeEnvelope("notification", road.complaint_id(), "", 1'764'000'001'000);
  ack.mutable_acknowledged()->set_agency_id("dinas-pu");

  std::vector<kafka::Message> batch{messageOf(fire, 1),  messageOf(road, 2),
                                    messageOf(fire, 3),  // the producer's repeat
                                    messageOf(rejected, 4), messageOf(ack, 5),
                                    messageOf(flood, 7)};
  kafka::Message junk = batch[1];
  junk.offset = 6;
  junk.value = "\x0a\xff\xff not an envelope";
  junk.headers.clear();
  batch.insert(batch.begin() + 5, junk);

  Routing one(uniqueName("lapor-it-rb-one") + ":");
  std::vector<std::string> expected;
  for (const auto& m : batch) expected.push_back(describe(one.handler.handle(m)));

  Routing batched(uniqueName("lapor-it-rb-batch") + ":");
  const auto results = batched.handler.handleBatch(batch);
  ASSERT_EQ(results.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i)
    EXPECT_EQ(describe(results[i]), expected[i]) << "message " << i << " (offset "
                                                 << batch[i].offset << ")";

  // What the comparison stands on: the rejection re-routed (it decided on the state the
  // submission earlier in the same batch left), the repeat sent nothing, the junk went to the
  // dead letters and the acknowledgement was passed by.
  EXPECT_FALSE(results[0].out.empty());
  EXPECT_FALSE(results[1].out.empty());
  EXPECT_TRUE(results[2].out.empty());
  EXPECT_EQ(results[3].outcome, kafka::Outcome::Done);
  bool rerouted = false;
  for (const auto& o : results[3].out) {
    v1::EventEnvelope env;
    ASSERT_TRUE(env.ParseFromString(o.value));
    if (env.has_dispatched() && env.dispatched().item().assignment().agency_id() != lead_agency)
      rerouted = true;
  }
  EXPECT_TRUE(rerouted) << "the rejection in the batch did not re-route the fire";
  EXPECT_TRUE(results[4].out.empty());
  EXPECT_EQ(results[5].outcome, kafka::Outcome::DeadLetter);
  EXPECT_FALSE(results[6].out.empty());

  // The same batch again, as after a crash before its outputs were produced: the same bytes.
  const auto again = batched.handler.handleBatch(batch);
  ASSERT_EQ(again.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i)
    EXPECT_EQ(describe(again[i]), describe(results[i])) << "replayed message " << i;
}

// Routing's stored outputs repeat the complaint in every event they hold, and its state holds
// it too: both are stored compressed (about a sixth and a third of their size), and read back
// whole. Records stored uncompressed, as the version before wrote them, still replay byte for
// byte.
TEST(RoutingBatchTest, TheStoredOutputsAndStateAreCompressedAndOldRecordsStillReplay) {
  Routing r(uniqueName("lapor-it-rb-packed") + ":");
  const auto fire = submittedEnvelope("fire", "Sangatta Utara");
  const auto first = r.handler.handle(messageOf(fire, 1));
  ASSERT_FALSE(first.out.empty());

  const auto out_key = r.redis.key("routing:out:" + fire.event_id());
  const auto state_key = r.redis.key("routing:state:" + fire.complaint_id());
  const auto out = r.redis.command({"GET", out_key}).str;
  const auto state = r.redis.command({"GET", state_key}).str;
  ASSERT_TRUE(redis::isPacked(out));
  ASSERT_TRUE(redis::isPacked(state));
  const auto out_bytes = redis::unpackValue(out);
  const auto state_bytes = redis::unpackValue(state);
  ASSERT_TRUE(out_bytes && state_bytes);
  EXPECT_LT(out.size() * 3, out_bytes->size());
  EXPECT_LT(state.size(), state_bytes->size());
  v1::RoutingOutputs outputs;
  ASSERT_TRUE(outputs.ParseFromString(*out_bytes));
  EXPECT_EQ(static_cast<size_t>(outputs.items_size()), first.out.size());
  ASSERT_TRUE(r.store.state(fire.complaint_id()));

  // As the version before stored them: the message again (a replay) sends the same bytes.
  r.redis.command({"SET", out_key, *out_bytes});
  r.redis.command({"SET", state_key, *state_bytes});
  EXPECT_EQ(describe(r.handler.handle(messageOf(fire, 1))), describe(first));
  EXPECT_EQ(r.store.state(fire.complaint_id())->SerializeAsString(), *state_bytes);

  // With redis.pack_values off (an upgrade's first step, while instances of a version that
  // cannot read frames still run): written as before, and a frame written by another instance
  // still read.
  auto options = testRedisOptions(r.redis.options().prefix);
  options.pack_values = false;
  redis::RedisClient plain_redis(options, log::Logger("test"));
  routing::RoutingStore plain(plain_redis, std::chrono::hours(1));
  ASSERT_TRUE(plain.outputs(fire.event_id()));
  ASSERT_TRUE(plain.state(fire.complaint_id()));
  r.redis.command({"SET", out_key, out});  // compressed, as an instance of this version wrote it
  ASSERT_TRUE(plain.outputs(fire.event_id()));
  EXPECT_EQ(plain.outputs(fire.event_id())->items_size(), outputs.items_size());
  const auto road = submittedEnvelope("road-damage", "Bengalon");
  routing::RoutingHandler plain_handler(r.rules, plain, r.router, r.clock,
                                        log::Logger("test", log::Level::Error), r.metrics);
  ASSERT_FALSE(plain_handler.handle(messageOf(road, 2)).out.empty());
  EXPECT_FALSE(redis::isPacked(r.redis.command({"GET", r.redis.key("routing:out:" + road.event_id())}).str));
  EXPECT_FALSE(
      redis::isPacked(r.redis.command({"GET", r.redis.key("routing:state:" + road.complaint_id())}).str));
}

// The emergency lane: intake writes an emergency's submission to the lane and to the lifecycle
// topic. Whichever routing reads first decides, the other sends nothing; its new assignments
// go to the dispatch lane too, byte for byte the same events as on the agencies' topics.
TEST(RoutingBatchTest, AnEmergencysLaneCopyAndItsRecordAreDecidedOnce) {
  const auto outputsOf = [](const kafka::TransformResult& r, const std::string& topic) {
    std::vector<std::string> values;
    for (const auto& o : r.out)
      if (o.topic == topic) values.push_back(o.value);
    return values;
  };
  const auto dispatchedValues = [](const kafka::TransformResult& r) {
    std::vector<std::string> values;
    for (const auto& o : r.out)
      if (kafka::isDispatchTopic(o.topic)) values.push_back(o.value);
    return values;
  };
  auto fire = submittedEnvelope("fire", "Sangatta Utara");
  fire.mutable_submitted()->mutable_complaint()->set_priority(v1::PRIORITY_EMERGENCY);
  const auto lane = messageOf(fire, 7, kafka::kEmergencySubmittedTopic);
  const auto record = messageOf(fire, 40);
  {
    // Both in one batch, the lane's first (as a poll gives them).
    Routing r(uniqueName("lapor-it-rb-lane1") + ":");
    const auto out = r.handler.handleBatch({lane, record});
    ASSERT_EQ(out.size(), 2u);
    ASSERT_EQ(out[0].outcome, kafka::Outcome::Done);
    const auto laned = outputsOf(out[0], kafka::kEmergencyDispatchTopic);
    EXPECT_EQ(laned.size(), 3u) << "a house fire: the fire brigade, the hospital and the police";
    EXPECT_EQ(laned, dispatchedValues(out[0])) << "the lane carries the agencies' own events";
    EXPECT_EQ(out[1].outcome, kafka::Outcome::Done);
    EXPECT_TRUE(out[1].out.empty()) << "the record of a submission the lane decided sent again";
  }
  {
    // One batch after the other, either copy first; a replay of the first sends the same.
    Routing a(uniqueName("lapor-it-rb-lane2") + ":");
    const auto first = a.handler.handleBatch({lane});
    EXPECT_TRUE(a.handler.handleBatch({record}).at(0).out.empty());
    EXPECT_EQ(describe(a.handler.handleBatch({lane}).at(0)), describe(first.at(0)));
    Routing b(uniqueName("lapor-it-rb-lane3") + ":");
    const auto recorded = b.handler.handleBatch({record});
    EXPECT_EQ(outputsOf(recorded.at(0), kafka::kEmergencyDispatchTopic).size(), 3u);
    EXPECT_TRUE(b.handler.handleBatch({lane}).at(0).out.empty());
  }
  {
    // Nothing but emergencies' new assignments takes the lane.
    Routing r(uniqueName("lapor-it-rb-lane4") + ":");
    const auto road = submittedEnvelope("road-damage", "Bengalon");
    const auto out = r.handler.handleBatch({messageOf(road, 1)});
    EXPECT_FALSE(dispatchedValues(out.at(0)).empty());
    EXPECT_TRUE(outputsOf(out.at(0), kafka::kEmergencyDispatchTopic).empty());
  }
}

}  // namespace
}  // namespace lapor::integration
