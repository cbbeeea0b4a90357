// "Delivered" for agencies that read their dispatch topic with their own Kafka consumer
// (delivery.channel kafka): every poll interval, the committed offsets of each such agency's
// consumer group are read from the group's coordinator, and every assignment whose first item lies
// below them is recorded delivered (channel "kafka"), once, through the outbox.
#pragma once

#include "agencies/agency_directory.h"
#include "app/periodic_task.h"
#include "assignment_store.h"
#include "kafka/group_offsets.h"
#include "log/logger.h"
#include "notification_handler.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>

namespace lapor::notification {

struct KafkaDeliverySettings {
  std::chrono::milliseconds poll_interval{2000};
  // At most this many assignments of one agency are looked at per pass; the rest wait for the
  // next pass, so a group that just committed a large backlog never holds up the others.
  int max_per_pass = 500;
};

struct KafkaDeliveryMetrics {
  explicit KafkaDeliveryMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& offset_checks;  // by agency, outcome (ok, failed)
};

class KafkaDeliveryTracker {
 public:
  KafkaDeliveryTracker(const agencies::AgencyDirectory& directory, AssignmentStore& store,
                       kafka::GroupOffsetsReader& offsets, log::Logger logger,
                       NotificationMetrics& metrics, KafkaDeliveryMetrics& own,
                       KafkaDeliverySettings settings);
  ~KafkaDeliveryTracker();
  void start();
  void stop();

  // One pass over every kafka-channel agency; returns how many assignments it recorded
  // delivered. Never throws: a failure is logged and counted, and the next pass tries again.
  int runOnce();

 private:
  int passFor(const agencies::AgencyInfo& agency);

  const agencies::AgencyDirectory& directory_;
  AssignmentStore& store_;
  kafka::GroupOffsetsReader& offsets_;
  log::Logger log_;
  NotificationMetrics& metrics_;
  KafkaDeliveryMetrics& own_;
  const KafkaDeliverySettings settings_;
  std::mutex mu_;                  // one pass at a time (the timer's and a direct call)
  std::set<std::string> failing_;  // agencies whose last check failed: logged once, not each pass
  app::PeriodicTask task_;
};

}  // namespace lapor::notification
