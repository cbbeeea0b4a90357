// Operators' credentials: who may call RoutingAdmin, SlaService and intake's listing by agency,
// and with which role. Bearer tokens are kept only as SHA-256 hex, each with the operator it
// belongs to and a role (auditor < operator < supervisor); the file
// (deploy/config/operators.yaml) is read again when it changes and on SIGHUP, so a token is
// rotated by listing the new hash beside the old one and removing the old one later.
#pragma once

#include "auth/sha256.h"
#include "config/config.h"
#include "log/logger.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace lapor::auth {

// Each role may do what the ones below it may.
enum class Role { Auditor = 1, Operator = 2, Supervisor = 3 };

std::string roleName(Role r);
std::optional<Role> parseRole(const std::string& name);

struct OperatorInfo {
  std::string id;
  Role role = Role::Auditor;
};

// Token hash -> the operator it speaks for.
using OperatorTable = std::map<std::string, OperatorInfo>;

// Parses the file's `operators` list; throws config::ConfigError naming the entry and key.
OperatorTable parseOperators(const std::string& yaml, const std::string& source);

class OperatorAccess {
 public:
  // Reads `path` now (throws config::ConfigError); with `check_every` > 0 a thread re-reads it
  // whenever its modification time changes (an invalid edit is refused and logged, the old
  // table stays).
  OperatorAccess(std::string path, std::chrono::milliseconds check_every, log::Logger logger);
  // A fixed table, for tests and tools.
  explicit OperatorAccess(OperatorTable table);
  ~OperatorAccess();
  OperatorAccess(const OperatorAccess&) = delete;
  OperatorAccess& operator=(const OperatorAccess&) = delete;

  std::optional<OperatorInfo> operatorOf(const std::string& token) const;
  // OK (and the caller) when the call's `authorization: Bearer <token>` belongs to an operator
  // with at least `needed`; UNAUTHENTICATED for a missing or unknown token, PERMISSION_DENIED
  // for too small a role. `what` names the action in the message.
  grpc::Status authorize(const grpc::ServerContext& ctx, Role needed, const std::string& what,
                         OperatorInfo* caller = nullptr) const;
  // Reads the file again; false (and the old table kept) when it is invalid.
  bool reload();

 private:
  void watch();

  std::string path_;
  log::Logger log_;
  mutable std::mutex mu_;
  std::shared_ptr<const OperatorTable> table_;
  std::chrono::milliseconds check_every_{0};
  int64_t mtime_ = 0;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread watcher_;
};

// From the service's `operators` section (file, reload_interval); errors name the key.
std::unique_ptr<OperatorAccess> operatorAccessFrom(const config::Config& cfg, log::Logger logger);

}  // namespace lapor::auth
