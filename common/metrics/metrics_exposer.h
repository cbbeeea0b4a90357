// Prometheus pull endpoint: /metrics on the configured address, one registry per service, plus
// the process_* metrics and lapor_build_info every service exports.
#pragma once

#include "metrics/process_collector.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace lapor::metrics {

class MetricsExposer {
 public:
  // bind_address as "127.0.0.1:9100"; throws when the port cannot be bound.
  explicit MetricsExposer(const std::string& bind_address);

  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared() { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ProcessCollector> process_;
  std::shared_ptr<BuildInfoCollector> build_info_;
  prometheus::Exposer exposer_;
};

}  // namespace lapor::metrics
