// Latency percentiles, process CPU time from /proc and a description of the machine.
#pragma once

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>

#include <string>
#include <vector>

namespace lapor::bench {

// Milliseconds. Percentiles are nearest-rank over all samples (no histogram buckets), so
// p99.9 and max are the real values seen.
struct LatencySummary {
  size_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

LatencySummary summarize(std::vector<double> samples_ms);

// How long a step at `rate` complaints a second (0 = as fast as it goes) sends: step_seconds,
// or long enough for min_complaints at that rate if that is longer. A p99 (nearest rank) of
// fewer than 100 samples is their maximum: a low rate's step needs the samples.
std::chrono::milliseconds stepDuration(double step_seconds, int64_t min_complaints, double rate);
nlohmann::json toJson(const LatencySummary& s);

// User + system CPU seconds of PID so far, its own and that of the children it waited for
// (fields 14 to 17 of /proc/PID/stat: Redis's append-only-file rewrites run in a child); -1 when
// the process is gone.
double cpuSeconds(pid_t pid);

// User + system CPU seconds so far of PID's threads whose name starts with one of the prefixes
// (/proc/PID/task/*/stat); 0 when none or the process is gone. The JVM names its JIT compiler
// threads "C1 CompilerThre" and "C2 CompilerThre".
double threadCpuSeconds(pid_t pid, const std::vector<std::string>& name_prefixes);
// The JIT compilers' share of the JVM PID: threadCpuSeconds of its C1 and C2 compiler threads.
double jitCpuSeconds(pid_t pid);

// What Redis did, from its INFO (sections commandstats and stats): every command it ran, the
// commands of scripts included (cmdstat_*:calls, INFO itself left out); of them, the script
// calls (EVAL, EVALSHA, FCALL and their read-only forms); and how many reads of its clients'
// sockets it took in (total_reads_processed: about one per round trip, a pipeline that arrives
// at once being one); and the bytes it took in (total_net_input_bytes: the commands with their
// values, about what its append-only file grows by).
struct RedisWork {
  int64_t commands = 0, script_calls = 0, reads = 0, bytes_in = 0;
};
RedisWork parseRedisInfo(const std::string& info);
RedisWork operator-(const RedisWork& a, const RedisWork& b);

// The machine's CPU pressure so far: seconds in which at least one runnable thread waited for
// a core (the "some" line's total= of /proc/pressure/cpu, in microseconds there); -1 when the
// kernel does not report it. Over a step, the difference divided by the step's seconds is the
// share of it in which processes were held back by the machine's other work, ours or not: what
// makes two runs of the same code differ on a shared machine.
double parseCpuPressure(const std::string& text);
double cpuPressureSeconds();

// The broker's request threads as its server.properties sets them (the later line of a key
// wins, as for the broker): "<network> network, <io> I/O", Kafka's defaults (3, 8) for a key
// not set; "" for no file.
std::string parseBrokerThreads(const std::string& properties);
std::string brokerThreads(const std::string& properties_file);

struct MachineInfo {
  unsigned nproc = 0;
  std::string cpu_model;
  double mem_gib = 0;
  std::string load_average;  // /proc/loadavg at the start: how busy the machine was
  std::string kernel;
};
MachineInfo describeMachine();
nlohmann::json toJson(const MachineInfo& m);

}  // namespace lapor::bench
