// See follow_up.h. The clocks (SLA defaults, docs/deadlines.md): dispose while the triage desk
// holds the complaint; per assignment acknowledge (from dispatch), follow-up (from delivery)
// and, for a lead, on scene; resolution from the submission (or the latest reopen) until the
// lead of the current round resolves it; auto-close from the newest answer until the reporter
// replies or the complaint closes.
#include "domain/follow_up.h"

#include "events/envelope.h"
#include "events/names.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace lapor::sla {

namespace {

constexpr int kRecentEvents = 64;

bool isTriage(const v1::LedgerAssignment& a) {
  return a.agency_id() == kTriageDesk;
}

v1::LedgerAssignment* findAssignment(v1::ComplaintLedger& l, const std::string& id) {
  for (auto& a : *l.mutable_assignments())
    if (a.assignment_id() == id) return &a;
  return nullptr;
}

const v1::LedgerAssignment* findAssignment(const v1::ComplaintLedger& l, const std::string& id) {
  for (const auto& a : l.assignments())
    if (a.assignment_id() == id) return &a;
  return nullptr;
}

// An assignment event for an assignment the ledger never saw routed (its `routed` predates
// the ledger, or a test writes events directly): remember it from the event itself.
v1::LedgerAssignment& assignmentOf(v1::ComplaintLedger& l, const std::string& id,
                                   const std::string& agency, int64_t at) {
  if (auto* a = findAssignment(l, id)) return *a;
  auto* a = l.add_assignments();
  a->set_assignment_id(id);
  a->set_agency_id(agency);
  a->set_role(v1::ASSIGNMENT_ROLE_LEAD);
  a->set_dispatched_at_ms(at);
  a->set_round(l.round());
  return *a;
}

// The lead of the newest round that is still its lead (not rejected or withdrawn).
const v1::LedgerAssignment* currentLead(const v1::ComplaintLedger& l) {
  const v1::LedgerAssignment* best = nullptr;
  for (const auto& a : l.assignments()) {
    if (a.role() != v1::ASSIGNMENT_ROLE_LEAD || a.ended() || isTriage(a)) continue;
    if (!best || a.round() > best->round() ||
        (a.round() == best->round() && a.dispatched_at_ms() >= best->dispatched_at_ms()))
      best = &a;
  }
  return best;
}

struct Maker {
  const v1::ComplaintLedger& l;
  const SlaPolicy& policy;
  const WorkCalendar& cal;
  std::vector<ObligationStart>& out;

