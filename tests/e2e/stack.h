// The four services as separate processes against the run's Kafka and Redis, each with its own
// ports, and the agencies' webhook receiver (lapor-webhook-receiver, as in the local stack) that
// the shipped notification.yaml sends the webhook agencies' items to.
#pragma once

#include "process.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace lapor::testing {

// A client context whose deadline is `timeout` from now.
inline std::unique_ptr<grpc::ClientContext> callContext(
    std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  return c;
}

struct ServiceEndpoints {
  int grpc_port = 0;
  int metrics_port = 0;
  std::string grpc() const { return "127.0.0.1:" + std::to_string(grpc_port); }
};

class Stack {
 public:
  static constexpr const char* kServices[] = {"intake", "routing", "notification", "sla-monitor"};

  // Settings for single services, by service name, applied after `extra_env`.
  struct ServiceEnv {
    std::map<std::string, std::map<std::string, std::string>> by_service;
  };

  // `extra_env` adds or overrides LAPOR_* settings for every service, `service_env` for some.
  explicit Stack(std::map<std::string, std::string> extra_env = {}, ServiceEnv service_env = {});
  ~Stack();

  const ServiceEndpoints& endpoint(const std::string& service) const {
    return endpoints_.at(service);
  }
  // A plaintext client of one of the services.
  template <class Service>
  std::unique_ptr<typename Service::Stub> stub(const std::string& service) const {
    return Service::NewStub(
        grpc::CreateChannel(endpoint(service).grpc(), grpc::InsecureChannelCredentials()));
  }
  ChildProcess& process(const std::string& service) { return *processes_.at(service); }
  const std::string& brokers() const { return brokers_; }
  // The Redis key prefix every service of this stack writes under.
  const std::string& redisPrefix() const { return redis_prefix_; }
  // The LAPOR_* environment every service got (without its own ports): for another instance.
  const std::map<std::string, std::string>& serviceEnv() const { return env_; }
  // Where the webhook receiver logs one JSON line per item it received.
  std::string webhookReceiverLog() const { return receiver_->logPath(); }
  // Stops every service with SIGTERM; returns a description of any that did not exit 0.
  std::string stopAll();
  std::string logs() const;

 private:
  std::string brokers_;
  std::string redis_prefix_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<ChildProcess> receiver_;
  std::map<std::string, ServiceEndpoints> endpoints_;
  std::map<std::string, std::unique_ptr<ChildProcess>> processes_;
};

}  // namespace lapor::testing
