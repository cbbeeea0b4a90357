// The exit status of a command line CLI11 refused: CLI11 prints the message (naming the flag)
// and would exit 100+; a usage error is 2, as for every Unix tool and for a bad configuration,
// and --help / --version stay 0. Every Lapor binary answers its parse errors with this.
#pragma once

#include <CLI/CLI.hpp>

namespace lapor::app {

inline int usageExit(const CLI::App& app, const CLI::ParseError& e) {
  return app.exit(e) == 0 ? 0 : 2;
}

}  // namespace lapor::app
