// Registers the service's registry with prometheus-cpp's civetweb exposer.
#include "metrics/metrics_exposer.h"

#include "build_info.h"

namespace lapor::metrics {

MetricsExposer::MetricsExposer(const std::string& bind_address)
    : registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      build_info_(std::make_shared<BuildInfoCollector>(build::kVersion, build::kRevision)),
      exposer_(bind_address) {
  exposer_.RegisterCollectable(registry_);
  exposer_.RegisterCollectable(process_);
  exposer_.RegisterCollectable(build_info_);
}

}  // namespace lapor::metrics
