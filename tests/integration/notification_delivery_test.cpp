// How "delivered" is learnt for each channel, against a real notification process, Kafka and
// Redis: a cursor from after the feed's end is refused and records nothing; the channel of
// agencies.yaml decides whether webhooks go out (a mismatch with the webhooks configured is a
// configuration error, at start and on reload); a kafka-channel agency's item is delivered
// once its own consumer group (kcat, a real Kafka client) committed past it, and not before;
// a pass of the tracker records at most its configured number of items.
#include "notification_support.h"

#include "agency_access.h"
#include "assignment_store.h"
#include "domain/feed_cursor.h"
#include "events/envelope.h"
#include "kafka/group_offsets.h"
#include "kafka/producer.h"
#include "kafka/topic_admin.h"
#include "kafka_delivery_tracker.h"
#include "notification_handler.h"
#include "redis/redis_client.h"
#include "redis_support.h"
#include "time/clock.h"
#include "topic_reader.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTok = "token-disdamkar-delivery";
constexpr const char* kPolice = "token-polres-delivery";
constexpr const char* kFarFuture = "9999999999999-0";

redis::RedisClient redisFor(const std::string& prefix) {
  return redis::RedisClient(testRedisOptions(prefix), log::Logger("test"));
}

// Notification's assignment store in this process, against the run's Redis (under `prefix`)
// and Kafka.
struct InProcessStore {
  explicit InProcessStore(const std::string& prefix)
      : redis(redisFor(prefix)),
        producer(producerOptions(brokers), log::Logger("test")),
        store(redis, producer, clock, log::Logger("test"), std::chrono::seconds(15)) {
    // The events go to the lifecycle topic, which a test run alone finds not yet made.
    EXPECT_EQ(kafka::ensureTopics(brokers, {kafka::kComplaintsTopic}, 3, std::chrono::seconds(15)),
              "");
  }
  static kafka::ProducerOptions producerOptions(const std::string& brokers) {
    kafka::ProducerOptions po;
    po.brokers = brokers;
    return po;
  }
  const std::string brokers = testing::requiredEnv("LAPOR_KAFKA_BROKERS");
  redis::RedisClient redis;
  kafka::Producer producer;
  time::SystemClock clock;
  notification::AssignmentStore store;
};

// The feed cursor of an assignment once notification has taken its item into the feed.
std::string cursorOf(redis::RedisClient& r, const std::string& assignment_id) {
  std::string cursor;
  waitFor(
      [&] {
        auto c = r.command({"HGET", r.key("notif:assignment:" + assignment_id), "cursor"});
        cursor = c.isNil() ? "" : c.str;
        return !cursor.empty();
      },
      30s);
  return cursor;
}

std::string assignmentOf(const v1::EventEnvelope& env) {
  return env.dispatched().item().assignment().assignment_id();
}

size_t deliveredOf(TopicReader& lifecycle, const std::string& complaint) {
  size_t n = 0;
  for (const auto& e : lifecycleOf(lifecycle, complaint)) n += e.has_delivered();
  return n;
}

