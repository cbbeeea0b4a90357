// Offsets are read per agency and partition; the Redis sorted set of the partition maps each
// assignment to the offset of its first item, so "below the committed offset" is one range
// query. An assignment is forgotten only after its delivery is recorded (with its event in the
// outbox), so a crash in between records nothing twice (the record is once per assignment).
#include "kafka_delivery_tracker.h"

#include "kafka/message.h"

#include <algorithm>

namespace lapor::notification {

namespace {
constexpr const char* kChannel = "kafka";
constexpr int kChunk = 100;  // assignments per Redis read and per batch of delivered events
}  // namespace

KafkaDeliveryMetrics::KafkaDeliveryMetrics(prometheus::Registry& r)
    : offset_checks(prometheus::BuildCounter()
                        .Name("lapor_notification_kafka_offset_checks_total")
                        .Help("Reads of a kafka-channel agency's committed consumer-group offsets, "
                              "by agency and outcome (ok, failed)")
                        .Register(r)) {}

KafkaDeliveryTracker::KafkaDeliveryTracker(const agencies::AgencyDirectory& directory,
                                           AssignmentStore& store,
                                           kafka::GroupOffsetsReader& offsets, log::Logger logger,
                                           NotificationMetrics& metrics, KafkaDeliveryMetrics& own,
                                           KafkaDeliverySettings settings)
    : directory_(directory),
      store_(store),
      offsets_(offsets),
      log_(std::move(logger)),
      metrics_(metrics),
      own_(own),
      settings_(settings),
      task_(settings.poll_interval, [this] { runOnce(); }) {}

KafkaDeliveryTracker::~KafkaDeliveryTracker() {
  stop();
}

void KafkaDeliveryTracker::start() {
  for (const auto& a : directory_.agencies())
    if (a.delivery_channel == kChannel) {
      task_.start();
      return;
    }
}

void KafkaDeliveryTracker::stop() {
  task_.stop();
}

int KafkaDeliveryTracker::runOnce() {
  std::lock_guard lk(mu_);
  int recorded = 0;
  for (const auto& a : directory_.agencies()) {
    if (a.delivery_channel != kChannel) continue;
    if (task_.stopping()) break;
    try {
      recorded += passFor(a);
    } catch (const std::exception& e) {
      own_.offset_checks.Add({{"agency", a.id}, {"outcome", "failed"}}).Increment();
      log_.warn("kafka delivery pass failed, retrying next pass",
                {{"agency", a.id}, {"error", e.what()}});
    }
  }
  return recorded;
}

int KafkaDeliveryTracker::passFor(const agencies::AgencyInfo& a) {
  const auto offsets = offsets_.committed(a.delivery_group, kafka::dispatchTopic(a.id));
  if (!offsets.ok()) {
    own_.offset_checks.Add({{"agency", a.id}, {"outcome", "failed"}}).Increment();
    if (failing_.insert(a.id).second)
      log_.warn("committed offsets of the agency's consumer group not readable",
                {{"agency", a.id}, {"group", a.delivery_group}, {"error", offsets.error}});
    return 0;
  }
  if (failing_.erase(a.id))
    log_.info("committed offsets of the agency's consumer group readable again",
              {{"agency", a.id}, {"group", a.delivery_group}});
  int budget = settings_.max_per_pass;
  int recorded = 0;
  for (const auto& [partition, next] : offsets.next) {
    while (budget > 0) {
      const int want = std::min(budget, kChunk);
      const auto ids = store_.consumedBelow(a.id, partition, next, want);
      if (ids.empty()) break;
      const int n = store_.recordDelivered(ids, a.id, kChannel);
      metrics_.delivered.Add({{"agency", a.id}, {"channel", kChannel}})
          .Increment(static_cast<double>(n));
      store_.forgetConsumed(a.id, partition, ids);
      recorded += n;
      budget -= static_cast<int>(ids.size());
      if (static_cast<int>(ids.size()) < want) break;
    }
  }
  own_.offset_checks.Add({{"agency", a.id}, {"outcome", "ok"}}).Increment();
  return recorded;
}

}  // namespace lapor::notification
