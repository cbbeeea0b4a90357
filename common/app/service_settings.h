// Settings every service shares (sections service, kafka, redis, grpc, metrics) and the
// command line every binary accepts.
#pragma once

#include "config/config.h"
#include "grpc/grpc_server.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "log/logger.h"
#include "redis/redis_client.h"

#include <set>
#include <string>
#include <vector>

namespace lapor::app {

struct ServiceSettings {
  std::string service;
  log::Level log_level = log::Level::Info;
  std::string kafka_brokers;
  kafka::ClientSecurity kafka_security;
  kafka::TopicSettings topics;  // kafka.topic_partitions, replication_factor, retention, ...
  std::chrono::milliseconds produce_timeout{10'000};
  int linger_ms = 2;
  std::chrono::milliseconds fetch_wait_max{500};
  int fetch_min_bytes = 1;
  size_t max_batch = 100;
  redis::RedisOptions redis;
  grpcx::GrpcServerOptions grpc;
  std::string metrics_address;

  static ServiceSettings load(const config::Config& cfg, const std::string& service);

  // Producer and consumer options of this service with the shared settings filled in; a
  // producer gives up on a message (message.timeout.ms) before a caller waiting
  // produce_timeout does, so a timed-out answer never hides a late success.
  kafka::ProducerOptions producer() const;
  kafka::ConsumerOptions consumer(const std::string& group, std::vector<std::string> topics) const;
  // Creates the topics the service uses with the configured topic settings and brings the
  // retention and min ISR of existing ones in line (logged); throws when the broker refuses or
  // cannot be reached.
  void ensureTopics(const std::vector<std::string>& topics) const;
};

// A secret named by `section.key`: the environment variable LAPOR_<SECTION>_<KEY>, or the
// contents of the file `section.<key>_file` (one trailing newline dropped); "" when neither is
// set. Written into the config file itself it is refused: secrets stay out of repositories.
std::string secret(const config::Config& cfg, const std::string& section, const std::string& key);

// A switch of one binary's own (intake's --rebuild-view), listed by --help with the others.
struct CommandLineFlag {
  std::string name;  // "--rebuild-view"
  std::string help;
};

struct CommandLine {
  std::string config_path;
  std::set<std::string> flags;  // the CommandLineFlags given
  bool exit_now = false;        // --help, --version or a usage error was printed
  int exit_code = 0;            // 0 after --help / --version, 2 after a usage error

  bool has(const std::string& flag) const { return flags.count(flag) > 0; }
};

// The line --version prints: "lapor-<service> <version> (<revision>)".
std::string versionLine(const std::string& program);

// Parses --config FILE (default: env LAPOR_CONFIG), --help, --version and `extra` flags. An
// unknown flag or a missing value is printed with the flag named, and exit_code is 2.
CommandLine parseCommandLine(int argc, char** argv, const std::string& service,
                             const std::string& description,
                             const std::vector<CommandLineFlag>& extra = {});

}  // namespace lapor::app
