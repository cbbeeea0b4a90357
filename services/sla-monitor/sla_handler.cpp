// Timers: sorted set `sla:timers` by due time; a claim moves a member to `sla:inflight` with a
// lease, so a monitor that dies after claiming gives the timer back when the lease ends. The
// claim changes the obligation's state in the same Lua step (open -> breached), so an
// obligation met at the same moment is either met (no breach) or breached (completed late),
// never both. Fired events have ids derived from the obligation and level, so a re-fire after
// a crash is a repeat that consumers drop.
#include "sla_handler.h"

#include "domain/monthly_summary.h"
#include "events/envelope.h"
#include "kafka/batch_passes.h"
#include "events/names.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace lapor::sla {

namespace {
std::map<std::string, std::string> agencyStageLabels(const v1::Obligation& ob) {
  return {{"agency", ob.agency_id()},
          {"stage", stageName(ob.stage())},
          {"priority", priorityName(ob.priority())}};
}
}  // namespace

prometheus::Histogram::BucketBoundaries SlaMetrics::durationBuckets() {
  constexpr double m = 60, h = 3600, d = 86400;
  return {1,     5,     15,    30,    60,     2 * m,  5 * m,  15 * m, 30 * m, h,
          4 * h, 12 * h, d,    2 * d, 3 * d,  5 * d,  7 * d,  14 * d, 30 * d, 60 * d, 90 * d};
}

SlaMetrics::SlaMetrics(prometheus::Registry& r)
    : events(prometheus::BuildCounter()
                 .Name("lapor_sla_monitor_events_total")
                 .Help("Lifecycle events read, by event kind")
                 .Register(r)),
      started(prometheus::BuildCounter()
                  .Name("lapor_sla_monitor_obligations_started_total")
                  .Help("Obligations whose clock started, by stage and priority")
                  .Register(r)),
      met(prometheus::BuildCounter()
              .Name("lapor_sla_monitor_obligations_met_total")
              .Help("Obligations fulfilled before their deadline, by stage and agency")
              .Register(r)),
      cancelled(prometheus::BuildCounter()
                    .Name("lapor_sla_monitor_obligations_cancelled_total")
                    .Help("Obligations whose work went away (rejected, withdrawn, closed)")
                    .Register(r)),
      completed_late(prometheus::BuildCounter()
                         .Name("lapor_sla_monitor_obligations_completed_late_total")
                         .Help("Obligations fulfilled after their breach, by stage and agency")
                         .Register(r)),
      warnings(prometheus::BuildCounter()
                   .Name("lapor_sla_monitor_warnings_total")
                   .Help("SlaWarning events emitted, by stage")
                   .Register(r)),
      breaches(prometheus::BuildCounter()
                   .Name("lapor_sla_monitor_breaches_total")
                   .Help("SlaBreached events emitted, by stage, agency and priority")
                   .Register(r)),
      escalations(prometheus::BuildCounter()
                      .Name("lapor_sla_monitor_escalations_total")
                      .Help("Escalated events emitted, by level and supervisor agency")
                      .Register(r)),
      redispatches(prometheus::BuildCounter()
                       .Name("lapor_sla_monitor_redispatch_requests_total")
                       .Help("RedispatchRequested events for unacknowledged emergencies")
                       .Register(r)),
      auto_closed(prometheus::BuildCounter()
                      .Name("lapor_sla_monitor_auto_closed_total")
                      .Help("Complaints closed after an answer with no reply from the reporter")
                      .Register(r)),
      open(prometheus::BuildGauge()
               .Name("lapor_sla_monitor_open_obligations")
               .Help("Obligations not yet fulfilled, by agency, stage, priority and overdue")
               .Register(r)),
      oldest_emergency(prometheus::BuildGauge()
                           .Name("lapor_sla_monitor_emergency_oldest_open_seconds")
                           .Help("Age of the oldest unfulfilled emergency obligation, by stage")
                           .Register(r)),
      compliance(prometheus::BuildGauge()
                     .Name("lapor_sla_monitor_compliance_ratio")
                     .Help("Obligations met on time / fallen due in the compliance window")
                     .Register(r)),
      without_owner(prometheus::BuildGauge()
                        .Name("lapor_sla_monitor_complaints_without_owner")
                        .Help("Open complaints with no open obligation at the last owner audit "
                              "(0 in a correct system)")
                        .Register(r)),
      open_complaints(prometheus::BuildGauge()
                          .Name("lapor_sla_monitor_open_complaints")
                          .Help("Complaints submitted and not closed, at the last owner audit")
                          .Register(r)),
      time_to_acknowledge(prometheus::BuildHistogram()
                              .Name("lapor_sla_monitor_time_to_acknowledge_seconds")
                              .Help("Assignment start to acknowledgement, by agency, priority")
                              .Register(r)),
      time_to_resolve(prometheus::BuildHistogram()
                          .Name("lapor_sla_monitor_time_to_resolve_seconds")
                          .Help("Submission to resolution, by lead agency and priority")
                          .Register(r)) {}

