// Who may speak for which agency or work unit (bearer tokens, stored as SHA-256 hex) and how each agency
// wants its webhooks: the `access` section of notification.yaml, reloadable without restart.
#pragma once

#include "agencies/agency_directory.h"
#include "config/config.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace lapor::notification {

struct WebhookSettings {
  std::string url;     // http:// or https:// (a relative one already joined to webhook.base_url)
  std::string secret;  // HMAC key, read from secret_env or secret_file
  int max_attempts = 8;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{300'000};
  std::chrono::milliseconds timeout{5000};
};

struct AgencyAccess {
  std::set<std::string> token_hashes;  // lower-case SHA-256 hex of each accepted token
  std::optional<WebhookSettings> webhook;
};

using AccessTable = std::map<std::string, AgencyAccess>;

// Parses the `access` section (keys: agency and work-unit ids); throws config::ConfigError
// naming the key. A webhook url may
// be a path relative to `webhook.base_url`. Every agency whose delivery.channel is webhook
// must have a webhook, and no other agency may have one.
AccessTable parseAccess(const config::Config& cfg, const agencies::AgencyDirectory& directory);


class AccessControl {
 public:
  explicit AccessControl(AccessTable table) : table_(std::make_shared<AccessTable>(std::move(table))) {}

  // The agency or work unit the token belongs to (their ids never collide), or "" when none
  // accepts it. A token speaks for exactly that caller: an agency's never for its units.
  std::string agencyOf(const std::string& token) const;
  std::optional<WebhookSettings> webhook(const std::string& agency) const;
  void replace(AccessTable table);

 private:
  std::shared_ptr<const AccessTable> snapshot() const;
  mutable std::mutex mu_;
  std::shared_ptr<const AccessTable> table_;
};

}  // namespace lapor::notification
