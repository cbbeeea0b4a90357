// See operator_access.h. Format of the file:
//   operators:
//     - {id: siti, role: operator, tokens: [<sha256 hex>, ...]}
#include "auth/operator_access.h"

#include "config/config.h"
#include "grpc/grpc_server.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace lapor::auth {

namespace {
int64_t modified(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw config::ConfigError("operators file '" + path + "' cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool isSha256Hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c)))
      return false;
  return true;
}
}  // namespace

std::string roleName(Role r) {
  switch (r) {
    case Role::Auditor:
      return "auditor";
    case Role::Operator:
      return "operator";
    case Role::Supervisor:
      return "supervisor";
  }
  return "auditor";
}

std::optional<Role> parseRole(const std::string& name) {
  for (auto r : {Role::Auditor, Role::Operator, Role::Supervisor})
    if (roleName(r) == name) return r;
  return std::nullopt;
}

OperatorTable parseOperators(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw config::ConfigError(source + ": not YAML: " + e.what());
  }
  const auto list = root["operators"];
  if (!list || !list.IsSequence())
    throw config::ConfigError(source + ": `operators` must be a list of {id, role, tokens}");
  OperatorTable table;
  std::map<std::string, bool> ids;
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& n = list[i];
    const auto at = source + ": operators[" + std::to_string(i) + "]";
    if (!n.IsMap()) throw config::ConfigError(at + ": must be a map {id, role, tokens}");
    OperatorInfo info;
    info.id = n["id"] ? n["id"].as<std::string>() : "";
    if (info.id.empty()) throw config::ConfigError(at + ".id: is required");
    if (ids[info.id]) throw config::ConfigError(at + ".id: '" + info.id + "' appears twice");
    ids[info.id] = true;
    const auto role = parseRole(n["role"] ? n["role"].as<std::string>() : "");
    if (!role) throw config::ConfigError(at + ".role: must be auditor, operator or supervisor");
    info.role = *role;
    const auto tokens = n["tokens"];
    if (!tokens || !tokens.IsSequence() || tokens.size() == 0)
      throw config::ConfigError(at + ".tokens: a list of SHA-256 hex token hashes is required");
    for (size_t t = 0; t < tokens.size(); ++t) {
      const auto hash = tokens[t].as<std::string>();
      const auto where = at + ".tokens[" + std::to_string(t) + "]";
      if (!isSha256Hex(hash))
        throw config::ConfigError(where +
                                  ": must be the lower-case SHA-256 hex of the token "
                                  "(printf %s TOKEN | sha256sum)");
      if (table.count(hash))
        throw config::ConfigError(where + ": the same token is listed for two operators");
      table[hash] = info;
    }
  }
  return table;
}

OperatorAccess::OperatorAccess(std::string path, std::chrono::milliseconds check_every,
                               log::Logger logger)
    : path_(std::move(path)), log_(std::move(logger)), check_every_(check_every) {
  mtime_ = modified(path_);
  table_ = std::make_shared<const OperatorTable>(parseOperators(readFile(path_), path_));
  if (check_every_.count() > 0) watcher_ = std::thread([this] { watch(); });
}

OperatorAccess::OperatorAccess(OperatorTable table)
    : log_("auth"), table_(std::make_shared<const OperatorTable>(std::move(table))) {}

OperatorAccess::~OperatorAccess() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::optional<OperatorInfo> OperatorAccess::operatorOf(const std::string& token) const {
  std::shared_ptr<const OperatorTable> table;
  {
    std::lock_guard lk(mu_);
    table = table_;
  }
  auto it = table->find(sha256Hex(token));
  if (it == table->end()) return std::nullopt;
  return it->second;
}

grpc::Status OperatorAccess::authorize(const grpc::ServerContext& ctx, Role needed,
                                       const std::string& what, OperatorInfo* caller) const {
  const auto token = grpcx::bearerToken(ctx);
  if (token.empty())
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        what + " needs an operator credential: `authorization: Bearer <token>` "
                               "metadata (operators.file)");
  const auto who = operatorOf(token);
  if (!who) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "operator token not accepted");
  if (static_cast<int>(who->role) < static_cast<int>(needed))
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        what + " needs the " + roleName(needed) + " role; operator '" + who->id +
                            "' is " + roleName(who->role));
  if (caller) *caller = *who;
  return grpc::Status::OK;
}

bool OperatorAccess::reload() {
  if (path_.empty()) return true;
  try {
    auto table = std::make_shared<const OperatorTable>(parseOperators(readFile(path_), path_));
    std::lock_guard lk(mu_);
    table_ = std::move(table);
    log_.info("operator credentials reloaded", {{"file", path_}});
    return true;
  } catch (const std::exception& e) {
    log_.error("operator credentials not reloaded, the previous ones stay", {{"error", e.what()}});
    return false;
  }
}

void OperatorAccess::watch() {
  std::unique_lock lk(mu_);
  while (!cv_.wait_for(lk, check_every_, [this] { return stop_; })) {
    const auto t = modified(path_);
    if (t == mtime_) continue;
    mtime_ = t;
    lk.unlock();
    reload();
    lk.lock();
  }
}

std::unique_ptr<OperatorAccess> operatorAccessFrom(const config::Config& cfg, log::Logger logger) {
  const auto path = cfg.getPath("operators", "file", "operators.yaml");
  const auto every = cfg.getDuration("operators", "reload_interval", std::chrono::seconds(2));
  try {
    return std::make_unique<OperatorAccess>(path, every, std::move(logger));
  } catch (const config::ConfigError& e) {
    throw cfg.error("operators", "file", e.what());
  }
}

}  // namespace lapor::auth
