// The routing service as a process for integration tests: its environment (own consumer group,
// Redis prefix, instance id), readiness through RoutingAdmin, and lifecycle envelopes.
#pragma once

#include "kafka/producer.h"
#include "lapor/v1/events.pb.h"
#include "lapor/v1/routing_admin.grpc.pb.h"
#include "process.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lapor::integration {

struct RoutingRun {
  std::string group;         // consumer group shared by the instances of one test
  std::string redis_prefix;  // state of this test only
  std::string agencies_file;
  std::map<std::string, std::string> extra_env;
};

// A new run whose group starts at the current end of the topics routing reads, so it does not
// route what earlier tests left there.
RoutingRun newRoutingRun(const std::string& agencies_file);

class RoutingInstance {
 public:
  // Starts lapor-routing with instance id `instance` and waits until RoutingAdmin answers.
  RoutingInstance(const RoutingRun& run, const std::string& instance);
  testing::ChildProcess& process() { return *process_; }
  v1::RoutingAdmin::Stub& admin() { return *stub_; }
  // Its gRPC address (host:port), for clients of its own such as lapor-cli.
  const std::string& address() const { return address_; }
  // The text of its /metrics page ("" when it does not answer).
  std::string metrics() const;
  // Lines of its log that contain `text`.
  size_t logLines(const std::string& text) const;

 private:
  std::unique_ptr<testing::ChildProcess> process_;
  std::unique_ptr<v1::RoutingAdmin::Stub> stub_;
  int metrics_port_ = 0;
  std::string address_;
};

// A `submitted` envelope for a new complaint (ids random, event id = "submitted-" + id).
v1::EventEnvelope submittedEnvelope(const std::string& category, const std::string& kecamatan,
                                    const std::string& description = "");

// Producer options for the test's own producer of input events.
inline kafka::ProducerOptions inputProducer(const std::string& brokers) {
  kafka::ProducerOptions o;
  o.brokers = brokers;
  o.client_id = "lapor-routing-test";
  return o;
}

// The shipped agency directory of the source tree.
std::string shippedAgencies();

}  // namespace lapor::integration
