// PeriodicTask: runs again and again at its interval, and stop() ends it at once, even in the
// middle of a long interval.
#include "app/periodic_task.h"
#include "../support/wait.h"

#include <gtest/gtest.h>

#include <atomic>

namespace lapor::app {
namespace {

using namespace std::chrono_literals;

TEST(PeriodicTask, RunsEveryIntervalUntilStopped) {
  std::atomic<int> runs{0};
  PeriodicTask task(5ms, [&] { ++runs; });
  task.start();
  ASSERT_TRUE(testing::waitFor([&] { return runs >= 3; }, 5s));
  EXPECT_FALSE(task.stopping());
  task.stop();
  EXPECT_TRUE(task.stopping());
}

TEST(PeriodicTask, StopDoesNotWaitOutALongInterval) {
  std::atomic<int> runs{0};
  PeriodicTask task(std::chrono::hours(1), [&] { ++runs; });
  task.start();
  const auto t0 = std::chrono::steady_clock::now();
  task.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(runs, 0);
}

}  // namespace
}  // namespace lapor::app
