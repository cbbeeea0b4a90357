// How a supervisor's work on an escalation reads in the complaint's public timeline. Pure.
#pragma once

#include "lapor/v1/events.pb.h"

#include <string>

namespace lapor::intake {

// "escalation acknowledged by sekda (level 1)": what happened and who did it. Never the
// supervisor's message or operator, which are internal to the government (they stay on
// lapor.complaints.v1 for the audit trail).
std::string escalationTimelineNote(const v1::EscalationUpdated& u);

}  // namespace lapor::intake
