// lapor-routing: decides which agencies must act on each complaint.
#include "app.h"
#include "app/run_service.h"

int main(int argc, char** argv) {
  return lapor::app::runService<lapor::routing::RoutingApp>(
      argc, argv, "routing",
      "Lapor routing: reads ComplaintSubmitted from lapor.complaints.v1, matches the rules of the "
      "agencies file, emits ComplaintRouted and writes one assignment per agency to "
      "lapor.dispatch.<agency>.v1. SIGHUP reloads the rules.");
}
