// See group_offsets.h. A group's handle asks the topic's metadata for its partitions, then the
// group's coordinator for the offsets committed on them; only those of the asked topic are kept.
#include "kafka/group_offsets.h"

#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <stdexcept>

namespace lapor::kafka {

void ConsumerGroupOffsets::Deleter::operator()(rd_kafka_s* rk) const {
  // Never subscribed: nothing to leave, no offsets to commit.
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

ConsumerGroupOffsets::ConsumerGroupOffsets(const GroupOffsetsOptions& options, log::Logger logger)
    : log_(std::move(logger)), options_(options) {
  // A bad property fails at start, not at the first pass; the handle is not kept.
  open("lapor-config-check");
}

ConsumerGroupOffsets::~ConsumerGroupOffsets() = default;

ConsumerGroupOffsets::Handle ConsumerGroupOffsets::open(const std::string& group) {
  // Brokers, security, group and client id, nothing committed or stored by this handle.
  rd_kafka_conf_t* conf = detail::consumerConf(options_.brokers, options_.security, group,
                                               options_.client_id, false);
  for (const auto& [k, v] : options_.extra) detail::setOrThrow(conf, k, v);
  detail::routeLogs(conf, &log_);
  return Handle(detail::newConsumer(conf));
}

GroupOffsets ConsumerGroupOffsets::committed(const std::string& group, const std::string& topic) {
  GroupOffsets out;
  auto it = handles_.find(group);
  if (it == handles_.end()) {
    try {
      it = handles_.emplace(group, open(group)).first;
    } catch (const std::exception& e) {
      out.error = e.what();
      return out;
    }
  }
  rd_kafka_t* rk = it->second.get();
  const int timeout_ms = static_cast<int>(options_.timeout.count());

  std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> rkt(
      rd_kafka_topic_new(rk, topic.c_str(), nullptr), rd_kafka_topic_destroy);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt.get(), &md, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out.error = "metadata of " + topic + ": " + rd_kafka_err2str(err);
    return out;
  }
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> meta(
      md, rd_kafka_metadata_destroy);
  if (meta->topic_cnt != 1 || meta->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out.error = "metadata of " + topic + ": " +
                (meta->topic_cnt == 1 ? rd_kafka_err2str(meta->topics[0].err) : "no such topic");
    return out;
  }
  const auto& t = meta->topics[0];
  std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>
      parts(rd_kafka_topic_partition_list_new(t.partition_cnt),
            rd_kafka_topic_partition_list_destroy);
  for (int i = 0; i < t.partition_cnt; ++i)
    rd_kafka_topic_partition_list_add(parts.get(), topic.c_str(), t.partitions[i].id);
  if (parts->cnt == 0) return out;

  err = rd_kafka_committed(rk, parts.get(), timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out.error = "committed offsets of group " + group + ": " + rd_kafka_err2str(err);
    return out;
  }
  for (int p = 0; p < parts->cnt; ++p) {
    const auto& tp = parts->elems[p];
    // A negative offset (RD_KAFKA_OFFSET_INVALID) means nothing was committed there.
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR || tp.offset < 0) continue;
    out.next[tp.partition] = tp.offset;
  }
  return out;
}

}  // namespace lapor::kafka