TEST(NotificationDelivery, ACursorAfterTheFeedsEndIsRefusedAndRecordsNothing) {
  NotificationOptions o;
  o.tokens = {{"disdamkar", kTok}};
  NotificationProcess n(o);
  auto stub = n.stub();
  TopicReader lifecycle(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), kafka::kComplaintsTopic,
                        TopicReader::From::End);
  const auto complaint = uniqueName("future");
  const auto first = dispatchEnvelope("disdamkar", complaint, "satu");
  const auto second = dispatchEnvelope("disdamkar", complaint, "dua");
  produceDispatch(first);
  produceDispatch(second);
  auto r = redisFor(n.redisPrefix());
  const std::vector<std::string> cursors{cursorOf(r, assignmentOf(first)),
                                         cursorOf(r, assignmentOf(second))};
  ASSERT_FALSE(cursors[0].empty() || cursors[1].empty()) << n.logTail();
  const auto latest =
      notification::domain::cursorAfter(cursors[0], cursors[1]) ? cursors[0] : cursors[1];

  auto feed_entry = [&](const std::string& message) {
    // "... the last entry of the feed ('<cursor>') ...": a real entry, at or after ours.
    const auto at = message.find("('");
    if (at == std::string::npos) return std::string();
    const auto c = message.substr(at + 2, message.find("')", at) - at - 2);
    auto hit = r.command({"XRANGE", r.key("notif:feed:disdamkar"), c, c});
    return hit.elements.size() == 1 ? c : std::string();
  };

  auto ctx = agencyContext(kTok, 10s);
  v1::SubscribeRequest sub;
  sub.set_agency_id("disdamkar");
  sub.set_resume_cursor(kFarFuture);
  auto reader = stub->Subscribe(ctx.get(), sub);
  v1::AgencyFeedItem item;
  EXPECT_FALSE(reader->Read(&item));
  auto status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
  EXPECT_NE(status.error_message().find(std::string("resume_cursor: '") + kFarFuture + "'"),
            std::string::npos)
      << status.error_message();
  const auto last = feed_entry(status.error_message());
  ASSERT_FALSE(last.empty()) << status.error_message();
  EXPECT_FALSE(notification::domain::cursorAfter(latest, last));

  v1::ConfirmDeliveryResponse confirmed;
  auto c = stub->ConfirmDelivery(agencyContext(kTok).get(), confirmation("disdamkar", kFarFuture),
                                 &confirmed);
  EXPECT_EQ(c.error_code(), grpc::StatusCode::OUT_OF_RANGE) << c.error_message();
  EXPECT_NE(c.error_message().find(std::string("cursor: '") + kFarFuture + "'"),
            std::string::npos);
  EXPECT_FALSE(feed_entry(c.error_message()).empty()) << c.error_message();

  // Nothing recorded: no delivery mark, no confirmation, no delivered event.
  EXPECT_TRUE(r.command({"GET", r.key("notif:confirmed:disdamkar")}).isNil());
  EXPECT_EQ(r.command({"XLEN", r.key("notif:feed:disdamkar:confirmations")}).integer, 0);
  ASSERT_TRUE(lifecycle.readToEnd(20s));
  EXPECT_EQ(deliveredOf(lifecycle, complaint), 0u);

  // The items are still there to be delivered: confirming the real cursor records both.
  ASSERT_TRUE(stub->ConfirmDelivery(agencyContext(kTok).get(),
                                    confirmation("disdamkar", latest), &confirmed)
                  .ok());
  EXPECT_GE(confirmed.confirmed(), 2);
  lifecycle.readUntil([&](const kafka::Message&) { return deliveredOf(lifecycle, complaint) == 2; },
                      20s);
  EXPECT_EQ(deliveredOf(lifecycle, complaint), 2u);
}

TEST(NotificationDelivery, AWebhookAgencyWithoutAWebhookStopsTheStartNamingTheAgencyAndKey) {
  NotificationOptions o;
  o.tokens = {{"disdamkar", kTok}};
  o.shipped_directory = true;  // rsud-kudungga, disdukcapil and pdam receive by webhook there
  NotificationProcess n(o, false);
  EXPECT_EQ(n.runExpectingExit(30s), 2) << n.log();
  EXPECT_NE(n.log().find("access.rsud-kudungga.webhook"), std::string::npos) << n.log();
  EXPECT_NE(n.log().find("agency 'rsud-kudungga' has delivery.channel webhook"), std::string::npos)
      << n.log();
}

TEST(NotificationDelivery, AWebhookForAnAgencyOfAnotherChannelStopsTheStart) {
  NotificationOptions o;
  o.tokens = {{"disdamkar", kTok}};
  o.extra_access_yaml =
      "  polres-kutim:\n    webhook: {url: \"http://127.0.0.1:9/hook\", secret_env: "
      "LAPOR_TEST_WEBHOOK_SECRET}\n";
  o.env = {{"LAPOR_TEST_WEBHOOK_SECRET", "s"}};
  o.delivery = {{"polres-kutim", "{channel: kafka}"}};
  NotificationProcess n(o, false);
  EXPECT_EQ(n.runExpectingExit(30s), 2) << n.log();
  EXPECT_NE(n.log().find("access.polres-kutim.webhook"), std::string::npos) << n.log();
  EXPECT_NE(n.log().find("delivery.channel kafka"), std::string::npos) << n.log();
}

