// Tokens are compared by their SHA-256 so the configuration never holds a usable credential.
#include "agency_access.h"

#include "auth/sha256.h"
#include "config/secret_file.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace lapor::notification {

namespace {
std::chrono::milliseconds duration(const YAML::Node& n, const std::string& key,
                                   std::chrono::milliseconds def) {
  if (!n[key]) return def;
  return config::Config::parseDuration(n[key].as<std::string>());
}
}  // namespace


namespace {
// An absolute http(s) URL as given, or a path ("/hooks/x") appended to webhook.base_url.
std::string webhookUrl(const config::Config& cfg, const std::string& key, const std::string& url) {
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) return url;
  if (url.empty() || url.front() != '/')
    throw cfg.error("access", key + ".webhook.url",
                    "must be an http:// or https:// URL, or a path starting with '/' relative "
                    "to webhook.base_url");
  auto base = cfg.getString("webhook", "base_url", "");
  if (base.empty())
    throw cfg.error("access", key + ".webhook.url",
                    "'" + url + "' is a path relative to webhook.base_url (env " +
                        config::Config::envName("webhook", "base_url") + "), which is not set");
  if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0)
    throw cfg.error("webhook", "base_url", "'" + base + "' must start with http:// or https://");
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + url;
}

// A webhook goes out for exactly the agencies whose delivery.channel is webhook.
void checkChannels(const config::Config& cfg, const agencies::AgencyDirectory& directory,
                   const AccessTable& table) {
  for (const auto& a : directory.agencies()) {
    const auto it = table.find(a.id);
    const bool has_webhook = it != table.end() && it->second.webhook;
    if (a.delivery_channel == "webhook" && !has_webhook)
      throw cfg.error("access", a.id + ".webhook",
                      "agency '" + a.id + "' has delivery.channel webhook in " +
                          directory.source() + " but no webhook here (url and secret_env or "
                          "secret_file)");
    if (a.delivery_channel != "webhook" && has_webhook)
      throw cfg.error("access", a.id + ".webhook",
                      "agency '" + a.id + "' has delivery.channel " + a.delivery_channel + " in " +
                          directory.source() +
                          ", so its webhook would never be used: set its channel to webhook "
                          "there, or remove the webhook");
  }
}
}  // namespace

AccessTable parseAccess(const config::Config& cfg, const agencies::AgencyDirectory& directory) {
  AccessTable out;
  const auto root = cfg.node("access");
  if (!root) {
    checkChannels(cfg, directory, out);
    return out;
  }
  if (!root.IsMap()) throw cfg.error("access", "", "must map agency ids to their settings");
  static const std::regex hex64("^[0-9a-f]{64}$");
  for (const auto& kv : root) {
    const auto agency = kv.first.as<std::string>();
    const auto key = agency;
    const auto* unit = directory.unit(agency);
    if (!directory.find(agency) && !unit)
      throw cfg.error("access", key,
                      "'" + agency + "' is not an agency or a work unit of " + directory.source());
    const auto& n = kv.second;
    if (unit && n["webhook"])
      throw cfg.error("access", key + ".webhook",
                      "'" + agency + "' is a work unit of '" + unit->agency +
                          "': a unit has only its stream, no webhook");
    AgencyAccess a;
    try {
      if (n["tokens"]) {
        for (const auto& t : n["tokens"]) {
          auto h = t.as<std::string>();
          if (!std::regex_match(h, hex64))
            throw cfg.error("access", key + ".tokens",
                            "each token is the SHA-256 hex (64 lower-case characters) of the "
                            "token, e.g. `printf %s TOKEN | sha256sum`");
          a.token_hashes.insert(h);
        }
      }
      if (const auto w = n["webhook"]) {
        WebhookSettings ws;
        ws.url = webhookUrl(cfg, key, w["url"] ? w["url"].as<std::string>() : "");
        if (w["secret_env"]) {
          const auto v = cfg.env(w["secret_env"].as<std::string>());
          if (!v || v->empty())
            throw cfg.error("access", key + ".webhook.secret_env",
                            "environment variable " + w["secret_env"].as<std::string>() +
                                " is not set");
          ws.secret = *v;
        } else if (w["secret_file"]) {
          auto path = w["secret_file"].as<std::string>();
          ws.secret = config::readSecretFile(path).value_or("");
          if (ws.secret.empty())
            throw cfg.error("access", key + ".webhook.secret_file", "cannot read " + path);
        } else {
          throw cfg.error("access", key + ".webhook",
                          "needs secret_env or secret_file (the HMAC key)");
        }
        ws.max_attempts = w["max_attempts"] ? w["max_attempts"].as<int>() : ws.max_attempts;
        if (ws.max_attempts < 1 || ws.max_attempts > 100)
          throw cfg.error("access", key + ".webhook.max_attempts", "must be 1..100");
        ws.initial_backoff = duration(w, "initial_backoff", ws.initial_backoff);
        ws.max_backoff = duration(w, "max_backoff", ws.max_backoff);
        ws.timeout = duration(w, "timeout", ws.timeout);
        if (ws.initial_backoff.count() <= 0 || ws.max_backoff < ws.initial_backoff)
          throw cfg.error("access", key + ".webhook.initial_backoff",
                          "must be positive and not above max_backoff");
        a.webhook = ws;
      }
    } catch (const YAML::Exception& e) {
      throw cfg.error("access", key, e.what());
    } catch (const std::invalid_argument& e) {
      throw cfg.error("access", key, e.what());
    }
    out[agency] = std::move(a);
  }
  checkChannels(cfg, directory, out);
  return out;
}

std::shared_ptr<const AccessTable> AccessControl::snapshot() const {
  std::lock_guard lk(mu_);
  return table_;
}

std::string AccessControl::agencyOf(const std::string& token) const {
  if (token.empty()) return "";
  const auto h = auth::sha256Hex(token);
  auto t = snapshot();
  for (const auto& [agency, a] : *t)
    for (const auto& known : a.token_hashes)
      if (CRYPTO_memcmp(known.data(), h.data(), h.size()) == 0) return agency;
  return "";
}

std::optional<WebhookSettings> AccessControl::webhook(const std::string& agency) const {
  auto t = snapshot();
  auto it = t->find(agency);
  if (it == t->end()) return std::nullopt;
  return it->second.webhook;
}

void AccessControl::replace(AccessTable table) {
  auto next = std::make_shared<const AccessTable>(std::move(table));
  std::lock_guard lk(mu_);
  table_ = std::move(next);
}

}  // namespace lapor::notification
