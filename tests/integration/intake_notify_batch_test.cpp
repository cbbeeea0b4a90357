// Reporter notices in batches against the real Redis: a poll's worth of interleaved events of
// several complaints makes exactly the jobs, and leaves exactly the state, that the same events
// make one at a time; the facts of each notice are those its own event saw (an anonymity set by
// a later event of the same batch does not reach an earlier notice), and a replay of the whole
// batch makes nothing new.
#include "events/envelope.h"
#include "integration_support.h"
#include "lifecycle_events.h"
#include "redis_support.h"
#include "reporter_notifier.h"
#include "time/clock.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <future>
#include <map>
#include <set>

namespace lapor::integration {
namespace {

class NoSink : public kafka::MessageSink {
 public:
  std::future<kafka::DeliveryReport> produce(kafka::OutMessage) override {
    std::promise<kafka::DeliveryReport> p;
    p.set_value(kafka::DeliveryReport{});
    return p.get_future();
  }
};

struct Life {
  std::string id;
  std::vector<v1::EventEnvelope> events;
};

// Submitted by the partner (a callback per notice), dispatched twice (only the first is a
// notice), verified, answered, resolved by the lead, closed; `anonymous_later`: the verifiers
// mark the reporter anonymous after the first dispatch.
Life lifeOf(const std::string& name, int64_t t0, bool anonymous_later) {
  Life c{uniqueName("notify-batch-" + name), {}};
  auto submitted = events::makeEnvelope("intake", c.id, "", t0);
  auto* complaint = submitted.mutable_submitted()->mutable_complaint();
  complaint->set_complaint_id(c.id);
  complaint->set_tracking_id(uniqueName("LPR-" + name));
  complaint->set_title("Jalan rusak " + name);
  complaint->set_channel(v1::CHANNEL_EXTERNAL);
  complaint->set_publisher("partner");
  complaint->set_external_ref("ext-" + name);
  c.events.push_back(submitted);
  auto routed = testing::routedEvent(c.id, v1::PRIORITY_NORMAL, "road-damage",
                                     {"dinas-pu", "dishub"}, t0 + 10);
  c.events.push_back(routed);
  auto again = testing::routedEvent(c.id, v1::PRIORITY_NORMAL, "road-damage", {"dinas-pu"},
                                    t0 + 15);
  c.events.push_back(again);
  auto verified = events::makeEnvelope("routing", c.id, "", t0 + 20);
  verified.mutable_verified()->set_anonymous(anonymous_later);
  verified.mutable_verified()->set_title("Jalan berlubang " + name);
  c.events.push_back(verified);
  auto responded = events::makeEnvelope("notification", c.id, "", t0 + 30);
  responded.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_RESPONDED);
  responded.mutable_status_updated()->set_message("Dijadwalkan " + name);
  c.events.push_back(responded);
  auto resolved = events::makeEnvelope("notification", c.id, "", t0 + 40);
  resolved.mutable_resolved()->set_agency_id("dinas-pu");
  resolved.mutable_resolved()->set_assignment_id(testing::assignmentIdFor(c.id, "dinas-pu"));
  resolved.mutable_resolved()->set_resolution("Sudah ditambal " + name);
  c.events.push_back(resolved);
  auto support = events::makeEnvelope("notification", c.id, "", t0 + 45);
  support.mutable_resolved()->set_agency_id("dishub");
  support.mutable_resolved()->set_assignment_id(testing::assignmentIdFor(c.id, "dishub"));
  support.mutable_resolved()->set_resolution("Rambu dipasang " + name);
  c.events.push_back(support);
  auto closed = events::makeEnvelope("routing", c.id, "", t0 + 50);
  closed.mutable_closed()->set_reason("feedback");
  c.events.push_back(closed);
  return c;
}

// Every job the notifier made under `r`'s prefix, by job id, without its due time.
std::map<std::string, std::map<std::string, std::string>> jobsOf(redis::RedisClient& r) {
  std::map<std::string, std::map<std::string, std::string>> out;
  const auto due = r.command({"ZRANGE", r.key("intake:notify:due"), "0", "-1"});
  for (const auto& id : due.elements) {
    const auto h = r.command({"HGETALL", r.key("intake:notify:job:" + id.str)});
    auto& job = out[id.str];
    for (size_t i = 0; i + 1 < h.elements.size(); i += 2) job[h.elements[i].str] = h.elements[i + 1].str;
  }
  return out;
}

TEST(IntakeNotifyBatch, ABatchMakesTheJobsOneEventAtATimeMakes) {
  const auto batch_prefix = uniqueName("lapor-it-nb") + ":";
  const auto single_prefix = uniqueName("lapor-it-ns") + ":";
  redis::RedisClient batch_redis(testRedisOptions(batch_prefix), log::Logger("test"));
  redis::RedisClient single_redis(testRedisOptions(single_prefix), log::Logger("test"));
  NoSink sink;
  time::ManualClock clock(testing::nowMs());
  prometheus::Registry registry;
  intake::ReporterNotifyMetrics metrics(registry);
  intake::NotifySettings settings;
  settings.callbacks["partner"] = intake::CallbackTarget{"http://127.0.0.1:9/callback", "s"};
  intake::ReporterNotifier batched(batch_redis, batch_redis, sink, clock,
                                   log::Logger("test", log::Level::Error), metrics, settings);
  intake::ReporterNotifier single(single_redis, single_redis, sink, clock,
                                  log::Logger("test", log::Level::Error), metrics, settings);

  const int64_t t0 = testing::nowMs();
  std::vector<Life> lives{lifeOf("a", t0, false), lifeOf("b", t0 + 1, true),
                          lifeOf("c", t0 + 2, false)};
  // Interleaved as a poll returns them, with a message that is not an envelope among them.
  std::vector<std::vector<v1::EventEnvelope>> events;
  for (const auto& c : lives) events.push_back(c.events);
  const auto messages = testing::interleavedPoll(events, 3);
  const auto results = batched.handleBatch(messages);
  ASSERT_EQ(results.size(), messages.size());
  for (const auto& r : results) EXPECT_EQ(r.outcome, kafka::Outcome::Done) << r.reason;
  for (const auto& m : messages) EXPECT_EQ(single.handle(m).outcome, kafka::Outcome::Done);

  const auto jobs = jobsOf(batch_redis);
  EXPECT_EQ(jobs, jobsOf(single_redis));
  // Per complaint: the first dispatch (not the second), verified, responded, the lead's
  // resolution (not the support's), closed: five notices, one callback job each.
  std::map<std::string, std::vector<std::string>> notices;
  for (const auto& [id, job] : jobs) {
    notices[job.at("complaint_id")].push_back(job.at("notice"));
    EXPECT_EQ(job.at("channel"), "callback") << id;
  }
  ASSERT_EQ(notices.size(), lives.size());
  for (const auto& c : lives) {
    auto got = notices[c.id];
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got.size(), 5u) << c.id << ": " << ::testing::PrintToString(got);
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size())
        << c.id << ": " << ::testing::PrintToString(got);
  }
  // The first dispatch's notice carries the title it was submitted with; those after the
  // verifiers' event carry theirs.
  for (const auto& [id, job] : jobs)
    if (job.at("complaint_id") == lives[0].id) {
      const bool before = job.at("cause") == lives[0].events[1].event_id();
      EXPECT_EQ(job.at("title"), before ? "Jalan rusak a" : "Jalan berlubang a") << job.at("notice");
    }

  // The whole batch again, as after a restart: nothing new.
  const auto again = batched.handleBatch(messages);
  for (const auto& r : again) EXPECT_EQ(r.outcome, kafka::Outcome::Done);
  EXPECT_EQ(jobsOf(batch_redis), jobs);
  for (auto* r : {&batch_redis, &single_redis}) deleteKeysOf(*r);
}

}  // namespace
}  // namespace lapor::integration
