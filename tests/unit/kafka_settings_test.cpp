// The shared Kafka and Redis settings of every service: production topic defaults (RF 3, min
// ISR 2, the audit log kept for ever) with overrides, SASL/TLS keys checked at start, and
// secrets that come from the environment or a file but never from the config file itself.
#include "app/service_settings.h"
#include "kafka/group_offsets.h"
#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace lapor::app {
namespace {

using ::testing::HasSubstr;

config::Config::EnvLookup envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

ServiceSettings load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return ServiceSettings::load(config::Config::fromString(yaml, envOf(std::move(env))), "intake");
}

template <class Fn>
std::string configError(Fn&& fn) {
  try {
    fn();
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

TEST(TopicSettings, ProductionDefaultsKeepTheAuditLogForEver) {
  const auto s = load("");
  EXPECT_EQ(s.topics.replication_factor, 3);
  EXPECT_EQ(s.topics.min_insync_replicas, 2);
  EXPECT_EQ(s.topics.partitions, 3);
  EXPECT_EQ(s.topics.dispatch_partitions, 1);
  EXPECT_EQ(s.topics.partitionsFor(kafka::dispatchTopic("rsud")), 1);
  EXPECT_EQ(s.topics.partitionsFor(kafka::kComplaintsTopic), 3);
  EXPECT_EQ(s.topics.partitionsFor(kafka::kDeadLetterTopic), 3);
  const auto audit = s.topics.configFor(kafka::kComplaintsTopic);
  EXPECT_EQ(audit.at("retention.ms"), "-1");
  EXPECT_EQ(audit.at("min.insync.replicas"), "2");
  EXPECT_EQ(s.topics.configFor(kafka::dispatchTopic("rsud")).at("retention.ms"),
            std::to_string(30LL * 24 * 3600 * 1000));
}

TEST(TopicSettings, SingleNodeOverridesComeFromTheEnvironment) {
  const auto s = load("kafka:\n  retention: 7d\n  complaints_retention: 3650d\n",
                      {{"LAPOR_KAFKA_REPLICATION_FACTOR", "1"},
                       {"LAPOR_KAFKA_MIN_INSYNC_REPLICAS", "1"}});
  EXPECT_EQ(s.topics.replication_factor, 1);
  EXPECT_EQ(s.topics.min_insync_replicas, 1);
  EXPECT_EQ(s.topics.configFor(kafka::kComplaintsTopic).at("retention.ms"),
            std::to_string(3650LL * 24 * 3600 * 1000));
  EXPECT_EQ(s.topics.configFor(kafka::kDeadLetterTopic).at("retention.ms"),
            std::to_string(7LL * 24 * 3600 * 1000));
}

TEST(TopicSettings, DispatchPartitionsComeFromConfigOrEnvironment) {
  EXPECT_EQ(load("kafka:\n  dispatch_partitions: 4\n").topics.partitionsFor(
                kafka::dispatchTopic("bpbd")),
            4);
  const auto s = load("", {{"LAPOR_KAFKA_DISPATCH_PARTITIONS", "2"}});
  EXPECT_EQ(s.topics.partitionsFor(kafka::dispatchTopic("bpbd")), 2);
  EXPECT_EQ(s.topics.partitionsFor("lapor.routing.commands.v1"), 3);
  EXPECT_THAT(configError([] { load("kafka:\n  dispatch_partitions: 0\n"); }),
              HasSubstr("kafka.dispatch_partitions"));
  EXPECT_FALSE(kafka::isDispatchTopic("lapor.dispatch..v1"));
  EXPECT_FALSE(kafka::isDispatchTopic("lapor.complaints.v1"));
  EXPECT_TRUE(kafka::isDispatchTopic("lapor.dispatch.ncc-112.v1"));
}

TEST(TopicSettings, MinIsrAboveReplicationFactorIsRefused) {
  auto e = configError([] { load("kafka:\n  replication_factor: 1\n"); });
  EXPECT_THAT(e, HasSubstr("kafka.min_insync_replicas"));
  EXPECT_THAT(e, HasSubstr("LAPOR_KAFKA_MIN_INSYNC_REPLICAS"));
  EXPECT_THAT(configError([] { load("kafka:\n  complaints_retention: 10m\n"); }),
              HasSubstr("kafka.complaints_retention"));
}

TEST(ConsumerSettings, FetchWaitMaxReachesEveryConsumerAndIsRangeChecked) {
  EXPECT_EQ(load("kafka: {}\n").consumer("g", {"t"}).fetch_wait_max, std::chrono::milliseconds(500));
  EXPECT_EQ(load("kafka: {}\n", {{"LAPOR_KAFKA_FETCH_WAIT_MAX", "20ms"}})
                .consumer("g", {"t"})
                .fetch_wait_max,
            std::chrono::milliseconds(20));
  EXPECT_THAT(configError([] { load("kafka: {fetch_wait_max: 0ms}\n"); }),
              HasSubstr("fetch_wait_max"));
}

TEST(KafkaSecurity, ScramNeedsUserAndPassword) {
  EXPECT_THAT(configError([] { load("kafka:\n  security_protocol: sasl_ssl\n"); }),
              HasSubstr("kafka.sasl_username"));
  EXPECT_THAT(configError([] {
                load("kafka:\n  security_protocol: sasl_ssl\n  sasl_username: lapor-intake\n");
              }),
              HasSubstr("kafka.sasl_password"));
  EXPECT_THAT(configError([] { load("kafka:\n  security_protocol: kerberos\n"); }),
              HasSubstr("kafka.security_protocol"));
  EXPECT_THAT(configError([] { load("kafka:\n  ssl_ca_file: /etc/ca.pem\n"); }),
              HasSubstr("does not use TLS"));
  const auto s = load("kafka:\n  security_protocol: SASL_SSL\n  sasl_username: lapor-intake\n",
                      {{"LAPOR_KAFKA_SASL_PASSWORD", "s3cret"}});
  const auto p = s.producer().security.properties();
  EXPECT_EQ(p.at("security.protocol"), "sasl_ssl");
  EXPECT_EQ(p.at("sasl.mechanisms"), "SCRAM-SHA-512");
  EXPECT_EQ(p.at("sasl.username"), "lapor-intake");
  EXPECT_EQ(p.at("sasl.password"), "s3cret");
  EXPECT_EQ(s.consumer("g", {"t"}).security.sasl_password, "s3cret");
}

TEST(Secrets, ComeFromAFileOrTheEnvironmentNeverFromTheConfigFile) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("lapor-secret-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "redis-password";
  std::ofstream(file) << "from-a-file\n";
  auto s = load("redis:\n  username: lapor-intake\n  password_file: " + file.string() + "\n");
  EXPECT_EQ(s.redis.username, "lapor-intake");
  EXPECT_EQ(s.redis.password, "from-a-file");
  s = load("", {{"LAPOR_REDIS_PASSWORD", "from-env"}});
  EXPECT_EQ(s.redis.password, "from-env");

  auto e = configError([] { load("redis:\n  password: hunter2\n"); });
  EXPECT_THAT(e, HasSubstr("redis.password"));
  EXPECT_THAT(e, HasSubstr("LAPOR_REDIS_PASSWORD"));
  EXPECT_THAT(e, ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(configError([] { load("kafka:\n  sasl_password: hunter2\n"); }),
              HasSubstr("not written in the config file"));
  EXPECT_THAT(configError([&] { load("redis:\n  password_file: " + (dir / "none").string() + "\n"); }),
              HasSubstr("redis.password_file"));
  EXPECT_THAT(configError([] { load("redis:\n  username: lapor-intake\n"); }),
              HasSubstr("redis.username"));
  std::filesystem::remove_all(dir);
}

// A consumer started before the topics it subscribes to exist (notification before routing
// created the dispatch topics) joins them at the next metadata refresh, seconds later.
TEST(ConsumerSettings, TopicsCreatedAfterTheSubscriptionAreJoinedWithinSeconds) {
  rd_kafka_conf_t* conf = kafka::detail::consumerConf("127.0.0.1:1", {}, "g", "c", true);
  char value[64];
  size_t size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(conf, "topic.metadata.refresh.interval.ms", value, &size),
            RD_KAFKA_CONF_OK);
  EXPECT_EQ(std::string(value), "10000");
  rd_kafka_conf_destroy(conf);
}

}  // namespace
}  // namespace lapor::app