TEST(NotificationDelivery, AReloadThatBreaksTheChannelRuleIsRefusedAndTheOldAccessStays) {
  NotificationOptions o;
  o.tokens = {{"disdamkar", kTok}};
  // The webhook below lacks nothing but the right channel.
  o.env = {{"LAPOR_TEST_WEBHOOK_SECRET", "s"}};
  NotificationProcess n(o);
  auto stub = n.stub();
  auto code = [&](const std::string& token) {
    v1::ListAssignmentsRequest req;
    req.set_agency_id("disdamkar");
    v1::ListAssignmentsResponse resp;
    return stub->ListAssignments(agencyContext(token).get(), req, &resp).error_code();
  };
  ASSERT_EQ(code(kTok), grpc::StatusCode::OK);
  auto bad = o;
  bad.tokens["disdamkar"] = "token-disdamkar-next";
  bad.extra_access_yaml =
      "  dinas-pu:\n    webhook: {url: \"http://127.0.0.1:9/hook\", secret_env: "
      "LAPOR_TEST_WEBHOOK_SECRET}\n";
  n.rewriteConfig(bad);
  n.signal(SIGHUP);
  ASSERT_TRUE(waitFor(
      [&] {
        const auto log = n.log();
        return log.find("agency access not reloaded") != std::string::npos &&
               log.find("access.dinas-pu.webhook (") != std::string::npos &&
               log.find("delivery.channel stream") != std::string::npos;
      },
      15s))
      << n.logTail();
  EXPECT_EQ(code(kTok), grpc::StatusCode::OK);
  EXPECT_EQ(code("token-disdamkar-next"), grpc::StatusCode::UNAUTHENTICATED);
}

// The agency's own Kafka consumer: kcat in consumer group `group`, reading its dispatch topic
// to the end and committing what it read when it leaves. Returns the keys it printed.
std::string consumeAsAgency(const std::string& agency, const std::string& group) {
  const auto log = testing::runDir() + "/logs/" + group + "-kcat.log";
  testing::ChildProcess kcat(
      "kcat",
      {"/usr/bin/kcat", "-C", "-b", testing::requiredEnv("LAPOR_KAFKA_BROKERS"), "-G", group, "-X",
       "isolation.level=read_committed", "-X", "auto.offset.reset=earliest", "-e", "-q", "-f",
       "%k\n", kafka::dispatchTopic(agency)},
      {}, log);
  EXPECT_TRUE(waitFor([&] { return !kcat.running(); }, 60s)) << kcat.logTail();
  auto st = kcat.signalAndWait(0, 1s);
  EXPECT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << kcat.logTail();
  std::ifstream in(log);
  std::stringstream keys;
  keys << in.rdbuf();
  return keys.str();
}

TEST(NotificationDelivery, AKafkaAgencyIsDeliveredOnceItsOwnGroupCommittedPastTheItem) {
  const auto group = uniqueName("agency-polres");
  NotificationOptions o;
  o.tokens = {{"polres-kutim", kPolice}};
  o.delivery = {{"polres-kutim", "{channel: kafka, group: " + group + "}"}};
  o.extra_yaml = "delivery:\n  kafka_poll_interval: 200ms\n";
  NotificationProcess n(o);
  auto stub = n.stub();
  TopicReader lifecycle(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), kafka::kComplaintsTopic,
                        TopicReader::From::End);
  const auto complaint = uniqueName("polisi");
  const auto env = dispatchEnvelope("polres-kutim", complaint, "Pencurian motor");
  produceDispatch(env);

  // In the agency's feed (it works whatever the channel) and acted on like any other ...
  auto r = redisFor(n.redisPrefix());
  ASSERT_FALSE(cursorOf(r, assignmentOf(env)).empty()) << n.logTail();
  v1::AcknowledgeRequest ack;
  ack.set_agency_id("polres-kutim");
  ack.set_assignment_id(assignmentOf(env));
  v1::AcknowledgeResponse acked;
  ASSERT_TRUE(stub->Acknowledge(agencyContext(kPolice).get(), ack, &acked).ok());
  // ... but not delivered while the group has read nothing, however often it is checked.
  const std::string checks =
      "lapor_notification_kafka_offset_checks_total{agency=\"polres-kutim\",outcome=\"ok\"}";
  const double before = metricValue(n.metricsPort(), checks);
  ASSERT_TRUE(waitFor([&] { return metricValue(n.metricsPort(), checks) >= before + 3; }, 20s))
      << n.logTail();
  ASSERT_TRUE(lifecycle.readToEnd(20s));
  EXPECT_EQ(deliveredOf(lifecycle, complaint), 0u);

  // The agency reads its topic with its own consumer group and commits.
  EXPECT_NE(consumeAsAgency("polres-kutim", group).find(complaint), std::string::npos);
  auto delivered = lifecycle.readUntil(
      [&](const kafka::Message&) { return deliveredOf(lifecycle, complaint) > 0; }, 30s);
  ASSERT_TRUE(delivered) << n.logTail();
  for (const auto& e : lifecycleOf(lifecycle, complaint)) {
    if (!e.has_delivered()) continue;
    EXPECT_EQ(e.delivered().agency_id(), "polres-kutim");
    EXPECT_EQ(e.delivered().assignment_id(), assignmentOf(env));
    EXPECT_EQ(e.delivered().channel(), "kafka");
  }
  // Recorded once: later passes over the same committed offsets add nothing.
  const double now = metricValue(n.metricsPort(), checks);
  ASSERT_TRUE(waitFor([&] { return metricValue(n.metricsPort(), checks) >= now + 2; }, 20s));
  ASSERT_TRUE(lifecycle.readToEnd(20s));
  EXPECT_EQ(deliveredOf(lifecycle, complaint), 1u);
  EXPECT_GE(metricValue(n.metricsPort(), "lapor_notification_deliveries_total{agency=\"polres-"
                                         "kutim\",channel=\"kafka\"}"),
            1);
}

