// Structured logs: one JSON object per line with service, level, message and fields.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace lapor::log {

enum class Level { Debug, Info, Warn, Error };

Level parseLevel(const std::string& name);  // throws std::invalid_argument

// Cheap to copy; `with` makes a child that adds fields (complaint_id, trace_id) to every line.
class Logger {
 public:
  explicit Logger(std::string service, Level level = Level::Info);

  Logger with(const nlohmann::json& fields) const;

  void debug(std::string_view msg, const nlohmann::json& fields = {}) const;
  void info(std::string_view msg, const nlohmann::json& fields = {}) const;
  void warn(std::string_view msg, const nlohmann::json& fields = {}) const;
  void error(std::string_view msg, const nlohmann::json& fields = {}) const;

  // The JSON line without writing it; what tests assert on.
  std::string format(Level level, std::string_view msg, const nlohmann::json& fields) const;

 private:
  void write(Level level, std::string_view msg, const nlohmann::json& fields) const;

  std::shared_ptr<spdlog::logger> sink_;
  std::string service_;
  Level level_;
  nlohmann::json base_;
};

}  // namespace lapor::log
