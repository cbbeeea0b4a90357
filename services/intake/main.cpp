// lapor-intake: the front door for complaints and reports.
#include "app.h"
#include "app/run_service.h"

int main(int argc, char** argv) {
  return lapor::app::runService<lapor::intake::IntakeApp>(
      argc, argv, "intake",
      "Lapor intake: accepts complaints over gRPC (IntakeService), answers only after Kafka has "
      "the ComplaintSubmitted event, and keeps the tracking view from lapor.complaints.v1.");
}
