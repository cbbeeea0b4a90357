// Polls a group consumer with some of its topics first (the lanes). Each poll forwards the
// assigned partitions of the lane topics to a queue of their own and, when that queue holds
// anything, makes a batch of it alone; the consumer queue only when it is empty. A message on
// a lane topic waits behind at most the batch in hand, never behind the backlog the client has
// fetched of the other topics. Without lanes it is pollBatch.
#pragma once

#include "kafka/message.h"
#include "log/logger.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <string>
#include <vector>

namespace lapor::kafka::detail {

class LanePoller {
 public:
  // `rk` is a subscribed (or soon subscribed) consumer handle that outlives the poller.
  LanePoller(rd_kafka_t* rk, std::vector<std::string> lane_topics);
  ~LanePoller();
  LanePoller(const LanePoller&) = delete;
  LanePoller& operator=(const LanePoller&) = delete;

  // Fills `batch` up to `max` with what the lanes hold or, when they hold nothing, with the
  // rest, as pollBatch does (never both, so the lanes' batches stay small and quick); waits up
  // to `first_wait_ms` for the first message of either when none is at hand.
  void poll(std::vector<Message>& batch, size_t max, int first_wait_ms,
            const std::atomic<bool>& stop, const log::Logger& log);
  const std::vector<std::string>& lanes() const { return lanes_; }

 private:
  // Forwards the lane topics' assigned partitions to the lane queue. librdkafka forwards a
  // partition to the consumer queue again whenever it is (re)assigned, so this runs per poll.
  void forwardLanes();
  void takeLanes(std::vector<Message>& batch, size_t max, const log::Logger& log);
  void drainWakeups();

  rd_kafka_t* rk_;
  std::vector<std::string> lanes_;
  rd_kafka_queue_t* lane_queue_ = nullptr;
  rd_kafka_queue_t* consumer_queue_ = nullptr;
  // librdkafka writes a byte here when a message arrives in an empty queue (either one), so
  // the wait for the first message wakes for both.
  int wake_[2] = {-1, -1};
};

}  // namespace lapor::kafka::detail