LifecycleHandler::LifecycleHandler(ObligationStore& store, const SlaPolicy& policy,
                                   const WorkCalendar& calendar, log::Logger logger,
                                   SlaMetrics& metrics)
    : store_(store),
      policy_(policy),
      calendar_(calendar),
      log_(std::move(logger)),
      metrics_(metrics) {}

void LifecycleHandler::ended(const v1::EventEnvelope& env,
                             const std::vector<EndedObligation>& ended) {
  const auto at = env.occurred_at_ms();
  for (const auto& e : ended) {
    const std::map<std::string, std::string> labels{{"stage", e.stage}, {"agency", e.agency}};
    if (e.result == "met")
      metrics_.met.Add(labels).Increment();
    else if (e.result == "late")
      metrics_.completed_late.Add(labels).Increment();
    else
      metrics_.cancelled.Add({{"stage", e.stage}}).Increment();
    const double took = static_cast<double>(at - e.started_at_ms) / 1000.0;
    if (e.result != "cancelled" && e.stage == "acknowledge")
      metrics_.time_to_acknowledge
          .Add({{"agency", e.agency}, {"priority", e.priority}}, SlaMetrics::durationBuckets())
          .Observe(took);
    if (e.result != "cancelled" && e.stage == "resolution")
      metrics_.time_to_resolve
          .Add({{"agency", e.agency}, {"priority", e.priority}}, SlaMetrics::durationBuckets())
          .Observe(took);
    log_.debug("clock stopped", {{"complaint_id", env.complaint_id()},
                                {"trace_id", env.trace_id()},
                                {"agency", e.agency},
                                {"stage", e.stage},
                                {"result", e.result}});
  }
}

kafka::HandleResult LifecycleHandler::handle(const kafka::Message& msg) {
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope) return kafka::HandleResult::deadLetter("undecodable", decoded.error);
  const auto& env = *decoded.envelope;
  metrics_.events.Add({{"kind", events::eventKind(env)}}).Increment();
  return apply(env);
}

