// Polls a group consumer with some of its topics first (the lanes). Each poll forwards the
// assigned partitions of the lane topics to a queue of their own and makes a batch of that
// queue alone when it holds anything, taking turns with the consumer queue when both do. A
// message on a lane topic waits behind at most one batch of the other topics, never behind the
// backlog the client has fetched of them, and a steady lane never starves them. Without lanes
// it is pollBatch.
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
  // `rk` is a consumer handle, subscribed (or soon) to `topics`, that outlives the poller;
  // every lane must be one of `topics` (std::invalid_argument otherwise).
  LanePoller(rd_kafka_t* rk, const std::vector<std::string>& topics,
             std::vector<std::string> lane_topics);
  ~LanePoller();
  LanePoller(const LanePoller&) = delete;
  LanePoller& operator=(const LanePoller&) = delete;

  // Fills `batch` up to `max` with what the lanes hold or with the rest, as pollBatch does
  // (never both, so the lanes' batches stay small and quick): the lanes first, except right
  // after a batch of theirs, when the rest goes first if it has anything. Waits up to
  // `first_wait_ms` for the first message of either when none is at hand.
  void poll(std::vector<Message>& batch, size_t max, int first_wait_ms,
            const std::atomic<bool>& stop, const log::Logger& log);

 private:
  // Forwards the lane topics' assigned partitions to the lane queue. librdkafka forwards a
  // partition to the consumer queue again whenever it is (re)assigned, so this runs per poll.
  void forwardLanes();
  void takeLanes(std::vector<Message>& batch, size_t max, const std::atomic<bool>& stop,
                 const log::Logger& log);
  void drainWakeups();

  rd_kafka_t* rk_;
  std::vector<std::string> lanes_;
  rd_kafka_queue_t* lane_queue_ = nullptr;
  rd_kafka_queue_t* consumer_queue_ = nullptr;
  // librdkafka writes a byte here when a message arrives in an empty queue (either one), so
  // the wait for the first message wakes for both.
  int wake_[2] = {-1, -1};
  bool last_was_lane_ = false;  // the last batch was the lanes': the rest comes first next
};

}  // namespace lapor::kafka::detail
