// DescribeConsumerGroups and ListConsumerGroupOffsets (librdkafka admin API) on a short-lived
// client.
#include "consumer_groups.h"

#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>

namespace lapor::bench {

namespace {

using Handle = std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)>;

// A short-lived client for admin requests; empty when it cannot be made.
Handle adminHandle(const std::string& brokers) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  kafka::detail::setOrThrow(conf, "bootstrap.servers", brokers);
  char err[512];
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!raw) rd_kafka_conf_destroy(conf);
  return Handle(raw, rd_kafka_destroy);
}

}  // namespace

bool groupsStable(const std::string& brokers, const std::vector<std::string>& groups,
                  size_t members, std::chrono::milliseconds timeout) {
  auto rk = adminHandle(brokers);
  if (!rk) return false;
  rd_kafka_t* raw = rk.get();
  char err[512];
  std::unique_ptr<rd_kafka_queue_t, void (*)(rd_kafka_queue_t*)> q(rd_kafka_queue_new(raw),
                                                                   rd_kafka_queue_destroy);
  std::unique_ptr<rd_kafka_AdminOptions_t, void (*)(rd_kafka_AdminOptions_t*)> opts(
      rd_kafka_AdminOptions_new(raw, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS),
      rd_kafka_AdminOptions_destroy);
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), static_cast<int>(timeout.count()), err,
                                            sizeof err);
  std::vector<const char*> names;
  for (const auto& g : groups) names.push_back(g.c_str());
  rd_kafka_DescribeConsumerGroups(raw, names.data(), names.size(), opts.get(), q.get());
  std::unique_ptr<rd_kafka_event_t, void (*)(rd_kafka_event_t*)> ev(
      rd_kafka_queue_poll(q.get(), static_cast<int>(timeout.count()) + 1000),
      rd_kafka_event_destroy);
  if (!ev || rd_kafka_event_error(ev.get())) return false;
  const auto* result = rd_kafka_event_DescribeConsumerGroups_result(ev.get());
  if (!result) return false;
  size_t n = 0;
  const auto** descs = rd_kafka_DescribeConsumerGroups_result_groups(result, &n);
  if (n != groups.size()) return false;
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_ConsumerGroupDescription_error(descs[i]) ||
        rd_kafka_ConsumerGroupDescription_state(descs[i]) != RD_KAFKA_CONSUMER_GROUP_STATE_STABLE ||
        rd_kafka_ConsumerGroupDescription_member_count(descs[i]) != members)
      return false;
  }
  return true;
}

std::map<std::string, int64_t> groupLags(const std::string& brokers,
                                         const std::vector<std::string>& groups,
                                         const std::string& topic,
                                         std::chrono::milliseconds timeout) {
  std::map<std::string, int64_t> out;
  for (const auto& g : groups) out[g] = -1;
  auto rk = adminHandle(brokers);
  if (!rk) return out;
  rd_kafka_t* raw = rk.get();
  char err[512];
  const int ms = static_cast<int>(timeout.count());
  // The partitions and their ends.
  const rd_kafka_metadata_t* md = nullptr;
  std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> t(
      rd_kafka_topic_new(raw, topic.c_str(), nullptr), rd_kafka_topic_destroy);
  if (rd_kafka_metadata(raw, 0, t.get(), &md, ms) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  std::map<int32_t, int64_t> ends;
  for (int i = 0; i < md->topic_cnt; ++i)
    for (int p = 0; p < md->topics[i].partition_cnt; ++p) {
      int64_t low = 0, high = 0;
      const int32_t id = md->topics[i].partitions[p].id;
      if (rd_kafka_query_watermark_offsets(raw, topic.c_str(), id, &low, &high, ms) ==
          RD_KAFKA_RESP_ERR_NO_ERROR)
        ends[id] = high;
    }
  rd_kafka_metadata_destroy(md);
  if (ends.empty()) return out;
  std::unique_ptr<rd_kafka_queue_t, void (*)(rd_kafka_queue_t*)> q(rd_kafka_queue_new(raw),
                                                                   rd_kafka_queue_destroy);
  // ListConsumerGroupOffsets takes one group per call.
  for (const auto& g : groups) {
    std::unique_ptr<rd_kafka_AdminOptions_t, void (*)(rd_kafka_AdminOptions_t*)> opts(
        rd_kafka_AdminOptions_new(raw, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS),
        rd_kafka_AdminOptions_destroy);
    rd_kafka_AdminOptions_set_request_timeout(opts.get(), ms, err, sizeof err);
    rd_kafka_topic_partition_list_t* parts =
        rd_kafka_topic_partition_list_new(static_cast<int>(ends.size()));
    for (const auto& [id, end] : ends) rd_kafka_topic_partition_list_add(parts, topic.c_str(), id);
    rd_kafka_ListConsumerGroupOffsets_t* req = rd_kafka_ListConsumerGroupOffsets_new(g.c_str(), parts);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_ListConsumerGroupOffsets(raw, &req, 1, opts.get(), q.get());
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    std::unique_ptr<rd_kafka_event_t, void (*)(rd_kafka_event_t*)> ev(
        rd_kafka_queue_poll(q.get(), ms + 1000), rd_kafka_event_destroy);
    if (!ev || rd_kafka_event_error(ev.get())) continue;
    const auto* result = rd_kafka_event_ListConsumerGroupOffsets_result(ev.get());
    if (!result) continue;
    size_t n = 0;
    const auto** res = rd_kafka_ListConsumerGroupOffsets_result_groups(result, &n);
    if (n != 1 || rd_kafka_group_result_error(res[0])) continue;
    const auto* committed = rd_kafka_group_result_partitions(res[0]);
    if (!committed) continue;
    int64_t lag = 0;
    for (int i = 0; i < committed->cnt; ++i) {
      const auto& tp = committed->elems[i];
      auto it = ends.find(tp.partition);
      if (it == ends.end()) continue;
      lag += it->second - std::max<int64_t>(tp.offset, 0);
    }
    out[g] = std::max<int64_t>(lag, 0);
  }
  return out;
}

}  // namespace lapor::bench