std::vector<kafka::HandleResult> LifecycleHandler::handleBatch(
    const std::vector<kafka::Message>& batch) {
  kafka::BatchPasses passes(batch.size());
  const auto envs = events::decodeBatch(batch, passes);
  for (size_t i = 0; i < batch.size(); ++i)
    if (!passes.finished(i)) metrics_.events.Add({{"kind", events::eventKind(envs[i])}}).Increment();
  auto retry = [&](size_t i, const std::string& detail) { passes.retry(i, "redis", detail); };
  // The writes one event queued: [first, last) of the pipeline, and which replies say what.
  struct Planned {
    size_t i = 0, first = 0, last = 0;
    std::vector<std::pair<size_t, const ObligationStart*>> starts;
    std::vector<size_t> ends;
    Step step;
  };
  // The ledgers as this batch left them, by complaint: only this handler writes a ledger, and
  // a complaint's events come to one handler at a time, so a complaint's next event in the
  // batch starts from the ledger its last one saved, without reading it again.
  std::map<std::string, v1::ComplaintLedger> saved;
  // One event per complaint per pass: each starts from the ledger the one before it saved.
  for (auto pass = passes.next(); !pass.empty(); pass = passes.next()) {
    // An undeliverable report's second write depends on the first's answer: on its own.
    std::vector<size_t> together;
    for (size_t i : pass) {
      if (envs[i].event_case() == v1::EventEnvelope::kUndeliverable) {
        saved.erase(envs[i].complaint_id());
        auto r = apply(envs[i]);
        if (r.outcome == kafka::Outcome::Retry)
          passes.retry(i, r.reason, r.detail);
        else
          passes.finish(i, std::move(r));
      } else {
        together.push_back(i);
      }
    }
    if (together.empty()) continue;
    // The ledgers not yet known, in one round trip.
    std::vector<redis::Reply> ledgers, replies;
    std::vector<size_t> read;  // positions in `together` read now
    redis::Pipeline reads;
    for (size_t k = 0; k < together.size(); ++k) {
      if (saved.count(envs[together[k]].complaint_id())) continue;
      read.push_back(k);
      reads.command(store_.ledgerCommand(envs[together[k]].complaint_id()));
    }
    if (reads.size() > 0) {
      try {
        ledgers = store_.run(reads);
      } catch (const redis::RedisError& e) {
        for (size_t i : together) retry(i, e.what());
        continue;
      }
    }
    std::vector<const redis::Reply*> ledger_of(together.size(), nullptr);
    for (size_t r = 0; r < read.size(); ++r) ledger_of[read[r]] = &ledgers[r];
    redis::Pipeline writes;
    std::vector<Planned> planned;
    planned.reserve(together.size());
    for (size_t k = 0; k < together.size(); ++k) {
      const size_t i = together[k];
      const auto& env = envs[i];
      if (ledger_of[k] && ledger_of[k]->type == redis::Reply::Type::Error) {
        retry(i, ledger_of[k]->str);
        continue;
      }
      const auto at = env.occurred_at_ms();
      const auto before = ledger_of[k] ? ObligationStore::ledgerFrom(*ledger_of[k])
                                       : saved.at(env.complaint_id());
      Planned& p = planned.emplace_back();
      p.i = i;
      p.step = step(before, env, policy_, calendar_);
      const auto& s = p.step;
      const auto counts = summaryIncrements(before, s, env, calendar_);
      // In the order apply() writes them; Redis runs a pipeline in order.
      const bool closing = s.changed && !isOpen(s.ledger);
      p.first = writes.size();
      if (closing) store_.addSaveLedger(writes, s.ledger, counts, isOpen(before));
      for (const auto& o : s.starts) p.starts.emplace_back(store_.addStart(writes, o, env.trace_id()), &o);
      for (const auto& r : s.reassigned) store_.addReassign(writes, r.obligation_id, r.agency_id);
      if (auto e = store_.addEnd(writes, env.complaint_id(), s.ends, at)) p.ends.push_back(*e);
      if (closing)
        p.ends.push_back(store_.addEnd(
            writes, env.complaint_id(), {v1::SLA_STAGE_UNSPECIFIED, "", EndOutcome::Cancelled}, at));
      if (env.event_case() == v1::EventEnvelope::kEscalationUpdated) {
        const auto& u = env.escalation_updated();
        if (u.state() != v1::ASSIGNMENT_STATE_DELIVERED &&
            u.state() != v1::ASSIGNMENT_STATE_UNSPECIFIED)
          p.ends.push_back(store_.addEnd(
              writes, env.complaint_id(),
              {v1::SLA_STAGE_ESCALATION, u.escalation_id(), EndOutcome::Met}, at));
      }
      if (s.changed && !closing) store_.addSaveLedger(writes, s.ledger, counts, isOpen(before));
      p.last = writes.size();
      // What Redis holds once this is written: the new ledger if the event changed it, else the
      // one it started from.
      if (!s.changed) p.step.ledger = before;
    }
    try {
      replies = store_.run(writes);
    } catch (const redis::RedisError& e) {
      for (const auto& p : planned) retry(p.i, e.what());
      continue;
    }
    for (auto& p : planned) {
      const auto& env = envs[p.i];
      std::string failed;
      for (size_t r = p.first; r < p.last && failed.empty(); ++r)
        if (replies[r].type == redis::Reply::Type::Error) failed = replies[r].str;
      if (!failed.empty()) {
        saved.erase(env.complaint_id());
        retry(p.i, failed);  // what went through is safe to apply again
        continue;
      }
      for (const auto& [r, o] : p.starts) {
        if (replies[r].integer != 1) continue;
        metrics_.started
            .Add({{"stage", stageName(o->stage)}, {"priority", priorityName(o->priority)}})
            .Increment();
        log_.debug("clock started", {{"complaint_id", o->complaint_id},
                                    {"trace_id", env.trace_id()},
                                    {"agency", o->agency_id},
                                    {"stage", stageName(o->stage)},
                                    {"due_at_ms", o->due_at_ms}});
      }
      for (size_t r : p.ends) ended(env, ObligationStore::endedOf(replies[r]));
      // As saved: the complaint's next event in the batch does not write it apart again.
      if (p.step.changed) ObligationStore::setComplaintApart(p.step.ledger);
      saved[env.complaint_id()] = std::move(p.step.ledger);
      passes.finish(p.i, kafka::HandleResult::done());
    }
  }
  return passes.take();
}

