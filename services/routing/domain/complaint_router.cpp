// See complaint_router.h. Candidates for a re-route are RuleSet::candidates() minus every
// agency that rejected the complaint and every agency that holds or held an assignment for it.
#include "domain/complaint_router.h"

#include "events/envelope.h"
#include "producer.h"

#include <algorithm>

namespace lapor::routing {

namespace {

bool live(const v1::Assignment& a) {
  return a.state() != v1::ASSIGNMENT_STATE_REJECTED &&
         a.state() != v1::ASSIGNMENT_STATE_WITHDRAWN && a.state() != v1::ASSIGNMENT_STATE_RESOLVED;
}

Decision refuse(std::string reason, std::string detail) {
  Decision d;
  d.refusal = Refusal{std::move(reason), std::move(detail)};
  return d;
}

struct NewRoute {
  std::vector<RouteTarget> targets;
  std::string reason;
  std::string op;
  std::string note;
  v1::DispatchKind kind = v1::DISPATCH_KIND_NEW;
};

// ComplaintRouted plus one DispatchItem per target; the state gets the new assignments.
Effects emit(v1::RoutingState state, const std::string& cause_id, const std::string& trace_id,
             int64_t now, const NewRoute& route) {
  Effects fx;
  const auto& c = state.complaint();
  auto routed = events::makeEnvelope(kProducer, c.complaint_id(), trace_id, now,
                                     events::nameUuid("routed/" + cause_id));
  auto* r = routed.mutable_routed();
  r->set_rule_id(state.rule_id());
  r->set_rules_version(state.rules_version());
  r->set_triage(state.triage());
  r->set_priority(c.priority());
  r->set_category(c.category());
  *r->mutable_history() = state.history();
  r->set_reroute_count(state.reroute_count());
  r->set_reason(route.reason);
  r->set_operator_(route.op);
  r->set_round(state.round());
  for (const auto& t : route.targets) {
    v1::Assignment a;
    a.set_assignment_id(ComplaintRouter::assignmentIdFor(cause_id, t.agency_id));
    a.set_complaint_id(c.complaint_id());
    a.set_agency_id(t.agency_id);
    a.set_role(t.role);
    a.set_state(v1::ASSIGNMENT_STATE_DISPATCHED);
    a.set_dispatched_at_ms(now);
    *r->add_assignments() = a;
    *state.add_assignments() = a;
    auto dispatched = events::makeEnvelope(kProducer, c.complaint_id(), trace_id, now,
                                           events::nameUuid("dispatched/" + a.assignment_id()));
    auto* item = dispatched.mutable_dispatched()->mutable_item();
    *item->mutable_assignment() = a;
    *item->mutable_complaint() = c;
    item->set_rules_version(state.rules_version());
    item->set_kind(route.kind);
    item->set_note(route.note);
    *item->mutable_history() = state.history();
    fx.out.emplace_back(kafka::dispatchTopic(t.agency_id), dispatched);
    fx.out.emplace_back(kafka::kComplaintsTopic, std::move(dispatched));
  }
  fx.out.emplace_back(kafka::kComplaintsTopic, std::move(routed));
  fx.state = std::move(state);
  return fx;
}
// Takes a live assignment back: WITHDRAWN on the agency's topic (its feed closes the item) and
// `withdrawn` on the lifecycle topic (its clocks stop), ids derived from the cause.
void withdraw(v1::Assignment& a, const v1::RoutingState& state, const std::string& cause_id,
              const std::string& trace_id, int64_t now, const std::string& reason, Effects& fx) {
  a.set_state(v1::ASSIGNMENT_STATE_WITHDRAWN);
  const auto& c = state.complaint();
  auto item_env = events::makeEnvelope(kProducer, c.complaint_id(), trace_id, now,
                                       events::nameUuid("withdrawn-item/" + a.assignment_id() +
                                                        "/" + cause_id));
  auto* item = item_env.mutable_dispatched()->mutable_item();
  *item->mutable_assignment() = a;
  *item->mutable_complaint() = c;
  item->set_rules_version(state.rules_version());
  item->set_kind(v1::DISPATCH_KIND_WITHDRAWN);
  item->set_note(reason);
  fx.out.emplace_back(kafka::dispatchTopic(a.agency_id()), std::move(item_env));
  auto env = events::makeEnvelope(kProducer, c.complaint_id(), trace_id, now,
                                  events::nameUuid("withdrawn/" + a.assignment_id() + "/" +
                                                   cause_id));
  auto* w = env.mutable_withdrawn();
  w->set_assignment_id(a.assignment_id());
  w->set_agency_id(a.agency_id());
  w->set_reason(reason);
  fx.out.emplace_back(kafka::kComplaintsTopic, std::move(env));
}

// The triage desk's item is done (an operator decided, or the complaint closed): its feed
// closes the item (WITHDRAWN on the desk's topic); the desk's part is recorded as resolved.
void releaseTriage(v1::RoutingState& state, const std::string& cause_id,
                   const std::string& trace_id, int64_t now, const std::string& note,
                   Effects& fx) {
  const auto& c = state.complaint();
  for (auto& a : *state.mutable_assignments()) {
    if (a.agency_id() != agencies::AgencyDirectory::kTriage || !live(a)) continue;
    a.set_state(v1::ASSIGNMENT_STATE_RESOLVED);
    auto env = events::makeEnvelope(kProducer, c.complaint_id(), trace_id, now,
                                    events::nameUuid("triage-done/" + a.assignment_id() + "/" +
                                                     cause_id));
    auto* item = env.mutable_dispatched()->mutable_item();
    *item->mutable_assignment() = a;
    *item->mutable_complaint() = c;
    item->set_rules_version(state.rules_version());
    item->set_kind(v1::DISPATCH_KIND_WITHDRAWN);
    item->set_note(note);
    fx.out.emplace_back(kafka::dispatchTopic(a.agency_id()), std::move(env));
  }
}

// Every live assignment taken back; the triage desk's is released.
void withdrawLive(v1::RoutingState& state, const std::string& cause_id,
                  const std::string& trace_id, int64_t now, const std::string& reason,
                  Effects& fx) {
  const auto snapshot = state;
  for (auto& a : *state.mutable_assignments()) {
    if (!live(a) || a.agency_id() == agencies::AgencyDirectory::kTriage) continue;
    withdraw(a, snapshot, cause_id, trace_id, now, reason, fx);
  }
  releaseTriage(state, cause_id, trace_id, now, reason, fx);
}

Decision effects(Effects fx, std::string outcome) {
  fx.outcome = std::move(outcome);
  Decision d;
  d.effects = std::move(fx);
  return d;
}

const std::string kNoComplaint;
}  // namespace

std::string ComplaintRouter::assignmentIdFor(const std::string& cause_id,
                                             const std::string& agency_id) {
  return events::nameUuid("assignment/" + cause_id + "/" + agency_id);
}

Decision ComplaintRouter::submitted(const RuleSet& rules, const v1::EventEnvelope& env,
                                    int64_t now) const {
  const auto& c = env.submitted().complaint();
  if (c.complaint_id() != env.complaint_id())
    return refuse("invalid", "complaint id differs from envelope");
  if (c.category().empty()) return refuse("invalid", "complaint.category is empty");
  v1::RoutingState state;
  *state.mutable_complaint() = c;
  if (verification_.required(c)) {
    // Nothing is dispatched before a verifier passed it; the desk's dispose clock runs.
    state.set_rules_version(rules.version());
    state.set_verification(v1::COMPLAINT_STATUS_VERIFYING);
    state.set_queued_at_ms(env.occurred_at_ms() > 0 ? env.occurred_at_ms() : now);
    Effects fx;
    auto held = events::makeEnvelope(kProducer, c.complaint_id(), env.trace_id(), now,
                                     events::nameUuid("verification/" + env.event_id()));
    held.mutable_verification_requested()->set_desk(agencies::AgencyDirectory::kTriage);
    fx.out.emplace_back(kafka::kComplaintsTopic, std::move(held));
    fx.state = std::move(state);
    return effects(std::move(fx), "verification");
  }
  auto decision = rules.route(c);
  state.set_rule_id(decision.rule_id);
  state.set_rules_version(rules.version());
  state.set_triage(decision.triage);
  NewRoute route{decision.targets, "initial", "", "", v1::DISPATCH_KIND_NEW};
  Decision d;
  d.effects = emit(std::move(state), env.event_id(), env.trace_id(), now, route);
  d.effects->outcome = decision.triage ? "triage" : "rule";
  return d;
}

Decision ComplaintRouter::rejected(const RuleSet& rules,
                                   const std::optional<v1::RoutingState>& prior,
                                   const v1::EventEnvelope& env, int64_t now) const {
  const auto& rej = env.rejected();
  if (!prior) return refuse("unknown-complaint", "rejection for a complaint routing never routed");
  auto state = *prior;
  v1::Assignment* found = nullptr;
  for (auto& a : *state.mutable_assignments())
    if (a.assignment_id() == rej.assignment_id()) found = &a;
  if (!found || found->agency_id() != rej.agency_id())
    return refuse("unknown-assignment", "assignment " + rej.assignment_id() + " of agency " +
                                            rej.agency_id() + " is not one of this complaint's");
  if (found->agency_id() == agencies::AgencyDirectory::kTriage)
    return refuse("invalid", "the triage queue cannot reject; an operator uses Assign");
  if (!live(*found)) return {};  // already rejected or finished: nothing changes
  found->set_state(v1::ASSIGNMENT_STATE_REJECTED);
  const auto role = found->role();
  auto* rec = state.add_history();
  rec->set_assignment_id(rej.assignment_id());
  rec->set_agency_id(rej.agency_id());
  rec->set_reason_code(rej.reason_code());
  rec->set_note(rej.note());
  rec->set_at_ms(env.occurred_at_ms());

  std::vector<std::string> excluded;
  for (const auto& h : state.history()) excluded.push_back(h.agency_id());
  // Everyone who has or had a part in it: a finished or withdrawn assignment is not an offer.
  for (const auto& a : state.assignments()) excluded.push_back(a.agency_id());
  std::string next;
  for (const auto& cand : rules.candidates(state.complaint()))
    if (std::find(excluded.begin(), excluded.end(), cand) == excluded.end()) {
      next = cand;
      break;
    }
  NewRoute route;
  route.kind = v1::DISPATCH_KIND_NEW;
  if (state.reroute_count() >= max_reroutes_ || next.empty()) {
    route.reason = "reroute-cap";
    route.note = next.empty() ? "no agency left that has not rejected this complaint"
                              : "re-route limit of " + std::to_string(max_reroutes_) + " reached";
    route.targets = {{agencies::AgencyDirectory::kTriage, v1::ASSIGNMENT_ROLE_LEAD}};
    state.set_triage(true);
  } else {
    state.set_reroute_count(state.reroute_count() + 1);
    route.reason = "rerouted";
    route.note = "re-routed after " + rej.agency_id() + " rejected (" + rej.reason_code() + ")";
    route.targets = {{next, role}};
  }
  Decision d;
  d.effects = emit(std::move(state), env.event_id(), env.trace_id(), now, route);
  d.effects->outcome = route.reason;
  return d;
}

Decision ComplaintRouter::redispatch(const std::optional<v1::RoutingState>& prior,
                                     const v1::EventEnvelope& env, int64_t now) const {
  const auto& req = env.redispatch_requested();
  if (!prior) return refuse("unknown-complaint", "redispatch for a complaint routing never routed");
  const v1::Assignment* found = nullptr;
  for (const auto& a : prior->assignments())
    if (a.assignment_id() == req.assignment_id()) found = &a;
  if (!found) return refuse("unknown-assignment", "assignment " + req.assignment_id() + " unknown");
  if (!live(*found)) return {};  // rejected or withdrawn meanwhile: nobody to remind
  Effects fx;
  fx.state = *prior;
  fx.outcome = "redispatch";
  const auto& c = prior->complaint();
  auto dispatched = events::makeEnvelope(kProducer, c.complaint_id(), env.trace_id(), now,
                                         events::nameUuid("redispatched/" + env.event_id()));
  auto* item = dispatched.mutable_dispatched()->mutable_item();
  *item->mutable_assignment() = *found;
  *item->mutable_complaint() = c;
  item->set_rules_version(prior->rules_version());
  item->set_kind(v1::DISPATCH_KIND_REDISPATCH);
  item->set_note(req.reason());
  *item->mutable_history() = prior->history();
  item->set_attempt(req.attempt());
  // The same assignment again, not a new route: its clocks and the complaint's status stay.
  fx.out.emplace_back(kafka::dispatchTopic(found->agency_id()), dispatched);
  fx.out.emplace_back(kafka::kComplaintsTopic, std::move(dispatched));
  Decision d;
  d.effects = std::move(fx);
  return d;
}

Decision ComplaintRouter::assign(const RuleSet& rules, const std::optional<v1::RoutingState>& prior,
                                 const v1::RoutingCommand& cmd, int64_t now) const {
  const auto& req = cmd.request();
  if (!prior) return refuse("unknown-complaint", "assign for a complaint routing never routed");
  if (!rules.knows(req.agency_id()) || req.agency_id() == agencies::AgencyDirectory::kTriage)
    return refuse("invalid", "agency '" + req.agency_id() + "' is unknown or is triage");
  auto state = *prior;
  // The triage desk's item is done once an operator decided.
  Effects released;
  releaseTriage(state, cmd.command_id(), cmd.command_id(), now,
                "assigned to " + req.agency_id() + " by " + req.operator_(), released);
  state.set_triage(false);
  NewRoute route{{{req.agency_id(), v1::ASSIGNMENT_ROLE_LEAD}},
                 "operator",
                 req.operator_(),
                 req.note(),
                 v1::DISPATCH_KIND_NEW};
  Decision d;
  d.effects = emit(std::move(state), cmd.command_id(), cmd.command_id(), now, route);
  for (auto& o : released.out) d.effects->out.push_back(std::move(o));
  d.effects->outcome = "operator";
  return d;
}

Decision ComplaintRouter::reopened(const std::optional<v1::RoutingState>& prior,
                                   const v1::EventEnvelope& env, int64_t now) const {
  if (!prior) return refuse("unknown-complaint", "reopen of a complaint routing never routed");
  auto state = *prior;
  state.set_round(state.round() + 1);
  state.set_closed(false);
  const v1::Assignment* answered = nullptr;
  for (const auto& a : state.assignments())
    if (a.assignment_id() == state.answered_assignment_id()) answered = &a;
  NewRoute route;
  route.reason = "reopened";
  route.note = "reopened by the reporter: " + env.reopened().reason();
  if (answered && answered->agency_id() != agencies::AgencyDirectory::kTriage) {
    // Back to the agency whose answer it was, as a new piece of work with fresh clocks.
    route.targets = {{answered->agency_id(), v1::ASSIGNMENT_ROLE_LEAD}};
    route.kind = v1::DISPATCH_KIND_REOPENED;
    state.set_triage(false);
  } else {
    // Nobody answered it (the desk closed it): the desk disposes of it again.
    route.targets = {{agencies::AgencyDirectory::kTriage, v1::ASSIGNMENT_ROLE_LEAD}};
    state.set_triage(true);
  }
  state.clear_answered_assignment_id();
  Decision d;
  d.effects = emit(std::move(state), env.event_id(), env.trace_id(), now, route);
  d.effects->outcome = "reopened";
  return d;
}

Decision ComplaintRouter::answered(const std::optional<v1::RoutingState>& prior,
                                   const v1::EventEnvelope& env) const {
  if (!prior) return {};  // not routed here (an event written by hand): nothing to remember
  const auto& id = env.has_resolved() ? env.resolved().assignment_id()
                                      : env.status_updated().assignment_id();
  auto state = *prior;
  v1::Assignment* found = nullptr;
  for (auto& a : *state.mutable_assignments())
    if (a.assignment_id() == id) found = &a;
  if (!found || found->agency_id() == agencies::AgencyDirectory::kTriage) return {};
  if (env.has_resolved() && live(*found)) found->set_state(v1::ASSIGNMENT_STATE_RESOLVED);
  // The lead's answer is the complaint's; a supporting agency's counts while the lead has none.
  if (found->role() == v1::ASSIGNMENT_ROLE_LEAD || state.answered_assignment_id().empty())
    state.set_answered_assignment_id(id);
  if (state.SerializeAsString() == prior->SerializeAsString()) return {};
  Effects fx;
  fx.state = std::move(state);
  return effects(std::move(fx), "");
}

Decision ComplaintRouter::closed(const std::optional<v1::RoutingState>& prior,
                                 const v1::EventEnvelope& env, int64_t now) const {
  if (!prior || prior->closed()) return {};
  Effects fx;
  fx.state = *prior;
  fx.state.set_closed(true);
  fx.state.set_triage(false);
  fx.state.clear_verification();  // closed while held (a postponement nobody answered)
  withdrawLive(fx.state, env.event_id(), env.trace_id(), now,
               "the complaint was closed (" + env.closed().reason() + ")", fx);
  std::string outcome = fx.out.empty() ? "" : "closed";
  return effects(std::move(fx), std::move(outcome));
}

const std::string& ComplaintRouter::complaintOf(const v1::RoutingCommand& cmd) {
  switch (cmd.command_case()) {
    case v1::RoutingCommand::kRequest:
      return cmd.request().complaint_id();
    case v1::RoutingCommand::kClose:
      return cmd.close().complaint_id();
    case v1::RoutingCommand::kReturnToTriage:
      return cmd.return_to_triage().complaint_id();
    case v1::RoutingCommand::kVerify:
      return cmd.verify().complaint_id();
    case v1::RoutingCommand::kPostpone:
      return cmd.postpone().complaint_id();
    case v1::RoutingCommand::kNotOurs:
      return cmd.not_ours().complaint_id();
    case v1::RoutingCommand::kArchive:
      return cmd.archive().complaint_id();
    default:
      return kNoComplaint;
  }
}

std::string ComplaintRouter::refusalOf(const v1::RoutingState& state,
                                       const v1::RoutingCommand& cmd) {
  if (state.closed()) return "the complaint is closed";
  const bool held = state.verification() != v1::COMPLAINT_STATUS_UNSPECIFIED;
  switch (cmd.command_case()) {
    case v1::RoutingCommand::kVerify:
    case v1::RoutingCommand::kNotOurs:
    case v1::RoutingCommand::kArchive:
      return held ? "" : "the complaint is not waiting for verification";
    case v1::RoutingCommand::kPostpone:
      if (!held) return "the complaint is not waiting for verification";
      return state.verification() == v1::COMPLAINT_STATUS_POSTPONED
                 ? "the complaint is already postponed, waiting for the reporter's answer"
                 : "";
    default:
      if (held) return "the complaint waits for verification (Verify it first)";
  }
  if (cmd.has_return_to_triage())
    return state.triage() ? "the complaint is already with the triage desk" : "";
  return state.triage() ? "" : "complaint is not in triage";
}

Decision ComplaintRouter::command(const RuleSet& rules,
                                  const std::optional<v1::RoutingState>& prior,
                                  const v1::RoutingCommand& cmd, int64_t now) const {
  if (!prior) return refuse("unknown-complaint", "command for a complaint routing never routed");
  if (auto why = refusalOf(*prior, cmd); !why.empty()) return refuse("not-triaged", why);
  if (cmd.has_verify() || cmd.has_postpone() || cmd.has_not_ours() || cmd.has_archive())
    return verification(rules, *prior, cmd, now);
  if (cmd.has_request()) return assign(rules, prior, cmd, now);
  const auto& cause = cmd.command_id();
  Effects fx;
  fx.state = *prior;
  if (cmd.has_close()) {
    // The desk will not pass it on: the desk's item is taken back and the complaint closes.
    const auto& req = cmd.close();
    withdrawLive(fx.state, cause, cause, now, "closed by the triage desk (" + req.reason_code() + ")",
                 fx);
    fx.state.set_closed(true);
    fx.state.set_triage(false);
    auto env = events::makeEnvelope(kProducer, req.complaint_id(), cause, now,
                                    events::nameUuid("closed/" + cause));
    auto* c = env.mutable_closed();
    c->set_reason("triage");
    c->set_reason_code(req.reason_code());
    c->set_note(req.note());
    c->set_duplicate_of(req.duplicate_of());
    c->set_operator_(req.operator_());
    fx.out.emplace_back(kafka::kComplaintsTopic, std::move(env));
    return effects(std::move(fx), "triage-closed");
  }
  // Handed back: what the agencies hold is withdrawn and the desk disposes of it again.
  const auto& req = cmd.return_to_triage();
  withdrawLive(fx.state, cause, cause, now,
               "returned to the triage desk by " + req.operator_() + ": " + req.note(), fx);
  fx.state.set_triage(true);
  NewRoute route{{{agencies::AgencyDirectory::kTriage, v1::ASSIGNMENT_ROLE_LEAD}},
                 "returned",
                 req.operator_(),
                 req.note(),
                 v1::DISPATCH_KIND_NEW};
  auto routed = emit(fx.state, cause, cause, now, route);
  for (auto& o : routed.out) fx.out.push_back(std::move(o));
  fx.state = std::move(routed.state);
  return effects(std::move(fx), "returned");
}

Decision ComplaintRouter::verification(const RuleSet& rules, const v1::RoutingState& prior,
                                       const v1::RoutingCommand& cmd, int64_t now) const {
  const auto& cause = cmd.command_id();
  const auto& cid = prior.complaint().complaint_id();
  auto state = prior;
  state.clear_verification();
  state.clear_queued_at_ms();
  if (cmd.has_postpone()) {
    const auto& req = cmd.postpone();
    state.set_verification(v1::COMPLAINT_STATUS_POSTPONED);
    state.set_queued_at_ms(prior.queued_at_ms());
    state.clear_reporter_answer();
    auto env = events::makeEnvelope(kProducer, cid, cause, now,
                                    events::nameUuid("postponed/" + cause));
    env.mutable_postponed()->set_operator_(req.operator_());
    env.mutable_postponed()->set_question(req.question());
    Effects fx;
    fx.out.emplace_back(kafka::kComplaintsTopic, std::move(env));
    fx.state = std::move(state);
    return effects(std::move(fx), "postponed");
  }
  if (cmd.has_not_ours() || cmd.has_archive()) {
    state.set_closed(true);
    state.clear_reporter_answer();
    auto env = events::makeEnvelope(kProducer, cid, cause, now, events::nameUuid("closed/" + cause));
    auto* c = env.mutable_closed();
    c->set_reason("verification");
    if (cmd.has_not_ours()) {
      c->set_reason_code("not-ours");
      c->set_forward_to(cmd.not_ours().forward_to());
      c->set_note(cmd.not_ours().note());
      c->set_operator_(cmd.not_ours().operator_());
    } else {
      c->set_reason_code("archived");
      c->set_note(cmd.archive().reason());
      c->set_operator_(cmd.archive().operator_());
    }
    Effects fx;
    fx.out.emplace_back(kafka::kComplaintsTopic, std::move(env));
    fx.state = std::move(state);
    return effects(std::move(fx), cmd.has_not_ours() ? "not-ours" : "archived");
  }
  // Verified: the verifier's edits apply to what every agency receives, then it is routed.
  const auto& req = cmd.verify();
  state.clear_reporter_answer();
  auto* c = state.mutable_complaint();
  if (!req.title().empty()) c->set_title(req.title());
  if (!req.description().empty()) c->set_description(req.description());
  if (req.set_flags()) {
    c->set_confidential(req.confidential());
    c->set_anonymous(req.anonymous());
  }
  if (req.report_type() != v1::REPORT_TYPE_UNSPECIFIED) c->set_report_type(req.report_type());
  auto verified = events::makeEnvelope(kProducer, cid, cause, now,
                                       events::nameUuid("verified/" + cause));
  auto* v = verified.mutable_verified();
  v->set_operator_(req.operator_());
  v->set_title(req.title());
  v->set_description(req.description());
  v->set_confidential(c->confidential());
  v->set_anonymous(c->anonymous());
  v->set_report_type(c->report_type());
  v->set_note(req.note());
  auto decision = rules.route(*c);
  state.set_rule_id(decision.rule_id);
  state.set_rules_version(rules.version());
  state.set_triage(decision.triage);
  NewRoute route{decision.targets, "initial", "", "", v1::DISPATCH_KIND_NEW};
  auto fx = emit(std::move(state), cause, cause, now, route);
  fx.out.insert(fx.out.begin(), {kafka::kComplaintsTopic, std::move(verified)});
  return effects(std::move(fx), decision.triage ? "triage" : "rule");
}

Decision ComplaintRouter::reporterAnswered(const std::optional<v1::RoutingState>& prior,
                                           const v1::EventEnvelope& env) const {
  const auto& a = env.reporter_answered();
  // Only an answer to the verifiers' postponement concerns routing; agencies get theirs.
  if (!prior || prior->closed() || !a.assignment_id().empty() ||
      prior->verification() != v1::COMPLAINT_STATUS_POSTPONED)
    return {};
  Effects fx;
  fx.state = *prior;
  fx.state.set_verification(v1::COMPLAINT_STATUS_VERIFYING);
  fx.state.set_queued_at_ms(env.occurred_at_ms());
  fx.state.set_reporter_answer(a.answer());
  return effects(std::move(fx), "");
}

}  // namespace lapor::routing
