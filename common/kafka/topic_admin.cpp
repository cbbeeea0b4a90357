// See topic_admin.h. librdkafka 2.0 has no IncrementalAlterConfigs, so a reconciliation reads
// the topic's dynamic configs and writes them back whole with ours changed (AlterConfigs
// replaces the set).
#include "kafka/topic_admin.h"

#include "kafka/message.h"
#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <set>
#include <stdexcept>

namespace lapor::kafka {

std::string TopicSettings::validate() const {
  if (partitions < 1) return "kafka.topic_partitions: must be at least 1";
  if (dispatch_partitions < 1) return "kafka.dispatch_partitions: must be at least 1";
  if (replication_factor < 1) return "kafka.replication_factor: must be at least 1";
  if (min_insync_replicas < 1) return "kafka.min_insync_replicas: must be at least 1";
  if (min_insync_replicas > replication_factor)
    return "kafka.min_insync_replicas: " + std::to_string(min_insync_replicas) +
           " is more than kafka.replication_factor " + std::to_string(replication_factor) +
           " (no write could ever be acknowledged)";
  if (complaints_retention_ms == 0 || complaints_retention_ms < -1)
    return "kafka.complaints_retention: give a duration or 'unlimited'";
  if (retention_ms == 0 || retention_ms < -1)
    return "kafka.retention: give a duration or 'unlimited'";
  return "";
}

int TopicSettings::partitionsFor(const std::string& topic) const {
  return isDispatchTopic(topic) ? dispatch_partitions : partitions;
}

const char* TopicSettings::partitionsKeyFor(const std::string& topic) {
  return isDispatchTopic(topic) ? "kafka.dispatch_partitions" : "kafka.topic_partitions";
}

std::map<std::string, std::string> TopicSettings::configFor(const std::string& topic) const {
  return {{"min.insync.replicas", std::to_string(min_insync_replicas)},
          {"retention.ms",
           std::to_string(topic == kComplaintsTopic ? complaints_retention_ms : retention_ms)}};
}

TopicSettings TopicSettings::singleReplica(int partitions) {
  TopicSettings s;
  s.partitions = partitions;
  s.dispatch_partitions = partitions;
  s.replication_factor = 1;
  s.min_insync_replicas = 1;
  return s;
}

namespace {

using Handle = std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)>;

struct Existing {
  int partitions = 0;
  int replicas = 0;
};

// One admin request on its own queue: waits for its result event, which the caller owns.
struct AdminCall {
  rd_kafka_t* rk;
  rd_kafka_queue_t* q;
  rd_kafka_AdminOptions_t* opts;
  AdminCall(rd_kafka_t* h, rd_kafka_admin_op_t op, std::chrono::milliseconds timeout)
      : rk(h), q(rd_kafka_queue_new(h)), opts(rd_kafka_AdminOptions_new(h, op)) {
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(timeout.count()), err,
                                              sizeof err);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS)
      rd_kafka_AdminOptions_set_operation_timeout(opts, static_cast<int>(timeout.count()), err,
                                                  sizeof err);
  }
  ~AdminCall() {
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
  }
  AdminCall(const AdminCall&) = delete;
  AdminCall& operator=(const AdminCall&) = delete;
};

using Event = std::unique_ptr<rd_kafka_event_t, void (*)(rd_kafka_event_t*)>;

Event waitFor(const AdminCall& call, std::chrono::milliseconds timeout) {
  return Event(rd_kafka_queue_poll(call.q, static_cast<int>(timeout.count()) + 1000),
               rd_kafka_event_destroy);
}

std::map<std::string, Existing> existingTopics(rd_kafka_t* rk,
                                               const std::vector<std::string>& wanted,
                                               std::chrono::milliseconds timeout,
                                               std::string& error) {
  std::map<std::string, Existing> out;
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(timeout.count()));
  if (err) {
    error = std::string("metadata: ") + rd_kafka_err2str(err);
    return out;
  }
  const std::set<std::string> want(wanted.begin(), wanted.end());
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (t.err || !want.count(t.topic)) continue;
    out[t.topic] = {t.partition_cnt, t.partition_cnt > 0 ? t.partitions[0].replica_cnt : 0};
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

