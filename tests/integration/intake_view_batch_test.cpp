// The tracking view's batch path against the real Redis: a batch of interleaved events of
// several complaints, with a repeat and an undecodable message, builds exactly the views the
// same events build one at a time, and a complaint's events apply in the order read; a view the
// handler wrote last is not read again, and one written by another handler meanwhile is.
#include "domain/response_time.h"
#include "complaint_views.h"
#include "events/envelope.h"
#include "integration_support.h"
#include "intake_metrics.h"
#include "lifecycle_events.h"
#include "process.h"
#include "redis_support.h"
#include "view_handler.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <thread>

namespace lapor::integration {
namespace {

struct Complaint {
  std::string id, tracking_id;
  std::vector<v1::EventEnvelope> events;  // in the order they happen
};

Complaint lifeOf(const std::string& name, int64_t t0) {
  Complaint c{uniqueName("batch-" + name), uniqueName("LPR-" + name), {}};
  auto submitted = events::makeEnvelope("intake", c.id, "", t0);
  auto* complaint = submitted.mutable_submitted()->mutable_complaint();
  complaint->set_complaint_id(c.id);
  complaint->set_tracking_id(c.tracking_id);
  complaint->set_category("fire");
  complaint->set_priority(v1::PRIORITY_HIGH);
  complaint->set_title("Kebakaran " + name);
  complaint->set_submitted_at_ms(t0);
  c.events.push_back(submitted);
  c.events.push_back(testing::routedEvent(c.id, v1::PRIORITY_HIGH, "fire",
                                          {"disdamkar", "rsud-kudungga"}, t0 + 10));
  auto ack = events::makeEnvelope("notification", c.id, "", t0 + 20);
  ack.mutable_acknowledged()->set_agency_id("disdamkar");
  c.events.push_back(ack);
  auto on_scene = events::makeEnvelope("notification", c.id, "", t0 + 30);
  on_scene.mutable_status_updated()->set_agency_id("disdamkar");
  on_scene.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_ON_SCENE);
  c.events.push_back(on_scene);
  c.events.push_back(ack);  // a repeat, as a replaying producer sends it
  auto resolved = events::makeEnvelope("notification", c.id, "", t0 + 40);
  resolved.mutable_resolved()->set_agency_id("disdamkar");
  resolved.mutable_resolved()->set_resolution("Api padam " + name);
  c.events.push_back(resolved);
  return c;
}

TEST(IntakeViewBatchTest, ABatchBuildsTheViewsOneEventAtATimeBuilds) {
  prometheus::Registry registry;
  intake::IntakeMetrics metrics(registry);
  const auto batch_prefix = uniqueName("lapor-it-vb") + ":";
  const auto single_prefix = uniqueName("lapor-it-vs") + ":";
  redis::RedisClient batch_redis(testRedisOptions(batch_prefix), log::Logger("test"));
  redis::RedisClient single_redis(testRedisOptions(single_prefix), log::Logger("test"));
  intake::ViewHandler batched(batch_redis, log::Logger("test", log::Level::Error), metrics);
  intake::ViewHandler single(single_redis, log::Logger("test", log::Level::Error), metrics);

  const int64_t t0 = testing::nowMs();
  std::vector<Complaint> complaints{lifeOf("a", t0), lifeOf("b", t0 + 1), lifeOf("c", t0 + 2)};
  // Interleaved as three partitions' worth of events arrive in one poll, each complaint's in
  // its order, with an undecodable message in the middle.
  std::vector<std::vector<v1::EventEnvelope>> events;
  for (const auto& c : complaints) events.push_back(c.events);
  const auto messages = testing::interleavedPoll(events, 2);

  const auto results = batched.handleBatch(messages);
  ASSERT_EQ(results.size(), messages.size());
  for (size_t i = 0; i < results.size(); ++i) {
    const bool junk = messages[i].value == testing::kUndecodable;
    EXPECT_EQ(results[i].outcome, junk ? kafka::Outcome::DeadLetter : kafka::Outcome::Done)
        << "message " << i << ": " << results[i].reason << " " << results[i].detail;
  }
  for (const auto& m : messages) {
    const auto r = single.handle(m);
    EXPECT_NE(r.outcome, kafka::Outcome::Retry) << r.reason << " " << r.detail;
  }

  intake::ResponseTimes response_times({}, 8 * 60);
  intake::ComplaintViews batch_views(batch_redis, response_times);
  intake::ComplaintViews single_views(single_redis, response_times);
  for (const auto& c : complaints) {
    const auto b = batch_views.read(c.id, c.tracking_id);
    const auto s = single_views.read(c.id, c.tracking_id);
    EXPECT_EQ(b.SerializeAsString(), s.SerializeAsString())
        << "batch:\n" << b.DebugString() << "one at a time:\n" << s.DebugString();
    EXPECT_EQ(b.status(), v1::COMPLAINT_STATUS_RESOLVED) << b.DebugString();
    EXPECT_EQ(b.timeline_size(), 5) << "the repeat was applied, or an event lost";
    EXPECT_EQ(b.status_note(), c.events.back().resolved().resolution());
    EXPECT_EQ(batch_views.complaintIdOf(c.tracking_id), c.id);
  }
  // Again: every event is a repeat now, and nothing changes.
  const auto before = batch_views.read(complaints[0].id, complaints[0].tracking_id);
  const auto again = batched.handleBatch(messages);
  for (size_t i = 0; i < again.size(); ++i)
    EXPECT_NE(again[i].outcome, kafka::Outcome::Retry) << i;
  EXPECT_EQ(batch_views.read(complaints[0].id, complaints[0].tracking_id).SerializeAsString(),
            before.SerializeAsString());

  for (auto* r : {&batch_redis, &single_redis}) deleteKeysOf(*r);
}

// How many times Redis has read a view's assignments (HGETALL, which every read of a view
// for an update takes and the update script does not).
int64_t viewReads(redis::RedisClient& r) { return commandCalls(r, "hgetall"); }

TEST(IntakeViewBatchTest, AViewWrittenByAnotherHandlerIsReadAgainNotOverwritten) {
  prometheus::Registry registry;
  intake::IntakeMetrics metrics(registry);
  const auto prefix = uniqueName("lapor-it-vk") + ":";
  const auto single_prefix = uniqueName("lapor-it-vks") + ":";
  redis::RedisClient redis_a(testRedisOptions(prefix), log::Logger("test"));
  redis::RedisClient redis_b(testRedisOptions(prefix), log::Logger("test"));
  redis::RedisClient single_redis(testRedisOptions(single_prefix), log::Logger("test"));
  // Two instances of the view on one store (a rebalance moved the partition and back), and a
  // third alone on its own store for what the events must give.
  intake::ViewHandler a(redis_a, log::Logger("test", log::Level::Error), metrics);
  intake::ViewHandler b(redis_b, log::Logger("test", log::Level::Error), metrics);
  intake::ViewHandler single(single_redis, log::Logger("test", log::Level::Error), metrics);
  const auto c = lifeOf("kept", testing::nowMs());
  std::vector<kafka::Message> m;
  for (const auto& e : c.events)
    m.push_back(testing::lifecycleMessage(e, static_cast<int64_t>(m.size())));
  const auto asked = commandCalls(single_redis, "sismember");
  for (const auto& msg : m) ASSERT_EQ(single.handle(msg).outcome, kafka::Outcome::Done);
  EXPECT_EQ(commandCalls(single_redis, "sismember"), asked)
      << "on the view as read, the event set's SADD alone tells a repeat (m[4]) from a new event";

  auto done = [](const kafka::HandleResult& r) {
    return r.outcome == kafka::Outcome::Done ? "done" : r.reason + ": " + r.detail;
  };
  EXPECT_EQ(done(a.handle(m[0])), "done");
  EXPECT_EQ(done(a.handle(m[1])), "done");
  // The next event after a's own write: decided on what a kept, no read.
  auto reads = viewReads(redis_a);
  EXPECT_EQ(done(a.handle(m[2])), "done");
  EXPECT_EQ(viewReads(redis_a), reads) << "the view a wrote last was read again";
  // b writes the view meanwhile; a's kept model is now behind the view's version.
  EXPECT_EQ(done(b.handle(m[3])), "done");
  reads = viewReads(redis_a);
  EXPECT_EQ(done(a.handle(m[4])), "done");  // the repeat of the acknowledgement
  EXPECT_EQ(done(a.handle(m[5])), "done");
  EXPECT_GT(viewReads(redis_a), reads) << "a decided on its kept model over b's write";

  intake::ResponseTimes response_times({}, 8 * 60);
  intake::ComplaintViews views(redis_a, response_times);
  intake::ComplaintViews single_views(single_redis, response_times);
  const auto got = views.read(c.id, c.tracking_id);
  const auto want = single_views.read(c.id, c.tracking_id);
  EXPECT_EQ(got.SerializeAsString(), want.SerializeAsString())
      << "two handlers:\n" << got.DebugString() << "one:\n" << want.DebugString();
  EXPECT_EQ(got.status(), v1::COMPLAINT_STATUS_RESOLVED) << got.DebugString();
  EXPECT_EQ(got.timeline_size(), 5) << got.DebugString();

  for (auto* r : {&redis_a, &single_redis}) deleteKeysOf(*r);
}

// The view's hash records the events applied to it: a repeat is known from the one HMGET the
// update starts with, and no set of event ids is written beside the view. A view written before
// (its event ids in the set, no record in the hash) still drops a repeat the set holds.
TEST(IntakeViewBatchTest, TheViewRecordsItsEventsInItsHash) {
  prometheus::Registry registry;
  intake::IntakeMetrics metrics(registry);
  redis::RedisClient redis(testRedisOptions(uniqueName("lapor-it-ve") + ":"), log::Logger("test"));
  intake::ViewHandler handler(redis, log::Logger("test", log::Level::Error), metrics);
  intake::ResponseTimes response_times({}, 8 * 60);
  intake::ComplaintViews views(redis, response_times);
  const auto c = lifeOf("kept-events", testing::nowMs());
  const auto base = redis.key("view:" + c.id);
  std::vector<kafka::Message> m;
  for (const auto& e : c.events)
    m.push_back(testing::lifecycleMessage(e, static_cast<int64_t>(m.size())));
  const auto sadds = commandCalls(redis, "sadd");
  for (size_t i = 0; i < 4; ++i) ASSERT_EQ(handler.handle(m[i]).outcome, kafka::Outcome::Done);
  EXPECT_EQ(commandCalls(redis, "sadd") - sadds, 1)
      << "the agencies of the routing only: no event ids, and the acknowledgement and the "
         "status are of an agency listed already";
  EXPECT_EQ(redis.command({"EXISTS", base + ":events"}).integer, 0);
  EXPECT_EQ(redis.command({"HGET", base, "e:" + c.events[2].event_id()}).str, "1");
  const auto four = views.read(c.id, c.tracking_id);
  ASSERT_EQ(four.timeline_size(), 4);
  ASSERT_EQ(handler.handle(m[4]).outcome, kafka::Outcome::Done);  // the repeat
  EXPECT_EQ(views.read(c.id, c.tracking_id).SerializeAsString(), four.SerializeAsString());

  // As an earlier version left it: the event ids in the set, none in the hash.
  for (size_t i = 0; i < 4; ++i) {
    redis.command({"HDEL", base, "e:" + c.events[i].event_id()});
    redis.command({"SADD", base + ":events", c.events[i].event_id()});
  }
  redis.command({"HDEL", base, "events_kept"});
  intake::ViewHandler fresh(redis, log::Logger("test", log::Level::Error), metrics);
  ASSERT_EQ(fresh.handle(m[2]).outcome, kafka::Outcome::Done);  // a repeat the set holds
  EXPECT_EQ(views.read(c.id, c.tracking_id).timeline_size(), 4) << "applied twice";
  ASSERT_EQ(fresh.handle(m[5]).outcome, kafka::Outcome::Done);  // new: recorded in the hash
  EXPECT_EQ(views.read(c.id, c.tracking_id).timeline_size(), 5);
  EXPECT_EQ(redis.command({"HGET", base, "e:" + c.events[5].event_id()}).str, "1");
  ASSERT_EQ(fresh.handle(m[5]).outcome, kafka::Outcome::Done);
  EXPECT_EQ(views.read(c.id, c.tracking_id).timeline_size(), 5) << "applied twice";
  deleteKeysOf(redis);
}

// A reader never sees one event's timeline with the view before it: while a handler applies
// event after event, every read's updated_at_ms is the time of its timeline's last entry (each
// event carries a later time). Read as four separate commands, a read now and then shows the
// timeline of an event the status does not have yet ("reopened" under CLOSED).
TEST(IntakeViewBatchTest, AReadIsOneSnapshotWhileEventsApply) {
  prometheus::Registry registry;
  intake::IntakeMetrics metrics(registry);
  const auto prefix = uniqueName("lapor-it-vr") + ":";
  redis::RedisClient writer_redis(testRedisOptions(prefix), log::Logger("test"));
  redis::RedisClient reader_redis(testRedisOptions(prefix), log::Logger("test"));
  intake::ViewHandler handler(writer_redis, log::Logger("test", log::Level::Error), metrics);
  const int64_t t0 = testing::nowMs();
  auto c = lifeOf("snapshot", t0);
  c.events.resize(3);  // submitted, routed, acknowledged
  constexpr int kUpdates = 1500;
  for (int i = 0; i < kUpdates; ++i) {
    auto e = events::makeEnvelope("notification", c.id, "", t0 + 100 + i);
    e.mutable_status_updated()->set_agency_id("disdamkar");
    e.mutable_status_updated()->set_state(i % 2 ? v1::ASSIGNMENT_STATE_ON_SCENE
                                                : v1::ASSIGNMENT_STATE_IN_PROGRESS);
    e.mutable_status_updated()->set_message("laporan kemajuan " + std::to_string(i));
    c.events.push_back(e);
  }
  for (size_t i = 0; i < 3; ++i)
    ASSERT_EQ(handler.handle(testing::lifecycleMessage(c.events[i], static_cast<int64_t>(i))).outcome,
              kafka::Outcome::Done);

  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (size_t i = 3; i < c.events.size(); ++i)
      handler.handle(testing::lifecycleMessage(c.events[i], static_cast<int64_t>(i)));
    writing = false;
  });
  intake::ResponseTimes response_times({}, 8 * 60);
  intake::ComplaintViews views(reader_redis, response_times);
  int reads = 0;
  std::string torn;
  while (writing && torn.empty()) {
    const auto v = views.read(c.id, c.tracking_id);
    ++reads;
    if (v.timeline_size() == 0 || v.timeline(v.timeline_size() - 1).at_ms() != v.updated_at_ms())
      torn = "updated_at_ms " + std::to_string(v.updated_at_ms()) + " under a timeline of " +
             std::to_string(v.timeline_size()) + " entries ending at " +
             (v.timeline_size() ? std::to_string(v.timeline(v.timeline_size() - 1).at_ms())
                                : std::string("-"));
  }
  writer.join();
  EXPECT_EQ(torn, "") << "read " << reads;
  const auto last = views.read(c.id, c.tracking_id);
  EXPECT_GT(last.timeline_size(), kUpdates / 2) << "the updates were not applied";
  EXPECT_EQ(last.timeline(last.timeline_size() - 1).at_ms(), last.updated_at_ms());
  EXPECT_GT(reads, 10) << "the reads did not overlap the writes";
  deleteKeysOf(writer_redis);
}

}  // namespace
}  // namespace lapor::integration
