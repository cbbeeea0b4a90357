// fork/exec with the child's stdout and stderr in a log file the test runner prints on failure.
#include "process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
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

namespace {
// The kernel's ephemeral ports (net.ipv4.ip_local_port_range): every outgoing connection of every
// process on the machine takes its local port from there.
std::pair<int, int> ephemeralRange() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 0, hi = 0;
  if (in >> lo >> hi && lo > 0 && hi >= lo) return {lo, hi};
  return {32768, 60999};  // Linux's default
}

// Binds 127.0.0.1:port (0 = any) and closes the socket again; the port bound, or 0.
int tryBind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int bound = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    bound = ntohs(addr.sin_port);
  }
  close(fd);
  return bound;
}
}  // namespace

std::pair<int, int> freePortRange() {
  const int below = ephemeralRange().first;
  return {std::max(1024, below - 16384), below - 1};
}

int freePort() {
  // A port the kernel hands out itself (bind to 0) is an ephemeral one, and any process's next
  // outgoing connection (a service connecting to Kafka, say) may take it before the service
  // this port is for binds it. Below the ephemeral range only listeners compete: a random one
  // there, checked free.
  static std::mutex mu;
  static std::mt19937 rng{std::random_device{}()};
  const auto [lo, hi] = freePortRange();
  if (lo < hi) {
    std::lock_guard lock(mu);
    std::uniform_int_distribution<int> pick(lo, hi);
    for (int attempt = 0; attempt < 500; ++attempt)
      if (const int port = tryBind(pick(rng)); port != 0) return port;
  }
  if (const int port = tryBind(0); port != 0) return port;
  throw std::runtime_error("cannot bind a free port");
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
