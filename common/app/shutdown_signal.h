// Turns SIGTERM/SIGINT (and SIGHUP for reloads) into a value main can wait for.
#pragma once

#include <csignal>

namespace lapor::app {

// Construct first thing in main, before any thread starts: it blocks the signals in this thread
// and so in every thread created after it, and wait() receives them synchronously.
class ShutdownSignal {
 public:
  ShutdownSignal();
  // Returns the signal number: SIGTERM, SIGINT or SIGHUP.
  int wait();

 private:
  sigset_t set_;
};

}  // namespace lapor::app
