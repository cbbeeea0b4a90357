// Time formatting helpers.
#include "time/clock.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

namespace lapor::time {

std::string formatRfc3339(int64_t epoch_ms) {
  // fmt formats a time_point in local time; gmtime keeps the 'Z' honest.
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  int64_t ms = epoch_ms - secs * 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(static_cast<std::time_t>(secs)),
                     ms);
}

}  // namespace lapor::time