kafka::HandleResult LifecycleHandler::apply(const v1::EventEnvelope& env) {
  try {
    const auto at = env.occurred_at_ms();
    const auto before = store_.ledger(env.complaint_id());
    auto s = step(before, env, policy_, calendar_);
    // Written with the ledger that records the event as applied: counted once, replay or not.
    const auto counts = summaryIncrements(before, s, env, calendar_);
    // The audit must never see an open complaint between two clocks: a complaint that stays
    // open gets its new clocks before the old ones stop, and a closing one leaves the audit's
    // list before its clocks stop.
    const bool closing = s.changed && !isOpen(s.ledger);
    if (closing) store_.saveLedger(s.ledger, counts, isOpen(before));
    for (const auto& o : s.starts) {
      if (!store_.start(o, env.trace_id())) continue;
      metrics_.started
          .Add({{"stage", stageName(o.stage)}, {"priority", priorityName(o.priority)}})
          .Increment();
      log_.debug("clock started", {{"complaint_id", o.complaint_id},
                                  {"trace_id", env.trace_id()},
                                  {"agency", o.agency_id},
                                  {"stage", stageName(o.stage)},
                                  {"due_at_ms", o.due_at_ms}});
    }
    for (const auto& r : s.reassigned) store_.reassign(r.obligation_id, r.agency_id);
    ended(env, store_.end(env.complaint_id(), s.ends, at));
    if (closing) {
      // Whatever else it still had (escalations, clocks of earlier versions) ends with it.
      ended(env, store_.end(env.complaint_id(),
                            {v1::SLA_STAGE_UNSPECIFIED, "", EndOutcome::Cancelled}, at));
    }
    switch (env.event_case()) {
      case v1::EventEnvelope::kEscalationUpdated: {
        // The supervisor acted on its escalation: its own clock is met and the chain stops
        // climbing (the breaching agency's obligation stays until the agency meets it).
        const auto& u = env.escalation_updated();
        if (u.state() != v1::ASSIGNMENT_STATE_DELIVERED &&
            u.state() != v1::ASSIGNMENT_STATE_UNSPECIFIED)
          ended(env, store_.end(env.complaint_id(),
                                {v1::SLA_STAGE_ESCALATION, u.escalation_id(), EndOutcome::Met},
                                at));
        break;
      }
      case v1::EventEnvelope::kUndeliverable: {
        // The channel gave up: the agency cannot know of it, so its supervisor hears at once.
        const auto& u = env.undeliverable();
        const auto reason = "undeliverable: " + u.channel() + " gave up after " +
                            std::to_string(u.attempts()) + " attempts";
        if (store_.expedite(env.complaint_id(), u.assignment_id(), v1::SLA_STAGE_ACKNOWLEDGE,
                            reason, at) ||
            store_.expedite(env.complaint_id(), u.assignment_id(), v1::SLA_STAGE_FOLLOW_UP,
                            reason, at))
          log_.warn("assignment undeliverable, escalating at once",
                    {{"complaint_id", env.complaint_id()},
                     {"trace_id", env.trace_id()},
                     {"agency", u.agency_id()},
                     {"channel", u.channel()}});
        break;
      }
      default:
        break;
    }
    if (s.changed && !closing) store_.saveLedger(s.ledger, counts, isOpen(before));
  } catch (const redis::RedisError& e) {
    return kafka::HandleResult::retry("redis", e.what());
  }
  return kafka::HandleResult::done();
}

