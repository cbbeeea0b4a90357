// See timer_rules.h. Every event id is derived from the obligation (and the level or attempt),
// so a timer fired again after a crash produces the same events, which consumers drop.
#include "domain/timer_rules.h"

#include "domain/escalation.h"
#include "domain/follow_up.h"
#include "events/envelope.h"
#include "kafka/message.h"
#include "producer.h"
#include "text/stored_int.h"

#include <algorithm>

namespace lapor::sla {

namespace {

// The obligation's own deadline, once more from `from` (an escalation level, the next
// re-dispatch); the stored text, or the span it had when the text is unreadable.
int64_t oneDeadlineFrom(const ObligationRecord& rec, int64_t from, const WorkCalendar& cal) {
  Deadline d;
  try {
    d = Deadline::parse(rec.deadline);
  } catch (const std::exception&) {
    d = Deadline::wall(std::chrono::milliseconds(
        std::max<int64_t>(1000, rec.obligation.due_at_ms() - rec.obligation.started_at_ms())));
  }
  if (!d.enabled())
    d = Deadline::wall(std::chrono::milliseconds(
        std::max<int64_t>(1000, rec.obligation.due_at_ms() - rec.obligation.started_at_ms())));
  return d.dueFrom(from, cal);
}

struct Emit {
  const v1::Obligation& ob;
  const std::string& trace;
  int64_t now;
  FiredTimer& f;

