// Service configuration: one YAML file, every key overridable by LAPOR_<SECTION>_<KEY>.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lapor::config {

// Thrown for any invalid or missing configuration; what() names the key to change.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Looks up `section.key` first in the environment (LAPOR_SECTION_KEY, upper case, '-' and '.'
// become '_'), then in the YAML file, then falls back to the given default.
class Config {
 public:
  using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

  // An empty path means "no file": defaults and environment only.
  static Config load(const std::string& path);
  static Config fromString(const std::string& yaml, EnvLookup env = processEnv());
  static EnvLookup processEnv();

  std::string getString(const std::string& section, const std::string& key,
                        const std::optional<std::string>& def = std::nullopt) const;
  int64_t getInt(const std::string& section, const std::string& key,
                 std::optional<int64_t> def = std::nullopt, int64_t min = INT64_MIN,
                 int64_t max = INT64_MAX) const;
  bool getBool(const std::string& section, const std::string& key,
               std::optional<bool> def = std::nullopt) const;
  // Durations are written with a unit: "250ms", "30s", "5m", "2h", "3d".
  std::chrono::milliseconds getDuration(
      const std::string& section, const std::string& key,
      std::optional<std::chrono::milliseconds> def = std::nullopt) const;
  // A file path; a relative one is taken relative to the config file's folder.
  std::string getPath(const std::string& section, const std::string& key,
                      const std::optional<std::string>& def = std::nullopt) const;
  // An environment variable through the same lookup as the overrides (for keys that name a
  // variable, such as a secret's): nullopt when it is not set.
  std::optional<std::string> env(const std::string& name) const { return env_(name); }
  // Raw YAML for structured sections (lists, maps); null node when absent.
  YAML::Node node(const std::string& section) const;

  const std::string& source() const { return source_; }

  // The error for a value that is well-formed but not acceptable (checked by the caller),
  // naming the key, its environment variable and the file like every other config error.
  ConfigError error(const std::string& section, const std::string& key,
                    const std::string& why) const;

  static std::string envName(const std::string& section, const std::string& key);
  static std::chrono::milliseconds parseDuration(const std::string& text);

 private:
  Config(YAML::Node root, std::string source, EnvLookup env)
      : root_(std::move(root)), source_(std::move(source)), env_(std::move(env)) {}
  std::optional<std::string> raw(const std::string& section, const std::string& key) const;
  [[noreturn]] void fail(const std::string& section, const std::string& key,
                         const std::string& why) const;

  YAML::Node root_;
  std::string source_;
  EnvLookup env_;
};

}  // namespace lapor::config
