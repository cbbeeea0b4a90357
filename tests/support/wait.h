// Waiting on a condition with a deadline: the only way tests synchronise with the system.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace lapor::testing {

// Re-checks `pred` until it holds or `timeout` passes; returns the last result.
inline bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds interval = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(interval);  // poll interval of the condition, not a delay
  }
  return pred();
}

}  // namespace lapor::testing