// Deliveries recorded together leave the outbox together once their events are produced: one
// script call takes every event of the call out (HDEL and ZREM of all ids at once), not one
// call per event.
TEST(NotificationDelivery, ProducedDeliveriesLeaveTheOutboxInOneCall) {
  constexpr int kItems = 8;
  InProcessStore s(uniqueName("outbox-marks") + ":");
  const auto complaint = uniqueName("marks");
  std::vector<std::string> ids;
  for (int i = 0; i < kItems; ++i) {
    auto env = dispatchEnvelope("disdamkar", complaint, "item-" + std::to_string(i));
    redis::Pipeline append;
    s.store.addAppendDispatch(append, env.event_id(), env.trace_id(), complaint,
                              env.dispatched().item(), false, std::nullopt);
    const auto cursor = s.store.run(append).at(0);
    ASSERT_NE(cursor.type, redis::Reply::Type::Error) << cursor.str;
    ASSERT_FALSE(cursor.str.empty());
    ids.push_back(assignmentOf(env));
  }
  const auto hdel = commandCalls(s.redis, "hdel");
  EXPECT_EQ(s.store.recordDelivered(ids, "disdamkar", "stream"), kItems);
  EXPECT_LT(commandCalls(s.redis, "hdel") - hdel, kItems) << "the outbox left one event a call";
  EXPECT_EQ(s.redis.command({"HLEN", s.redis.key("notif:outbox")}).integer, 0);
  EXPECT_EQ(s.redis.command({"ZCARD", s.redis.key("notif:outbox:due")}).integer, 0);
  EXPECT_EQ(s.store.recordDelivered(ids, "disdamkar", "stream"), 0) << "recorded twice";
}

// Items of `agency` taken into its feed, as notification's consumer takes dispatches: their
// assignment ids.
std::vector<std::string> appendItems(InProcessStore& s, const std::string& agency, int n) {
  const auto complaint = uniqueName("items");
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto env = dispatchEnvelope(agency, complaint, "item-" + std::to_string(i));
    redis::Pipeline append;
    s.store.addAppendDispatch(append, env.event_id(), env.trace_id(), complaint,
                              env.dispatched().item(), false, std::nullopt);
    const auto cursor = s.store.run(append).at(0);
    EXPECT_NE(cursor.type, redis::Reply::Type::Error) << cursor.str;
    ids.push_back(assignmentOf(env));
  }
  return ids;
}

