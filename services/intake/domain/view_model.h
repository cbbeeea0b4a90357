// The tracking view's model of one complaint and how each lifecycle event changes it. Pure.
//
// State is kept per assignment id (an agency can hold a lead and a support assignment, and a
// reopen gives it a new one), and only moves forward: states are ranked, a lower-ranked state
// never replaces a higher one (a `delivered` replayed after `acknowledged` changes nothing) and
// equal ranks keep the newer report, by (time, event id), so any order in which the events of
// an assignment arrive gives the same result. The complaint's status is a function of its
// assignments' states and of the complaint-level facts (triage, reopened rounds, closed):
// re-dispatches and escalations never move it back.
//
// Before any agency sees a report, the verifiers may hold it: `verification_requested` makes it
// VERIFYING, `postponed` POSTPONED (a question to the reporter), the reporter's answer VERIFYING
// again, and `verified` (or a route) ends the stage. A report still under verification, or
// closed by the verifiers without being verified, is not published (see `published`).
#pragma once

#include "lapor/v1/complaint.pb.h"
#include "lapor/v1/events.pb.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lapor::intake {

// One agency's part as the view shows it.
struct AssignmentFacts {
  std::string assignment_id;
  std::string agency_id;
  std::string role = "lead";  // lead, support
  std::string state = "dispatched";
  int64_t at_ms = 0;         // when the state was reported
  std::string event_id;      // the event that reported it (ties)
  int round = 0;             // reopens before it was assigned
  int64_t dispatched_at_ms = 0;

  // "agency|role|state|at|event|round|dispatched" and back (the view's Redis hash value).
  std::string pack() const;
  static std::optional<AssignmentFacts> unpack(const std::string& id, const std::string& text);
  bool operator==(const AssignmentFacts&) const = default;
};

// dispatched 1, delivered / undeliverable 2, acknowledged 3, in_progress / on_scene /
// responded 4, resolved 5, rejected / withdrawn 6; 0 for a name it does not know.
int stateRank(const std::string& state);

// The assignment with `state` reported at (at_ms, event_id) applied: kept when it ranks
// higher, or equal and newer; otherwise unchanged.
AssignmentFacts reportState(AssignmentFacts a, const std::string& state, int64_t at_ms,
                            const std::string& event_id);

// Where a report stands with the verifiers.
enum class Verification { None, Pending, Verified };

// The question waiting for the reporter's answer (a verifier's postponement or an agency's
// AskReporter); the newest one wins.
struct OpenQuestion {
  std::string event_id;       // "" = no question open
  std::string text;
  std::string assignment_id;  // "" = the verifiers'
  std::string agency_id;      // "" = the verifiers
  bool operator==(const OpenQuestion&) const = default;
};

struct ViewModel {
  std::map<std::string, AssignmentFacts> assignments;  // by assignment id
  bool submitted = false;
  bool triage = false;  // the latest route left it with the triage desk
  int round = 0;        // reopens seen
  bool closed = false;
  std::string close_reason;  // auto-close, feedback, archived, not-ours, or the desk's reason code
  std::string duplicate_of;
  Verification verification = Verification::None;
  bool postponed = false;  // the verifiers wait for the reporter's answer
  OpenQuestion question;
};

v1::ComplaintStatus statusOf(const ViewModel& m);

// Whether the report may appear in public listings and Open311 results: not while it waits
// for the verifiers, nor when they closed it without verifying it (confidentiality is apart).
bool published(const ViewModel& m);
bool published(const std::string& stored_verification);

// The model's own facts as view hash fields (besides the assignments), and back from them:
// the handler stores every one after each event and loads them before the next.
std::vector<std::pair<std::string, std::string>> modelFields(const ViewModel& m);
// Reads the fields named by modelFieldNames() (empty strings for absent ones).
ViewModel modelFromFields(const std::map<std::string, std::string>& fields);
const std::vector<std::string>& modelFieldNames();
// The fields of modelFields(after) whose value differs from `stored` (as read; absent and ""
// are the same to every reader): what an update has to write.
std::vector<std::pair<std::string, std::string>> changedModelFields(
    const std::map<std::string, std::string>& stored, const ViewModel& after);

// What one event does to the view: the model after it, the assignments it changed, the view
// fields it sets and what its timeline entry says.
struct ViewChange {
  ViewModel after;
  std::vector<AssignmentFacts> changed;
  std::vector<std::pair<std::string, std::string>> fields;  // view hash fields to set
  std::vector<std::string> agencies;                         // agencies to list
  std::string agency;  // the timeline entry is about this agency
  std::string note;
};

ViewChange applyEvent(const ViewModel& before, const v1::EventEnvelope& env);

// The view's wording of an assignment state (in_progress, on_scene, ...).
std::string viewStateName(v1::AssignmentState s);

}  // namespace lapor::intake
