// lapor-bench: starts the four services against the broker and Redis of the environment
// (bench/run.sh provides them), measures the baselines, then runs the load sweep and a run
// with two instances of every consumer service. Exit 1 when anything accepted was lost.
#include "app/usage_exit.h"
#include "baselines.h"
#include "build_info.h"
#include "consumer_groups.h"
#include "kafka/message.h"
#include "log/logger.h"
#include "measure.h"
#include "pipeline.h"
#include "redis/redis_client.h"
#include "report.h"
#include "stack.h"
#include "wait.h"
#include "workload.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

#ifndef LAPOR_BUILD_DIR
#error "LAPOR_BUILD_DIR must be defined"
#endif
#ifndef LAPOR_SOURCE_DIR
#error "LAPOR_SOURCE_DIR must be defined"
#endif

namespace lapor::bench {
namespace {

using namespace std::chrono_literals;

// Every consumer group of the lifecycle topic (the services' default group names).
const std::vector<std::string> kLifecycleReaders{"lapor-intake-view", "lapor-intake-notify",
                                                 "lapor-routing", "lapor-notification",
                                                 "lapor-sla-monitor"};

// Redis's counters now (measure.h, RedisWork), both sections in one INFO (Redis 7.0 and
// later); nothing when its INFO cannot be read.
std::optional<RedisWork> redisWork(redis::RedisClient& r) {
  try {
    return parseRedisInfo(r.command({"INFO", "commandstats", "stats"}).str);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string utcNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<double> parseRates(const std::string& list) {
  std::vector<double> rates;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) continue;
    size_t used = 0;
    double rate = 0;
    try {
      rate = item == "max" ? 0.0 : std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item != "max" && used != item.size())
      throw CLI::ValidationError("rates", "'" + item + "' is neither a number nor 'max'");
    rates.push_back(rate);
    if (rates.back() < 0) throw CLI::ValidationError("rates", "a rate is negative: " + item);
  }
  return rates;
}

std::string stepName(double rate, int instances) {
  std::string name = rate > 0 ? fmt::format("{:.0f}/s", rate) : "max";
  return instances > 1 ? fmt::format("{} x{}", name, instances) : name;
}

// The processes whose CPU time is charged to a step, by column name.
using ProcessGroups = std::map<std::string, std::vector<pid_t>>;

std::map<std::string, double> cpuOf(const ProcessGroups& groups) {
  std::map<std::string, double> cpu;
  for (const auto& [name, pids] : groups)
    for (pid_t pid : pids) cpu[name] += std::max(0.0, cpuSeconds(pid));
  return cpu;
}

// The broker's pid: bench/run.sh exports it; under tests/run.sh (the smoke test) it is in the
// run dir that script shares with every test.
std::string brokerPid() {
  if (auto pid = envOr("LAPOR_BENCH_KAFKA_PID", ""); !pid.empty()) return pid;
  const auto run_dir = envOr("LAPOR_TEST_RUN_DIR", "");
  if (run_dir.empty()) return "";
  std::ifstream in(run_dir + "/pids/kafka.pid");
  std::string pid;
  return std::getline(in, pid) ? pid : "";
}

// The broker's -Xms and -Xmx as its command line has them (the JVM takes the last of each).
std::string brokerHeap(const std::string& pid) {
  if (pid.empty()) return "";
  std::ifstream in("/proc/" + pid + "/cmdline", std::ios::binary);
  std::string xms, xmx, arg;
  while (std::getline(in, arg, '\0')) {
    if (arg.rfind("-Xms", 0) == 0) xms = arg;
    if (arg.rfind("-Xmx", 0) == 0) xmx = arg;
  }
  if (xms.empty() && xmx.empty()) return "";
  return xms.empty() ? xmx : xmx.empty() ? xms : xms + " " + xmx;
}

struct Settings {
  std::string rates = "100,1000,5000,max";
  std::string scale_rates = "max";
  double step_seconds = 4;
  // A fixed rate's step sends at least this many complaints (100/s: 20 s), so that its p99,
  // and the emergencies' row (about a quarter of them), rest on enough samples.
  int64_t min_step_complaints = 2000;
  // A fresh broker's JVM compiles its hot paths for minutes (its C2 compiler still near a
  // third of a core 90 s into a run at 80/s, and the broker's whole CPU halved between minute
  // one and minute three): the first warm-up runs at least warmup_seconds and then in rounds
  // until the compilers use less than warmup_jit_below of a core (or warmup_max_seconds have
  // passed), before the baselines so they are not measured on a cold JVM either. The one after
  // the second instances start only has to warm the new members.
  double warmup_seconds = 20;
  double warmup_max_seconds = 240;
  double warmup_jit_below = 0.10;  // of one core
  double warmup_round_seconds = 10;
  double warmup_rate = 60;
  double scale_warmup_seconds = 5;
  double drain_seconds = 60;
  size_t window = 200;
  size_t max_in_flight = 2000;
  size_t max_open = 3000;
  double baseline_seconds = 3;
  double kafka_rate = 1000;
  size_t kafka_messages = 20000;
  int grpc_threads = 4;
  int linger_ms = 2;
  uint64_t seed = 20261129;
  std::string log_level = "info";
  std::string acknowledge = "batch";
  std::string submit = "batch";
  std::vector<std::string> service_env;
  std::string json_path, table_path, samples_path;
  std::string agencies_file = LAPOR_SOURCE_DIR "/deploy/config/agencies.yaml";
  Credentials credentials;
};

int run(const Settings& s, const std::string& command) {
  const auto sweep = parseRates(s.rates);
  const auto scale = parseRates(s.scale_rates);
  for (const char* v : {"LAPOR_KAFKA_BROKERS", "LAPOR_REDIS_HOST", "LAPOR_REDIS_PORT"})
    if (envOr(v, "").empty())
      throw std::runtime_error(std::string(v) +
                               " is not set: run the benchmark with `make bench` (bench/run.sh), "
                               "which starts Kafka and Redis and sets it");
  RunReport report;
  report.started_at = utcNow();
  report.command = command;
  report.machine = describeMachine();
  report.broker_heap = brokerHeap(brokerPid());
  if (const auto run_dir = envOr("LAPOR_TEST_RUN_DIR", ""); !run_dir.empty())
    report.broker_threads = brokerThreads(run_dir + "/kafka/server.properties");
  const std::string brokers = testing::requiredEnv("LAPOR_KAFKA_BROKERS");
  const auto directory = agencies::AgencyDirectory::loadFile(s.agencies_file);
  Workload workload(directory, s.seed);

  std::map<std::string, std::string> env{
      {"LAPOR_REDIS_PREFIX", "bench-" + std::to_string(std::random_device{}()) + ":"},
      {"LAPOR_SERVICE_LOG_LEVEL", s.log_level},
      // The load generator calls without a key; intake's limit for keyless callers (600 a
      // minute) would turn the sweep into a test of the limiter. 0: no limit.
      {"LAPOR_AUTH_KEYLESS_RATE_LIMIT", "0"},
  };
  for (const auto& kv : s.service_env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || kv.rfind("LAPOR_", 0) != 0)
      throw CLI::ValidationError("--service-env", "expects LAPOR_SECTION_KEY=VALUE, got " + kv);
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  report.settings = {{"rates", s.rates},
                     {"scale_rates", s.scale_rates},
                     {"step_seconds", s.step_seconds},
                     {"min_step_complaints", s.min_step_complaints},
                     {"warmup_seconds", s.warmup_seconds},
                     {"warmup_max_seconds", s.warmup_max_seconds},
                     {"warmup_jit_below", s.warmup_jit_below},
                     {"warmup_rate", s.warmup_rate},
                     {"scale_warmup_seconds", s.scale_warmup_seconds},
                     {"window", s.window},
                     {"max_in_flight", s.max_in_flight},
                     {"max_open", s.max_open},
                     {"seed", s.seed},
                     {"submit", s.submit},
                     {"acknowledge", s.acknowledge},
                     {"service_env", env},
                     {"api_key_set", !s.credentials.api_key.empty()},
                     {"agency_token_set", !s.credentials.agency_token.empty()}};

  std::cerr << "starting the services...\n";
  testing::Stack stack(env);
  ProcessGroups groups;
  for (const char* name : testing::Stack::kServices)
    groups[name].push_back(stack.process(name).pid());
  pid_t kafka_pid = 0;
  if (auto pid = brokerPid(); !pid.empty()) {
    kafka_pid = std::stoi(pid);
    groups["kafka"].push_back(kafka_pid);
  }
  if (auto pid = envOr("LAPOR_BENCH_REDIS_PID", ""); !pid.empty())
    groups["redis"].push_back(std::stoi(pid));
  groups["bench"].push_back(getpid());
  redis::RedisOptions redis_options;
  redis_options.host = testing::requiredEnv("LAPOR_REDIS_HOST");
  redis_options.port = std::stoi(testing::requiredEnv("LAPOR_REDIS_PORT"));
  redis::RedisClient redis_info(redis_options, log::Logger("lapor-bench", log::Level::Error));

  Pipeline pipeline(stack.endpoint("intake").grpc(), s.credentials, workload);
  pipeline.acknowledgeInBatches(s.acknowledge == "batch");
  pipeline.submitInBatches(s.submit == "batch");
  pipeline.connectAgencies({stack.endpoint("notification").grpc()});
  auto step_duration = [&](double rate) {
    return stepDuration(s.step_seconds, s.min_step_complaints, rate);
  };
  const auto drain = std::chrono::milliseconds(static_cast<int64_t>(s.drain_seconds * 1000));
  auto runStep = [&](const std::string& name, double rate, std::chrono::milliseconds duration,
                     int instances, bool reported) {
    workload.setRoundRobin(!reported);
    std::cerr << "step " << name << "...\n";
    StepOptions o;
    o.name = name;
    o.rate = rate;
    o.duration = duration;
    o.window = s.window;
    o.max_in_flight = s.max_in_flight;
    o.max_open = s.max_open;
    o.drain_timeout = drain;
    const auto before = cpuOf(groups);
    const double jit_before = kafka_pid ? jitCpuSeconds(kafka_pid) : 0;
    const auto redis_before = redisWork(redis_info);
    const double pressure_before = cpuPressureSeconds();
    const auto window_began = std::chrono::steady_clock::now();
    auto res = pipeline.run(o);
    {
      const auto began = std::chrono::steady_clock::now();
      res.readers_behind = groupLags(brokers, kLifecycleReaders, kafka::kComplaintsTopic, 5s);
      const bool caught_up = testing::waitFor(
          [&] {
            for (const auto& [group, behind] : groupLags(brokers, kLifecycleReaders,
                                                         kafka::kComplaintsTopic, 5s))
              if (behind != 0) return false;
            return true;
          },
          drain, 250ms);
      res.readers_caught_up_seconds =
          caught_up
              ? std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()
              : -1;
    }
    for (const auto& [group, secs] : cpuOf(groups))
      res.cpu_seconds[group] = secs - before.at(group);
    // Part of the broker's own figure, shown beside it: how warm its JVM was in this step.
    if (kafka_pid) res.cpu_seconds["kafka jit"] = jitCpuSeconds(kafka_pid) - jit_before;
    if (const double pressure_after = cpuPressureSeconds(); pressure_before >= 0 && pressure_after >= 0) {
      const double window =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_began).count();
      if (window > 0) res.cpu_pressure = (pressure_after - pressure_before) / window;
    }
    if (const auto redis_after = redisWork(redis_info); redis_before && redis_after) {
      res.redis_measured = true;
      res.redis = *redis_after - *redis_before;
    }
    res.instances = instances;
    std::cerr << fmt::format(
        "  {} completed, {:.1f}/s, delivered p99 {:.1f} ms, unsent {}, "
        "undelivered {}\n",
        res.completed, res.throughput, res.delivered.p99, res.unsent, res.lost);
    // A warm-up that loses a complaint is a failure too, so it counts in the report.
    if (reported || res.lost > 0) report.steps.push_back(std::move(res));
  };
  auto toMs = [](double seconds) {
    return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  };
  // Consumer groups join, connections open and the broker's JVM compiles its hot paths on the
  // first complaints: not measured, and done before the baselines so they meet a warm broker.
  // Rounds until the broker's JIT compilers settle or `limit` seconds have passed; returns
  // the seconds spent. Without the broker's pid there is nothing to watch: no rounds.
  auto settle = [&](double limit, int& rounds) {
    const auto began = std::chrono::steady_clock::now();
    auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    };
    while (kafka_pid) {
      const double jit_before = jitCpuSeconds(kafka_pid);
      const double round_began = elapsed();
      runStep("warm-up", s.warmup_rate, toMs(s.warmup_round_seconds), 1, false);
      ++rounds;
      report.warmup.jit_share =
          (jitCpuSeconds(kafka_pid) - jit_before) / std::max(1e-3, elapsed() - round_began);
      std::cerr << fmt::format("  broker JIT compilers: {:.0f}% of a core\n",
                               report.warmup.jit_share * 100);
      report.warmup.settled = report.warmup.jit_share < s.warmup_jit_below;
      if (report.warmup.settled || elapsed() >= limit) break;
    }
    return elapsed();
  };
  if (s.warmup_seconds > 0) {
    const auto began = std::chrono::steady_clock::now();
    runStep("warm-up", s.warmup_rate, toMs(s.warmup_seconds), 1, false);
    report.warmup.rounds = 1;
    settle(s.warmup_max_seconds -
               std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(),
           report.warmup.rounds);
    report.warmup.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  }