std::string createTopics(rd_kafka_t* rk, const std::vector<std::string>& topics,
                         const TopicSettings& s, std::chrono::milliseconds timeout,
                         std::vector<std::string>& created) {
  char err[512];
  std::vector<rd_kafka_NewTopic_t*> news;
  auto cleanup = [&] {
    for (auto* n : news) rd_kafka_NewTopic_destroy(n);
  };
  for (const auto& t : topics) {
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(t.c_str(), s.partitionsFor(t), s.replication_factor, err, sizeof err);
    if (!nt) {
      cleanup();
      return "topic " + t + ": " + err;
    }
    news.push_back(nt);
    for (const auto& [k, v] : s.configFor(t)) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  }
  AdminCall call(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  rd_kafka_CreateTopics(rk, news.data(), news.size(), call.opts, call.q);
  cleanup();
  auto ev = waitFor(call, timeout);
  if (!ev) return "timed out creating topics";
  if (rd_kafka_event_error(ev.get())) return rd_kafka_event_error_string(ev.get());
  std::string result;
  size_t n = 0;
  const auto** rs =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const auto e = rd_kafka_topic_result_error(rs[i]);
    if (!e) {
      created.emplace_back(rd_kafka_topic_result_name(rs[i]));
    } else if (e == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR) {
      result += std::string(rd_kafka_topic_result_name(rs[i])) + ": " +
                rd_kafka_topic_result_error_string(rs[i]) + " (kafka.replication_factor=" +
                std::to_string(s.replication_factor) + " needs that many brokers); ";
    } else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      result += std::string(rd_kafka_topic_result_name(rs[i])) + ": " +
                rd_kafka_topic_result_error_string(rs[i]) + "; ";
    }
  }
  return result;
}

// Brings retention.ms and min.insync.replicas of existing topics to the configured values.
void reconcile(rd_kafka_t* rk, const std::vector<std::string>& topics, const TopicSettings& s,
               std::chrono::milliseconds timeout, TopicReport& report) {
  if (topics.empty()) return;
  std::vector<rd_kafka_ConfigResource_t*> res;
  for (const auto& t : topics) res.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
  AdminCall describe(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  rd_kafka_DescribeConfigs(rk, res.data(), res.size(), describe.opts, describe.q);
  rd_kafka_ConfigResource_destroy_array(res.data(), res.size());
  auto ev = waitFor(describe, timeout);
  if (!ev || rd_kafka_event_error(ev.get())) {
    report.warnings.push_back(std::string("topic configs not checked: ") +
                              (ev ? rd_kafka_event_error_string(ev.get()) : "timed out"));
    return;
  }
  size_t n = 0;
  const auto** described = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  std::vector<rd_kafka_ConfigResource_t*> alter;
  std::vector<std::string> alter_names;
  for (size_t i = 0; i < n; ++i) {
    const std::string name = rd_kafka_ConfigResource_name(described[i]);
    if (rd_kafka_ConfigResource_error(described[i])) {
      report.warnings.push_back(name + ": configs not checked: " +
                                rd_kafka_ConfigResource_error_string(described[i]));
      continue;
    }
    const auto want = s.configFor(name);
    std::map<std::string, std::string> dynamic;
    std::map<std::string, std::string> current;
    bool sensitive = false;
    size_t m = 0;
    const auto** entries = rd_kafka_ConfigResource_configs(described[i], &m);
    for (size_t j = 0; j < m; ++j) {
      const char* k = rd_kafka_ConfigEntry_name(entries[j]);
      const char* v = rd_kafka_ConfigEntry_value(entries[j]);
      if (want.count(k)) current[k] = v ? v : "";
      if (rd_kafka_ConfigEntry_source(entries[j]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
        continue;
      if (!v || rd_kafka_ConfigEntry_is_sensitive(entries[j])) sensitive = true;
      dynamic[k] = v ? v : "";
    }
    std::string diff;
    for (const auto& [k, v] : want)
      if (current[k] != v) diff += k + " " + current[k] + " -> " + v + ", ";
    if (diff.empty()) continue;
    diff.resize(diff.size() - 2);
    if (sensitive) {
      report.warnings.push_back(name + ": not changed (" + diff +
                                "): it has sensitive dynamic configs that cannot be kept");
      continue;
    }
    for (const auto& [k, v] : want) dynamic[k] = v;
    auto* r = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str());
    for (const auto& [k, v] : dynamic) rd_kafka_ConfigResource_set_config(r, k.c_str(), v.c_str());
    alter.push_back(r);
    alter_names.push_back(name + " (" + diff + ")");
  }
  if (alter.empty()) return;
  AdminCall call(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, timeout);
  rd_kafka_AlterConfigs(rk, alter.data(), alter.size(), call.opts, call.q);
  rd_kafka_ConfigResource_destroy_array(alter.data(), alter.size());
  auto aev = waitFor(call, timeout);
  if (!aev || rd_kafka_event_error(aev.get())) {
    report.warnings.push_back(std::string("topic configs not changed: ") +
                              (aev ? rd_kafka_event_error_string(aev.get()) : "timed out"));
    return;
  }
  size_t an = 0;
  const auto** altered =
      rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(aev.get()), &an);
  for (size_t i = 0; i < an; ++i) {
    const std::string name = rd_kafka_ConfigResource_name(altered[i]);
    std::string label = name;
    for (const auto& a : alter_names)
      if (a.rfind(name + " (", 0) == 0) label = a;
    if (rd_kafka_ConfigResource_error(altered[i]))
      report.warnings.push_back(label + ": not changed: " +
                                rd_kafka_ConfigResource_error_string(altered[i]));
    else
      report.reconciled.push_back(label);
  }
}

}  // namespace