TimerScheduler::TimerScheduler(ObligationStore& store, kafka::MessageSink& events,
                               const time::Clock& clock,
                               const agencies::AgencyDirectory& directory,
                               const WorkCalendar& calendar, log::Logger logger,
                               SlaMetrics& metrics, SchedulerOptions options)
    : store_(store),
      events_(events),
      clock_(clock),
      directory_(directory),
      calendar_(calendar),
      log_(std::move(logger)),
      metrics_(metrics),
      opt_(std::move(options)) {}

TimerScheduler::~TimerScheduler() {
  stop();
}

void TimerScheduler::start() {
  thread_ = std::thread([this] {
    std::unique_lock lk(mu_);
    auto last_gauges = std::chrono::steady_clock::time_point{};
    while (!stop_) {
      lk.unlock();
      try {
        fireDue();
        if (std::chrono::steady_clock::now() - last_gauges > std::chrono::seconds(1)) {
          refreshGauges();
          last_gauges = std::chrono::steady_clock::now();
        }
      } catch (const std::exception& e) {
        log_.warn("timer pass failed, retrying next tick", {{"error", e.what()}});
      }
      lk.lock();
      cv_.wait_for(lk, opt_.tick, [this] { return stop_; });
    }
  });
}

void TimerScheduler::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int TimerScheduler::fireDue() {
  const auto now = clock_.nowMs();
  // The lease is longer than the produces of one timer can take, so a live claimer finishes.
  auto rest = store_.claimDue(now, opt_.produce_timeout * 6, 100);
  int fired = 0;
  // In waves of at most one timer per obligation (a warning and a breach claimed together
  // fire one after the other): every timer of a wave is read and produced first, then the
  // wave waits for all its acknowledgements at once instead of one after another.
  while (!rest.empty()) {
    std::vector<std::string> wave, later;
    std::set<std::string> obligations;
    for (auto& m : rest)
      (obligations.insert(TimerMember::parse(m).obligation_id).second ? wave : later)
          .push_back(std::move(m));
    std::vector<Firing> firing;
    for (const auto& m : wave)
      if (auto x = prepare(m, now)) firing.push_back(std::move(*x));
    for (auto& x : firing)
      if (finish(x)) ++fired;
    rest = std::move(later);
  }
  return fired;
}

std::optional<TimerScheduler::Firing> TimerScheduler::prepare(const std::string& member,
                                                              int64_t now) {
  Firing x;
  x.member = member;
  x.t = TimerMember::parse(member);
  auto rec = store_.record(x.t.obligation_id);
  if (!rec) {
    store_.complete(member);  // expired record: nothing left to say
    return std::nullopt;
  }
  x.rec = std::move(*rec);
  const auto& ob = x.rec.obligation;
  if (!ob.escalates_obligation_id().empty())
    x.escalated = store_.record(ob.escalates_obligation_id());
  // What supervisors are shown of the complaint comes from its ledger.
  v1::Complaint complaint;
  if (x.t.kind == "breach" || x.t.kind == "withdraw")
    complaint = store_.complaint(ob.complaint_id());
  x.f = fireTimer(x.t, x.rec, x.escalated, complaint, directory_, calendar_,
                  {opt_.emergency_desk, opt_.max_redispatches}, now);
  for (const auto& [topic, env] : x.f.out)
    x.reports.push_back(events_.produce(events::toMessage(topic, env)));
  return x;
}

