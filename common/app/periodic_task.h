// A task run on its own thread every interval until stopped; stop() wakes it at once instead of
// letting it sleep out the interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace lapor::app {

class PeriodicTask {
 public:
  // `task` must not throw (catch and log inside); it runs first one interval after start().
  PeriodicTask(std::chrono::milliseconds interval, std::function<void()> task);
  ~PeriodicTask();  // stop()
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void start();
  // Waits for a run in progress to finish; no run starts after it returns.
  void stop();
  // True once stop() was called: a long task may check it between steps.
  bool stopping() const;

 private:
  void loop();

  const std::chrono::milliseconds interval_;
  std::function<void()> task_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lapor::app
