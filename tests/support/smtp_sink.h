// A real SMTP server for tests: Python's aiosmtpd (PyPI, in the outside clients' venv that
// tests/clients/tools.sh installs), run by tests/support/smtp_sink.py, which writes every message
// it accepts into a folder.
#pragma once

#include "process.h"

#include <memory>
#include <string>
#include <vector>

namespace lapor::testing {

class SmtpSink {
 public:
  SmtpSink();  // throws when the server does not start
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  // Every message received so far that contains `with` (headers and body, as sent).
  std::vector<std::string> mails(const std::string& with) const;

 private:
  int port_;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace lapor::testing