// A ConfirmDelivery's page: its entries with their assignments' records and the confirmation in
// one call, then the page's deliveries and the agency's mark in one call. The mark moves with the
// deliveries and never past one that was refused.
TEST(NotificationDelivery, APagesDeliveriesAndTheMarkAreOneCallAndTheMarkNeverPassesARefusal) {
  constexpr int kItems = 5;
  InProcessStore s(uniqueName("page-mark") + ":");
  const auto ids = appendItems(s, "disdamkar", kItems);
  const auto confirmations = s.store.feedKey("disdamkar") + ":confirmations";
  const notification::AssignmentStore::Confirmation c{confirmations, "", kFarFuture};
  const auto evals = commandCalls(s.redis, "evalsha");
  auto page = s.store.feedPage("disdamkar", "0-0", kFarFuture, 500, &c);
  EXPECT_EQ(commandCalls(s.redis, "evalsha") - evals, 1);
  ASSERT_EQ(page.entries, static_cast<size_t>(kItems));
  EXPECT_EQ(page.assignments, ids);
  ASSERT_EQ(page.records.size(), ids.size());
  for (const auto& r : page.records) EXPECT_NE(r.field("agency"), nullptr);
  EXPECT_EQ(s.redis.command({"XLEN", confirmations}).integer, 1);

  // The last item's delivery record is refused (a key of another type): the items before it are
  // recorded, the mark stays where it was.
  const auto mark_key = s.redis.key("notif:confirmed:disdamkar");
  s.redis.command({"SET", mark_key, "0-0"});
  s.redis.command({"SET", s.redis.key("notif:delivered:" + ids.back()), "not a hash"});
  const notification::AssignmentStore::Mark mark{mark_key, page.last};
  EXPECT_THROW(s.store.recordDelivered(page.assignments, page.records, "disdamkar", "stream", &mark),
               redis::RedisError);
  EXPECT_EQ(s.redis.command({"GET", mark_key}).str, "0-0") << "the mark passed a refused delivery";
  s.redis.command({"DEL", s.redis.key("notif:delivered:" + ids.back())});

  // Again: what was recorded is not again, the rest is, and the mark moves in the same call.
  const auto again = commandCalls(s.redis, "evalsha");
  page = s.store.feedPage("disdamkar", "0-0", kFarFuture, 500, nullptr);
  EXPECT_EQ(s.store.recordDelivered(page.assignments, page.records, "disdamkar", "stream", &mark), 1);
  EXPECT_EQ(commandCalls(s.redis, "evalsha") - again, 3)
      << "the page, its deliveries, and the produced event's leaving the outbox";
  EXPECT_EQ(s.redis.command({"GET", mark_key}).str, page.last);
  EXPECT_EQ(s.redis.command({"XLEN", confirmations}).integer, 1) << "no confirmation without one";
  for (const auto& id : ids)
    EXPECT_EQ(s.redis.command({"HGET", s.redis.key("notif:assignment:" + id), "state"}).str,
              "delivered")
        << id;
}

int64_t outboxSize(redis::RedisClient& r) {
  return r.command({"HLEN", r.key("notif:outbox")}).integer;
}

// With deferred marks (outbox.mark_interval) the events of separate calls stay in the outbox
// once produced, and leave it together when the interval after the first has passed.
TEST(NotificationDelivery, DeferredMarksLeaveTheOutboxTogetherAfterTheInterval) {
  InProcessStore s(uniqueName("deferred-marks") + ":");
  const auto ids = appendItems(s, "disdamkar", 2);
  s.store.deferMarks(5s, 100);
  EXPECT_EQ(s.store.recordDelivered(ids[0], "disdamkar", "stream"), true);
  EXPECT_EQ(s.store.recordDelivered(ids[1], "disdamkar", "stream"), true);
  EXPECT_EQ(outboxSize(s.redis), 2) << "a call took its event out before the interval";
  EXPECT_TRUE(waitFor([&] { return outboxSize(s.redis) == 0; }, 30s))
      << outboxSize(s.redis) << " events still in the outbox after the interval";
  EXPECT_EQ(s.redis.command({"ZCARD", s.redis.key("notif:outbox:due")}).integer, 0);
  EXPECT_EQ(s.store.recordDelivered(ids, "disdamkar", "stream"), 0) << "recorded twice";
}

// The marks still waiting when the store ends are written then, not left to the outbox pass.
TEST(NotificationDelivery, AStoreWritesItsWaitingMarksWhenItEnds) {
  InProcessStore s(uniqueName("marks-at-end") + ":");
  const auto ids = appendItems(s, "disdamkar", 1);
  {
    notification::AssignmentStore store(s.redis, s.producer, s.clock, log::Logger("test"), 15s);
    store.deferMarks(60s, 100);
    ASSERT_TRUE(store.recordDelivered(ids[0], "disdamkar", "stream"));
    EXPECT_EQ(outboxSize(s.redis), 1);
  }
  EXPECT_EQ(outboxSize(s.redis), 0) << "the store ended with its marks unwritten";
}