  void add(v1::SlaStage stage, const std::string& scope, const std::string& cause,
           const std::string& assignment, const std::string& agency, int64_t from) {
    const auto deadline =
        policy.deadlineFor(stage, l.priority(), l.category(), agency, l.report_type());
    if (!deadline.enabled()) return;
    ObligationStart o;
    o.stage = stage;
    o.obligation_id = obligationId(scope, stage, cause);
    o.complaint_id = l.complaint_id();
    o.assignment_id = assignment;
    o.agency_id = agency;
    o.priority = knownPriority(l.priority());
    o.category = l.category();
    o.report_type = events::knownReportType(l.report_type());
    o.tracking_id = l.complaint().tracking_id();
    o.deadline = deadline.text();
    o.started_at_ms = from;
    o.due_at_ms = deadline.dueFrom(from, cal);
    if (stage != v1::SLA_STAGE_AUTO_CLOSE)
      o.warn_at_ms = from + static_cast<int64_t>(std::llround(
                                static_cast<double>(o.due_at_ms - from) * policy.warn_fraction));
    out.push_back(std::move(o));
  }
};

// How an obligation that is no longer required ended, judged by the ledger after the event.
EndOutcome outcomeOf(const ObligationStart& o, const v1::ComplaintLedger& after) {
  const bool closed_by_triage = after.closed() && after.close_reason() == "triage";
  switch (o.stage) {
    case v1::SLA_STAGE_DISPOSE:
      // Routed to an agency, or closed by the desk: disposed of. Closed otherwise: gone.
      return !after.closed() || closed_by_triage ? EndOutcome::Met : EndOutcome::Cancelled;
    case v1::SLA_STAGE_RESOLUTION:
      return after.resolved() ? EndOutcome::Met : EndOutcome::Cancelled;
    case v1::SLA_STAGE_AUTO_CLOSE:
      // A newer answer, the reporter's reply or a close: the clock is not needed any more.
      return EndOutcome::Cancelled;
    default:
      break;
  }
  const auto* a = findAssignment(after, o.assignment_id);
  if (!a || a->ended()) return EndOutcome::Cancelled;
  bool done = false;
  if (o.stage == v1::SLA_STAGE_ACKNOWLEDGE) done = a->acknowledged();
  if (o.stage == v1::SLA_STAGE_FOLLOW_UP) done = a->followed_up();
  if (o.stage == v1::SLA_STAGE_ON_SCENE) done = a->on_scene();
  done = done || a->resolved();
  // Not done itself: the complaint was resolved or closed around it.
  return done ? EndOutcome::Met : EndOutcome::Cancelled;
}

void remember(v1::ComplaintLedger& l, const std::string& event_id) {
  l.add_recent_events(event_id);
  if (l.recent_events_size() > kRecentEvents)
    l.mutable_recent_events()->DeleteSubrange(0, l.recent_events_size() - kRecentEvents);
}

bool seen(const v1::ComplaintLedger& l, const std::string& event_id) {
  return std::find(l.recent_events().begin(), l.recent_events().end(), event_id) !=
         l.recent_events().end();
}

// The event folded into the ledger; false when it changes nothing the rule looks at.
bool fold(v1::ComplaintLedger& l, const v1::EventEnvelope& env) {
  const auto at = env.occurred_at_ms();
  switch (env.event_case()) {
    case v1::EventEnvelope::kSubmitted: {
      if (!l.resolution_cause().empty()) return false;  // a second submission of one complaint
      const auto& c = env.submitted().complaint();
      *l.mutable_complaint() = c;
      l.set_priority(c.priority());
      l.set_category(c.category());
      l.set_report_type(c.report_type());
      l.set_resolution_cause(env.event_id());
      l.set_resolution_since_ms(at);
      // Until routed to an agency, the desk must verify and pass it on.
      if (l.assignments().empty()) {
        l.set_dispose_cause(env.event_id());
        l.set_dispose_since_ms(at);
      }
      return true;
    }
    case v1::EventEnvelope::kRouted: {
      const auto& r = env.routed();
      if (r.priority() != v1::PRIORITY_UNSPECIFIED) l.set_priority(r.priority());
      if (!r.category().empty()) l.set_category(r.category());
      // Re-dispatches were once written as routes of the same assignment: nothing new in them.
      if (r.reason() == "redispatch") return true;
      for (const auto& a : r.assignments()) {
        if (findAssignment(l, a.assignment_id())) continue;
        auto* n = l.add_assignments();
        n->set_assignment_id(a.assignment_id());
        n->set_agency_id(a.agency_id());
        n->set_role(a.role());
        n->set_dispatched_at_ms(a.dispatched_at_ms() > 0 ? a.dispatched_at_ms() : at);
        n->set_round(r.round());
      }
      if (r.triage() || r.assignments().empty()) {
        // The desk holds it: its dispose clock runs (the one from the submission, if still on).
        if (l.dispose_cause().empty()) {
          l.set_dispose_cause(env.event_id());
          l.set_dispose_since_ms(at);
        }
      } else {
        l.clear_dispose_cause();
        l.clear_dispose_since_ms();
      }
      return true;
    }
    case v1::EventEnvelope::kDispatched: {
      const auto& item = env.dispatched().item();
      if (item.kind() != v1::DISPATCH_KIND_WITHDRAWN ||
          item.assignment().role() == v1::ASSIGNMENT_ROLE_SUPERVISOR)
        return false;
      auto* a = findAssignment(l, item.assignment().assignment_id());
      if (!a || a->ended()) return false;
      a->set_ended(true);
      return true;
    }
    case v1::EventEnvelope::kDelivered: {
      const auto& d = env.delivered();
      auto& a = assignmentOf(l, d.assignment_id(), d.agency_id(), at);
      if (a.delivered_at_ms() > 0) return false;
      a.set_delivered_at_ms(d.delivered_at_ms() > 0 ? d.delivered_at_ms() : at);
      return true;
    }
    case v1::EventEnvelope::kAcknowledged: {
      const auto& k = env.acknowledged();
      auto& a = assignmentOf(l, k.assignment_id(), k.agency_id(), at);
      a.set_acknowledged(true);
      return true;
    }
    case v1::EventEnvelope::kStatusUpdated: {
      const auto& s = env.status_updated();
      auto& a = assignmentOf(l, s.assignment_id(), s.agency_id(), at);
      a.set_acknowledged(true);  // any progress report is also an acknowledgement
      a.clear_reply_cause();     // the agency took the reporter's answer up
      a.clear_replied_at_ms();
      if (s.state() == v1::ASSIGNMENT_STATE_ON_SCENE) a.set_on_scene(true);
      if (s.state() == v1::ASSIGNMENT_STATE_IN_PROGRESS ||
          s.state() == v1::ASSIGNMENT_STATE_RESPONDED)
        a.set_followed_up(true);
      // The lead's answer to the reporter: the auto-close clock runs from the newest one.
      const auto* lead = currentLead(l);
      if (s.state() == v1::ASSIGNMENT_STATE_RESPONDED && lead &&
          lead->assignment_id() == s.assignment_id()) {
        l.set_answer_cause(env.event_id());
        l.set_answer_agency(s.agency_id());
        l.set_answered_at_ms(at);
      }
      return true;
    }
    case v1::EventEnvelope::kResolved: {
      const auto& r = env.resolved();
      auto& a = assignmentOf(l, r.assignment_id(), r.agency_id(), at);
      a.set_acknowledged(true);
      a.set_followed_up(true);
      a.set_resolved(true);
      a.clear_reply_cause();
      a.clear_replied_at_ms();
      // The lead's resolution resolves the complaint; a supporting agency finishing its part
      // does not.
      const auto* lead = currentLead(l);
      if (!lead || lead->assignment_id() == r.assignment_id()) {
        l.set_resolved(true);
        l.set_answer_cause(env.event_id());
        l.set_answer_agency(r.agency_id());
        l.set_answered_at_ms(at);
      }
      return true;
    }
    case v1::EventEnvelope::kRejected: {
      const auto& r = env.rejected();
      auto& a = assignmentOf(l, r.assignment_id(), r.agency_id(), at);
      a.set_ended(true);
      return true;
    }
    case v1::EventEnvelope::kWithdrawn: {
      const auto& w = env.withdrawn();
      auto& a = assignmentOf(l, w.assignment_id(), w.agency_id(), at);
      a.set_ended(true);
      return true;
    }
    case v1::EventEnvelope::kReopened:
      // A new round: the resolution clock starts again and routing gives the complaint back
      // to the agency that answered (a new assignment of the round follows).
      l.set_round(l.round() + 1);
      l.set_resolved(false);
      l.clear_answer_cause();
      l.clear_answer_agency();
      l.clear_answered_at_ms();
      l.set_closed(false);
      l.clear_close_reason();
      l.set_resolution_cause(env.event_id());
      l.set_resolution_since_ms(at);
      return true;
    case v1::EventEnvelope::kClosed:
      l.set_closed(true);
      l.set_close_reason(env.closed().reason());
      return true;
    case v1::EventEnvelope::kVerificationRequested:
      // Held for the verifiers: the dispose clock from the submission keeps running.
      l.set_verifying(true);
      return true;
    case v1::EventEnvelope::kVerified: {
      l.set_verifying(false);
      const auto type = env.verified().report_type();
      if (type != v1::REPORT_TYPE_UNSPECIFIED &&
          events::knownReportType(type) != events::knownReportType(l.report_type())) {
        // Reclassified: the resolution clock (still from the submission) takes the new type's
        // deadline, as a new obligation that replaces the old one.
        l.set_report_type(type);
        if (!l.resolution_cause().empty()) l.set_resolution_cause(env.event_id());
      }
      return true;
    }
    case v1::EventEnvelope::kPostponed:
      // The verifiers wait for the reporter: their clock stops; the auto-close clock runs.
      l.set_verifying(false);
      l.set_postponed(true);
      l.clear_dispose_cause();
      l.clear_dispose_since_ms();
      l.set_open_question(env.event_id());
      l.set_answer_cause(env.event_id());
      l.set_answer_agency(kTriageDesk);
      l.set_answered_at_ms(at);
      return true;
    case v1::EventEnvelope::kReporterAsked: {
      const auto& q = env.reporter_asked();
      auto& a = assignmentOf(l, q.assignment_id(), q.agency_id(), at);
      a.set_acknowledged(true);  // asking the reporter is taking the work up
      a.set_followed_up(true);
      a.clear_reply_cause();
      a.clear_replied_at_ms();
      l.set_open_question(env.event_id());
      l.set_answer_cause(env.event_id());
      l.set_answer_agency(q.agency_id());
      l.set_answered_at_ms(at);
      return true;
    }
    case v1::EventEnvelope::kReporterAnswered: {
      const auto& r = env.reporter_answered();
      if (l.open_question().empty() || r.in_reply_to() != l.open_question()) return false;
      l.clear_open_question();
      // The reporter replied: the auto-close clock the question started stops.
      if (l.answer_cause() == r.in_reply_to()) {
        l.clear_answer_cause();
        l.clear_answer_agency();
        l.clear_answered_at_ms();
      }
      if (l.postponed()) {
        // Back to the verifiers, whose dispose clock starts again from the answer.
        l.set_postponed(false);
        l.set_verifying(true);
        l.set_dispose_cause(env.event_id());
        l.set_dispose_since_ms(at);
      } else if (auto* a = findAssignment(l, r.assignment_id()); a && !a->ended()) {
        // The agency that asked owes a follow-up on the answer.
        a->set_reply_cause(env.event_id());
        a->set_replied_at_ms(at);
      }
      return true;
    }
    case v1::EventEnvelope::kFeedback:
      // Closed or reopened follows and decides; the feedback itself is recorded as seen, so
      // the monthly summary counts its rating once.
      return true;
    default:
      // SLA events, escalations and re-dispatch requests change nothing the rule looks at.
      return false;
  }
}

}  // namespace

