#include "smtp_sink.h"

#include "wait.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <stdexcept>

namespace lapor::testing {

namespace {
using namespace std::chrono_literals;

std::string readFile(const std::string& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string python() {
  const std::string venv = LAPOR_SOURCE_DIR "/.cache/tools/venv/bin/python";
  const auto has = [&] {
    return std::system((venv + " -c 'import aiosmtpd' 2>/dev/null").c_str()) == 0;
  };
  // The outside clients' venv (tests/clients/tools.sh, which `make test` runs first).
  if (!has()) (void)std::system("bash " LAPOR_SOURCE_DIR "/tests/clients/tools.sh >&2");
  if (!has()) throw std::runtime_error("aiosmtpd is not in " + venv + ": run tests/clients/tools.sh");
  return venv;
}
}  // namespace

SmtpSink::SmtpSink()
    : port_(freePort()), dir_(runDir() + "/smtp-" + std::to_string(std::random_device{}())) {
  std::filesystem::create_directories(dir_);
  process_ = std::make_unique<ChildProcess>(
      "smtp-sink",
      std::vector<std::string>{python(), LAPOR_SOURCE_DIR "/tests/support/smtp_sink.py",
                               std::to_string(port_), dir_},
      std::map<std::string, std::string>{}, dir_ + ".log");
  if (!waitFor([&] { return process_->log().find("ready") != std::string::npos; }, 20s))
    throw std::runtime_error("the SMTP sink did not start\n" + process_->logTail());
}

std::vector<std::string> SmtpSink::mails(const std::string& with) const {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    if (e.path().extension() == ".eml")
      if (auto m = readFile(e.path().string()); m.find(with) != std::string::npos)
        out.push_back(m);
  return out;
}

}  // namespace lapor::testing
