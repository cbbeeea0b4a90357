// See periodic_task.h.
#include "app/periodic_task.h"

namespace lapor::app {

PeriodicTask::PeriodicTask(std::chrono::milliseconds interval, std::function<void()> task)
    : interval_(interval), task_(std::move(task)) {}

PeriodicTask::~PeriodicTask() {
  stop();
}

void PeriodicTask::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { loop(); });
}

void PeriodicTask::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool PeriodicTask::stopping() const {
  std::lock_guard lk(mu_);
  return stop_;
}

void PeriodicTask::loop() {
  std::unique_lock lk(mu_);
  while (!cv_.wait_for(lk, interval_, [this] { return stop_; })) {
    lk.unlock();
    task_();
    lk.lock();
  }
}

}  // namespace lapor::app
