// lapor-bench-sla: the SLA monitor's lifecycle handler alone against a private Redis. The same
// complaints' events, as a reader at load takes them in polls, go through the handler's batch
// path round after round (each on an emptied Redis); each round reports what Redis and the
// handler spent per complaint, and the commands, script calls and bytes Redis took. Without the
// broker, the other services and the load generator on the machine, a change to the monitor's
// store shows here with a fraction of the pipeline bench's spread (bench/sla_replay.sh starts
// the Redis; docs/performance.md).
#include "domain/sla_policy.h"
#include "domain/work_calendar.h"
#include "events/envelope.h"
#include "lifecycle_events.h"
#include "log/logger.h"
#include "measure.h"
#include "obligation_store.h"
#include "redis/redis_client.h"
#include "sla_handler.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <prometheus/registry.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace lapor::bench {
namespace {

// A complaint's life as the monitor reads it: submitted, routed to two agencies, both
// acknowledge, the lead resolves.
std::vector<v1::EventEnvelope> lifeOf(const std::string& cid, int64_t t0) {
  using E = v1::EventEnvelope;
  std::vector<E> out;
  out.push_back(testing::submittedEvent(cid, v1::PRIORITY_HIGH, "fire",
                                        "Kebakaran gudang dekat pasar", 600, t0 - 1'000));
  out.push_back(
      testing::routedEvent(cid, v1::PRIORITY_HIGH, "fire", {"disdamkar", "rsud-kudungga"}, t0));
  int64_t at = t0 + 60'000;
  for (const char* agency : {"disdamkar", "rsud-kudungga"})
    out.push_back(testing::agencyEvent(cid, agency, at += 1'000, &E::mutable_acknowledged).first);
  auto resolved =
      testing::agencyEvent(cid, "disdamkar", t0 + 3'600'000, &E::mutable_resolved);
  resolved.second->set_resolution("Api padam");
  out.push_back(resolved.first);
  return out;
}

double ownCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Redis's counters now (measure.h), both sections in one INFO.
RedisWork redisWork(redis::RedisClient& r) {
  return parseRedisInfo(r.command({"INFO", "commandstats", "stats"}).str);
}

int run(int argc, char** argv) {
  CLI::App app{
      "lapor-bench-sla: the SLA monitor's lifecycle handler alone against a private Redis "
      "(LAPOR_REDIS_HOST, LAPOR_REDIS_PORT, LAPOR_BENCH_REDIS_PID: an empty Redis of its own, "
      "emptied between rounds; bench/sla_replay.sh starts one)."};
  int complaints = 5000, rounds = 4, interleave = 20;
  size_t poll = 100;
  app.add_option("--complaints", complaints, "complaints per round")->check(CLI::PositiveNumber);
  app.add_option("--rounds", rounds, "rounds, each on an emptied Redis")
      ->check(CLI::PositiveNumber);
  app.add_option("--poll", poll, "events per batch, as one poll returns them")
      ->check(CLI::PositiveNumber);
  app.add_option("--interleave", interleave,
                 "complaints whose events are interleaved in the topic, round by round")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  const char* host = std::getenv("LAPOR_REDIS_HOST");
  const char* port = std::getenv("LAPOR_REDIS_PORT");
  const char* redis_pid = std::getenv("LAPOR_BENCH_REDIS_PID");
  if (!host || !port || !redis_pid) {
    std::cerr << "LAPOR_REDIS_HOST, LAPOR_REDIS_PORT and LAPOR_BENCH_REDIS_PID are required "
                 "(bench/sla_replay.sh sets them)\n";
    return 2;
  }
  const pid_t redis_process = static_cast<pid_t>(std::stol(redis_pid));
  const log::Logger quiet("bench-sla", log::Level::Error);
  const auto policy = sla::SlaPolicy::defaults();
  const sla::WorkCalendar calendar("Asia/Makassar", {});
  prometheus::Registry registry;
  sla::SlaMetrics metrics(registry);

  redis::RedisOptions o;
  o.host = host;
  o.port = std::stoi(port);
  {
    // Each round starts from an empty data set (FLUSHALL), so only a Redis of its own will do.
    redis::RedisClient r(o, quiet);
    if (const auto keys = r.command({"DBSIZE"}).integer; keys != 0) {
      std::cerr << "Redis at " << host << ":" << port << " holds " << keys
                << " keys; lapor-bench-sla empties it between rounds, so it needs one of its own "
                   "(bench/sla_replay.sh starts one)\n";
      return 2;
    }
  }
  fmt::print("{:>5} {:>10} {:>8} {:>16} {:>18} {:>11} {:>13} {:>14}\n", "round", "complaints",
             "events", "redis us/compl", "handler us/compl", "commands", "script calls",
             "bytes in");
  for (int round = 1; round <= rounds; ++round) {
    o.prefix = fmt::format("bench-sla-{}:", round);
    redis::RedisClient redis(o, quiet);
    redis.command({"FLUSHALL"});
    sla::ObligationStore store(redis, std::chrono::hours(24));
    sla::LifecycleHandler handler(store, policy, calendar, quiet, metrics);
    const int64_t t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    std::vector<kafka::Message> topic;
    int64_t offset = 0;
    for (int first = 0; first < complaints; first += interleave) {
      std::vector<std::vector<v1::EventEnvelope>> lives;
      for (int k = first; k < std::min(complaints, first + interleave); ++k)
        lives.push_back(lifeOf(fmt::format("bench-sla-{}-{}", round, k), t0));
      for (size_t e = 0; e < lives.front().size(); ++e)
        for (const auto& life : lives) topic.push_back(testing::lifecycleMessage(life[e], offset++));
    }
    // The scripts loaded before the clock starts, as in a monitor that has run for a while.
    handler.handleBatch({topic.front()});
    const auto work0 = redisWork(redis);
    const double redis_cpu0 = cpuSeconds(redis_process), own0 = ownCpuSeconds();
    size_t retried = 0;
    for (size_t i = 1; i < topic.size(); i += poll) {
      const std::vector<kafka::Message> batch(topic.begin() + static_cast<std::ptrdiff_t>(i),
                                              topic.begin() + static_cast<std::ptrdiff_t>(
                                                                  std::min(topic.size(), i + poll)));
      for (const auto& r : handler.handleBatch(batch))
        if (r.outcome != kafka::Outcome::Done) ++retried;
    }
    const double own = ownCpuSeconds() - own0, redis_cpu = cpuSeconds(redis_process) - redis_cpu0;
    const auto work = redisWork(redis) - work0;
    if (retried) {
      std::cerr << retried << " events not done in round " << round << "\n";
      return 1;
    }
    const double n = complaints;
    fmt::print("{:>5} {:>10} {:>8} {:>16.1f} {:>18.1f} {:>11.1f} {:>13.2f} {:>14.0f}\n", round,
               complaints, topic.size(), redis_cpu * 1e6 / n, own * 1e6 / n,
               static_cast<double>(work.commands) / n, static_cast<double>(work.script_calls) / n,
               static_cast<double>(work.bytes_in) / n);
    std::cout.flush();
  }
  return 0;
}

}  // namespace
}  // namespace lapor::bench

int main(int argc, char** argv) { return lapor::bench::run(argc, argv); }
