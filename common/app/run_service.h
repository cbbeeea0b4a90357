// The one main() every service has: flags, config, build the app, run until SIGTERM/SIGINT,
// then stop it cleanly (drain gRPC, commit offsets, flush producers).
#pragma once

#include "app/service_settings.h"
#include "app/shutdown_signal.h"
#include "config/config.h"
#include "log/logger.h"

#include <exception>
#include <iostream>
#include <string>

namespace lapor::app {

// App is built as App(const config::Config&, const ServiceSettings&, log::Logger,
// const CommandLine&) and has stop(); reload() is called on SIGHUP when it exists.
template <class App>
int runService(int argc, char** argv, const std::string& service, const std::string& description,
               const std::vector<CommandLineFlag>& extra_flags = {}) {
  ShutdownSignal signals;  // before any thread exists
  auto cl = parseCommandLine(argc, argv, service, description, extra_flags);
  if (cl.exit_now) return cl.exit_code;
  log::Logger boot(service);
  try {
    auto cfg = config::Config::load(cl.config_path);
    auto settings = ServiceSettings::load(cfg, service);
    log::Logger logger(service, settings.log_level);
    App app(cfg, settings, logger, cl);
    logger.info("service started", {{"config", cfg.source()}});
    while (true) {
      int sig = signals.wait();
      if (sig == SIGHUP) {
        if constexpr (requires { app.reload(); }) app.reload();
        continue;
      }
      logger.info("shutting down", {{"signal", sig}});
      break;
    }
    app.stop();
    logger.info("service stopped");
    return 0;
  } catch (const config::ConfigError& e) {
    boot.error("invalid configuration", {{"error", e.what()}});
    return 2;
  } catch (const std::exception& e) {
    boot.error("service failed", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace lapor::app
