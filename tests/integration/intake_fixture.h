// Intake as a real process (or two) against the run's Kafka and Redis, for the intake
// integration tests: a test config with known publisher keys, client calls that send a key,
// and decoders for the google.rpc error details.
#pragma once

#include "google/rpc/error_details.pb.h"
#include "lapor/v1/events.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "process.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lapor::integration {

// Keys of the publishers in the test config.
inline constexpr const char* kPartnerKey = "partner-test-key";  // publisher "partner"
inline constexpr const char* kLimitedKey = "limited-test-key";  // publisher "limited", 5/window
inline constexpr int kLimitedRate = 5;

class IntakeProcess {
 public:
  // `prefix`: the Redis key prefix (instances sharing one share idempotency and rate limits).
  // `config_path`: a config file of the test's own ("" = the shared test config).
  IntakeProcess(const std::string& name, const std::string& prefix,
                std::map<std::string, std::string> extra_env = {},
                const std::string& config_path = "");
  std::string grpcTarget() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  int open311Port() const { return open311_port_; }
  std::unique_ptr<v1::IntakeService::Stub> stub() const;
  testing::ChildProcess& process() { return *process_; }

 private:
  int grpc_port_ = 0;
  int open311_port_ = 0;
  std::unique_ptr<testing::ChildProcess> process_;
};

// Two instances sharing one Redis prefix (so one idempotency and rate-limit store), started at
// first use and kept for the whole test binary.
struct SharedIntakes {
  std::string prefix;
  IntakeProcess a;
  IntakeProcess b;
};
SharedIntakes& shared();

// A fresh Redis prefix for one group of instances.
std::string freshPrefix();
// A well-formed tracking id no complaint has: random, because every test's view reads the whole
// lifecycle topic, where other tests' events (with ids of their own choosing) are too.
std::string absentTrackingId();
std::string brokers();

// A call context with a deadline, and the API key when one is given.
std::unique_ptr<grpc::ClientContext> call(
    const std::string& api_key = "", std::chrono::milliseconds timeout = std::chrono::seconds(20));

std::optional<google::rpc::BadRequest> badRequestOf(const grpc::Status& s);
std::optional<google::rpc::RetryInfo> retryInfoOf(const grpc::Status& s);

// A complaint every rule accepts; `ref` becomes its external_ref.
v1::SubmitComplaintRequest validComplaint(const std::string& ref = "");

// Every ComplaintSubmitted event on lapor.complaints.v1 whose external_ref is `ref`, reading
// the topic to its current end.
std::vector<v1::EventEnvelope> submittedWithRef(const std::string& ref);

}  // namespace lapor::integration