// At most max_pending_marks wait: the call that brings them to the bound writes them all.
TEST(NotificationDelivery, ACallThatFindsTheBoundOfWaitingMarksWritesThemItself) {
  InProcessStore s(uniqueName("marks-bound") + ":");
  const auto ids = appendItems(s, "disdamkar", 5);
  s.store.deferMarks(60s, 3);
  std::vector<int64_t> sizes;
  for (const auto& id : ids) {
    ASSERT_TRUE(s.store.recordDelivered(id, "disdamkar", "stream"));
    sizes.push_back(outboxSize(s.redis));
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{1, 2, 0, 1, 2}));
}

// A repeated action (Acknowledge answered, then called again) finds its event produced while
// the event's mark still waits, and does not send it a second time.
TEST(NotificationDelivery, ARepeatedActionDoesNotSendAgainAnEventWhoseMarkWaits) {
  InProcessStore s(uniqueName("repeat-deferred") + ":");
  TopicReader lifecycle(s.brokers, kafka::kComplaintsTopic, TopicReader::From::End);
  const auto ids = appendItems(s, "disdamkar", 1);
  s.store.deferMarks(60s, 100);
  const auto rec = s.store.get(ids[0]);
  ASSERT_TRUE(rec);
  auto env = events::makeEnvelope("notification", rec->complaint_id, rec->trace_id,
                                  s.clock.nowMs(), events::newUuid());
  env.mutable_acknowledged()->set_assignment_id(ids[0]);
  env.mutable_acknowledged()->set_agency_id("disdamkar");
  const auto commits = s.store.transitionAll({{&*rec, "acknowledged", false, &env}});
  ASSERT_EQ(commits.at(0), notification::AssignmentStore::Commit::Published);
  const auto again = s.store.get(ids[0]);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->pending, env.event_id()) << "the mark did not wait";
  EXPECT_TRUE(s.store.republishPending(*again));
  ASSERT_TRUE(lifecycle.readToEnd(20s));
  size_t sent = 0;
  for (const auto& e : lifecycleOf(lifecycle, rec->complaint_id))
    sent += e.event_id() == env.event_id() ? 1 : 0;
  EXPECT_EQ(sent, 1u) << "the event was produced again";
}

TEST(NotificationDelivery, OnePassRecordsAtMostItsBoundAndTheNextPassesTheRest) {
  // The tracker in this process, against the run's Redis and Kafka, with a bound of 2.
  const auto group = uniqueName("agency-bound");
  NotificationOptions kafka_police;
  kafka_police.delivery = {{"polres-kutim", "{channel: kafka, group: " + group + "}"}};
  const auto directory =
      agencies::AgencyDirectory::loadFile(agencyDirectoryFor(kafka_police, group));
  InProcessStore s(uniqueName("kafka-bound") + ":");
  auto& producer = s.producer;
  auto& store = s.store;
  TopicReader lifecycle(s.brokers, kafka::kComplaintsTopic, TopicReader::From::End);
  const auto complaint = uniqueName("bound");
  for (int i = 0; i < 5; ++i) {
    auto env = dispatchEnvelope("polres-kutim", complaint, "item-" + std::to_string(i));
    auto rep = producer.produceAndWait(
        events::toMessage(kafka::dispatchTopic("polres-kutim"), env), 15s);
    ASSERT_TRUE(rep.ok) << rep.error;
    redis::Pipeline append;
    store.addAppendDispatch(append, env.event_id(), env.trace_id(), complaint,
                            env.dispatched().item(), false,
                            notification::TopicPosition{rep.partition, rep.offset});
    const auto cursor = store.run(append).at(0);
    ASSERT_NE(cursor.type, redis::Reply::Type::Error) << cursor.str;
    ASSERT_FALSE(cursor.str.empty());
  }
  prometheus::Registry registry;
  notification::NotificationMetrics metrics(registry);
  notification::KafkaDeliveryMetrics own(registry);
  kafka::GroupOffsetsOptions go;
  go.brokers = s.brokers;
  kafka::ConsumerGroupOffsets offsets(go, log::Logger("test"));
  notification::KafkaDeliverySettings bound;
  bound.max_per_pass = 2;
  notification::KafkaDeliveryTracker tracker(directory, store, offsets, log::Logger("test"),
                                             metrics, own, bound);
  EXPECT_EQ(tracker.runOnce(), 0);  // the group has read nothing yet
  consumeAsAgency("polres-kutim", group);
  EXPECT_EQ(tracker.runOnce(), 2);
  EXPECT_EQ(tracker.runOnce(), 2);
  EXPECT_EQ(tracker.runOnce(), 1);
  EXPECT_EQ(tracker.runOnce(), 0);
  lifecycle.readUntil([&](const kafka::Message&) { return deliveredOf(lifecycle, complaint) == 5; },
                      20s);
  EXPECT_EQ(deliveredOf(lifecycle, complaint), 5u);
  for (const auto& e : lifecycleOf(lifecycle, complaint))
    EXPECT_EQ(e.delivered().channel(), "kafka");
}

}  // namespace
}  // namespace lapor::integration

