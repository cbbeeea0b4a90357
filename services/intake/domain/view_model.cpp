// See view_model.h.
#include "domain/view_model.h"

#include "agencies/triage.h"
#include "domain/escalation_note.h"
#include "events/envelope.h"
#include "text/stored_int.h"

#include <algorithm>
#include <sstream>
#include <tuple>

namespace lapor::intake {

namespace {


bool isTerminal(const std::string& state) {
  return stateRank(state) == 6;
}

// The assignment an agency event is about: by id, or (an event without one, as earlier
// versions wrote them) the agency's assignment of the current round; a new one when the view
// has not seen it routed.
AssignmentFacts& target(ViewModel& m, const std::string& id, const std::string& agency,
                        int64_t at) {
  if (!id.empty()) {
    auto it = m.assignments.find(id);
    if (it != m.assignments.end()) return it->second;
  } else {
    AssignmentFacts* best = nullptr;
    for (auto& [aid, a] : m.assignments)
      if (a.agency_id == agency && a.round == m.round &&
          (!best || a.dispatched_at_ms >= best->dispatched_at_ms))
        best = &a;
    if (best) return *best;
  }
  AssignmentFacts a;
  a.assignment_id = id.empty() ? "agency/" + agency + "/" + std::to_string(m.round) : id;
  a.agency_id = agency;
  a.round = m.round;
  a.dispatched_at_ms = at;
  return m.assignments.emplace(a.assignment_id, a).first->second;
}

struct Folder {
  ViewModel& m;
  ViewChange& c;
  const v1::EventEnvelope& env;

  void report(const std::string& id, const std::string& agency, const std::string& state) {
    // An agency the view already has a part of is listed already: the list is written with
    // the parts, in the same step.
    const bool listed = std::any_of(m.assignments.begin(), m.assignments.end(),
                                    [&](const auto& p) { return p.second.agency_id == agency; });
    auto& a = target(m, id, agency, env.occurred_at_ms());
    a = reportState(a, state, env.occurred_at_ms(), env.event_id());
    c.agency = agency;
    c.changed.push_back(a);
    if (!listed) c.agencies.push_back(agency);
  }
};

}  // namespace

std::string AssignmentFacts::pack() const {
  return agency_id + "|" + role + "|" + state + "|" + std::to_string(at_ms) + "|" + event_id +
         "|" + std::to_string(round) + "|" + std::to_string(dispatched_at_ms);
}

std::optional<AssignmentFacts> AssignmentFacts::unpack(const std::string& id,
                                                       const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, '|')) parts.push_back(part);
  if (parts.size() < 7) return std::nullopt;
  AssignmentFacts a;
  a.assignment_id = id;
  a.agency_id = parts[0];
  a.role = parts[1];
  a.state = parts[2];
  a.at_ms = text::storedInt(parts[3]);
  a.event_id = parts[4];
  a.round = static_cast<int>(text::storedInt(parts[5]));
  a.dispatched_at_ms = text::storedInt(parts[6]);
  return a;
}

int stateRank(const std::string& s) {
  if (s == "dispatched") return 1;
  if (s == "delivered" || s == "undeliverable") return 2;
  if (s == "acknowledged") return 3;
  if (s == "in_progress" || s == "on_scene" || s == "responded") return 4;
  if (s == "resolved") return 5;
  if (s == "rejected" || s == "withdrawn") return 6;
  return 0;
}

AssignmentFacts reportState(AssignmentFacts a, const std::string& state, int64_t at_ms,
                            const std::string& event_id) {
  const auto mine = std::make_tuple(stateRank(a.state), a.at_ms, a.event_id);
  const auto theirs = std::make_tuple(stateRank(state), at_ms, event_id);
  if (theirs > mine) {
    a.state = state;
    a.at_ms = at_ms;
    a.event_id = event_id;
  }
  return a;
}

