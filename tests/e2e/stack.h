// The four services as separate processes against the run's Kafka and Redis, each with its own
// ports; short SLA deadlines so breaches happen within a test.
#pragma once

#include "process.h"

#include <map>
#include <memory>
#include <string>

namespace lapor::testing {

struct ServiceEndpoints {
  int grpc_port = 0;
  int metrics_port = 0;
  std::string grpc() const { return "127.0.0.1:" + std::to_string(grpc_port); }
};

class Stack {
 public:
  static constexpr const char* kServices[] = {"intake", "routing", "notification", "sla-monitor"};

  // `extra_env` adds or overrides LAPOR_* settings for every service.
  explicit Stack(std::map<std::string, std::string> extra_env = {});
  ~Stack();

  const ServiceEndpoints& endpoint(const std::string& service) const {
    return endpoints_.at(service);
  }
  ChildProcess& process(const std::string& service) { return *processes_.at(service); }
  const std::string& brokers() const { return brokers_; }
  // The Redis key prefix every service of this stack writes under.
  const std::string& redisPrefix() const { return redis_prefix_; }
  // Stops every service with SIGTERM; returns a description of any that did not exit 0.
  std::string stopAll();
  std::string logs() const;

 private:
  std::string brokers_;
  std::string redis_prefix_;
  std::map<std::string, ServiceEndpoints> endpoints_;
  std::map<std::string, std::unique_ptr<ChildProcess>> processes_;
};

}  // namespace lapor::testing