namespace lapor::integration {
namespace {

TEST(NotificationDispatchBatch, ABatchFillsEveryFeedInOrderOnceAndDeadLettersWhatIsInvalid) {
  // The dispatch reader of this process, against the run's Redis: one batch with items of two
  // agencies, a repeat, an item on the wrong agency's topic and bytes that are no envelope.
  const auto directory = agencies::AgencyDirectory::loadFile(
      agencyDirectoryFor(NotificationOptions{}, uniqueName("batch-dir")));
  InProcessStore s(uniqueName("dispatch-batch") + ":");
  auto& redis = s.redis;
  auto& store = s.store;
  notification::AccessControl access(notification::AccessTable{});
  prometheus::Registry registry;
  notification::NotificationMetrics metrics(registry);
  notification::DispatchHandler handler(directory, access, store,
                                        log::Logger("test", log::Level::Error), metrics);

  const auto complaint = uniqueName("batch");
  std::vector<v1::EventEnvelope> fire, police;
  for (int i = 0; i < 3; ++i) {
    fire.push_back(dispatchEnvelope("disdamkar", complaint + "-f" + std::to_string(i),
                                    "fire-" + std::to_string(i)));
    police.push_back(dispatchEnvelope("polres-kutim", complaint + "-p" + std::to_string(i),
                                      "police-" + std::to_string(i)));
  }
  auto on = [](const v1::EventEnvelope& env, const std::string& agency, int64_t offset) {
    auto m = events::toMessage(kafka::dispatchTopic(agency), env);
    kafka::Message msg;
    msg.topic = m.topic;
    msg.key = m.key;
    msg.value = m.value;
    msg.offset = offset;
    return msg;
  };
  std::vector<kafka::Message> batch{on(fire[0], "disdamkar", 0),
                                    on(police[0], "polres-kutim", 0),
                                    on(fire[1], "disdamkar", 1),
                                    on(fire[1], "disdamkar", 2),      // a repeat
                                    on(police[1], "disdamkar", 3),    // the wrong topic
                                    on(police[2], "polres-kutim", 1),
                                    on(fire[2], "disdamkar", 4)};
  kafka::Message junk;
  junk.topic = kafka::dispatchTopic("disdamkar");
  junk.value = "not an envelope";
  batch.insert(batch.begin() + 2, junk);

  const auto results = handler.handleBatch(batch);
  ASSERT_EQ(results.size(), batch.size());
  const std::vector<kafka::Outcome> expected{
      kafka::Outcome::Done, kafka::Outcome::Done,       kafka::Outcome::DeadLetter,
      kafka::Outcome::Done, kafka::Outcome::Done,       kafka::Outcome::DeadLetter,
      kafka::Outcome::Done, kafka::Outcome::Done};
  for (size_t i = 0; i < results.size(); ++i)
    EXPECT_EQ(results[i].outcome, expected[i]) << "message " << i << ": " << results[i].detail;

  // Each agency's feed holds its items once, in the order read.
  auto titles = [&](const std::string& agency) {
    std::vector<std::string> out;
    auto r = redis.command({"XRANGE", store.feedKey(agency), "-", "+"});
    for (const auto& entry : r.elements) {
      const auto* item = entry.elements.at(1).field("item");
      v1::DispatchItem d;
      if (item && d.ParseFromString(*item)) out.push_back(d.complaint().title());
    }
    return out;
  };
  EXPECT_EQ(titles("disdamkar"), (std::vector<std::string>{"fire-0", "fire-1", "fire-2"}));
  EXPECT_EQ(titles("polres-kutim"), (std::vector<std::string>{"police-0", "police-2"}));
  for (const auto& env : {fire[0], fire[1], fire[2], police[0], police[2]}) {
    auto rec = store.get(env.dispatched().item().assignment().assignment_id());
    ASSERT_TRUE(rec.has_value()) << env.dispatched().item().assignment().assignment_id();
    EXPECT_EQ(rec->complaint_id, env.complaint_id());
  }
  // The same batch again changes nothing: every item is a repeat.
  const auto again = handler.handleBatch(batch);
  for (size_t i = 0; i < again.size(); ++i) EXPECT_EQ(again[i].outcome, expected[i]) << i;
  EXPECT_EQ(titles("disdamkar").size(), 3u);
}

TEST(NotificationDispatchBatch, AnEmergencysLaneCopyFillsTheFeedOnceAndAKafkaAgencyKeepsItsTopic) {
  // routing writes an emergency's new assignment to the dispatch lane and to the agency's topic:
  // whichever comes first fills the feed, the other is a repeat; an agency that reads its topic
  // itself is delivered by its group's position there, so its lane copy is passed by.
  NotificationOptions o;
  o.delivery = {{"polres-kutim", "{channel: kafka, group: agency-polres-kutim.lane}"}};
  const auto directory =
      agencies::AgencyDirectory::loadFile(agencyDirectoryFor(o, uniqueName("lane-dir")));
  ASSERT_EQ(directory.find("polres-kutim")->delivery_channel, "kafka");
  InProcessStore s(uniqueName("dispatch-lane") + ":");
  notification::AccessControl access(notification::AccessTable{});
  prometheus::Registry registry;
  notification::NotificationMetrics metrics(registry);
  notification::DispatchHandler handler(directory, access, s.store,
                                        log::Logger("test", log::Level::Error), metrics);
  const auto complaint = uniqueName("lane");
  const auto fire = dispatchEnvelope("disdamkar", complaint, "fire");
  const auto police = dispatchEnvelope("polres-kutim", complaint, "police");
  auto on = [](const v1::EventEnvelope& env, const std::string& topic, int64_t offset) {
    auto m = events::toMessage(topic, env);
    kafka::Message msg;
    msg.topic = m.topic;
    msg.key = m.key;
    msg.value = m.value;
    msg.partition = 0;
    msg.offset = offset;
    return msg;
  };
  const auto feedLength = [&](const std::string& agency) {
    return s.redis.command({"XLEN", s.store.feedKey(agency)}).integer;
  };
  auto lane = handler.handleBatch({on(fire, kafka::kEmergencyDispatchTopic, 3),
                                   on(police, kafka::kEmergencyDispatchTopic, 4)});
  for (const auto& r : lane) EXPECT_EQ(r.outcome, kafka::Outcome::Done) << r.detail;
  EXPECT_EQ(feedLength("disdamkar"), 1);
  EXPECT_EQ(feedLength("polres-kutim"), 0) << "a Kafka agency's item taken from the lane";
  auto topics = handler.handleBatch({on(fire, kafka::dispatchTopic("disdamkar"), 0),
                                     on(police, kafka::dispatchTopic("polres-kutim"), 9)});
  for (const auto& r : topics) EXPECT_EQ(r.outcome, kafka::Outcome::Done) << r.detail;
  EXPECT_EQ(feedLength("disdamkar"), 1) << "the topic's copy of a lane item appended again";
  EXPECT_EQ(feedLength("polres-kutim"), 1);
  // Delivered once the agency's group commits past offset 9 of its own topic.
  const auto at = s.redis.command({"ZSCORE", s.redis.key("notif:kafka:polres-kutim:0"),
                                   police.dispatched().item().assignment().assignment_id()});
  EXPECT_EQ(at.str, "9");
  // An item of an agency the directory does not know is refused on the lane too.
  auto stranger = dispatchEnvelope("no-such-agency", complaint, "x");
  EXPECT_EQ(handler.handleBatch({on(stranger, kafka::kEmergencyDispatchTopic, 5)}).at(0).outcome,
            kafka::Outcome::DeadLetter);
}

}  // namespace
}  // namespace lapor::integration