  // Baselines next, on the broker left idle by the drained warm-up, with payloads as large as
  // the complaints.
  std::cerr << "baseline: kafka produce -> consume...\n";
  KafkaBaselineOptions ko;
  ko.brokers = brokers;
  ko.linger_ms = s.linger_ms;
  ko.rate = s.kafka_rate;
  ko.duration = std::chrono::milliseconds(static_cast<int64_t>(s.baseline_seconds * 1000));
  ko.burst_messages = s.kafka_messages;
  {
    Workload sample(directory, s.seed + 1);
    for (int i = 0; i < 500; ++i) ko.payloads.push_back(sample.next().request.SerializeAsString());
  }
  report.kafka = kafkaBaseline(ko);
  std::cerr << "baseline: kafka consume -> produce in a transaction -> consume...\n";
  TransactionalBaselineOptions to;
  to.hop = ko;
  report.transactional = transactionalBaseline(to);
  std::cerr << "baseline: grpc unary call...\n";
  report.grpc = grpcBaseline(stack.endpoint("intake").grpc(), ko.duration, s.grpc_threads);
  // The baselines' bursts take the broker down paths the warm-up did not (the first step's JIT
  // share showed it): settle again, so the first step meets a broker as warm as the later ones.
  if (s.warmup_seconds > 0)
    report.warmup.seconds_after_baselines =
        settle(s.warmup_max_seconds, report.warmup.rounds_after_baselines);