bool TimerScheduler::finish(Firing& x) {
  const auto& member = x.member;
  const auto& t = x.t;
  const auto* rec = &x.rec;
  const auto& escalated = x.escalated;
  const auto& f = x.f;
  const auto& ob = rec->obligation;
  bool ok = true;
  for (const auto& r : kafka::awaitReports(x.reports, opt_.produce_timeout)) ok = r.ok && ok;
  if (!ok) {
    // Left in flight: the lease runs out and the timer is claimed again; the events carry the
    // same ids then, so what did reach Kafka is dropped as a repeat.
    log_.warn("timer event not produced, will fire again",
              {{"complaint_id", ob.complaint_id()}, {"timer", t.kind}});
    return false;
  }
  if (f.escalation) {
    store_.start(*f.escalation, rec->trace_id);
    if (escalated) store_.raiseLevel(escalated->obligation.obligation_id(), f.level);
  }
  const auto stage = stageName(ob.stage());
  const auto& source = escalated ? escalated->obligation : ob;
  using W = FiredTimer::What;
  switch (f.what) {
    case W::Warned:
      metrics_.warnings.Add({{"stage", stage}}).Increment();
      log_.warn("deadline approaching", {{"complaint_id", ob.complaint_id()},
                                         {"trace_id", rec->trace_id},
                                         {"agency", ob.agency_id()},
                                         {"stage", stage}});
      break;
    case W::Closed:
      metrics_.auto_closed.Add({}).Increment();
      log_.info("complaint closed: no reply to the answer",
                {{"complaint_id", ob.complaint_id()}, {"trace_id", rec->trace_id}});
      break;
    case W::Breached:
      metrics_.breaches.Add(agencyStageLabels(ob)).Increment();
      if (f.done.redispatches > 0) metrics_.redispatches.Add({}).Increment();
      log_.warn("deadline breached", {{"complaint_id", ob.complaint_id()},
                                      {"trace_id", rec->trace_id},
                                      {"agency", ob.agency_id()},
                                      {"stage", stage}});
      break;
    case W::Redispatched:
      metrics_.redispatches.Add({}).Increment();
      log_.warn("emergency re-dispatched", {{"complaint_id", ob.complaint_id()},
                                            {"trace_id", rec->trace_id},
                                            {"agency", ob.agency_id()},
                                            {"attempt", f.level}});
      break;
    case W::TopOfChain:
      metrics_.breaches.Add(agencyStageLabels(ob)).Increment();
      log_.warn("no supervisor to escalate to", {{"complaint_id", ob.complaint_id()},
                                                 {"agency", source.agency_id()},
                                                 {"escalation_level", f.level}});
      break;
    case W::Escalated:
      metrics_.breaches.Add(agencyStageLabels(ob)).Increment();
      break;
    case W::Withdrawn:
      log_.info("escalation taken back", {{"complaint_id", ob.complaint_id()},
                                          {"agency", ob.agency_id()}});
      break;
    case W::Nothing:
      break;
  }
  if (f.escalation) {
    metrics_.escalations
        .Add({{"level", std::to_string(f.level)}, {"to_agency", f.to_agency}})
        .Increment();
    log_.warn("escalated", {{"complaint_id", ob.complaint_id()},
                            {"trace_id", rec->trace_id},
                            {"from_agency", source.agency_id()},
                            {"to_agency", f.to_agency},
                            {"escalation_level", f.level}});
  }
  store_.complete(member, f.done);
  return f.what != W::Nothing;
}

