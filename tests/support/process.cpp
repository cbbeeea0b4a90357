// fork/exec with the child's stdout and stderr in a log file the test runner prints on failure.
#include "process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace lapor::testing {

ChildProcess::ChildProcess(std::string name, std::vector<std::string> argv,
                           std::map<std::string, std::string> env, std::string log_path)
    : name_(std::move(name)), log_path_(std::move(log_path)) {
  std::filesystem::create_directories(std::filesystem::path(log_path_).parent_path());
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (!env.count(kv.substr(0, kv.find('=')))) envs.push_back(kv);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // The child must not outlive a test process that is killed.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (!status_ && pid_ > 0) {
    if (!signalAndWait(SIGTERM, std::chrono::seconds(15)))
      signalAndWait(SIGKILL, std::chrono::seconds(5));
  }
}

bool ChildProcess::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::signalAndWait(int sig, std::chrono::milliseconds timeout) {
  if (status_) return status_;
  kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling waitpid
  }
  return std::nullopt;
}

std::string ChildProcess::logTail(size_t lines) const {
  std::ifstream in(log_path_);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out = "--- last lines of " + log_path_ + "\n";
  for (const auto& l : tail) out += l + "\n";
  return out;
}

std::string ChildProcess::log() const {
  std::ifstream in(log_path_);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind a free port");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string runDir() {
  const char* d = std::getenv("LAPOR_TEST_RUN_DIR");
  return d ? d : "/tmp";
}

std::string requiredEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v || !*v)
    throw std::runtime_error(name +
                             " is not set: run the tests with `make test`, which starts Kafka "
                             "and Redis and sets it");
  return v;
}

}  // namespace lapor::testing
