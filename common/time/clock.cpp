// Time formatting helpers.
#include "time/clock.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace lapor::time {

std::string formatRfc3339(int64_t epoch_ms) {
  std::chrono::sys_time<std::chrono::milliseconds> tp{std::chrono::milliseconds(epoch_ms)};
  auto secs = std::chrono::floor<std::chrono::seconds>(tp);
  auto ms = (tp - secs).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", secs, ms);
}

}  // namespace lapor::time
