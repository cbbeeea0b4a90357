// The harness's own pure parts: the complaint mix is what intake accepts and reaches the
// agencies the shipped rules name; percentiles are exact nearest-rank values; the report
// carries every figure the table prints (emergency rows, the transactional hop).
#include "domain/validation.h"
#include "measure.h"
#include "report.h"
#include "workload.h"

#include <gtest/gtest.h>

#include <fstream>

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <set>

namespace lapor::bench {
namespace {

const agencies::AgencyDirectory& directory() {
  static const auto d =
      agencies::AgencyDirectory::loadFile(LAPOR_SOURCE_DIR "/deploy/config/agencies.yaml");
  return d;
}

TEST(Workload, EveryComplaintIsValidForIntake) {
  Workload w(directory(), 7);
  for (int i = 0; i < 2000; ++i) {
    const auto item = w.next();
    const auto violations = intake::validateSubmission(item.request, directory());
    ASSERT_TRUE(violations.empty()) << "complaint " << i << ": " << violations.front().field << " "
                                    << violations.front().description;
  }
}

TEST(Workload, MixCoversEveryCategoryAndSizeClassWithKnownAgencies) {
  Workload w(directory(), 7);
  std::map<std::string, int> categories;
  size_t longest = 0, shortest = SIZE_MAX;
  for (int i = 0; i < 5000; ++i) {
    const auto item = w.next();
    ++categories[item.request.category()];
    longest = std::max(longest, item.request.description().size());
    shortest = std::min(shortest, item.request.description().size());
    ASSERT_FALSE(item.agencies.empty());
    for (const auto& a : item.agencies) EXPECT_NE(directory().find(a), nullptr) << a;
  }
  EXPECT_EQ(categories.size(), directory().categories().size());
  EXPECT_GT(categories["road-damage"], categories["landslide"]);
  EXPECT_GT(longest, 1500u);
  EXPECT_LT(shortest, 400u);
}

TEST(Workload, ExpectedAgenciesFollowTheShippedRules) {
  Workload w(directory(), 7);
  w.setRoundRobin(true);
  std::map<std::string, std::set<std::string>> seen;
  for (size_t i = 0; i < directory().categories().size(); ++i) {
    const auto item = w.next();
    seen[item.request.category()] = {item.agencies.begin(), item.agencies.end()};
  }
  // Round robin reaches every category in one turn.
  EXPECT_EQ(seen.size(), directory().categories().size());
  EXPECT_EQ(seen["fire"], (std::set<std::string>{"disdamkar", "rsud-kudungga", "polres-kutim"}));
  EXPECT_EQ(seen["other"], (std::set<std::string>{"triage"}));
}

TEST(Workload, SameSeedSameComplaints) {
  Workload a(directory(), 11), b(directory(), 11);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(a.next().request.SerializeAsString(), b.next().request.SerializeAsString());
}

TEST(Summarize, NearestRankPercentiles) {
  std::vector<double> samples;
  for (int i = 1000; i >= 1; --i) samples.push_back(i);
  const auto s = summarize(samples);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_DOUBLE_EQ(s.p50, 500);
  EXPECT_DOUBLE_EQ(s.p90, 900);
  EXPECT_DOUBLE_EQ(s.p99, 990);
  EXPECT_DOUBLE_EQ(s.p999, 999);
  EXPECT_DOUBLE_EQ(s.max, 1000);
  EXPECT_DOUBLE_EQ(s.mean, 500.5);
}

TEST(Summarize, EmptyAndSingle) {
  EXPECT_EQ(summarize({}).count, 0u);
  const auto one = summarize({3.5});
  EXPECT_DOUBLE_EQ(one.p50, 3.5);
  EXPECT_DOUBLE_EQ(one.p999, 3.5);
}

RunReport reportWithOneStep() {
  RunReport r;
  r.kafka.rate = r.transactional.rate = 1000;
  r.kafka.latency = summarize({2, 4, 6});
  r.transactional.latency = summarize({10, 20, 40});
  r.grpc.latency = summarize({0.1});
  StepResult s;
  s.name = "100/s";
  s.offered_rate = 100;
  s.completed = 3;
  s.delivered = summarize({30, 50, 80});
  s.emergency_accepted = 2;
  s.emergency_submit = summarize({5, 7});
  s.emergency_delivered = summarize({30, 80});
  r.steps.push_back(s);
  return r;
}

TEST(Report, JsonHasTheEmergencyFiguresAndTheTransactionalHop) {
  const auto j = toJson(reportWithOneStep());
  const auto& step = j.at("steps").at(0);
  EXPECT_EQ(step.at("emergency").at("accepted"), 2);
  EXPECT_EQ(step.at("emergency").at("completed"), 2);
  for (const char* p : {"p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"}) {
    EXPECT_TRUE(step.at("emergency").at("delivered_latency").contains(p)) << p;
    EXPECT_TRUE(step.at("emergency").at("submit_latency").contains(p)) << p;
  }
  EXPECT_DOUBLE_EQ(step.at("emergency").at("delivered_latency").at("max_ms"), 80);
  EXPECT_DOUBLE_EQ(step.at("ratios").at("delivered_p99_over_transactional_p99"), 2.0);
  const auto& txn = j.at("baselines").at("transactional");
  EXPECT_DOUBLE_EQ(txn.at("latency").at("p99_ms"), 40);
  EXPECT_TRUE(txn.contains("throughput_per_second"));
  EXPECT_TRUE(txn.contains("transactions_aborted"));
}

TEST(Report, TableHasAnEmergencyLineUnderEachStepAndTheTransactionalHop) {
  const auto table = renderTable(reportWithOneStep());
  EXPECT_NE(table.find("  txn hop "), std::string::npos) << table;
  EXPECT_NE(table.find("p99/txn"), std::string::npos) << table;
  const auto step = table.find("\n100/s ");
  ASSERT_NE(step, std::string::npos) << table;
  const auto next = table.find('\n', step + 1);
  EXPECT_EQ(table.compare(next + 1, 11, "  emergency"), 0) << table;
  EXPECT_NE(table.find("2 of 2 delivered"), std::string::npos) << table;
}

// The counters as Redis 7 prints them (CRLF lines, section headers, subcommands).
TEST(RedisWork, CommandsScriptCallsAndReadsFromInfo) {
  const std::string info =
      "# Commandstats\r\n"
      "cmdstat_hset:calls=40,usec=120,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r\n"
      "cmdstat_evalsha:calls=7,usec=300,usec_per_call=42.86,rejected_calls=0,failed_calls=0\r\n"
      "cmdstat_eval:calls=1,usec=50,usec_per_call=50.00,rejected_calls=0,failed_calls=0\r\n"
      "cmdstat_client|setname:calls=2,usec=1,usec_per_call=0.50,rejected_calls=0,failed_calls=0\r\n"
      "cmdstat_info:calls=9,usec=900,usec_per_call=100.00,rejected_calls=0,failed_calls=0\r\n"
      "\r\n# Stats\r\n"
      "total_commands_processed:59\r\n"
      "total_reads_processed:12\r\n"
      "total_net_input_bytes:4096\r\n"
      "total_writes_processed:11\r\n";
  const auto w = parseRedisInfo(info);
  EXPECT_EQ(w.commands, 50) << "every command but INFO, the measurement's own";
  EXPECT_EQ(w.script_calls, 8);
  EXPECT_EQ(w.reads, 12);
  EXPECT_EQ(w.bytes_in, 4096);
  const auto d = w - parseRedisInfo(
                         "cmdstat_hset:calls=10,usec=1\ntotal_reads_processed:2\n"
                         "total_net_input_bytes:1024\n");
  EXPECT_EQ(d.commands, 40);
  EXPECT_EQ(d.script_calls, 8);
  EXPECT_EQ(d.reads, 10);
  EXPECT_EQ(d.bytes_in, 3072);
}

TEST(Report, RedisWorkPerComplaintInTheJsonAndTheTable) {
  auto r = reportWithOneStep();
  EXPECT_TRUE(toJson(r).at("steps").at(0).at("redis").is_null()) << "not measured";
  r.steps[0].redis_measured = true;
  r.steps[0].redis = {600, 30, 90, 45000};
  const auto redis = toJson(r).at("steps").at(0).at("redis");
  EXPECT_DOUBLE_EQ(redis.at("commands_per_complaint"), 200);
  EXPECT_DOUBLE_EQ(redis.at("script_calls_per_complaint"), 10);
  EXPECT_DOUBLE_EQ(redis.at("reads_per_complaint"), 30);
  EXPECT_DOUBLE_EQ(redis.at("bytes_in_per_complaint"), 15000);
  const auto table = renderTable(r);
  const auto head = table.find("Redis per complaint");
  ASSERT_NE(head, std::string::npos) << table;
  const auto row = table.find("\n100/s ", head);
  ASSERT_NE(row, std::string::npos) << table;
  const auto line = table.substr(row + 1, table.find('\n', row + 1) - row - 1);
  EXPECT_NE(line.find("200.0"), std::string::npos) << line;
  EXPECT_NE(line.find("10.00"), std::string::npos) << line;
  EXPECT_NE(line.find("30.00"), std::string::npos) << line;
  EXPECT_NE(line.find("15000"), std::string::npos) << line;
}

TEST(StepDuration, ALowRatesStepSendsTheComplaintsItsPercentilesNeed) {
  using std::chrono::milliseconds;
  EXPECT_EQ(stepDuration(4, 2000, 100), milliseconds(20'000)) << "2,000 at 100/s";
  EXPECT_EQ(stepDuration(4, 2000, 1000), milliseconds(4'000)) << "4,000 in the 4 s anyway";
  EXPECT_EQ(stepDuration(4, 2000, 0), milliseconds(4'000)) << "max: as long as asked";
  EXPECT_EQ(stepDuration(4, 0, 100), milliseconds(4'000)) << "0: the seconds alone";
  EXPECT_EQ(stepDuration(2.5, 2000, 5000), milliseconds(2'500));
}

TEST(CpuSeconds, OwnProcessIsReadAndAGoneOneIsMinusOne) {
  EXPECT_GE(cpuSeconds(getpid()), 0.0);
  EXPECT_EQ(cpuSeconds(-1), -1.0);
}

// Redis rewrites its append-only file in a child it forks and waits for: the child's CPU is the
// parent's to account for.
TEST(CpuSeconds, CountsTheChildrenTheProcessWaitedFor) {
  const double before = cpuSeconds(getpid());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    timespec t{};
    volatile unsigned long spin = 0;
    do {
      for (int i = 0; i < 100000; ++i) spin = spin + 1;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while (t.tv_sec < 1 && t.tv_nsec < 300'000'000);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  // The parent slept in waitpid: what it gained is the child's 0.3 s (ticks of 10 ms).
  EXPECT_GE(cpuSeconds(getpid()) - before, 0.25);
}

// The broker's request threads from its server.properties: the later line wins, Kafka's
// defaults for what is not set.
TEST(BrokerThreads, FromTheBrokersProperties) {
  EXPECT_EQ(parseBrokerThreads("node.id=1\nnum.network.threads=1\nnum.io.threads=2\n"),
            "1 network, 2 I/O");
  EXPECT_EQ(parseBrokerThreads("num.io.threads=2\nnum.io.threads=4\n"), "3 network, 4 I/O");
  EXPECT_EQ(parseBrokerThreads(""), "3 network, 8 I/O");
  EXPECT_EQ(brokerThreads("/nonexistent/server.properties"), "");
}

// /proc/pressure/cpu: the "some" line's total (microseconds), in seconds; "full" is not it.
TEST(CpuPressure, TheSomeLinesTotalInSeconds) {
  EXPECT_DOUBLE_EQ(parseCpuPressure("some avg10=0.09 avg60=17.16 avg300=32.57 total=13395761666\n"
                                    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
                   13395.761666);
  EXPECT_DOUBLE_EQ(parseCpuPressure("full avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"
                                    "some avg10=1.00 avg60=1.00 avg300=1.00 total=2500000\n"),
                   2.5);
  EXPECT_EQ(parseCpuPressure(""), -1);
  EXPECT_EQ(parseCpuPressure("some avg10=0.09 avg60=17.16 avg300=32.57\n"), -1);
  EXPECT_EQ(parseCpuPressure("some total=many\n"), -1);
  // This machine's: readable where the kernel has it, and it does not go back.
  if (std::ifstream("/proc/pressure/cpu")) {
    const double a = cpuPressureSeconds();
    EXPECT_GE(a, 0);
    EXPECT_GE(cpuPressureSeconds(), a);
  } else {
    EXPECT_EQ(cpuPressureSeconds(), -1);
  }
}

}  // namespace
}  // namespace lapor::bench
