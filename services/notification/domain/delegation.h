// Delegation of an assignment to a work unit of its agency: whether a move is allowed, what it
// records, and how a unit's actions read on its agency's feed. Pure decisions, no I/O.
#pragma once

#include "lapor/v1/agency.pb.h"

#include <string>

namespace lapor::notification::domain {

struct DelegationDecision {
  enum class Kind { Apply, Repeat, Refused };
  Kind kind = Kind::Refused;
  bool revoke = false;    // a DelegationRevoked for the unit holding it now
  bool delegate = false;  // an AssignmentDelegated for the new unit
  std::string why;        // Refused
};

// Moving an assignment in `state`, held by `current_unit` ("" = the agency), to `next_unit`
// ("" = back to the agency: TakeBack). Only an agency's live assignment moves (`delegable`:
// not an escalation or the triage desk's item); moving to where it is already is a repeat;
// delegating to another unit revokes the old one first.
DelegationDecision decideDelegation(bool delegable, v1::AssignmentState state,
                                    const std::string& current_unit, const std::string& next_unit);

// The note of a unit's UNIT_PROGRESS item: "<what>" or "<what>: <message>".
std::string unitProgressNote(const std::string& what, const std::string& message);

// Why a unit handed an assignment back (its Reject): "<reason code>" or "<reason code>: <note>".
std::string unitRejectionNote(const std::string& reason_code, const std::string& note);

}  // namespace lapor::notification::domain
