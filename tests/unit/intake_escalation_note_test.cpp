// How a supervisor's work on an escalation reads in the public tracking timeline: what
// happened and who did it, never the supervisor's internal message or operator.
#include "domain/escalation_note.h"

#include <gtest/gtest.h>

namespace lapor::intake {
namespace {

v1::EscalationUpdated update(v1::AssignmentState state, int level = 1) {
  v1::EscalationUpdated u;
  u.set_escalation_id("esc-1");
  u.set_agency_id("sekda");
  u.set_escalated_assignment_id("a-dinas-pu");
  u.set_escalated_agency_id("dinas-pu");
  u.set_level(level);
  u.set_state(state);
  u.set_message("Internal: panggil Kadis PU besok pagi");
  u.set_operator_("pak-sekda");
  return u;
}

TEST(EscalationNoteTest, SaysWhatTheSupervisorDid) {
  EXPECT_EQ(escalationTimelineNote(update(v1::ASSIGNMENT_STATE_DELIVERED)),
            "escalation delivered to sekda (level 1)");
  EXPECT_EQ(escalationTimelineNote(update(v1::ASSIGNMENT_STATE_ACKNOWLEDGED)),
            "escalation acknowledged by sekda (level 1)");
  EXPECT_EQ(escalationTimelineNote(update(v1::ASSIGNMENT_STATE_IN_PROGRESS, 2)),
            "escalation in progress at sekda (level 2)");
  EXPECT_EQ(escalationTimelineNote(update(v1::ASSIGNMENT_STATE_RESPONDED)),
            "sekda responded to the escalation (level 1)");
  EXPECT_EQ(escalationTimelineNote(update(v1::ASSIGNMENT_STATE_RESOLVED, 0)),
            "escalation resolved by sekda");
}

TEST(EscalationNoteTest, KeepsTheSupervisorsMessageAndOperatorOut) {
  for (auto s : {v1::ASSIGNMENT_STATE_ACKNOWLEDGED, v1::ASSIGNMENT_STATE_RESPONDED,
                 v1::ASSIGNMENT_STATE_RESOLVED}) {
    const auto note = escalationTimelineNote(update(s));
    EXPECT_EQ(note.find("Kadis"), std::string::npos) << note;
    EXPECT_EQ(note.find("pak-sekda"), std::string::npos) << note;
  }
}

}  // namespace
}  // namespace lapor::intake