  for (double rate : sweep) runStep(stepName(rate, 1), rate, step_duration(rate), 1, true);

  std::vector<std::unique_ptr<testing::ChildProcess>> extra;
  if (!scale.empty()) {
    std::cerr << "starting a second instance of routing, notification and sla-monitor...\n";
    std::vector<std::string> notification{stack.endpoint("notification").grpc()};
    for (const std::string name : {"routing", "notification", "sla-monitor"}) {
      // What the first instances got, webhook receiver and secret included.
      auto svc_env = stack.serviceEnv();
      svc_env["LAPOR_KAFKA_BROKERS"] = brokers;
      svc_env["LAPOR_REDIS_HOST"] = testing::requiredEnv("LAPOR_REDIS_HOST");
      svc_env["LAPOR_REDIS_PORT"] = testing::requiredEnv("LAPOR_REDIS_PORT");
      const int grpc_port = testing::freePort();
      svc_env["LAPOR_GRPC_PORT"] = std::to_string(grpc_port);
      svc_env["LAPOR_METRICS_PORT"] = std::to_string(testing::freePort());
      // Its own transactional id and static group member id: the same one as the first
      // instance (the host name) would fence it.
      if (name == "routing") svc_env["LAPOR_ROUTING_INSTANCE_ID"] = "bench-routing-2";
      const std::string target = "127.0.0.1:" + std::to_string(grpc_port);
      extra.push_back(std::make_unique<testing::ChildProcess>(
          name + "-2",
          std::vector<std::string>{LAPOR_BUILD_DIR "/services/" + name + "/lapor-" + name,
                                   "--config", LAPOR_SOURCE_DIR "/deploy/config/" + name + ".yaml"},
          svc_env, testing::runDir() + "/logs/bench-" + name + "-2.log"));
      groups[name].push_back(extra.back()->pid());
      if (name == "notification") notification.push_back(target);
    }
    // Measured only once every consumer group has handed half its partitions over to the new
    // members (which also means they are up); a stream moved to the new notification before
    // its gRPC server listens just reconnects.
    const std::vector<std::string> consumer_groups{"lapor-routing", "lapor-notification",
                                                   "lapor-sla-monitor"};
    bool exited = false;
    const bool settled = testing::waitFor(
        [&] {
          for (auto& p : extra) exited = exited || !p->running();
          return exited || groupsStable(brokers, consumer_groups, 2, 5s);
        },
        90s, 200ms);
    if (!settled || exited) {
      std::string logs;
      for (auto& p : extra) logs += p->logTail();
      throw std::runtime_error(
          "the second instances did not start, or their consumer groups did not settle\n" + logs);
    }
    pipeline.connectAgencies(notification);
    if (const auto w = toMs(s.scale_warmup_seconds); w.count() > 0)
      runStep("warm-up x2", s.warmup_rate, w, 2, false);
    for (double rate : scale) runStep(stepName(rate, 2), rate, step_duration(rate), 2, true);
  }

