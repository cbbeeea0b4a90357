// One admin request per call, answered on a queue of its own; a group gives its offsets for
// every partition it committed on, and only those of the asked topic are kept.
#include "kafka/group_offsets.h"

#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <stdexcept>

namespace lapor::kafka {

void AdminGroupOffsets::Deleter::operator()(rd_kafka_s* rk) const {
  rd_kafka_destroy(rk);
}

AdminGroupOffsets::AdminGroupOffsets(const GroupOffsetsOptions& options, log::Logger logger)
    : log_(std::move(logger)), timeout_(options.timeout) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  detail::setOrThrow(conf, "bootstrap.servers", options.brokers);
  detail::setOrThrow(conf, "client.id", options.client_id);
  for (const auto& [k, v] : options.extra) detail::setOrThrow(conf, k, v);
  detail::routeLogs(conf, &log_);
  char err[512];
  // The admin API works on any client type; a producer handle starts no group membership.
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka admin client: ") + err);
  }
  rk_.reset(rk);
}

AdminGroupOffsets::~AdminGroupOffsets() = default;

GroupOffsets AdminGroupOffsets::committed(const std::string& group, const std::string& topic) {
  GroupOffsets out;
  std::unique_ptr<rd_kafka_queue_t, void (*)(rd_kafka_queue_t*)> queue(
      rd_kafka_queue_new(rk_.get()), rd_kafka_queue_destroy);
  std::unique_ptr<rd_kafka_AdminOptions_t, void (*)(rd_kafka_AdminOptions_t*)> options(
      rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS),
      rd_kafka_AdminOptions_destroy);
  char err[512];
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout_.count()),
                                                err, sizeof err) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out.error = err;
    return out;
  }
  // No partition list: every partition the group committed on (one group per request).
  rd_kafka_ListConsumerGroupOffsets_t* request =
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);
  rd_kafka_ListConsumerGroupOffsets(rk_.get(), &request, 1, options.get(), queue.get());
  rd_kafka_ListConsumerGroupOffsets_destroy(request);
  std::unique_ptr<rd_kafka_event_t, void (*)(rd_kafka_event_t*)> event(
      rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout_.count()) + 1000),
      rd_kafka_event_destroy);
  if (!event) {
    out.error = "no answer from the broker within " + std::to_string(timeout_.count()) + " ms";
    return out;
  }
  if (rd_kafka_event_error(event.get())) {
    out.error = rd_kafka_event_error_string(event.get());
    return out;
  }
  const auto* result = rd_kafka_event_ListConsumerGroupOffsets_result(event.get());
  size_t count = 0;
  const rd_kafka_group_result_t** groups =
      result ? rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count) : nullptr;
  for (size_t i = 0; i < count; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(groups[i])) {
      out.error = std::string("group ") + group + ": " + rd_kafka_error_string(e);
      return out;
    }
    const rd_kafka_topic_partition_list_t* parts = rd_kafka_group_result_partitions(groups[i]);
    for (int p = 0; parts && p < parts->cnt; ++p) {
      const auto& tp = parts->elems[p];
      // A negative offset (RD_KAFKA_OFFSET_INVALID) means nothing was committed there.
      if (tp.topic != topic || tp.err != RD_KAFKA_RESP_ERR_NO_ERROR || tp.offset < 0) continue;
      out.next[tp.partition] = tp.offset;
    }
  }
  return out;
}

}  // namespace lapor::kafka
