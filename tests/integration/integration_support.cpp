// librdkafka used directly here, so the helpers do not depend on the code under test.
#include "integration_support.h"

#include "process.h"

#include <librdkafka/rdkafka.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <random>
#include <stdexcept>

namespace lapor::integration {

std::optional<std::string> serviceEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

std::string missingEnvMessage(const std::string& name) {
  return name +
         " is not set. The integration tests need a real Kafka broker and Redis: run them with "
         "`make test` (tests/run.sh starts both and sets LAPOR_KAFKA_BROKERS, LAPOR_REDIS_HOST "
         "and LAPOR_REDIS_PORT).";
}

std::string uniqueName(const std::string& prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  std::string out = prefix + "-";
  for (int i = 0; i < 12; ++i) out += kHex[rng() % 16];
  return out;
}

namespace {
std::string errstr(const char* what, const char* err) {
  return std::string(what) + ": " + err;
}

void setConf(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr(key, err));
  }
}
}  // namespace

int partitionCount(const std::string& brokers, const std::string& topic) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  setConf(conf, "bootstrap.servers", brokers);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr("metadata client", err));
  }
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> guard(rk, rd_kafka_destroy);
  // All topics: asking for one by name could create it on a broker that auto-creates.
  const rd_kafka_metadata_t* md = nullptr;
  auto e = rd_kafka_metadata(rk, 1, nullptr, &md, 10'000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(errstr("metadata", rd_kafka_err2str(e)));
  int count = -1;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
      count = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return count;
}

CliRun runCli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
#ifndef LAPOR_BUILD_DIR
  (void)args;
  (void)env;
  throw std::logic_error("runCli needs LAPOR_BUILD_DIR");
#else
  const auto log = testing::runDir() + "/logs/" + uniqueName("lapor-cli") + ".log";
  std::vector<std::string> argv{LAPOR_BUILD_DIR "/tools/lapor-cli"};
  argv.insert(argv.end(), args.begin(), args.end());
  testing::ChildProcess p("lapor-cli", argv, env, log);
  CliRun r;
  if (!waitFor([&] { return !p.running(); }, std::chrono::seconds(30))) {
    r.output = "lapor-cli did not exit within 30 s";
    return r;
  }
  if (auto st = p.signalAndWait(0, std::chrono::seconds(1)); st && WIFEXITED(*st))
    r.exit_code = WEXITSTATUS(*st);
  std::ifstream in(log);
  std::stringstream buf;
  buf << in.rdbuf();
  r.output = buf.str();
  return r;
#endif
}

}  // namespace lapor::integration
