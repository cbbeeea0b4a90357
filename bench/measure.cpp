// Measurements that read the kernel's own accounting: /proc/PID/stat, /proc/cpuinfo, ...
#include "measure.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

namespace lapor::bench {

namespace {
double nearestRank(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}
}  // namespace

std::chrono::milliseconds stepDuration(double step_seconds, int64_t min_complaints, double rate) {
  double seconds = step_seconds;
  if (rate > 0 && min_complaints > 0)
    seconds = std::max(seconds, static_cast<double>(min_complaints) / rate);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
}

LatencySummary summarize(std::vector<double> samples_ms) {
  LatencySummary s;
  s.count = samples_ms.size();
  if (samples_ms.empty()) return s;
  std::sort(samples_ms.begin(), samples_ms.end());
  s.mean = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0) /
           static_cast<double>(samples_ms.size());
  s.p50 = nearestRank(samples_ms, 0.50);
  s.p90 = nearestRank(samples_ms, 0.90);
  s.p99 = nearestRank(samples_ms, 0.99);
  s.p999 = nearestRank(samples_ms, 0.999);
  s.max = samples_ms.back();
  return s;
}

nlohmann::json toJson(const LatencySummary& s) {
  return {{"count", s.count}, {"mean_ms", s.mean}, {"p50_ms", s.p50}, {"p90_ms", s.p90},
          {"p99_ms", s.p99},  {"p999_ms", s.p999}, {"max_ms", s.max}};
}

namespace {
// Fields 14 and 15 (utime, stime) of a /proc stat file, in seconds, and with `children` fields
// 16 and 17 too (cutime, cstime: the children the process waited for, such as Redis's
// append-only-file rewrites); -1 when unreadable.
double statCpuSeconds(const std::string& path, bool children = false) {
  std::ifstream in(path);
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  // comm (field 2) may hold spaces and parentheses: fields 3.. follow the last ") ".
  const auto close = stat.rfind(") ");
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  unsigned long long ticks = 0;
  const int last = children ? 17 : 15;
  for (int i = 3; i <= last && rest >> field; ++i)
    if (i >= 14) ticks += std::stoull(field);
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}
}  // namespace

double cpuSeconds(pid_t pid) {
  return statCpuSeconds("/proc/" + std::to_string(pid) + "/stat", true);
}

double threadCpuSeconds(pid_t pid, const std::vector<std::string>& name_prefixes) {
  double total = 0;
  std::error_code ec;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& t : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream comm(t.path() / "comm");
    std::string name;
    if (!std::getline(comm, name)) continue;  // the thread ended meanwhile
    const bool wanted = std::any_of(name_prefixes.begin(), name_prefixes.end(),
                                    [&](const std::string& p) { return name.rfind(p, 0) == 0; });
    if (!wanted) continue;
    if (const double secs = statCpuSeconds((t.path() / "stat").string()); secs > 0) total += secs;
  }
  return total;
}

double jitCpuSeconds(pid_t pid) {
  return threadCpuSeconds(pid, {"C1 CompilerThre", "C2 CompilerThre"});
}

RedisWork parseRedisInfo(const std::string& info) {
  RedisWork w;
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto key = line.substr(0, colon);
    if (key == "total_reads_processed") {
      w.reads = std::stoll(line.substr(colon + 1));
      continue;
    }
    if (key == "total_net_input_bytes") {
      w.bytes_in = std::stoll(line.substr(colon + 1));
      continue;
    }
    // cmdstat_<command>:calls=N,usec=...; subcommands as cmdstat_<command>|<sub>.
    constexpr std::string_view kStat = "cmdstat_";
    if (key.rfind(kStat, 0) != 0 || line.compare(colon + 1, 6, "calls=") != 0) continue;
    const auto command = key.substr(kStat.size());
    if (command == "info") continue;  // the measurement's own
    const int64_t calls = std::stoll(line.substr(colon + 7));
    w.commands += calls;
    for (const char* script : {"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})
      if (command == script) w.script_calls += calls;
  }
  return w;
}

double parseCpuPressure(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("some ", 0) != 0) continue;
    const auto at = line.find("total=");
    if (at == std::string::npos) return -1;
    try {
      return static_cast<double>(std::stoll(line.substr(at + 6))) / 1e6;
    } catch (const std::exception&) {
      return -1;
    }
  }
  return -1;
}

std::string parseBrokerThreads(const std::string& properties) {
  std::string network = "3", io = "8";
  std::istringstream in(properties);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("num.network.threads=", 0) == 0) network = line.substr(20);
    if (line.rfind("num.io.threads=", 0) == 0) io = line.substr(15);
  }
  return network + " network, " + io + " I/O";
}

namespace {
// A whole file's text; nullopt when it cannot be opened.
std::optional<std::string> readText(const std::string& path) {
  std::ifstream f(path);
  if (!f) return std::nullopt;
  std::stringstream text;
  text << f.rdbuf();
  return text.str();
}
}  // namespace

std::string brokerThreads(const std::string& properties_file) {
  const auto text = readText(properties_file);
  return text ? parseBrokerThreads(*text) : "";
}

double cpuPressureSeconds() {
  const auto text = readText("/proc/pressure/cpu");
  return text ? parseCpuPressure(*text) : -1;
}

RedisWork operator-(const RedisWork& a, const RedisWork& b) {
  return {a.commands - b.commands, a.script_calls - b.script_calls, a.reads - b.reads,
          a.bytes_in - b.bytes_in};
}

MachineInfo describeMachine() {
  MachineInfo m;
  m.nproc = std::thread::hardware_concurrency();
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      m.cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    if (key == "MemTotal:") {
      double kib = 0;
      meminfo >> kib;
      m.mem_gib = kib / (1024.0 * 1024.0);
      break;
    }
    meminfo.ignore(1 << 12, '\n');
  }
  std::ifstream loadavg("/proc/loadavg");
  std::getline(loadavg, m.load_average);
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  return m;
}

nlohmann::json toJson(const MachineInfo& m) {
  return {{"nproc", m.nproc},
          {"cpu_model", m.cpu_model},
          {"mem_gib", m.mem_gib},
          {"load_average_at_start", m.load_average},
          {"kernel", m.kernel}};
}

}  // namespace lapor::bench