  // A step that ran out of drain time may still deliver later: only what never arrives by the
  // end of the run is lost.
  testing::waitFor([&] { return pipeline.open() == 0; }, drain, 100ms);
  for (auto& step : report.steps) {
    const auto now_missing = pipeline.undeliveredOf(step.index);
    step.late = step.lost - now_missing;
    step.lost = now_missing;
  }
  pipeline.finishAcknowledgements(report.steps, std::chrono::seconds(15));
  report.acknowledged = pipeline.acknowledged();
  report.ack_errors = pipeline.ackErrors();
  report.ack_errors_by_code = pipeline.ackErrorsByCode();
  report.stream_errors = pipeline.streamErrors();
  report.confirm_errors = pipeline.confirmErrors();
  report.orphan_deliveries = pipeline.orphanDeliveries();

  const std::string table = renderTable(report);
  std::cout << "\n" << table << std::flush;
  if (!s.json_path.empty()) {
    std::ofstream(s.json_path) << toJson(report).dump(2) << "\n";
    std::cerr << "JSON result: " << s.json_path << "\n";
  }
  if (!s.samples_path.empty()) {
    std::ofstream out(s.samples_path);
    pipeline.writeSamples(out);
    std::cerr << "per-complaint samples: " << s.samples_path << "\n";
  }
  if (!s.table_path.empty()) {
    std::ofstream(s.table_path) << table;
    std::cerr << "table: " << s.table_path << "\n";
  }
  extra.clear();
  if (auto problems = stack.stopAll(); !problems.empty()) std::cerr << problems;
  return report.passed() ? 0 : 1;
}

}  // namespace
}  // namespace lapor::bench

