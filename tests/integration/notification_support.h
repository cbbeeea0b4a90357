// One lapor-notification process for integration tests, with its own config file (agency
// tokens, optional webhooks, TLS), Redis prefix and consumer group; and the functions the
// notification tests share: producing dispatch items, agency stubs with a token.
#pragma once

#include "integration_support.h"
#include "lapor/v1/agency_service.grpc.pb.h"
#include "lapor/v1/events.pb.h"
#include "process.h"

#include <grpcpp/grpcpp.h>

#include <csignal>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace lapor::integration {

struct NotificationOptions {
  std::map<std::string, std::string> tokens;  // agency -> plain token (stored hashed)
  std::string extra_access_yaml;              // more lines under `access:` (webhooks), indented
  std::string extra_yaml;                     // more top-level sections
  std::map<std::string, std::string> env;
  // The agencies of deploy/config/agencies.yaml, each with `delivery: {channel: stream}`
  // unless given here (agency -> the YAML of its `delivery`, e.g. "{channel: kafka, group: g}"),
  // so a test configures webhooks only for the agencies it tests them with.
  std::map<std::string, std::string> delivery;
  // deploy/config/agencies.yaml exactly as shipped (its webhook agencies need webhooks).
  bool shipped_directory = false;
};

// The agency directory for `options` in the run directory (or the shipped file); its path.
std::string agencyDirectoryFor(const NotificationOptions& options, const std::string& name);

class NotificationProcess {
 public:
  // Writes its config and, unless `start_now` is false, starts it.
  explicit NotificationProcess(NotificationOptions options, bool start_now = true);
  ~NotificationProcess();

  // Starts (again) with the same config, Redis prefix and group; waits until it answers.
  void start();
  // Starts it and waits for it to exit by itself (a configuration it refuses): the exit code,
  // or nullopt when it still runs after `timeout` (it is then stopped). The log: logTail().
  std::optional<int> runExpectingExit(std::chrono::milliseconds timeout);
  // SIGTERM (or `sig`) and wait for the exit.
  void stop(int sig = SIGTERM);
  // Writes the config again with `options` (for token rotation); the process is not told.
  void rewriteConfig(const NotificationOptions& options);
  void signal(int sig);

  std::string target() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  int metricsPort() const { return metrics_port_; }
  const std::string& configPath() const { return config_path_; }
  const std::string& redisPrefix() const { return prefix_; }
  std::string logTail() const;
  std::string log() const;  // the whole log of the last start
  // Credentials for the channel: insecure unless `root_pem` is given.
  std::unique_ptr<v1::AgencyService::Stub> stub(const std::string& root_pem = "") const;

 private:
  NotificationOptions options_;
  std::string config_path_;
  std::string prefix_;
  std::string group_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  int starts_ = 0;
  std::unique_ptr<testing::ChildProcess> process_;
  std::string last_log_;

  void launch();
};

// A client context with a deadline and, unless `token` is empty, the bearer token.
std::unique_ptr<grpc::ClientContext> agencyContext(const std::string& token,
                                                   std::chrono::milliseconds timeout =
                                                       std::chrono::seconds(15));

// ConfirmDelivery of everything up to `cursor`; `stream_id` "" confirms for every stream.
v1::ConfirmDeliveryRequest confirmation(const std::string& agency, const std::string& cursor,
                                        const std::string& stream_id = "");

// A NEW dispatch item for `agency` of a fresh complaint; `complaint_id` and `title` as given.
v1::EventEnvelope dispatchEnvelope(const std::string& agency, const std::string& complaint_id,
                                   const std::string& title,
                                   v1::DispatchKind kind = v1::DISPATCH_KIND_NEW,
                                   const std::string& assignment_id = "");
// Produces it on lapor.dispatch.<agency>.v1 and waits for the broker's acknowledgement;
// returns the partition it went to (-1 when it failed, which is a test failure).
int32_t produceDispatch(const v1::EventEnvelope& env);

// The value of one series (`name{labels}`) on the service's /metrics; 0 when absent, -1 when
// /metrics does not answer.
double metricValue(int port, const std::string& series);

// Lifecycle events on lapor.complaints.v1 of one complaint, decoded.
std::vector<v1::EventEnvelope> lifecycleOf(TopicReader& reader, const std::string& complaint_id);

}  // namespace lapor::integration
