// Config: lookup order (environment, file, default), typed getters, and error messages that
// name the key to change both as section.key and as its environment variable.
#include "config/config.h"
#include "config/secret_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

namespace lapor::config {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;

// An environment made of a fixed map, so tests never depend on the process environment.
Config::EnvLookup envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Config noEnv(const std::string& yaml) {
  return Config::fromString(yaml, envOf({}));
}

// Runs `fn`, which must throw ConfigError, and returns its message.
template <class Fn>
std::string configError(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ConfigError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected ConfigError, nothing was thrown";
  return {};
}

TEST(ConfigTest, EnvironmentBeatsFileBeatsDefault) {
  const std::string yaml = "svc:\n  port: 8080\n  name: from-file\n";
  auto from_env = Config::fromString(yaml, envOf({{"LAPOR_SVC_PORT", "9090"}}));
  EXPECT_EQ(from_env.getInt("svc", "port", 1), 9090);
  EXPECT_EQ(from_env.getString("svc", "name", "default"), "from-file");

  auto from_file = noEnv(yaml);
  EXPECT_EQ(from_file.getInt("svc", "port", 1), 8080);

  EXPECT_EQ(from_file.getInt("svc", "absent", 7), 7);
  EXPECT_EQ(from_file.getString("other", "name", "default"), "default");
}

TEST(ConfigTest, EnvironmentOverridesKeysTheFileDoesNotHave) {
  auto cfg = Config::fromString("", envOf({{"LAPOR_REDIS_HOST", "10.0.0.7"}}));
  EXPECT_EQ(cfg.getString("redis", "host", "127.0.0.1"), "10.0.0.7");
}

TEST(ConfigTest, EnvNameIsUpperCaseWithSeparatorsAsUnderscores) {
  EXPECT_EQ(Config::envName("kafka", "brokers"), "LAPOR_KAFKA_BROKERS");
  EXPECT_EQ(Config::envName("sla-monitor", "log.level"), "LAPOR_SLA_MONITOR_LOG_LEVEL");
}

TEST(ConfigTest, MissingRequiredKeyNamesKeyAndEnvironmentVariable) {
  auto cfg = noEnv("svc:\n  other: 1\n");
  EXPECT_THAT(configError([&] { cfg.getString("svc", "name"); }),
              AllOf(HasSubstr("svc.name"), HasSubstr("LAPOR_SVC_NAME"), HasSubstr("required")));
  EXPECT_THAT(configError([&] { cfg.getInt("svc", "port"); }),
              AllOf(HasSubstr("svc.port"), HasSubstr("LAPOR_SVC_PORT")));
  EXPECT_THAT(configError([&] { cfg.getBool("svc", "enabled"); }),
              AllOf(HasSubstr("svc.enabled"), HasSubstr("LAPOR_SVC_ENABLED")));
  EXPECT_THAT(configError([&] { cfg.getDuration("svc", "tick"); }),
              AllOf(HasSubstr("svc.tick"), HasSubstr("LAPOR_SVC_TICK")));
}

TEST(ConfigTest, NonIntegerNamesKeyAndValue) {
  auto cfg = noEnv("svc:\n  port: 12abc\n  workers: lots\n");
  EXPECT_THAT(configError([&] { cfg.getInt("svc", "port", 1); }),
              AllOf(HasSubstr("svc.port"), HasSubstr("LAPOR_SVC_PORT"), HasSubstr("12abc"),
                    HasSubstr("not an integer")));
  EXPECT_THAT(configError([&] { cfg.getInt("svc", "workers", 1); }),
              AllOf(HasSubstr("svc.workers"), HasSubstr("LAPOR_SVC_WORKERS"), HasSubstr("lots")));
}

TEST(ConfigTest, BadValueFromEnvironmentIsReportedToo) {
  auto cfg = Config::fromString("svc:\n  port: 80\n", envOf({{"LAPOR_SVC_PORT", "eighty"}}));
  EXPECT_THAT(configError([&] { cfg.getInt("svc", "port", 1); }),
              AllOf(HasSubstr("svc.port"), HasSubstr("LAPOR_SVC_PORT"), HasSubstr("eighty")));
}

TEST(ConfigTest, OutOfRangeNamesKeyValueAndBounds) {
  auto cfg = noEnv("svc:\n  port: 70000\n  low: 0\n");
  EXPECT_THAT(configError([&] { cfg.getInt("svc", "port", 1, 1, 65535); }),
              AllOf(HasSubstr("svc.port"), HasSubstr("LAPOR_SVC_PORT"), HasSubstr("70000"),
                    HasSubstr("1..65535")));
  EXPECT_THAT(configError([&] { cfg.getInt("svc", "low", 5, 1, 10); }),
              AllOf(HasSubstr("svc.low"), HasSubstr("LAPOR_SVC_LOW")));
  EXPECT_EQ(cfg.getInt("svc", "port", 1, 1, 70000), 70000);  // the bounds are inclusive
}

TEST(ConfigTest, BoolAcceptsCommonSpellings) {
  auto cfg = noEnv(
      "b:\n  t1: true\n  t2: YES\n  t3: 1\n  t4: on\n  f1: false\n  f2: No\n  f3: 0\n  f4: off\n");
  for (const char* k : {"t1", "t2", "t3", "t4"}) EXPECT_TRUE(cfg.getBool("b", k, false)) << k;
  for (const char* k : {"f1", "f2", "f3", "f4"}) EXPECT_FALSE(cfg.getBool("b", k, true)) << k;
  EXPECT_TRUE(cfg.getBool("b", "absent", true));
}

TEST(ConfigTest, BadBoolNamesKeyAndValue) {
  auto cfg = noEnv("svc:\n  enabled: maybe\n");
  EXPECT_THAT(configError([&] { cfg.getBool("svc", "enabled", false); }),
              AllOf(HasSubstr("svc.enabled"), HasSubstr("LAPOR_SVC_ENABLED"), HasSubstr("maybe"),
                    HasSubstr("not a boolean")));
}

TEST(ConfigTest, BadDurationNamesKeyAndValue) {
  auto cfg = noEnv("sla:\n  acknowledge_normal: soon\n  tick: 10\n  slow: 5y\n");
  EXPECT_THAT(configError([&] { cfg.getDuration("sla", "acknowledge_normal", 1s); }),
              AllOf(HasSubstr("sla.acknowledge_normal"), HasSubstr("LAPOR_SLA_ACKNOWLEDGE_NORMAL"),
                    HasSubstr("soon")));
  EXPECT_THAT(configError([&] { cfg.getDuration("sla", "tick", 1s); }),
              AllOf(HasSubstr("sla.tick"), HasSubstr("LAPOR_SLA_TICK"), HasSubstr("unit")));
  EXPECT_THAT(configError([&] { cfg.getDuration("sla", "slow", 1s); }),
              AllOf(HasSubstr("sla.slow"), HasSubstr("LAPOR_SLA_SLOW"), HasSubstr("5y")));
}

TEST(ConfigTest, DurationWithoutDigitsIsAConfigErrorNamingTheKey) {
  // A lone "." (or ".ms") must be reported like any other bad duration, with the key named.
  auto cfg = Config::fromString("", envOf({{"LAPOR_SLA_TICK", "."}}));
  EXPECT_THAT(configError([&] { cfg.getDuration("sla", "tick", 1s); }),
              AllOf(HasSubstr("sla.tick"), HasSubstr("LAPOR_SLA_TICK")));
  configError([] { Config::parseDuration(".ms"); });
}

TEST(ConfigTest, ParseDurationUnits) {
  const std::pair<const char*, std::chrono::milliseconds> cases[] = {
      {"250ms", 250ms}, {"0ms", 0ms},     {"30s", 30s},   {"5m", 5min}, {"2h", 2h},
      {"3d", 72h},      {"1.5s", 1500ms}, {"0.25m", 15s}, {"1d", 24h},  {"60s", 1min},
  };
  for (const auto& [text, want] : cases) EXPECT_EQ(Config::parseDuration(text), want) << text;
}

TEST(ConfigTest, ParseDurationRejectsMissingOrUnknownUnit) {
  for (const char* text : {"", "s", "ms", "10", "10 s", "10sec", "-5s", "5y", "1h30m", "PT5S"})
    EXPECT_FALSE(configError([&] { Config::parseDuration(text); }).empty()) << text;
}

TEST(ConfigTest, GetDurationFromFileEnvAndDefault) {
  auto cfg =
      Config::fromString("sla:\n  tick: 250ms\n  ack: 5m\n", envOf({{"LAPOR_SLA_ACK", "90s"}}));
  EXPECT_EQ(cfg.getDuration("sla", "tick", 1s), 250ms);
  EXPECT_EQ(cfg.getDuration("sla", "ack", 1s), 90s);
  EXPECT_EQ(cfg.getDuration("sla", "absent", 7s), 7s);
}

TEST(ConfigTest, NonScalarValueNamesTheKey) {
  auto cfg = noEnv("svc:\n  port: [1, 2]\nflat: 3\n");
  EXPECT_THAT(configError([&] { cfg.getInt("svc", "port", 1); }),
              AllOf(HasSubstr("svc.port"), HasSubstr("LAPOR_SVC_PORT")));
  EXPECT_THAT(configError([&] { cfg.getString("flat", "key", "x"); }),
              AllOf(HasSubstr("flat.key"), HasSubstr("LAPOR_FLAT_KEY")));
}

TEST(ConfigTest, NodeGivesStructuredSections) {
  auto cfg = noEnv("rules:\n  - a\n  - b\n");
  auto n = cfg.node("rules");
  ASSERT_TRUE(n.IsSequence());
  EXPECT_EQ(n.size(), 2u);
  EXPECT_FALSE(cfg.node("absent"));
}

TEST(ConfigTest, TopLevelThatIsNotAMapIsRejected) {
  EXPECT_FALSE(configError([] { noEnv("- a\n- b\n"); }).empty());
  EXPECT_FALSE(configError([] { noEnv("svc: [unclosed\n"); }).empty());
}

// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("lapor-config-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

// One reading of a secret file for every reader (service passwords, notification's webhook
// keys, the webhook receiver): trailing line ends go, everything else is the secret.
TEST(SecretFile, DropsTrailingLineEndsAndKeepsEverythingElse) {
  TempDir dir;
  EXPECT_EQ(readSecretFile(dir.write("a", "s3cret\n")), "s3cret");
  EXPECT_EQ(readSecretFile(dir.write("b", "s3cret\r\n\n")), "s3cret");
  EXPECT_EQ(readSecretFile(dir.write("c", " s3 cret \n")), " s3 cret ");
  EXPECT_EQ(readSecretFile(dir.write("d", "\n")), "");
  EXPECT_EQ(readSecretFile((dir.path() / "missing").string()), std::nullopt);
}

TEST(ConfigTest, LoadReadsFileAndRecordsItAsSource) {
  TempDir dir;
  auto file = dir.write("svc.yaml", "unittestload:\n  port: 4242\n");
  auto cfg = Config::load(file);
  EXPECT_EQ(cfg.source(), file);
  EXPECT_EQ(cfg.getInt("unittestload", "port", 1), 4242);
  EXPECT_THAT(configError([&] { cfg.getString("unittestload", "name"); }), HasSubstr(file));
}

TEST(ConfigTest, LoadOfMissingFileNamesThePath) {
  TempDir dir;
  auto missing = (dir.path() / "absent.yaml").string();
  EXPECT_THAT(configError([&] { Config::load(missing); }), HasSubstr(missing));
}

TEST(ConfigTest, LoadWithEmptyPathGivesDefaults) {
  auto cfg = Config::load("");
  EXPECT_EQ(cfg.getInt("unittestempty", "port", 5), 5);
}

TEST(ConfigTest, RelativePathIsTakenRelativeToTheConfigFilesFolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "conf");
  auto file = dir.write("conf/svc.yaml",
                        "unittestpath:\n"
                        "  file: agencies.yaml\n"
                        "  nested: data/./x.yaml\n"
                        "  up: ../shared/a.yaml\n"
                        "  abs: /etc/lapor/agencies.yaml\n");
  auto cfg = Config::load(file);
  const auto conf = (dir.path() / "conf").lexically_normal();
  EXPECT_EQ(cfg.getPath("unittestpath", "file"), (conf / "agencies.yaml").string());
  EXPECT_EQ(cfg.getPath("unittestpath", "nested"), (conf / "data" / "x.yaml").string());
  EXPECT_EQ(cfg.getPath("unittestpath", "up"),
            (dir.path().lexically_normal() / "shared" / "a.yaml").string());
  EXPECT_EQ(cfg.getPath("unittestpath", "abs"), "/etc/lapor/agencies.yaml");
  // A relative default is relative to the file's folder too.
  EXPECT_EQ(cfg.getPath("unittestpath", "absent", "default.yaml"),
            (conf / "default.yaml").string());
}

TEST(ConfigTest, RelativePathWithoutFileStaysRelative) {
  auto cfg = noEnv("agencies:\n  file: conf/agencies.yaml\n");
  EXPECT_EQ(cfg.getPath("agencies", "file"), "conf/agencies.yaml");
}

}  // namespace
}  // namespace lapor::config
