// The emergency lane from intake's side, in-process against the run's Redis with a sink that
// records what is produced: an emergency's submission is copied to the lane only once its
// record on the lifecycle topic is acknowledged, never before and never without it.
#include "agencies/agency_directory.h"
#include "intake_fixture.h"
#include "intake_metrics.h"
#include "publishers.h"
#include "redis_support.h"
#include "submission.h"
#include "time/clock.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <future>
#include <mutex>

namespace lapor::integration {
namespace {

// Records every message; fails the lifecycle topic's writes while `fail_lifecycle` is set.
class RecordingSink : public kafka::MessageSink {
 public:
  bool fail_lifecycle = false;
  std::vector<std::string> topics;  // in the order produced
  std::future<kafka::DeliveryReport> produce(kafka::OutMessage msg) override {
    kafka::DeliveryReport r;
    r.ok = !(fail_lifecycle && msg.topic == kafka::kComplaintsTopic);
    if (!r.ok) r.error = "Local: Message timed out";
    topics.push_back(msg.topic);
    std::promise<kafka::DeliveryReport> p;
    p.set_value(r);
    return p.get_future();
  }
};

TEST(IntakeLaneTest, AnEmergencyTakesTheLaneOnlyOnceItsRecordIsAcknowledged) {
  const auto directory = agencies::AgencyDirectory::loadFile(
      std::string(LAPOR_SOURCE_DIR) + "/deploy/config/agencies.yaml");
  redis::RedisClient redis(testRedisOptions(uniqueName("lapor-it-lane") + ":"),
                           log::Logger("test"));
  RecordingSink sink;
  time::SystemClock clock;
  prometheus::Registry registry;
  intake::IntakeMetrics metrics(registry);
  intake::PublisherRegistry publishers({}, intake::Publisher{"public", "", 0},
                                       std::chrono::minutes(1));
  intake::ResponseTimes times(
      {{v1::PRIORITY_EMERGENCY, {std::chrono::seconds(60), false}},
       {v1::PRIORITY_NORMAL, {std::chrono::hours(72), false}}},
      7 * 60);
  intake::SubmissionSettings settings;
  settings.produce_timeout = std::chrono::seconds(2);
  intake::SubmissionService service(directory, redis, sink, clock,
                                    log::Logger("test", log::Level::Error), metrics, publishers,
                                    times, settings);
  auto fire = validComplaint(uniqueName("lane"));
  fire.set_category("fire");
  fire.set_priority(v1::PRIORITY_EMERGENCY);
  const auto count = [&](const std::string& topic) {
    return std::count(sink.topics.begin(), sink.topics.end(), topic);
  };

  // The record not acknowledged: the caller is told, and no copy reaches the lane.
  sink.fail_lifecycle = true;
  auto refused = service.submit(fire, std::nullopt, "trace-1");
  EXPECT_EQ(refused.kind, intake::SubmitOutcome::Kind::Unavailable) << refused.message;
  EXPECT_EQ(count(kafka::kComplaintsTopic), 1);
  EXPECT_EQ(count(kafka::kEmergencySubmittedTopic), 0) << "a lane copy without its record";

  // Acknowledged: the copy follows the record.
  sink.fail_lifecycle = false;
  sink.topics.clear();
  fire.set_external_ref(uniqueName("lane-ok"));
  auto ok = service.submit(fire, std::nullopt, "trace-2");
  ASSERT_EQ(ok.kind, intake::SubmitOutcome::Kind::Accepted) << ok.message;
  EXPECT_EQ(sink.topics, (std::vector<std::string>{kafka::kComplaintsTopic,
                                                    kafka::kEmergencySubmittedTopic}));

  // A routine complaint never takes it.
  sink.topics.clear();
  auto road = validComplaint(uniqueName("lane-routine"));
  ASSERT_EQ(service.submit(road, std::nullopt, "trace-3").kind,
            intake::SubmitOutcome::Kind::Accepted);
  EXPECT_EQ(sink.topics, std::vector<std::string>{kafka::kComplaintsTopic});
  deleteKeysOf(redis);
}

}  // namespace
}  // namespace lapor::integration
