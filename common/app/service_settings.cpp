// Shared settings with their defaults; every key is documented in docs/configuration.md.
#include "app/service_settings.h"

#include "build_info.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace lapor::app {

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
  s.topic_partitions = static_cast<int>(cfg.getInt("kafka", "topic_partitions", 3, 1, 1024));
  s.produce_timeout = cfg.getDuration("kafka", "produce_timeout", std::chrono::seconds(10));
  s.linger_ms = static_cast<int>(cfg.getInt("kafka", "linger_ms", 2, 0, 1000));
  s.redis.host = cfg.getString("redis", "host", "127.0.0.1");
  s.redis.port = static_cast<int>(cfg.getInt("redis", "port", 6379, 1, 65535));
  s.redis.prefix = cfg.getString("redis", "prefix", "lapor:");
  s.redis.command_timeout = cfg.getDuration("redis", "command_timeout", std::chrono::seconds(2));
  s.redis.connect_timeout = cfg.getDuration("redis", "connect_timeout", std::chrono::seconds(2));
  s.redis.attempts = static_cast<int>(cfg.getInt("redis", "attempts", 3, 1, 100));
  s.grpc.address = cfg.getString("grpc", "host", "127.0.0.1") + ":" +
                   std::to_string(cfg.getInt("grpc", "port", 0, 0, 65535));
  s.grpc.max_message_bytes =
      static_cast<int>(cfg.getInt("grpc", "max_message_bytes", 1 << 20, 1024, 64 << 20));
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
  o.client_id = "lapor-" + service;
  o.linger_ms = linger_ms;
  o.message_timeout_ms = static_cast<int>(produce_timeout.count());
  return o;
}

kafka::ConsumerOptions ServiceSettings::consumer(const std::string& group,
                                                 std::vector<std::string> topics) const {
  kafka::ConsumerOptions o;
  o.brokers = kafka_brokers;
  o.group_id = group;
  o.topics = std::move(topics);
  o.client_id = "lapor-" + service;
  o.service = service;
  return o;
}

void ServiceSettings::ensureTopics(const std::vector<std::string>& topics) const {
  if (auto err =
          kafka::ensureTopics(kafka_brokers, topics, topic_partitions, std::chrono::seconds(15));
      !err.empty())
    throw std::runtime_error("kafka topics (kafka.brokers=" + kafka_brokers + "): " + err);
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
    // CLI11 prints the message (naming the flag) and would exit 100+; a usage error is 2, as
    // for every Unix tool and for a bad configuration.
    out.exit_code = app.exit(e) == 0 ? 0 : 2;
    return out;
  }
  for (size_t i = 0; i < extra.size(); ++i)
    if (given[i]->count() > 0) out.flags.insert(extra[i].name);
  return out;
}

}  // namespace lapor::app