int64_t TimerScheduler::auditOwners() {
  // Bounded by construction: one check reads at most owner_check_batch complaints, so its cost
  // does not grow with the number of open complaints; a longer list takes several checks.
  const auto audit = store_.auditOwners(audit_cursor_, opt_.owner_check_batch);
  for (const auto& cid : audit.without_owner) {
    if (!audit_found_.insert(cid).second) continue;  // met again in the same round
    const auto ledger = store_.ledger(cid);
    log_.error("open complaint without an owner: no obligation is open",
               {{"complaint_id", cid},
                {"tracking_id", ledger.complaint().tracking_id()},
                {"category", ledger.category()}});
  }
  metrics_.open_complaints.Add({}).Set(static_cast<double>(audit.open_complaints));
  if (audit_cursor_ != "0") return -1;  // the round through the list goes on next time
  const auto found = static_cast<int64_t>(audit_found_.size());
  metrics_.without_owner.Add({}).Set(static_cast<double>(found));
  audit_found_.clear();
  return found;
}

void TimerScheduler::refreshGauges() {
  const auto now = clock_.nowMs();
  if (audit_at_ms_ == 0 || now - audit_at_ms_ >= opt_.owner_check_interval.count()) {
    audit_at_ms_ = now;
    auditOwners();
  }
  for (const auto& c : store_.openCounts())
    metrics_.open
        .Add({{"agency", c.agency},
              {"stage", c.stage},
              {"priority", c.priority},
              {"overdue", c.overdue ? "true" : "false"}})
        .Set(static_cast<double>(c.count));
  for (auto s : {v1::SLA_STAGE_ACKNOWLEDGE, v1::SLA_STAGE_ON_SCENE, v1::SLA_STAGE_DISPOSE}) {
    auto oldest = store_.oldestOpenEmergency(stageName(s));
    metrics_.oldest_emergency.Add({{"stage", stageName(s)}})
        .Set(oldest ? static_cast<double>(now - *oldest) / 1000.0 : 0.0);
  }
  // Compliance comes from per-day counters written as obligations are decided: one read per
  // day of the window, whatever the volume. Every 15 s is plenty for a ratio over days.
  if (now - compliance_at_ms_ < 15'000) return;
  compliance_at_ms_ = now;
  store_.trim(now);
  for (const auto& [key, c] : store_.complianceSince(now - opt_.compliance_window.count(), now))
    metrics_.compliance.Add({{"agency", key.first}, {"stage", key.second}})
        .Set(c.due ? static_cast<double>(c.met_on_time) / static_cast<double>(c.due) : 1.0);
}

v1::GetComplianceResponse compliance(const std::vector<v1::Obligation>& decided,
                                     const std::string& agency, v1::ReportType type) {
  std::map<v1::SlaStage, std::pair<int64_t, int64_t>> per;  // met on time, due
  for (const auto& o : decided) {
    if (!agency.empty() && o.agency_id() != agency) continue;
    if (type != v1::REPORT_TYPE_UNSPECIFIED &&
        events::knownReportType(o.report_type()) != events::knownReportType(type))
      continue;
    auto& [met, due] = per[o.stage()];
    if (o.state() == v1::OBLIGATION_STATE_MET) ++met, ++due;
    if (o.state() == v1::OBLIGATION_STATE_BREACHED) ++due;
  }
  v1::GetComplianceResponse r;
  int64_t met_all = 0, due_all = 0;
  for (const auto& [stage, counts] : per) {
    auto* s = r.add_stages();
    s->set_stage(stage);
    s->set_met_on_time(counts.first);
    s->set_due(counts.second);
    s->set_ratio(counts.second ? static_cast<double>(counts.first) /
                                     static_cast<double>(counts.second)
                               : 1.0);
    met_all += counts.first;
    due_all += counts.second;
  }
  r.set_met_on_time(met_all);
  r.set_due(due_all);
  r.set_ratio(due_all ? static_cast<double>(met_all) / static_cast<double>(due_all) : 1.0);
  return r;
}

namespace {
grpc::Status unavailable() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "obligation store unavailable");
}
int limitOf(int32_t requested) {
  return requested <= 0 ? 100 : std::min(requested, 1000);
}
}  // namespace