TopicReport ensureTopics(const std::string& brokers, const ClientSecurity& security,
                         const std::vector<std::string>& topics, const TopicSettings& settings,
                         std::chrono::milliseconds timeout) {
  TopicReport report;
  if (auto e = settings.validate(); !e.empty()) {
    report.error = e;
    return report;
  }
  char err[512];
  rd_kafka_conf_t* conf = nullptr;
  try {
    conf = detail::clientConf(brokers, security);
  } catch (const std::invalid_argument& e) {
    report.error = e.what();
    return report;
  }
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!raw) {
    rd_kafka_conf_destroy(conf);
    report.error = err;
    return report;
  }
  Handle rk(raw, rd_kafka_destroy);

  std::string error;
  auto existing = existingTopics(rk.get(), topics, timeout, error);
  if (!error.empty()) {
    report.error = error + " (is kafka.brokers=" + brokers + " reachable?)";
    return report;
  }
  std::vector<std::string> missing, present;
  for (const auto& t : topics) (existing.count(t) ? present : missing).push_back(t);
  if (!missing.empty()) {
    report.error = createTopics(rk.get(), missing, settings, timeout, report.created);
    if (!report.error.empty()) return report;
    // Created by another instance at the same moment: reconcile those too.
    for (const auto& t : missing)
      if (std::find(report.created.begin(), report.created.end(), t) == report.created.end())
        present.push_back(t);
  }
  for (const auto& t : present) {
    auto it = existing.find(t);
    if (it == existing.end()) continue;
    if (it->second.replicas != settings.replication_factor)
      report.warnings.push_back(t + ": replication factor " + std::to_string(it->second.replicas) +
                                ", configured " + std::to_string(settings.replication_factor) +
                                " (kafka.replication_factor; change it with a partition "
                                "reassignment)");
    if (it->second.partitions != settings.partitionsFor(t))
      report.warnings.push_back(t + ": " + std::to_string(it->second.partitions) +
                                " partitions, configured " +
                                std::to_string(settings.partitionsFor(t)) + " (" +
                                TopicSettings::partitionsKeyFor(t) + " applies to new topics only)");
  }
  reconcile(rk.get(), present, settings, timeout, report);
  return report;
}

std::string ensureTopics(const std::string& brokers, const std::vector<std::string>& topics,
                         int partitions, std::chrono::milliseconds timeout) {
  auto r = ensureTopics(brokers, ClientSecurity{}, topics, TopicSettings::singleReplica(partitions),
                        timeout);
  if (!r.error.empty()) return r.error;
  return "";
}

}  // namespace lapor::kafka