namespace lapor::app {
namespace {

using ::testing::HasSubstr;

// Debian 12's librdkafka (2.0) cannot complete a SCRAM login with Kafka 4: the service says so
// instead of leaving an operator with "invalid credentials" for a correct password.
TEST(KafkaSecurity, WarnsWhenThisLibrdkafkaCannotDoScramWithKafka4) {
  kafka::ClientSecurity s;
  s.protocol = "sasl_ssl";
  s.sasl_username = "lapor-intake";
  s.sasl_password = "x";
  if (rd_kafka_version() < 0x020601ff)
    EXPECT_THAT(s.warning(), HasSubstr("kafka.security_protocol=ssl"));
  else
    EXPECT_EQ(s.warning(), "");
  s.protocol = "ssl";
  EXPECT_EQ(s.warning(), "");
}

// The committed-offset reader of Kafka-channel delivery opens its handles with the service's
// security settings: a CA file that cannot be read stops it at start, as it stops every other
// client, instead of a plaintext connection the brokers refuse later.
TEST(KafkaSecurity, TheGroupOffsetsReaderUsesTheServicesSecuritySettings) {
  kafka::GroupOffsetsOptions o;
  o.brokers = "127.0.0.1:1";
  EXPECT_NO_THROW(kafka::ConsumerGroupOffsets(o, log::Logger("test")));
  o.security.protocol = "ssl";
  o.security.ssl_ca_file = "/nonexistent/lapor-ca.pem";
  EXPECT_ANY_THROW(kafka::ConsumerGroupOffsets(o, log::Logger("test")));
}

}  // namespace
}  // namespace lapor::app
