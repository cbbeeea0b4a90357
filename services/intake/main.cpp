// lapor-intake: the front door for complaints and reports.
#include "app.h"
#include "app/run_service.h"

#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  // --rebuild-view is a one-shot mode: strip it and hand the rest to the same flag parser.
  std::vector<char*> rest;
  bool rebuild = false;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rebuild-view") == 0)
      rebuild = true;
    else
      rest.push_back(argv[i]);
  }
  if (rebuild) return lapor::intake::rebuildMain(static_cast<int>(rest.size()), rest.data());
  return lapor::app::runService<lapor::intake::IntakeApp>(
      argc, argv, "intake",
      "Lapor intake: accepts complaints over gRPC (IntakeService) and Open311 GeoReport v2 "
      "HTTP, answers only after Kafka has the ComplaintSubmitted event, and keeps the tracking "
      "view from lapor.complaints.v1. With --rebuild-view: drop the tracking view, replay "
      "lapor.complaints.v1 into it from the beginning, and exit.");
}
