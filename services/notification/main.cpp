// lapor-notification: agencies receive their assignments and act on them.
#include "app.h"
#include "app/run_service.h"

int main(int argc, char** argv) {
  return lapor::app::runService<lapor::notification::NotificationApp>(
      argc, argv, "notification",
      "Lapor notification: reads lapor.dispatch.<agency>.v1, keeps each agency's feed, serves "
      "AgencyService (Subscribe with resume cursor, Acknowledge) and records deliveries and "
      "acknowledgements on lapor.complaints.v1.");
}
