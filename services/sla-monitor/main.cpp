// lapor-sla-monitor: every obligation runs on a clock.
#include "app.h"
#include "app/run_service.h"

int main(int argc, char** argv) {
  return lapor::app::runService<lapor::sla::SlaMonitorApp>(
      argc, argv, "sla-monitor",
      "Lapor SLA monitor: derives obligations from lapor.complaints.v1, keeps their clocks in "
      "Redis, emits SlaWarning and SlaBreached when they run out, and serves SlaService.");
}
