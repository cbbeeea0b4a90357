// Config lookup order: environment, then file, then default; errors name the key.
#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace lapor::config {

Config Config::load(const std::string& path) {
  if (path.empty()) return Config(YAML::Node(YAML::NodeType::Map), "<defaults>", processEnv());
  std::ifstream in(path);
  if (!in) throw ConfigError("config file " + path + ": cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  try {
    auto root = YAML::Load(buf.str());
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) throw ConfigError("config file " + path + ": top level must be a map");
    return Config(root, path, processEnv());
  } catch (const YAML::Exception& e) {
    throw ConfigError("config file " + path + ": " + e.what());
  }
}

Config Config::fromString(const std::string& yaml, EnvLookup env) {
  try {
    auto root = YAML::Load(yaml);
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) throw ConfigError("config: top level must be a map");
    return Config(root, "<string>", std::move(env));
  } catch (const YAML::Exception& e) {
    throw ConfigError(std::string("config: ") + e.what());
  }
}

Config::EnvLookup Config::processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::string Config::envName(const std::string& section, const std::string& key) {
  std::string out = "LAPOR_" + section + "_" + key;
  for (auto& c : out) {
    if (c == '-' || c == '.') c = '_';
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::optional<std::string> Config::raw(const std::string& section, const std::string& key) const {
  if (auto v = env_(envName(section, key))) return v;
  auto sec = root_[section];
  if (!sec) return std::nullopt;
  if (!sec.IsMap()) fail(section, key, "section '" + section + "' must be a map");
  auto n = sec[key];
  if (!n || n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) fail(section, key, "must be a single value");
  return n.Scalar();
}

void Config::fail(const std::string& section, const std::string& key,
                  const std::string& why) const {
  throw error(section, key, why);
}

ConfigError Config::error(const std::string& section, const std::string& key,
                          const std::string& why) const {
  return ConfigError("config key " + section + "." + key + " (env " + envName(section, key) +
                     ", file " + source_ + "): " + why);
}

std::string Config::getString(const std::string& section, const std::string& key,
                              const std::optional<std::string>& def) const {
  if (auto v = raw(section, key)) return *v;
  if (def) return *def;
  fail(section, key, "is required");
}

int64_t Config::getInt(const std::string& section, const std::string& key,
                       std::optional<int64_t> def, int64_t min, int64_t max) const {
  auto v = raw(section, key);
  if (!v) {
    if (def) return *def;
    fail(section, key, "is required");
  }
  int64_t out = 0;
  try {
    size_t used = 0;
    out = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    fail(section, key, "'" + *v + "' is not an integer");
  }
  if (out < min || out > max)
    fail(section, key,
         std::to_string(out) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
  return out;
}

bool Config::getBool(const std::string& section, const std::string& key,
                     std::optional<bool> def) const {
  auto v = raw(section, key);
  if (!v) {
    if (def) return *def;
    fail(section, key, "is required");
  }
  std::string s = *v;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "true" || s == "yes" || s == "1" || s == "on") return true;
  if (s == "false" || s == "no" || s == "0" || s == "off") return false;
  fail(section, key, "'" + *v + "' is not a boolean (true/false)");
}

std::chrono::milliseconds Config::parseDuration(const std::string& text) {
  static const std::regex re(R"(^([0-9]{1,12})(\.[0-9]{1,6})?(ms|s|m|h|d)$)");
  std::smatch m;
  if (!std::regex_match(text, m, re))
    throw ConfigError(
        "'" + text +
        "' is not a duration: a number and a unit (ms, s, m, h, d), e.g. 250ms, 30s, 5m");
  const double n = std::stod(m[1].str() + m[2].str());
  const std::string unit = m[3].str();
  const double scale = unit == "ms"  ? 1
                       : unit == "s" ? 1000
                       : unit == "m" ? 60'000
                       : unit == "h" ? 3'600'000
                                     : 86'400'000;
  return std::chrono::milliseconds(static_cast<int64_t>(n * scale));
}

std::chrono::milliseconds Config::getDuration(const std::string& section, const std::string& key,
                                              std::optional<std::chrono::milliseconds> def) const {
  auto v = raw(section, key);
  if (!v) {
    if (def) return *def;
    fail(section, key, "is required");
  }
  try {
    return parseDuration(*v);
  } catch (const ConfigError& e) {
    fail(section, key, e.what());
  }
}

std::string Config::getPath(const std::string& section, const std::string& key,
                            const std::optional<std::string>& def) const {
  auto p = std::filesystem::path(getString(section, key, def));
  if (p.is_relative() && source_.front() != '<')
    p = std::filesystem::path(source_).parent_path() / p;
  return p.lexically_normal().string();
}

YAML::Node Config::node(const std::string& section) const {
  return root_[section];
}

}  // namespace lapor::config