std::string viewStateName(v1::AssignmentState s) {
  switch (s) {
    case v1::ASSIGNMENT_STATE_DISPATCHED:
      return "dispatched";
    case v1::ASSIGNMENT_STATE_DELIVERED:
      return "delivered";
    case v1::ASSIGNMENT_STATE_ACKNOWLEDGED:
      return "acknowledged";
    case v1::ASSIGNMENT_STATE_IN_PROGRESS:
      return "in_progress";
    case v1::ASSIGNMENT_STATE_RESPONDED:
      return "responded";
    case v1::ASSIGNMENT_STATE_RESOLVED:
      return "resolved";
    case v1::ASSIGNMENT_STATE_REJECTED:
      return "rejected";
    case v1::ASSIGNMENT_STATE_WITHDRAWN:
      return "withdrawn";
    case v1::ASSIGNMENT_STATE_ON_SCENE:
      return "on_scene";
    default:
      return "dispatched";
  }
}

v1::ComplaintStatus statusOf(const ViewModel& m) {
  if (m.closed) return v1::COMPLAINT_STATUS_CLOSED;
  if (m.verification == Verification::Pending)
    return m.postponed ? v1::COMPLAINT_STATUS_POSTPONED : v1::COMPLAINT_STATUS_VERIFYING;
  const AssignmentFacts* lead = nullptr;
  bool acted = false, live = false;
  for (const auto& [id, a] : m.assignments) {
    if (a.round != m.round || a.agency_id == agencies::kTriageDesk) continue;
    const int rank = stateRank(a.state);
    if (isTerminal(a.state)) continue;
    live = true;
    if (rank >= 3) acted = true;
    if (a.role == "lead" && (!lead || a.dispatched_at_ms >= lead->dispatched_at_ms)) lead = &a;
  }
  // Reopened until an agency acts on it again.
  if (m.round > 0 && !acted) return v1::COMPLAINT_STATUS_REOPENED;
  if (m.triage) return v1::COMPLAINT_STATUS_TRIAGE;
  if (lead && lead->state == "resolved") return v1::COMPLAINT_STATUS_RESOLVED;
  if (acted) return v1::COMPLAINT_STATUS_IN_PROGRESS;
  // Routed, or between a rejection and its re-route.
  if (live || !m.assignments.empty()) return v1::COMPLAINT_STATUS_ROUTED;
  return v1::COMPLAINT_STATUS_SUBMITTED;
}

bool published(const ViewModel& m) {
  return m.verification != Verification::Pending;
}

bool published(const std::string& stored_verification) {
  return stored_verification != "pending";
}

namespace {
const char* verificationName(Verification v) {
  switch (v) {
    case Verification::Pending:
      return "pending";
    case Verification::Verified:
      return "verified";
    case Verification::None:
      break;
  }
  return "";
}

std::string field(const std::map<std::string, std::string>& f, const std::string& name) {
  auto it = f.find(name);
  return it == f.end() ? "" : it->second;
}

// The answer closes the question it replies to; a newer question stays open.
void clearQuestionOf(ViewModel& m, const std::string& asked_by_event) {
  if (m.question.event_id == asked_by_event) m.question = {};
}
}  // namespace

const std::vector<std::string>& modelFieldNames() {
  static const std::vector<std::string> names{
      "submitted_at_ms", "triage",         "round",          "closed",
      "close_reason",    "duplicate_of",   "verification",   "postponed",
      "open_question",   "question_event", "question_assignment", "question_agency"};
  return names;
}

std::vector<std::pair<std::string, std::string>> modelFields(const ViewModel& m) {
  return {{"triage", m.triage ? "1" : "0"},
          {"round", std::to_string(m.round)},
          {"closed", m.closed ? "1" : "0"},
          {"close_reason", m.close_reason},
          {"duplicate_of", m.duplicate_of},
          {"verification", verificationName(m.verification)},
          {"postponed", m.postponed ? "1" : "0"},
          {"open_question", m.question.text},
          {"question_event", m.question.event_id},
          {"question_assignment", m.question.assignment_id},
          {"question_agency", m.question.agency_id}};
}

