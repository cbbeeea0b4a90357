// /proc/self/stat fields by position (proc(5)): 14 utime, 15 stime, 22 starttime (clock ticks
// since boot), 23 vsize (bytes), 24 rss (pages). The command name (field 2) may hold spaces, so
// the fields are counted from its closing parenthesis.
#include "metrics/process_collector.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace lapor::metrics {

namespace {
// One family of a single unlabelled sample (a gauge unless `type` says counter).
prometheus::MetricFamily family(const std::string& name, const std::string& help, double value,
                                prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f{name, help, type, {}};
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(m);
  return f;
}

double bootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

int openFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (auto* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
    --n;  // the directory stream itself
  }
  return n;
}

double maxFds() {
  std::ifstream in("/proc/self/limits");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream s(line.substr(14));
      std::string soft;
      s >> soft;
      return soft == "unlimited" ? -1 : std::stod(soft);
    }
  return -1;
}
}  // namespace

ProcessCollector::ProcessCollector()
    : ticks_per_second_(sysconf(_SC_CLK_TCK)),
      page_size_(sysconf(_SC_PAGESIZE)),
      boot_time_seconds_(bootTime()) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream s(stat.substr(close + 2));
    std::vector<std::string> f;  // f[0] is field 3 (state)
    for (std::string x; s >> x;) f.push_back(x);
    auto field = [&](size_t n) { return n - 3 < f.size() ? std::stod(f[n - 3]) : 0.0; };
    const double tps = static_cast<double>(ticks_per_second_);
    out.push_back(family("process_cpu_seconds_total",
                        "Total user and system CPU time spent in seconds.",
                        (field(14) + field(15)) / tps, prometheus::MetricType::Counter));
    out.push_back(family("process_start_time_seconds",
                        "Start time of the process since unix epoch in seconds.",
                        boot_time_seconds_ + field(22) / tps));
    out.push_back(
        family("process_virtual_memory_bytes", "Virtual memory size in bytes.", field(23)));
    out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                        field(24) * static_cast<double>(page_size_)));
  }
  out.push_back(family("process_open_fds", "Number of open file descriptors.", openFds()));
  if (double max = maxFds(); max >= 0)
    out.push_back(family("process_max_fds", "Maximum number of open file descriptors.", max));
  return out;
}

BuildInfoCollector::BuildInfoCollector(std::string version, std::string revision)
    : version_(std::move(version)), revision_(std::move(revision)) {}

std::vector<prometheus::MetricFamily> BuildInfoCollector::Collect() const {
  auto f = family("lapor_build_info",
                 "Always 1; the labels say which build of Lapor answers on this endpoint.", 1);
  f.metric[0].label = {{"version", version_}, {"revision", revision_}};
  return {f};
}

}  // namespace lapor::metrics