  v1::EventEnvelope envelope(const std::string& name) const {
    return events::makeEnvelope(kProducer, ob.complaint_id(), trace, now,
                                events::nameUuid(name));
  }
  void lifecycle(v1::EventEnvelope env) {
    f.out.emplace_back(kafka::kComplaintsTopic, std::move(env));
  }
};

// Level `level` of the chain for `escalated` (the breaching agency's obligation): its
// Escalated event, the supervisor's item and the supervisor's own obligation; nothing when
// the chain has no such level.
void escalate(const ObligationRecord& escalated, int level, const std::string& why,
              const v1::Complaint& complaint, const agencies::AgencyDirectory& dir,
              const WorkCalendar& cal, const TimerSettings& settings, int64_t now, Emit& emit) {
  const auto& o = escalated.obligation;
  const bool emergency = isUnacknowledgedEmergency(o.stage(), o.priority());
  const auto target = escalationTarget(dir, o.agency_id(), level, emergency,
                                       settings.emergency_desk);
  auto& f = emit.f;
  if (target.agency_id.empty()) {
    f.what = FiredTimer::What::TopOfChain;
    f.level = level;
    return;
  }
  const auto item_id = escalationAssignmentId(o.obligation_id(), level);
  ObligationStart e;
  e.obligation_id = obligationId(item_id, v1::SLA_STAGE_ESCALATION, "");
  e.complaint_id = o.complaint_id();
  e.assignment_id = item_id;
  e.agency_id = target.agency_id;
  e.stage = v1::SLA_STAGE_ESCALATION;
  e.priority = o.priority();
  e.category = o.category();
  e.tracking_id = o.tracking_id();
  e.deadline = escalated.deadline;
  e.started_at_ms = now;
  e.due_at_ms = oneDeadlineFrom(escalated, now, cal);
  e.escalates = o.obligation_id();
  e.level = level;

  const auto suffix = "/" + o.obligation_id() + "/" + std::to_string(level);
  auto env = events::makeEnvelope(kProducer, o.complaint_id(), emit.trace, now,
                                  events::nameUuid("escalated" + suffix));
  auto* x = env.mutable_escalated();
  x->set_obligation_id(o.obligation_id());
  x->set_from_agency_id(o.agency_id());
  x->set_to_agency_id(target.agency_id);
  x->set_level(level);
  x->set_reason(why);
  x->set_stage(o.stage());
  x->set_assignment_id(o.assignment_id());
  x->set_escalation_id(item_id);
  x->set_due_at_ms(o.due_at_ms());
  x->set_escalation_due_at_ms(e.due_at_ms);
  emit.lifecycle(std::move(env));

  auto item = events::makeEnvelope(kProducer, o.complaint_id(), emit.trace, now,
                                   events::nameUuid("escalation-item" + suffix));
  *item.mutable_dispatched()->mutable_item() =
      escalationItem(o, target.agency_id, level, why, now, complaint, e.due_at_ms);
  f.out.emplace_back(kafka::dispatchTopic(target.agency_id), std::move(item));

  f.what = FiredTimer::What::Escalated;
  f.to_agency = target.agency_id;
  f.level = level;
  f.done.level = level;
  f.escalation = std::move(e);
}

v1::EventEnvelope redispatchRequest(const v1::Obligation& ob, int attempt, Emit& emit) {
  // Attempt 1 keeps the id the single re-dispatch of earlier versions had.
  auto env = emit.envelope(attempt == 1 ? "redispatch/" + ob.obligation_id()
                                        : "redispatch/" + ob.obligation_id() + "/" +
                                              std::to_string(attempt));
  auto* r = env.mutable_redispatch_requested();
  r->set_assignment_id(ob.assignment_id());
  r->set_agency_id(ob.agency_id());
  r->set_reason("emergency not acknowledged within its deadline (re-dispatch " +
                std::to_string(attempt) + ")");
  r->set_attempt(attempt);
  return env;
}

}  // namespace

TimerMember TimerMember::parse(const std::string& member) {
  TimerMember t;
  auto bar = member.find('|');
  t.obligation_id = member.substr(0, bar);
  if (bar == std::string::npos) return t;
  auto rest = member.substr(bar + 1);
  auto bar2 = rest.find('|');
  t.kind = rest.substr(0, bar2);
  t.level = t.kind == "breach" ? 1 : 0;
  if (bar2 != std::string::npos) t.level = static_cast<int>(text::storedInt(rest.substr(bar2 + 1)));
  return t;
}

std::string TimerMember::redispatch(const std::string& obligation_id, int attempt) {
  return obligation_id + "|redispatch|" + std::to_string(attempt);
}

FiredTimer fireTimer(const TimerMember& t, const ObligationRecord& rec,
                     const std::optional<ObligationRecord>& escalated,
                     const v1::Complaint& complaint, const agencies::AgencyDirectory& dir,
                     const WorkCalendar& cal, const TimerSettings& settings, int64_t now) {
  FiredTimer f;
  const auto& ob = rec.obligation;
  Emit emit{ob, rec.trace_id, now, f};
  const bool is_escalation = ob.stage() == v1::SLA_STAGE_ESCALATION;
  if (t.kind == "warn") {
    auto env = emit.envelope("warn/" + ob.obligation_id());
    auto* w = env.mutable_sla_warning();
    w->set_obligation_id(ob.obligation_id());
    w->set_stage(ob.stage());
    w->set_agency_id(ob.agency_id());
    w->set_assignment_id(ob.assignment_id());
    w->set_due_at_ms(ob.due_at_ms());
    emit.lifecycle(std::move(env));
    f.what = FiredTimer::What::Warned;
  } else if (t.kind == "close") {
    auto env = emit.envelope("close/" + ob.obligation_id());
    env.mutable_closed()->set_reason("auto-close");
    emit.lifecycle(std::move(env));
    f.what = FiredTimer::What::Closed;
  } else if (t.kind == "breach" && is_escalation) {
    // The supervisor let its own deadline pass: the next level hears of the original breach.
    if (!escalated) return f;  // what it escalated is gone (expired): nothing left to climb
    const auto& o = escalated->obligation;
    const bool emergency = isUnacknowledgedEmergency(o.stage(), o.priority());
    const auto why = escalationReason(o, 1, emergency) + "; " + ob.agency_id() +
                     " did not act on level " + std::to_string(ob.escalation_level()) +
                     " in time";
    escalate(*escalated, ob.escalation_level() + 1, why, complaint, dir, cal, settings, now,
             emit);
    f.done.level = 0;  // the level reached is recorded on the escalated obligation's chain
  } else if (t.kind == "breach") {
    const bool emergency = isUnacknowledgedEmergency(ob.stage(), ob.priority());
    auto env = emit.envelope("breach/" + ob.obligation_id());
    auto* b = env.mutable_sla_breached();
    b->set_obligation_id(ob.obligation_id());
    b->set_stage(ob.stage());
    b->set_agency_id(ob.agency_id());
    b->set_assignment_id(ob.assignment_id());
    b->set_due_at_ms(ob.due_at_ms());
    b->set_breached_at_ms(ob.breached_at_ms() > 0 ? ob.breached_at_ms() : now);
    emit.lifecycle(std::move(env));
    const bool redispatch =
        emergency && !ob.assignment_id().empty() && settings.max_redispatches > 0;
    if (redispatch) {
      emit.lifecycle(redispatchRequest(ob, 1, emit));
      f.done.redispatches = 1;
      if (settings.max_redispatches > 1) {
        f.done.next_member = TimerMember::redispatch(ob.obligation_id(), 2);
        f.done.next_due_ms = oneDeadlineFrom(rec, now, cal);
      }
    }
    auto why = escalationReason(ob, 1, emergency);
    if (!rec.expedite_reason.empty()) why += " (" + rec.expedite_reason + ")";
    const auto redispatches = f.done;
    escalate(rec, 1, why, complaint, dir, cal, settings, now, emit);
    f.done.redispatches = redispatches.redispatches;
    f.done.next_member = redispatches.next_member;
    f.done.next_due_ms = redispatches.next_due_ms;
    f.what = FiredTimer::What::Breached;
    f.emergency_desk = emergency;
  } else if (t.kind == "redispatch") {
    const int attempt = std::max(1, t.level);
    if (attempt > settings.max_redispatches) return f;  // the bound was lowered meanwhile
    emit.lifecycle(redispatchRequest(ob, attempt, emit));
    f.done.redispatches = attempt;
    if (attempt < settings.max_redispatches) {
      f.done.next_member = TimerMember::redispatch(ob.obligation_id(), attempt + 1);
      f.done.next_due_ms = oneDeadlineFrom(rec, now, cal);
    }
    f.what = FiredTimer::What::Redispatched;
    f.level = attempt;
  } else if (t.kind == "withdraw") {
    auto env = emit.envelope("escalation-withdrawn/" + ob.obligation_id());
    auto* item = env.mutable_dispatched()->mutable_item();
    item->set_kind(v1::DISPATCH_KIND_WITHDRAWN);
    item->set_escalation_level(ob.escalation_level());
    item->set_note("no longer needed: the escalated obligation ended");
    if (escalated) {
      const auto& o = escalated->obligation;
      item->set_escalated_assignment_id(o.assignment_id());
      item->set_escalated_agency_id(o.agency_id());
      item->set_escalated_stage(stageName(o.stage()));
      item->set_note("no longer needed: " + stageName(o.stage()) + " of " + o.agency_id() +
                     " ended");
    }
    auto* a = item->mutable_assignment();
    a->set_assignment_id(ob.assignment_id());
    a->set_complaint_id(ob.complaint_id());
    a->set_agency_id(ob.agency_id());
    a->set_role(v1::ASSIGNMENT_ROLE_SUPERVISOR);
    a->set_state(v1::ASSIGNMENT_STATE_WITHDRAWN);
    auto* c = item->mutable_complaint();
    if (complaint.complaint_id() == ob.complaint_id()) *c = complaint;
    c->set_complaint_id(ob.complaint_id());
    f.out.emplace_back(kafka::dispatchTopic(ob.agency_id()), env);
    emit.lifecycle(std::move(env));
    f.what = FiredTimer::What::Withdrawn;
  }
  return f;
}

}  // namespace lapor::sla
