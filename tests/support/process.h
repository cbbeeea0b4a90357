// A child process for end-to-end tests: own log file, dies with the test (PDEATHSIG), and is
// stopped with SIGTERM (then SIGKILL after a deadline) when the object goes away.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lapor::testing {

class ChildProcess {
 public:
  ChildProcess(std::string name, std::vector<std::string> argv,
               std::map<std::string, std::string> env, std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig` and waits up to `timeout` for exit; returns the exit status (as from waitpid)
  // or nullopt if it did not exit in time.
  std::optional<int> signalAndWait(int sig, std::chrono::milliseconds timeout);
  const std::string& logPath() const { return log_path_; }
  std::string logTail(size_t lines = 40) const;
  // The whole log so far (to wait for a line the process writes when it is ready).
  std::string log() const;

 private:
  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// A TCP port on 127.0.0.1 that was free a moment ago, from freePortRange(): below the kernel's
// ephemeral ports, so no process's outgoing connection takes it before the test binds it.
int freePort();
// The ports freePort() picks from: the 16,384 below the kernel's ephemeral range (at least 1024).
std::pair<int, int> freePortRange();

// Temp dir of this test run (LAPOR_TEST_RUN_DIR, else /tmp), where service logs go.
std::string runDir();

// Required environment (set by tests/run.sh); fails loudly when missing.
std::string requiredEnv(const std::string& name);

}  // namespace lapor::testing
