// lapor-routing: decides which agencies must act on each complaint.
#include "app.h"
#include "app/run_service.h"

int main(int argc, char** argv) {
  return lapor::app::runService<lapor::routing::RoutingApp>(
      argc, argv, "routing",
      "Lapor routing: reads lapor.complaints.v1 (submitted, rejected, redispatch_requested) and "
      "RoutingAdmin.Assign commands, matches the rules of the agencies file, and writes "
      "ComplaintRouted plus one assignment per agency to lapor.dispatch.<agency>.v1, each "
      "decision in one Kafka transaction with its consumed offset. SIGHUP or a changed file "
      "reloads the rules.");
}
