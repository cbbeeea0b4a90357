// DescribeConsumerGroups (librdkafka admin API) on a short-lived client.
#include "consumer_groups.h"

#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <memory>

namespace lapor::bench {

bool groupsStable(const std::string& brokers, const std::vector<std::string>& groups,
                  size_t members, std::chrono::milliseconds timeout) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  kafka::detail::setOrThrow(conf, "bootstrap.servers", brokers);
  char err[512];
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!raw) {
    rd_kafka_conf_destroy(conf);
    return false;
  }
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(raw, rd_kafka_destroy);
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

}  // namespace lapor::bench