grpc::Status SlaServiceImpl::GetObligations(grpc::ServerContext* ctx,
                                            const v1::GetObligationsRequest* req,
                                            v1::GetObligationsResponse* resp) {
  if (auto s = operators_.authorize(*ctx, auth::Role::Auditor, "GetObligations"); !s.ok()) return s;
  if (req->complaint_id().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "complaint_id: is required");
  try {
    for (auto& o : store_.forComplaint(req->complaint_id())) *resp->add_obligations() = o;
  } catch (const redis::RedisError&) {
    return unavailable();
  }
  return grpc::Status::OK;
}

grpc::Status SlaServiceImpl::GetCompliance(grpc::ServerContext* ctx,
                                           const v1::GetComplianceRequest* req,
                                           v1::GetComplianceResponse* resp) {
  if (auto s = operators_.authorize(*ctx, auth::Role::Auditor, "GetCompliance"); !s.ok()) return s;
  if (req->window_ms() <= 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "window_ms: must be positive");
  try {
    *resp = compliance(store_.decidedSince(clock_.nowMs() - req->window_ms()), req->agency_id(),
                       req->report_type());
  } catch (const redis::RedisError&) {
    return unavailable();
  }
  return grpc::Status::OK;
}

grpc::Status SlaServiceImpl::ListBreaches(grpc::ServerContext* ctx,
                                          const v1::ListBreachesRequest* req,
                                          v1::ListBreachesResponse* resp) {
  if (auto s = operators_.authorize(*ctx, auth::Role::Auditor, "ListBreaches"); !s.ok()) return s;
  if (req->since_ms() < 0 || req->limit() < 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "since_ms, limit: must not be negative");
  try {
    for (auto& o : store_.breachesSince(req->since_ms(), req->agency_id(), limitOf(req->limit())))
      *resp->add_obligations() = std::move(o);
  } catch (const redis::RedisError&) {
    return unavailable();
  }
  return grpc::Status::OK;
}

grpc::Status SlaServiceImpl::ListDueSoon(grpc::ServerContext* ctx, const v1::ListDueSoonRequest* req,
                                         v1::ListDueSoonResponse* resp) {
  if (auto s = operators_.authorize(*ctx, auth::Role::Auditor, "ListDueSoon"); !s.ok()) return s;
  if (req->within_ms() <= 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "within_ms: must be positive");
  if (req->limit() < 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must not be negative");
  try {
    const auto now = clock_.nowMs();
    for (auto& o :
         store_.dueBetween(now, now + req->within_ms(), req->agency_id(), limitOf(req->limit())))
      *resp->add_obligations() = std::move(o);
  } catch (const redis::RedisError&) {
    return unavailable();
  }
  return grpc::Status::OK;
}

grpc::Status SlaServiceImpl::GetMonthlySummary(grpc::ServerContext* ctx,
                                               const v1::GetMonthlySummaryRequest* req,
                                               v1::GetMonthlySummaryResponse* resp) {
  if (auto s = operators_.authorize(*ctx, auth::Role::Auditor, "GetMonthlySummary"); !s.ok())
    return s;
  if (!req->month().empty() && !isMonth(req->month()))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "month: '" + req->month() + "' is not YYYY-MM (e.g. 2026-03)");
  if (!req->agency_id().empty() && !directory_.find(req->agency_id()))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "agency_id: '" + req->agency_id() + "' is not an agency");
  const auto month = req->month().empty() ? monthOf(clock_.nowMs(), calendar_) : req->month();
  try {
    *resp = summaryFrom(req->agency_id(), month, store_.summary(month, req->agency_id()));
  } catch (const redis::RedisError&) {
    return unavailable();
  }
  return grpc::Status::OK;
}

}  // namespace lapor::sla
