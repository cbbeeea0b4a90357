// JSON line logger on top of spdlog's thread-safe stderr sink.
#include "log/logger.h"

#include "time/clock.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

namespace lapor::log {

namespace {
const char* levelName(Level l) {
  switch (l) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "info";
}

std::shared_ptr<spdlog::logger> sharedSink() {
  // One sink for the process so lines from many threads never interleave.
  static auto sink = [] {
    auto l = std::make_shared<spdlog::logger>("lapor",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return sink;
}
}  // namespace

Level parseLevel(const std::string& name) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warn" || name == "warning") return Level::Warn;
  if (name == "error") return Level::Error;
  throw std::invalid_argument("unknown log level '" + name + "' (debug, info, warn, error)");
}

Logger::Logger(std::string service, Level level)
    : sink_(sharedSink()),
      service_(std::move(service)),
      level_(level),
      base_(nlohmann::json::object()) {}

Logger Logger::with(const nlohmann::json& fields) const {
  Logger child = *this;
  for (auto it = fields.begin(); it != fields.end(); ++it) child.base_[it.key()] = it.value();
  return child;
}

std::string Logger::format(Level level, std::string_view msg, const nlohmann::json& fields) const {
  nlohmann::json line = {
      {"ts", time::formatRfc3339(time::SystemClock().nowMs())},
      {"level", levelName(level)},
      {"service", service_},
      {"msg", std::string(msg)},
  };
  // A field never replaces ts, level, service or msg: a reader filtering on level=error must
  // see the line's severity. A field of such a name is kept as "fields.<name>".
  auto add = [&line](const std::string& key, const nlohmann::json& value) {
    const bool reserved = key == "ts" || key == "level" || key == "service" || key == "msg";
    line[reserved ? "fields." + key : key] = value;
  };
  for (auto it = base_.begin(); it != base_.end(); ++it) add(it.key(), it.value());
  if (fields.is_object())
    for (auto it = fields.begin(); it != fields.end(); ++it) add(it.key(), it.value());
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Logger::write(Level level, std::string_view msg, const nlohmann::json& fields) const {
  if (level < level_) return;
  sink_->info(format(level, msg, fields));
}

void Logger::debug(std::string_view m, const nlohmann::json& f) const {
  write(Level::Debug, m, f);
}
void Logger::info(std::string_view m, const nlohmann::json& f) const {
  write(Level::Info, m, f);
}
void Logger::warn(std::string_view m, const nlohmann::json& f) const {
  write(Level::Warn, m, f);
}
void Logger::error(std::string_view m, const nlohmann::json& f) const {
  write(Level::Error, m, f);
}

}  // namespace lapor::log