int main(int argc, char** argv) {
  lapor::bench::Settings s;
  CLI::App app{
      "lapor-bench: end-to-end throughput and latency of the Lapor pipeline next to a raw Kafka "
      "hop and a gRPC call on the same broker. Needs LAPOR_KAFKA_BROKERS, LAPOR_REDIS_HOST and "
      "LAPOR_REDIS_PORT (bench/run.sh starts a private broker and Redis and sets them).",
      "lapor-bench"};
  app.set_version_flag("--version", std::string("lapor-bench ") + lapor::build::kVersion + " (" +
                                        lapor::build::kRevision + ")");
  app.add_option("--rates", s.rates,
                 "offered loads of the sweep, complaints/s, comma-separated; 'max' = as fast as "
                 "complaints complete (a fixed window in flight)")
      ->capture_default_str();
  app.add_option("--scale-rates", s.scale_rates,
                 "loads run again with two instances of routing, notification and sla-monitor; "
                 "empty to skip")
      ->capture_default_str();
  app.add_option("--step-seconds", s.step_seconds, "how long each step sends")
      ->capture_default_str();
  app.add_option("--min-step-complaints", s.min_step_complaints,
                 "a step at a fixed rate sends at least this many complaints, longer than "
                 "--step-seconds if it must (a p99 of fewer than 100 samples is their maximum); "
                 "0 for --step-seconds alone")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--warmup-seconds", s.warmup_seconds,
                 "unreported warm-up before the baselines and the sweep, every category in turn: "
                 "at least this long, then in rounds until the broker's JIT compilers settle "
                 "(--warmup-jit-below); 0 to skip")
      ->capture_default_str();
  app.add_option("--warmup-jit-below", s.warmup_jit_below,
                 "the warm-up ends once the broker's JIT compiler threads used less than this "
                 "share of one core over a round")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--warmup-max-seconds", s.warmup_max_seconds,
                 "the warm-up ends after this long even if the broker's JIT has not settled")
      ->capture_default_str();
  app.add_option("--warmup-round-seconds", s.warmup_round_seconds,
                 "length of each warm-up round after the first")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup-rate", s.warmup_rate, "complaints/s of both warm-ups")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--scale-warmup-seconds", s.scale_warmup_seconds,
                 "unreported warm-up after the second instances start (warms the new members); "
                 "0 to skip")
      ->capture_default_str();
  app.add_option(
         "--drain-seconds", s.drain_seconds,
         "how long a step waits for its last deliveries before the next begins (later ones count "
         "as late; what has not arrived after another wait this long at the end, as lost)")
      ->capture_default_str();
  app.add_option("--window", s.window, "'max' steps: complaints in flight end to end")
      ->capture_default_str();
  app.add_option("--max-in-flight", s.max_in_flight,
                 "fixed-rate steps: submissions awaiting an answer before sending holds back")
      ->capture_default_str();
  app.add_option("--max-open", s.max_open,
                 "fixed-rate steps: complaints not yet delivered before sending holds back "
                 "(what is still held back at the end of the step is reported unsent)")
      ->capture_default_str();
  app.add_option("--baseline-seconds", s.baseline_seconds,
                 "length of the latency phase of both Kafka hops and of the gRPC baseline")
      ->capture_default_str();
  app.add_option("--kafka-rate", s.kafka_rate,
                 "messages/s of the latency phase of both Kafka hops (raw and transactional)")
      ->capture_default_str();
  app.add_option("--kafka-messages", s.kafka_messages,
                 "messages produced flat out for the throughput phase of both Kafka hops")
      ->capture_default_str();
  app.add_option("--grpc-threads", s.grpc_threads, "callers of the gRPC throughput phase")
      ->capture_default_str();
  app.add_option("--linger-ms", s.linger_ms,
                 "linger.ms of the baseline producer (match the services' kafka.linger_ms)")
      ->capture_default_str();
  app.add_option("--seed", s.seed, "seed of the complaint mix")->capture_default_str();
  app.add_option("--log-level", s.log_level, "log level of the services")->capture_default_str();
  app.add_option("--acknowledge", s.acknowledge,
                 "how the agencies acknowledge: 'batch' (AcknowledgeBatch, what an agency has read "
                 "while its call was out, up to 500 in one call) or 'single' (Acknowledge, one "
                 "call per assignment)")
      ->check(CLI::IsMember({"batch", "single"}))
      ->capture_default_str();
  app.add_option("--submit", s.submit,
                 "how the publisher submits: 'batch' (SubmitComplaints, what came due while its "
                 "call was out, up to 500 in one call) or 'single' (SubmitComplaint, one call "
                 "per complaint)")
      ->check(CLI::IsMember({"batch", "single"}))
      ->capture_default_str();
  app.add_option("--service-env", s.service_env,
                 "LAPOR_SECTION_KEY=VALUE passed to every service (repeatable), e.g. "
                 "LAPOR_KAFKA_LINGER_MS=0");
  app.add_option("--agencies", s.agencies_file, "agency directory the mix is drawn from")
      ->capture_default_str();
  app.add_option("--json", s.json_path, "write the JSON result here");
  app.add_option("--table", s.table_path, "write the table here as well");
  app.add_option("--samples", s.samples_path,
                 "write one CSV line per complaint here (step number as in the JSON's index)");
  s.credentials.api_key = lapor::bench::envOr("LAPOR_BENCH_API_KEY", "");
  s.credentials.agency_token = lapor::bench::envOr("LAPOR_BENCH_AGENCY_TOKEN", "lapor-demo-{agency}");
  app.add_option("--api-key", s.credentials.api_key,
                 "sent as x-api-key on intake calls when set (env LAPOR_BENCH_API_KEY)");
  app.add_option("--agency-token", s.credentials.agency_token,
                 "sent as 'authorization: Bearer <token>' on AgencyService calls, '{agency}' "
                 "replaced by the agency id; empty: none (env LAPOR_BENCH_AGENCY_TOKEN; default: "
                 "the local demo tokens)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return lapor::app::usageExit(app, e);
  }

  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  try {
    return lapor::bench::run(s, command);
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "lapor-bench: " << e.what() << "\n";
    return 2;
  }
}
