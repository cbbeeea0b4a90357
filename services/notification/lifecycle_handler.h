// Reads the lifecycle topic for what an agency must hear of that nobody dispatches to it: the
// reporter's answer to a question the agency (or its work unit) asked.
#pragma once

#include "agencies/agency_directory.h"
#include "assignment_store.h"
#include "kafka/message.h"
#include "log/logger.h"

namespace lapor::notification {

class LifecycleHandler {
 public:
  LifecycleHandler(AssignmentStore& store, log::Logger logger);
  // ReporterAnswered to a question asked here -> a REPORTER_ANSWER item on the asker's feed,
  // once per event id; every other event is not notification's business.
  kafka::HandleResult handle(const kafka::Message& msg);

 private:
  AssignmentStore& store_;
  log::Logger log_;
};

}  // namespace lapor::notification
