// Registers the service's registry with prometheus-cpp's civetweb exposer.
#include "metrics/metrics_exposer.h"

namespace lapor::metrics {

MetricsExposer::MetricsExposer(const std::string& bind_address)
    : registry_(std::make_shared<prometheus::Registry>()), exposer_(bind_address) {
  exposer_.RegisterCollectable(registry_);
}

}  // namespace lapor::metrics
