// lapor-intake: the front door for complaints and reports.
#include "app.h"
#include "app/run_service.h"

int main(int argc, char** argv) {
  const std::string description =
      "Lapor intake: accepts complaints over gRPC (IntakeService) and Open311 GeoReport v2 "
      "HTTP, answers only after Kafka has the ComplaintSubmitted event, and keeps the tracking "
      "view from lapor.complaints.v1.";
  const std::vector<lapor::app::CommandLineFlag> flags = {
      {"--rebuild-view",
       "one-shot mode: drop the tracking view, replay lapor.complaints.v1 into it from the "
       "beginning, and exit"}};
  auto cl = lapor::app::parseCommandLine(argc, argv, "intake", description, flags);
  if (cl.exit_now) return cl.exit_code;
  if (cl.has("--rebuild-view")) return lapor::intake::rebuildMain(cl);
  return lapor::app::runService<lapor::intake::IntakeApp>(argc, argv, "intake", description,
                                                          flags);
}
