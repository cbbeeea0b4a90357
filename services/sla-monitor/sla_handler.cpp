// Timers: sorted set `sla:timers` by due time; a claim moves a member to `sla:inflight` with a
// lease, so a monitor that dies after claiming gives the timer back when the lease ends. The
// claim changes the obligation's state in the same Lua step (open -> breached), so an
// obligation met at the same moment is either met (no breach) or breached (completed late),
// never both. Fired events have ids derived from the obligation and level, so a re-fire after
// a crash is a repeat that consumers drop.
#include "sla_handler.h"

#include "events/envelope.h"

#include <algorithm>
#include <map>
#include <set>

namespace lapor::sla {

namespace {
constexpr const char* kProducer = "sla-monitor";

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

kafka::HandleResult LifecycleHandler::handle(const kafka::Message& msg) {
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope) return kafka::HandleResult::deadLetter("undecodable", decoded.error);
  const auto& env = *decoded.envelope;
  metrics_.events.Add({{"kind", events::eventKind(env)}}).Increment();
  try {
    ComplaintFacts known;
    if (!env.has_submitted()) known = store_.facts(env.complaint_id());
    auto decision = decide(env, known, policy_, calendar_);
    if (decision.facts) store_.saveFacts(env.complaint_id(), *decision.facts);
    const auto at = env.occurred_at_ms();
    for (const auto& e : decision.ends) {
      for (const auto& ended : store_.end(env.complaint_id(), e, at)) {
        const std::map<std::string, std::string> labels{{"stage", ended.stage},
                                                        {"agency", ended.agency}};
        if (ended.result == "met")
          metrics_.met.Add(labels).Increment();
        else if (ended.result == "late")
          metrics_.completed_late.Add(labels).Increment();
        else
          metrics_.cancelled.Add({{"stage", ended.stage}}).Increment();
        const double took = static_cast<double>(at - ended.started_at_ms) / 1000.0;
        if (ended.result != "cancelled" && ended.stage == "acknowledge")
          metrics_.time_to_acknowledge
              .Add({{"agency", ended.agency}, {"priority", ended.priority}},
                   SlaMetrics::durationBuckets())
              .Observe(took);
        if (ended.result != "cancelled" && ended.stage == "resolution")
          metrics_.time_to_resolve
              .Add({{"agency", ended.agency}, {"priority", ended.priority}},
                   SlaMetrics::durationBuckets())
              .Observe(took);
        log_.info("clock stopped", {{"complaint_id", env.complaint_id()},
                                    {"trace_id", env.trace_id()},
                                    {"agency", ended.agency},
                                    {"stage", ended.stage},
                                    {"result", ended.result}});
      }
    }
    if (!decision.lead_agency.empty())
      store_.setLeadAgency(env.complaint_id(), decision.lead_agency);
    for (const auto& o : decision.starts) {
      if (store_.start(o, env.trace_id())) {
        metrics_.started
            .Add({{"stage", stageName(o.stage)}, {"priority", priorityName(o.priority)}})
            .Increment();
        log_.info("clock started", {{"complaint_id", o.complaint_id},
                                    {"trace_id", env.trace_id()},
                                    {"agency", o.agency_id},
                                    {"stage", stageName(o.stage)},
                                    {"due_at_ms", o.due_at_ms}});
      }
    }
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
  auto claimed = store_.claimDue(now, opt_.produce_timeout * 6, 100);
  int fired = 0;
  for (const auto& member : claimed)
    if (fire(member, now)) ++fired;
  return fired;
}

bool TimerScheduler::fire(const std::string& member, int64_t now) {
  const auto t = TimerMember::parse(member);
  std::string trace, deadline_text;
  auto ob = store_.get(t.obligation_id, &trace, &deadline_text);
  if (!ob) {
    store_.complete(member, 0, "", 0);  // expired record: nothing left to say
    return false;
  }
  const auto stage = stageName(ob->stage());
  auto produce = [&](const v1::EventEnvelope& env, const std::string& topic) {
    return events_.produceAndWait(events::toMessage(topic, env), opt_.produce_timeout).ok;
  };
  auto envelope = [&](const std::string& what) {
    return events::makeEnvelope(kProducer, ob->complaint_id(), trace, now,
                                events::nameUuid(what + "/" + t.obligation_id));
  };
  bool ok = true;
  std::string next_member;
  int64_t next_due = 0;
  if (t.kind == "warn") {
    auto env = envelope("warn");
    auto* w = env.mutable_sla_warning();
    w->set_obligation_id(t.obligation_id);
    w->set_stage(ob->stage());
    w->set_agency_id(ob->agency_id());
    w->set_assignment_id(ob->assignment_id());
    w->set_due_at_ms(ob->due_at_ms());
    ok = produce(env, kafka::kComplaintsTopic);
    if (ok) {
      metrics_.warnings.Add({{"stage", stage}}).Increment();
      log_.warn("deadline approaching", {{"complaint_id", ob->complaint_id()},
                                         {"trace_id", trace},
                                         {"agency", ob->agency_id()},
                                         {"stage", stage}});
    }
  } else if (t.kind == "close") {
    auto env = envelope("close");
    env.mutable_closed()->set_reason("auto-close");
    ok = produce(env, kafka::kComplaintsTopic);
    if (ok) {
      metrics_.auto_closed.Add({}).Increment();
      log_.info("complaint closed: no reply to the answer",
                {{"complaint_id", ob->complaint_id()}, {"trace_id", trace}});
    }
  } else if (t.kind == "breach" || t.kind == "esc") {
    const bool emergency = isUnacknowledgedEmergency(ob->stage(), ob->priority());
    if (t.kind == "breach") {
      auto env = envelope("breach");
      auto* b = env.mutable_sla_breached();
      b->set_obligation_id(t.obligation_id);
      b->set_stage(ob->stage());
      b->set_agency_id(ob->agency_id());
      b->set_assignment_id(ob->assignment_id());
      b->set_due_at_ms(ob->due_at_ms());
      b->set_breached_at_ms(ob->breached_at_ms() > 0 ? ob->breached_at_ms() : now);
      ok = produce(env, kafka::kComplaintsTopic);
      if (ok && emergency && !ob->assignment_id().empty()) {
        auto r = envelope("redispatch");
        auto* rr = r.mutable_redispatch_requested();
        rr->set_assignment_id(ob->assignment_id());
        rr->set_agency_id(ob->agency_id());
        rr->set_reason("emergency not acknowledged within its deadline");
        ok = produce(r, kafka::kComplaintsTopic);
      }
    }
    ok = ok && escalate(*ob, trace, t.level, now, emergency);
    if (ok) {
      if (t.kind == "breach") {
        metrics_.breaches.Add(agencyStageLabels(*ob)).Increment();
        if (emergency) metrics_.redispatches.Add({}).Increment();
        log_.warn("deadline breached", {{"complaint_id", ob->complaint_id()},
                                        {"trace_id", trace},
                                        {"agency", ob->agency_id()},
                                        {"stage", stage}});
      }
      // Another full deadline without fulfilment escalates one level higher.
      if (!escalationTarget(directory_, ob->agency_id(), t.level + 1, emergency,
                            opt_.emergency_desk)
               .agency_id.empty()) {
        next_member = t.obligation_id + "|esc|" + std::to_string(t.level + 1);
        Deadline d;
        try {
          d = Deadline::parse(deadline_text);
        } catch (const std::exception&) {
          d = Deadline::wall(std::chrono::milliseconds(ob->due_at_ms() - ob->started_at_ms()));
        }
        next_due = d.dueFrom(now, calendar_);
      }
    }
  }
  if (!ok) {
    // Left in flight: the lease runs out and the timer is claimed again.
    log_.warn("timer event not produced, will fire again",
              {{"complaint_id", ob->complaint_id()}, {"timer", t.kind}});
    return false;
  }
  store_.complete(member, t.kind == "breach" || t.kind == "esc" ? t.level : 0, next_member,
                  next_due);
  return true;
}

bool TimerScheduler::escalate(const v1::Obligation& ob, const std::string& trace, int level,
                              int64_t now, bool emergency) {
  const auto target =
      escalationTarget(directory_, ob.agency_id(), level, emergency, opt_.emergency_desk);
  if (target.agency_id.empty()) {
    log_.warn("no supervisor to escalate to", {{"complaint_id", ob.complaint_id()},
                                               {"agency", ob.agency_id()},
                                               {"escalation_level", level}});
    return true;
  }
  const auto id = "/" + ob.obligation_id() + "/" + std::to_string(level);
  const auto reason = escalationReason(ob, level, emergency);
  auto env = events::makeEnvelope(kProducer, ob.complaint_id(), trace, now,
                                  events::nameUuid("escalated" + id));
  auto* e = env.mutable_escalated();
  e->set_obligation_id(ob.obligation_id());
  e->set_from_agency_id(ob.agency_id());
  e->set_to_agency_id(target.agency_id);
  e->set_level(level);
  e->set_reason(reason);
  if (!events_.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env),
                              opt_.produce_timeout)
           .ok)
    return false;
  auto item_env = events::makeEnvelope(kProducer, ob.complaint_id(), trace, now,
                                       events::nameUuid("escalation-item" + id));
  *item_env.mutable_dispatched()->mutable_item() =
      escalationItem(ob, target.agency_id, level, reason, now);
  if (!events_.produceAndWait(events::toMessage(kafka::dispatchTopic(target.agency_id), item_env),
                              opt_.produce_timeout)
           .ok)
    return false;
  metrics_.escalations.Add({{"level", std::to_string(level)}, {"to_agency", target.agency_id}})
      .Increment();
  log_.warn("escalated", {{"complaint_id", ob.complaint_id()},
                          {"trace_id", trace},
                          {"from_agency", ob.agency_id()},
                          {"to_agency", target.agency_id},
                          {"escalation_level", level}});
  return true;
}