std::vector<std::pair<std::string, std::string>> changedModelFields(
    const std::map<std::string, std::string>& stored, const ViewModel& after) {
  auto fields = modelFields(after);
  std::erase_if(fields, [&](const auto& kv) {
    auto it = stored.find(kv.first);
    return (it == stored.end() ? std::string() : it->second) == kv.second;
  });
  return fields;
}

ViewModel modelFromFields(const std::map<std::string, std::string>& f) {
  ViewModel m;
  const auto submitted_at = field(f, "submitted_at_ms");
  m.submitted = text::storedInt(&submitted_at) > 0;
  m.triage = field(f, "triage") == "1";
  const auto round = field(f, "round");
  m.round = static_cast<int>(text::storedInt(&round));
  m.closed = field(f, "closed") == "1";
  m.close_reason = field(f, "close_reason");
  m.duplicate_of = field(f, "duplicate_of");
  const auto v = field(f, "verification");
  m.verification = v == "pending"    ? Verification::Pending
                   : v == "verified" ? Verification::Verified
                                     : Verification::None;
  m.postponed = field(f, "postponed") == "1";
  m.question = {field(f, "question_event"), field(f, "open_question"),
                field(f, "question_assignment"), field(f, "question_agency")};
  return m;
}

ViewChange applyEvent(const ViewModel& before, const v1::EventEnvelope& env) {
  ViewChange c;
  c.after = before;
  auto& m = c.after;
  Folder f{m, c, env};
  switch (env.event_case()) {
    case v1::EventEnvelope::kSubmitted: {
      const auto& x = env.submitted().complaint();
      const auto& l = x.location();
      m.submitted = true;
      c.fields = {{"tracking_id", x.tracking_id()},
                  {"category", x.category()},
                  {"priority", std::to_string(x.priority())},
                  {"channel", std::to_string(x.channel())},
                  {"confidential", x.confidential() ? "1" : "0"},
                  {"title", x.title()},
                  {"description", x.description()},
                  {"has_coordinates", l.has_coordinates() ? "1" : "0"},
                  {"lat", std::to_string(l.lat())},
                  {"lon", std::to_string(l.lon())},
                  {"kecamatan", l.kecamatan()},
                  {"desa", l.desa()},
                  {"address", l.address()},
                  {"media_url", x.attachments_size() > 0 ? x.attachments(0).url() : ""},
                  {"submitted_at_ms", std::to_string(x.submitted_at_ms())},
                  {"publisher", x.publisher()},
                  {"report_type", std::to_string(x.report_type())}};
      break;
    }
    case v1::EventEnvelope::kRouted: {
      const auto& r = env.routed();
      c.note = r.reason();
      // Re-dispatches were once written as routes of the same assignment: nothing new in them.
      if (r.reason() == "redispatch") break;
      if (r.round() > m.round) m.round = r.round();
      m.triage = r.triage();
      // A route means the verifiers are done with it (routing dispatches only verified reports).
      if (m.verification == Verification::Pending) {
        m.verification = Verification::Verified;
        m.postponed = false;
        if (m.question.assignment_id.empty()) m.question = {};
      }
      for (const auto& a : r.assignments()) {
        AssignmentFacts n;
        n.agency_id = a.agency_id();
        n.assignment_id = a.assignment_id().empty()
                              ? "agency/" + a.agency_id() + "/" + std::to_string(r.round())
                              : a.assignment_id();
        if (m.assignments.count(n.assignment_id)) continue;
        n.role = a.role() == v1::ASSIGNMENT_ROLE_SUPPORT ? "support" : "lead";
        n.round = r.round();
        n.dispatched_at_ms = a.dispatched_at_ms() > 0 ? a.dispatched_at_ms() : env.occurred_at_ms();
        n.at_ms = n.dispatched_at_ms;
        m.assignments[n.assignment_id] = n;
        c.changed.push_back(n);
        c.agencies.push_back(n.agency_id);
      }
      break;
    }
    case v1::EventEnvelope::kDispatched: {
      const auto& item = env.dispatched().item();
      const auto& a = item.assignment();
      c.note = item.note();
      c.agency = a.agency_id();
      // Only a withdrawal changes an agency's part; new items come with their `routed`,
      // re-dispatches and escalations change nothing, and a supervisor's item is not a part.
      if (item.kind() == v1::DISPATCH_KIND_WITHDRAWN && a.role() != v1::ASSIGNMENT_ROLE_SUPERVISOR)
        f.report(a.assignment_id(), a.agency_id(), "withdrawn");
      break;
    }
    case v1::EventEnvelope::kDelivered:
      f.report(env.delivered().assignment_id(), env.delivered().agency_id(), "delivered");
      c.note = env.delivered().channel();
      break;
    case v1::EventEnvelope::kUndeliverable:
      f.report(env.undeliverable().assignment_id(), env.undeliverable().agency_id(),
               "undeliverable");
      c.note = env.undeliverable().last_error();
      break;
    case v1::EventEnvelope::kAcknowledged:
      f.report(env.acknowledged().assignment_id(), env.acknowledged().agency_id(),
               "acknowledged");
      if (!env.acknowledged().unit_id().empty())
        c.note = "by unit " + env.acknowledged().unit_id();
      break;
    case v1::EventEnvelope::kStatusUpdated: {
      const auto& u = env.status_updated();
      f.report(u.assignment_id(), u.agency_id(), viewStateName(u.state()));
      c.note = u.message();
      if (!c.note.empty()) c.fields = {{"status_note", c.note}};
      break;
    }
    case v1::EventEnvelope::kRejected:
      f.report(env.rejected().assignment_id(), env.rejected().agency_id(), "rejected");
      c.note = env.rejected().reason_code();
      break;
    case v1::EventEnvelope::kResolved:
      f.report(env.resolved().assignment_id(), env.resolved().agency_id(), "resolved");
      c.note = env.resolved().resolution();
      c.fields = {{"status_note", c.note}};
      break;
    case v1::EventEnvelope::kWithdrawn:
      f.report(env.withdrawn().assignment_id(), env.withdrawn().agency_id(), "withdrawn");
      c.note = env.withdrawn().reason();
      break;
    case v1::EventEnvelope::kFeedback:
      c.note = std::to_string(env.feedback().rating()) + "/5" +
               (env.feedback().solved() ? " solved" : " not solved");
      break;
    case v1::EventEnvelope::kReopened:
      m.round += 1;
      m.closed = false;
      m.close_reason.clear();
      m.duplicate_of.clear();
      c.note = env.reopened().reason();
      c.fields = {{"status_note", "reopened: " + c.note},
                  {"close_reason", ""},
                  {"duplicate_of", ""},
                  {"forward_to", ""}};
      break;
    case v1::EventEnvelope::kClosed: {
      const auto& x = env.closed();
      m.closed = true;
      m.triage = false;
      const bool by_desk = x.reason() == "triage" || x.reason() == "verification";
      m.close_reason = by_desk && !x.reason_code().empty() ? x.reason_code() : x.reason();
      m.duplicate_of = x.duplicate_of();
      m.postponed = false;
      m.question = {};  // nothing is waiting for the reporter's answer any more
      const std::string forward_to = x.reason() == "verification" ? x.forward_to() : "";
      if (x.reason() == "triage") {
        c.note = "closed by the triage desk: " + m.close_reason;
      } else if (x.reason() == "verification") {
        c.note = m.close_reason == "not-ours" ? "not ours: belongs to " + forward_to
                                              : "closed by the verifiers: " + m.close_reason;
      } else {
        c.note = x.reason();
      }
      if (!m.duplicate_of.empty()) c.note += " of " + m.duplicate_of;
      if (!x.note().empty()) c.note += " (" + x.note() + ")";
      c.fields = {{"close_reason", m.close_reason},
                  {"duplicate_of", m.duplicate_of},
                  {"forward_to", forward_to}};
      if (x.reason() == "triage") c.fields.push_back({"status_note", c.note});
      // The verifiers' reason is the reporter's to read: archived says why, not-ours where to.
      if (x.reason() == "verification")
        c.fields.push_back({"status_note", x.note().empty() ? c.note : x.note()});
      break;
    }
    case v1::EventEnvelope::kSlaWarning:
      c.agency = env.sla_warning().agency_id();
      break;
    case v1::EventEnvelope::kSlaBreached:
      c.agency = env.sla_breached().agency_id();
      break;
    case v1::EventEnvelope::kEscalated:
      c.agency = env.escalated().to_agency_id();
      c.note = env.escalated().reason();
      break;
    case v1::EventEnvelope::kEscalationUpdated:
      // The supervisor's own work on an escalation: a timeline entry like `escalated`, no
      // change to the complaint's status or to the agencies' assignments.
      c.agency = env.escalation_updated().agency_id();
      c.note = escalationTimelineNote(env.escalation_updated());
      break;
    case v1::EventEnvelope::kVerificationRequested:
      c.agency = env.verification_requested().desk();
      // Only a report no agency has seen waits for the verifiers; a late or replayed request
      // never takes a routed, verified or closed report back.
      if (m.verification == Verification::None && m.assignments.empty() && !m.closed)
        m.verification = Verification::Pending;
      break;
    case v1::EventEnvelope::kVerified: {
      const auto& x = env.verified();
      m.verification = Verification::Verified;
      m.postponed = false;
      if (m.question.assignment_id.empty()) m.question = {};  // the verifiers' own question
      // The verifiers' edits are what the public sees from now on.
      if (!x.title().empty()) c.fields.push_back({"title", x.title()});
      if (!x.description().empty()) c.fields.push_back({"description", x.description()});
      c.fields.push_back({"confidential", x.confidential() ? "1" : "0"});
      if (x.report_type() != v1::REPORT_TYPE_UNSPECIFIED)
        c.fields.push_back({"report_type", std::to_string(x.report_type())});
      break;
    }
    case v1::EventEnvelope::kPostponed:
      c.note = env.postponed().question();
      if (m.verification == Verification::Pending && !m.closed) {
        m.postponed = true;
        m.question = {env.event_id(), env.postponed().question(), "", ""};
      }
      break;
    case v1::EventEnvelope::kReporterAsked: {
      const auto& x = env.reporter_asked();
      c.agency = x.agency_id();
      c.note = x.question();
      if (!m.closed) m.question = {env.event_id(), x.question(), x.assignment_id(), x.agency_id()};
      break;
    }
    case v1::EventEnvelope::kReporterAnswered: {
      const auto& x = env.reporter_answered();
      c.agency = x.agency_id();
      c.note = x.answer();
      // The postponement answered: back to the verifiers' queue (the one step back allowed).
      if (m.postponed && m.question.event_id == x.in_reply_to()) m.postponed = false;
      clearQuestionOf(m, x.in_reply_to());
      break;
    }
    case v1::EventEnvelope::kDelegated:
      c.agency = env.delegated().agency_id();
      c.note = "to unit " + env.delegated().unit_id();
      break;
    case v1::EventEnvelope::kDelegationRevoked:
      c.agency = env.delegation_revoked().agency_id();
      c.note = "taken back from unit " + env.delegation_revoked().unit_id();
      break;
    case v1::EventEnvelope::kReporterNotified: {
      // What was told and how; never to whom.
      const auto& x = env.reporter_notified();
      c.note = x.notice() + " by " + x.channel() + (x.delivered() ? "" : " (not delivered)");
      break;
    }
    case v1::EventEnvelope::kRedispatchRequested:
      c.agency = env.redispatch_requested().agency_id();
      c.note = env.redispatch_requested().reason();
      break;
    default:
      break;
  }
  return c;
}

}  // namespace lapor::intake
