// Shared settings with their defaults; every key is documented in docs/configuration.md.
#include "app/service_settings.h"

#include "app/usage_exit.h"
#include "build_info.h"
#include "config/secret_file.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace lapor::app {

std::string secret(const config::Config& cfg, const std::string& section, const std::string& key) {
  if (auto n = cfg.node(section); n && n.IsMap() && n[key])
    throw cfg.error(section, key,
                    "a secret is not written in the config file; set " +
                        config::Config::envName(section, key) + " or " + section + "." + key +
                        "_file");
  if (auto v = cfg.getString(section, key, ""); !v.empty()) return v;
  if (cfg.getString(section, key + "_file", "").empty()) return "";
  const auto path = cfg.getPath(section, key + "_file");
  const auto v = config::readSecretFile(path);
  if (!v) throw cfg.error(section, key + "_file", "cannot read " + path);
  if (v->empty()) throw cfg.error(section, key + "_file", path + " is empty");
  return *v;
}

namespace {
// A retention: a duration ("30d", "8760h") or "unlimited" (-1, kept for ever).
int64_t retentionMs(const config::Config& cfg, const std::string& key, int64_t def) {
  const auto text = cfg.getString("kafka", key, "");
  if (text.empty()) return def;
  if (text == "unlimited" || text == "-1") return -1;
  const auto d = cfg.getDuration("kafka", key);
  if (d < std::chrono::hours(1)) throw cfg.error("kafka", key, "give at least 1h, or 'unlimited'");
  return d.count();
}

kafka::ClientSecurity kafkaSecurity(const config::Config& cfg) {
  kafka::ClientSecurity k;
  k.protocol = cfg.getString("kafka", "security_protocol", "plaintext");
  std::transform(k.protocol.begin(), k.protocol.end(), k.protocol.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  k.sasl_mechanism = cfg.getString("kafka", "sasl_mechanism", "SCRAM-SHA-512");
  k.sasl_username = cfg.getString("kafka", "sasl_username", "");
  k.sasl_password = secret(cfg, "kafka", "sasl_password");
  for (auto [key, out] : {std::pair{"ssl_ca_file", &k.ssl_ca_file},
                          std::pair{"ssl_cert_file", &k.ssl_cert_file},
                          std::pair{"ssl_key_file", &k.ssl_key_file}})
    if (!cfg.getString("kafka", key, "").empty()) *out = cfg.getPath("kafka", key);
  if (auto e = k.validate(); !e.empty()) {
    const auto dot = e.find('.'), colon = e.find(':');
    throw cfg.error("kafka", e.substr(dot + 1, colon - dot - 1), e.substr(colon + 2));
  }
  return k;
}

kafka::TopicSettings topicSettings(const config::Config& cfg) {
  kafka::TopicSettings t;
  t.partitions = static_cast<int>(cfg.getInt("kafka", "topic_partitions", 3, 1, 1024));
  t.dispatch_partitions =
      static_cast<int>(cfg.getInt("kafka", "dispatch_partitions", 1, 1, 1024));
  t.replication_factor = static_cast<int>(cfg.getInt("kafka", "replication_factor", 3, 1, 32));
  t.min_insync_replicas = static_cast<int>(cfg.getInt("kafka", "min_insync_replicas", 2, 1, 32));
  t.complaints_retention_ms = retentionMs(cfg, "complaints_retention", -1);
  t.retention_ms = retentionMs(cfg, "retention", t.retention_ms);
  if (t.min_insync_replicas > t.replication_factor)
    throw cfg.error("kafka", "min_insync_replicas",
                    "is more than kafka.replication_factor (" +
                        std::to_string(t.replication_factor) + "): no write could be acknowledged");
  return t;
}
}  // namespace

ServiceSettings ServiceSettings::load(const config::Config& cfg, const std::string& service) {
  ServiceSettings s;
  s.service = service;
  const auto level = cfg.getString("service", "log_level", "info");
  try {
    s.log_level = log::parseLevel(level);
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError("config key service.log_level: " + std::string(e.what()));
  }
  s.kafka_brokers = cfg.getString("kafka", "brokers", "127.0.0.1:9092");
  s.kafka_security = kafkaSecurity(cfg);
  s.topics = topicSettings(cfg);
  s.produce_timeout = cfg.getDuration("kafka", "produce_timeout", std::chrono::seconds(10));
  s.linger_ms = static_cast<int>(cfg.getInt("kafka", "linger_ms", 2, 0, 1000));
  s.fetch_wait_max = cfg.getDuration("kafka", "fetch_wait_max", std::chrono::milliseconds(500));
  if (s.fetch_wait_max < std::chrono::milliseconds(1) || s.fetch_wait_max > std::chrono::seconds(30))
    throw cfg.error("kafka", "fetch_wait_max", "give 1ms to 30s");
  s.fetch_min_bytes = static_cast<int>(cfg.getInt("kafka", "fetch_min_bytes", 1, 1, 100'000'000));
  s.max_batch = static_cast<size_t>(cfg.getInt("kafka", "max_batch", 100, 1, 10'000));
  s.redis.host = cfg.getString("redis", "host", "127.0.0.1");
  s.redis.port = static_cast<int>(cfg.getInt("redis", "port", 6379, 1, 65535));
  s.redis.prefix = cfg.getString("redis", "prefix", "lapor:");
  s.redis.command_timeout = cfg.getDuration("redis", "command_timeout", std::chrono::seconds(2));
  s.redis.connect_timeout = cfg.getDuration("redis", "connect_timeout", std::chrono::seconds(2));
  s.redis.attempts = static_cast<int>(cfg.getInt("redis", "attempts", 3, 1, 100));
  s.redis.connections = static_cast<int>(cfg.getInt("redis", "connections", 8, 1, 256));
  s.redis.pack_values = cfg.getBool("redis", "pack_values", true);
  s.redis.username = cfg.getString("redis", "username", "");
  s.redis.password = secret(cfg, "redis", "password");
  if (!s.redis.username.empty() && s.redis.password.empty())
    throw cfg.error("redis", "username",
                    "needs a password (LAPOR_REDIS_PASSWORD or redis.password_file)");
  s.grpc.address = cfg.getString("grpc", "host", "127.0.0.1") + ":" +
                   std::to_string(cfg.getInt("grpc", "port", 0, 0, 65535));
  s.grpc.max_message_bytes =
      static_cast<int>(cfg.getInt("grpc", "max_message_bytes", 1 << 20, 1024, 64 << 20));
  s.grpc.min_pollers = static_cast<int>(cfg.getInt("grpc", "min_pollers", 2, 1, 256));
  s.grpc.max_pollers = static_cast<int>(cfg.getInt("grpc", "max_pollers", 16, 1, 1024));
  if (s.grpc.max_pollers < s.grpc.min_pollers)
    throw cfg.error("grpc", "max_pollers", "must be at least grpc.min_pollers");
  for (auto [key, out] : {std::pair{"tls_cert_file", &s.grpc.tls_cert_file},
                          std::pair{"tls_key_file", &s.grpc.tls_key_file}})
    if (!cfg.getString("grpc", key, "").empty()) *out = cfg.getPath("grpc", key);
  s.metrics_address = cfg.getString("metrics", "host", "127.0.0.1") + ":" +
                      std::to_string(cfg.getInt("metrics", "port", 0, 0, 65535));
  return s;
}

kafka::ProducerOptions ServiceSettings::producer() const {
  kafka::ProducerOptions o;
  o.brokers = kafka_brokers;
  o.security = kafka_security;
  o.client_id = "lapor-" + service;
  o.linger_ms = linger_ms;
  o.message_timeout_ms = static_cast<int>(produce_timeout.count());
  return o;
}

kafka::ConsumerOptions ServiceSettings::consumer(const std::string& group,
                                                 std::vector<std::string> topics) const {
  kafka::ConsumerOptions o;
  o.brokers = kafka_brokers;
  o.security = kafka_security;
  o.group_id = group;
  o.topics = std::move(topics);
  o.client_id = "lapor-" + service;
  o.service = service;
  o.fetch_wait_max = fetch_wait_max;
  o.fetch_min_bytes = fetch_min_bytes;
  o.max_batch = max_batch;
  return o;
}

void ServiceSettings::ensureTopics(const std::vector<std::string>& topics) const {
  auto r = kafka::ensureTopics(kafka_brokers, kafka_security, topics, this->topics,
                               std::chrono::seconds(15));
  if (!r.error.empty())
    throw std::runtime_error("kafka topics (kafka.brokers=" + kafka_brokers + "): " + r.error +
                             (kafka_security.warning().empty() ? "" : "; " + kafka_security.warning()));
  log::Logger logger(service, log_level);
  if (auto w = kafka_security.warning(); !w.empty())
    logger.warn("kafka security", {{"detail", w}});
  for (const auto& t : r.created)
    logger.info("kafka topic created",
                {{"topic", t}, {"config", this->topics.configFor(t)},
                 {"partitions", this->topics.partitionsFor(t)},
                 {"replication_factor", this->topics.replication_factor}});
  for (const auto& t : r.reconciled) logger.info("kafka topic configs changed", {{"topic", t}});
  for (const auto& w : r.warnings) logger.warn("kafka topic differs from configuration", {{"detail", w}});
}

std::string versionLine(const std::string& program) {
  return program + " " + build::kVersion + " (" + build::kRevision + ")";
}

CommandLine parseCommandLine(int argc, char** argv, const std::string& service,
                             const std::string& description,
                             const std::vector<CommandLineFlag>& extra) {
  CommandLine out;
  CLI::App app{description, "lapor-" + service};
  app.set_version_flag("--version", versionLine("lapor-" + service));
  const char* env = std::getenv("LAPOR_CONFIG");
  out.config_path = env ? env : "";
  app.add_option("-c,--config", out.config_path,
                 "YAML config file (env LAPOR_CONFIG); every key can be overridden by "
                 "LAPOR_<SECTION>_<KEY>, see docs/configuration.md");
  std::vector<CLI::Option*> given;
  for (const auto& f : extra) given.push_back(app.add_flag(f.name, f.help));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    out.exit_now = true;
    out.exit_code = usageExit(app, e);
    return out;
  }
  for (size_t i = 0; i < extra.size(); ++i)
    if (given[i]->count() > 0) out.flags.insert(extra[i].name);
  return out;
}

}  // namespace lapor::app