void TimerScheduler::refreshGauges() {
  const auto now = clock_.nowMs();
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
  // Compliance reads every obligation decided in the window: every 15 s is plenty for a ratio
  // over days.
  if (now - compliance_at_ms_ < 15'000) return;
  compliance_at_ms_ = now;
  store_.trim(now);
  const auto decided = store_.decidedSince(now - opt_.compliance_window.count());
  std::set<std::string> agencies;
  for (const auto& o : decided) agencies.insert(o.agency_id());
  for (const auto& agency : agencies) {
    const auto report = compliance(decided, agency);
    for (const auto& s : report.stages())
      metrics_.compliance.Add({{"agency", agency}, {"stage", stageName(s.stage())}})
          .Set(s.ratio());
  }
}

v1::GetComplianceResponse compliance(const std::vector<v1::Obligation>& decided,
                                     const std::string& agency) {
  std::map<v1::SlaStage, std::pair<int64_t, int64_t>> per;  // met on time, due
  for (const auto& o : decided) {
    if (!agency.empty() && o.agency_id() != agency) continue;
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

grpc::Status SlaServiceImpl::GetObligations(grpc::ServerContext*,
                                            const v1::GetObligationsRequest* req,
                                            v1::GetObligationsResponse* resp) {
  if (req->complaint_id().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "complaint_id: is required");
  try {
    for (auto& o : store_.forComplaint(req->complaint_id())) *resp->add_obligations() = o;
  } catch (const redis::RedisError&) {
    return unavailable();
  }
  return grpc::Status::OK;
}

grpc::Status SlaServiceImpl::GetCompliance(grpc::ServerContext*,
                                           const v1::GetComplianceRequest* req,
                                           v1::GetComplianceResponse* resp) {
  if (req->window_ms() <= 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "window_ms: must be positive");
  try {
    *resp = compliance(store_.decidedSince(clock_.nowMs() - req->window_ms()), req->agency_id());
  } catch (const redis::RedisError&) {
    return unavailable();
  }
  return grpc::Status::OK;
}

grpc::Status SlaServiceImpl::ListBreaches(grpc::ServerContext*,
                                          const v1::ListBreachesRequest* req,
                                          v1::ListBreachesResponse* resp) {
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

grpc::Status SlaServiceImpl::ListDueSoon(grpc::ServerContext*, const v1::ListDueSoonRequest* req,
                                         v1::ListDueSoonResponse* resp) {
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

}  // namespace lapor::sla
