// See lane_poller.h. The partition queues and IO events are librdkafka's own mechanism for
// reading some partitions apart from the consumer queue (rd_kafka_queue_get_partition,
// rd_kafka_queue_forward, rd_kafka_queue_io_event_enable).
#include "kafka/lane_poller.h"

#include "kafka/rdkafka_conf.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace lapor::kafka::detail {

LanePoller::LanePoller(rd_kafka_t* rk, const std::vector<std::string>& topics,
                       std::vector<std::string> lane_topics)
    : rk_(rk), lanes_(std::move(lane_topics)) {
  for (const auto& t : lanes_)
    if (std::find(topics.begin(), topics.end(), t) == topics.end())
      throw std::invalid_argument("kafka lane topic " + t + " is not one of the consumer's topics");
  if (lanes_.empty()) return;
  if (pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0)
    throw std::runtime_error("kafka lane poller: pipe2 failed");
  lane_queue_ = rd_kafka_queue_new(rk_);
  consumer_queue_ = rd_kafka_queue_get_consumer(rk_);
  if (!consumer_queue_) throw std::runtime_error("kafka lane poller: not a group consumer");
  static const char kByte = 1;
  rd_kafka_queue_io_event_enable(lane_queue_, wake_[1], &kByte, 1);
  rd_kafka_queue_io_event_enable(consumer_queue_, wake_[1], &kByte, 1);
}

LanePoller::~LanePoller() {
  if (consumer_queue_) {
    rd_kafka_queue_io_event_enable(consumer_queue_, -1, nullptr, 0);
    rd_kafka_queue_destroy(consumer_queue_);
  }
  if (lane_queue_) {
    rd_kafka_queue_io_event_enable(lane_queue_, -1, nullptr, 0);
    // What is left in it was never handed out, so no offset of it was stored: whoever reads
    // those partitions next reads it again.
    rd_kafka_queue_destroy(lane_queue_);
  }
  for (int fd : wake_)
    if (fd >= 0) close(fd);
}

void LanePoller::forwardLanes() {
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(rk_, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || !assigned) return;
  for (int i = 0; i < assigned->cnt; ++i) {
    const auto& tp = assigned->elems[i];
    if (std::find(lanes_.begin(), lanes_.end(), tp.topic) == lanes_.end()) continue;
    if (rd_kafka_queue_t* q = rd_kafka_queue_get_partition(rk_, tp.topic, tp.partition)) {
      rd_kafka_queue_forward(q, lane_queue_);
      rd_kafka_queue_destroy(q);
    }
  }
  rd_kafka_topic_partition_list_destroy(assigned);
}

void LanePoller::takeLanes(std::vector<Message>& batch, size_t max,
                           const std::atomic<bool>& stop, const log::Logger& log) {
  pollBatchFrom([this](int timeout) { return rd_kafka_consume_queue(lane_queue_, timeout); },
                batch, max, 0, stop, log);
}

void LanePoller::drainWakeups() {
  char buf[256];
  while (read(wake_[0], buf, sizeof buf) > 0) {
  }
}

void LanePoller::poll(std::vector<Message>& batch, size_t max, int first_wait_ms,
                      const std::atomic<bool>& stop, const log::Logger& log) {
  if (lanes_.empty()) return pollBatch(rk_, batch, max, first_wait_ms, stop, log);
  forwardLanes();
  drainWakeups();
  // A batch is lanes only, or the rest only: a lane message waits behind at most the batch in
  // hand, and never for a large batch of the others to be decided with it. When both have
  // messages they take turns, so a steady lane cannot starve the rest.
  const auto take = [&] {
    const bool lanes_first = !last_was_lane_;
    if (lanes_first) takeLanes(batch, max, stop, log);
    bool from_lanes = !batch.empty();
    if (batch.empty()) pollBatch(rk_, batch, max, 0, stop, log);
    if (batch.empty() && !lanes_first) {
      takeLanes(batch, max, stop, log);
      from_lanes = !batch.empty();
    }
    if (!batch.empty()) last_was_lane_ = from_lanes;
  };
  take();
  if (!batch.empty() || first_wait_ms <= 0 || stop.load()) return;
  // Both queues were empty when read; a message arriving since wakes the wait.
  pollfd p{wake_[0], POLLIN, 0};
  ::poll(&p, 1, first_wait_ms);
  drainWakeups();
  take();
}

}  // namespace lapor::kafka::detail
