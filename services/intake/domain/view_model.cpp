// See view_model.h.
#include "domain/view_model.h"

#include "domain/escalation_note.h"
#include "events/envelope.h"
#include "text/stored_int.h"

#include <sstream>
#include <tuple>

namespace lapor::intake {

namespace {

constexpr const char* kTriage = "triage";  // AgencyDirectory::kTriage

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
    auto& a = target(m, id, agency, env.occurred_at_ms());
    a = reportState(a, state, env.occurred_at_ms(), env.event_id());
    c.agency = agency;
    c.changed.push_back(a);
    c.agencies.push_back(agency);
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
  const AssignmentFacts* lead = nullptr;
  bool acted = false, live = false;
  for (const auto& [id, a] : m.assignments) {
    if (a.round != m.round || a.agency_id == kTriage) continue;
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
                  {"publisher", x.publisher()}};
      break;
    }
    case v1::EventEnvelope::kRouted: {
      const auto& r = env.routed();
      c.note = r.reason();
      // Re-dispatches were once written as routes of the same assignment: nothing new in them.
      if (r.reason() == "redispatch") break;
      if (r.round() > m.round) m.round = r.round();
      m.triage = r.triage();
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
      c.fields = {{"status_note", "reopened: " + c.note}, {"close_reason", ""}, {"duplicate_of", ""}};
      break;
    case v1::EventEnvelope::kClosed: {
      const auto& x = env.closed();
      m.closed = true;
      m.triage = false;
      m.close_reason = x.reason() == "triage" && !x.reason_code().empty() ? x.reason_code()
                                                                           : x.reason();
      m.duplicate_of = x.duplicate_of();
      c.note = x.reason() == "triage" ? "closed by the triage desk: " + m.close_reason : x.reason();
      if (!m.duplicate_of.empty()) c.note += " of " + m.duplicate_of;
      if (!x.note().empty()) c.note += " (" + x.note() + ")";
      c.fields = {{"close_reason", m.close_reason}, {"duplicate_of", m.duplicate_of}};
      if (x.reason() == "triage") c.fields.push_back({"status_note", c.note});
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
