// The standard process_* metrics (Prometheus' client conventions: CPU time, memory, open file
// descriptors, start time) read from /proc/self at each scrape, and lapor_build_info.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace lapor::metrics {

class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  long ticks_per_second_;
  long page_size_;
  double boot_time_seconds_;  // btime of /proc/stat: start times are counted from it
};

// lapor_build_info{version, revision} 1: which build answers on this endpoint.
class BuildInfoCollector final : public prometheus::Collectable {
 public:
  BuildInfoCollector(std::string version, std::string revision);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string version_;
  std::string revision_;
};

}  // namespace lapor::metrics