std::string obligationId(const std::string& scope, v1::SlaStage stage, const std::string& cause) {
  return events::nameUuid("obligation/" + scope + "/" + std::to_string(stage) +
                          (cause.empty() ? "" : "/" + cause));
}

bool isOpen(const v1::ComplaintLedger& l) {
  return !l.closed() && (!l.resolution_cause().empty() || l.assignments_size() > 0);
}

std::string resolutionOwner(const v1::ComplaintLedger& l) {
  if (const auto* lead = currentLead(l); lead && l.dispose_cause().empty()) return lead->agency_id();
  return kTriageDesk;
}

std::vector<ObligationStart> required(const v1::ComplaintLedger& l, const SlaPolicy& policy,
                                      const WorkCalendar& cal) {
  std::vector<ObligationStart> out;
  if (l.closed()) return out;
  Maker m{l, policy, cal, out};
  const auto& cid = l.complaint_id();
  if (!l.dispose_cause().empty())
    m.add(v1::SLA_STAGE_DISPOSE, cid, l.dispose_cause(), "", kTriageDesk, l.dispose_since_ms());
  if (!l.resolved() && !l.resolution_cause().empty())
    m.add(v1::SLA_STAGE_RESOLUTION, cid, l.resolution_cause(), "", resolutionOwner(l),
          l.resolution_since_ms());
  // Once the complaint is resolved, what its other agencies still owed is not needed.
  if (!l.resolved()) {
    for (const auto& a : l.assignments()) {
      if (isTriage(a) || a.ended() || a.resolved()) continue;
      const auto& id = a.assignment_id();
      if (!a.acknowledged())
        m.add(v1::SLA_STAGE_ACKNOWLEDGE, id, "", id, a.agency_id(), a.dispatched_at_ms());
      if (a.delivered_at_ms() > 0 && !a.followed_up())
        m.add(v1::SLA_STAGE_FOLLOW_UP, id, "", id, a.agency_id(), a.delivered_at_ms());
      if (a.role() != v1::ASSIGNMENT_ROLE_SUPPORT && !a.on_scene())
        m.add(v1::SLA_STAGE_ON_SCENE, id, "", id, a.agency_id(), a.dispatched_at_ms());
    }
  }
  // The reporter answered an agency's question: that agency follows the answer up.
  for (const auto& a : l.assignments()) {
    if (a.reply_cause().empty() || a.ended()) continue;
    m.add(v1::SLA_STAGE_FOLLOW_UP, a.assignment_id(), a.reply_cause(), a.assignment_id(),
          a.agency_id(), a.replied_at_ms());
  }
  if (!l.answer_cause().empty())
    m.add(v1::SLA_STAGE_AUTO_CLOSE, cid, l.answer_cause(), "", l.answer_agency(),
          l.answered_at_ms());
  return out;
}

Step step(const v1::ComplaintLedger& before, const v1::EventEnvelope& env,
          const SlaPolicy& policy, const WorkCalendar& cal) {
  Step s;
  s.ledger = before;
  if (s.ledger.complaint_id().empty()) s.ledger.set_complaint_id(env.complaint_id());
  if (seen(before, env.event_id())) return s;
  if (!fold(s.ledger, env)) return s;
  remember(s.ledger, env.event_id());
  s.changed = true;
  // A new ledger required nothing before this event.
  const auto was = before.complaint_id().empty() ? std::vector<ObligationStart>{}
                                                 : required(before, policy, cal);
  const auto now = required(s.ledger, policy, cal);
  std::map<std::string, const ObligationStart*> was_by_id, now_by_id;
  for (const auto& o : was) was_by_id[o.obligation_id] = &o;
  for (const auto& o : now) now_by_id[o.obligation_id] = &o;
  for (const auto& [id, o] : was_by_id) {
    auto it = now_by_id.find(id);
    if (it == now_by_id.end())
      s.ends.push_back({id, o->stage, o->assignment_id, o->agency_id, outcomeOf(*o, s.ledger)});
    else if (it->second->agency_id != o->agency_id)
      s.reassigned.push_back({id, it->second->agency_id});
  }
  for (const auto& o : now)
    if (!was_by_id.count(o.obligation_id)) s.starts.push_back(o);
  return s;
}

}  // namespace lapor::sla
