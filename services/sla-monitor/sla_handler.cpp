// Timers: sorted set `sla:timers` by due time; a claim moves a member to `sla:inflight` with a
// lease, so a monitor that dies after claiming gives the timer back when the lease ends.
// Fired events have ids derived from the obligation, so a re-fire after such a crash is a
// repeat that consumers drop.
#include "sla_handler.h"

#include "events/envelope.h"

namespace lapor::sla {

namespace {
constexpr const char* kProducer = "sla-monitor";

constexpr const char* kStart = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'complaint', ARGV[2], 'assignment', ARGV[3], 'agency', ARGV[4],
           'stage', ARGV[5], 'started', ARGV[6], 'due', ARGV[7], 'state', 'open', 'trace', ARGV[9])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[8], ARGV[1] .. '|warn')
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[1] .. '|breach')
return 1
)lua";

constexpr const char* kEnd = R"lua(
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'met', 'ended', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1] .. '|warn', ARGV[1] .. '|breach')
redis.call('ZREM', KEYS[3], ARGV[1] .. '|warn', ARGV[1] .. '|breach')
return 1
)lua";

constexpr const char* kClaim = R"lua(
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], ARGV[2], m)
  table.insert(out, m)
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, m in ipairs(stale) do
  redis.call('ZADD', KEYS[2], ARGV[2], m)
  table.insert(out, m)
end
return out
)lua";

constexpr const char* kComplete = R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] == 'breach' and redis.call('HGET', KEYS[2], 'state') == 'open' then
  redis.call('HSET', KEYS[2], 'state', 'breached', 'ended', ARGV[3])
elseif ARGV[2] == 'warn' then
  redis.call('HSETNX', KEYS[2], 'warned', ARGV[3])
end
return 1
)lua";

std::pair<std::string, std::string> splitMember(const std::string& m) {
  auto bar = m.rfind('|');
  if (bar == std::string::npos) return {m, ""};
  return {m.substr(0, bar), m.substr(bar + 1)};
}

int64_t toInt(const std::string& s) {
  try {
    return std::stoll(s);
  } catch (const std::exception&) {
    return 0;
  }
}
}  // namespace

SlaMetrics::SlaMetrics(prometheus::Registry& r)
    : started(prometheus::BuildCounter()
                  .Name("lapor_sla_monitor_obligations_started_total")
                  .Help("Obligations whose clock started, by stage")
                  .Register(r)),
      met(prometheus::BuildCounter()
              .Name("lapor_sla_monitor_obligations_met_total")
              .Help("Obligations fulfilled before their deadline, by stage")
              .Register(r)),
      warnings(prometheus::BuildCounter()
                   .Name("lapor_sla_monitor_warnings_total")
                   .Help("SlaWarning events emitted, by stage")
                   .Register(r)),
      breaches(prometheus::BuildCounter()
                   .Name("lapor_sla_monitor_breaches_total")
                   .Help("SlaBreached events emitted, by stage and agency")
                   .Register(r)) {}

bool ObligationStore::start(const ObligationStart& o, const std::string& trace_id) {
  auto r = redis_.eval(kStart,
                       {redis_.key("sla:ob:" + o.obligation_id),
                        redis_.key("sla:complaint:" + o.complaint_id), redis_.key("sla:timers")},
                       {o.obligation_id, o.complaint_id, o.assignment_id, o.agency_id,
                        std::to_string(o.stage), std::to_string(o.started_at_ms),
                        std::to_string(o.due_at_ms), std::to_string(o.warn_at_ms), trace_id});
  return r.integer == 1;
}

bool ObligationStore::end(const std::string& id, int64_t now_ms) {
  auto r = redis_.eval(
      kEnd, {redis_.key("sla:ob:" + id), redis_.key("sla:timers"), redis_.key("sla:inflight")},
      {id, std::to_string(now_ms)});
  return r.integer == 1;
}

std::vector<std::string> ObligationStore::claimDue(int64_t now_ms, std::chrono::milliseconds lease,
                                                   int limit) {
  auto r = redis_.eval(
      kClaim, {redis_.key("sla:timers"), redis_.key("sla:inflight")},
      {std::to_string(now_ms), std::to_string(now_ms + lease.count()), std::to_string(limit)});
  std::vector<std::string> out;
  for (const auto& e : r.elements) out.push_back(e.str);
  return out;
}

void ObligationStore::complete(const std::string& member, int64_t now_ms) {
  auto [id, kind] = splitMember(member);
  redis_.eval(kComplete, {redis_.key("sla:inflight"), redis_.key("sla:ob:" + id)},
              {member, kind, std::to_string(now_ms)});
}

std::optional<v1::Obligation> ObligationStore::get(const std::string& id, std::string* trace) {
  auto h = redis_.command({"HGETALL", redis_.key("sla:ob:" + id)});
  if (h.elements.empty()) return std::nullopt;
  v1::Obligation o;
  o.set_obligation_id(id);
  for (size_t i = 0; i + 1 < h.elements.size(); i += 2) {
    const auto& k = h.elements[i].str;
    const auto& v = h.elements[i + 1].str;
    if (k == "complaint")
      o.set_complaint_id(v);
    else if (k == "assignment")
      o.set_assignment_id(v);
    else if (k == "agency")
      o.set_agency_id(v);
    else if (k == "stage")
      o.set_stage(static_cast<v1::SlaStage>(toInt(v)));
    else if (k == "started")
      o.set_started_at_ms(toInt(v));
    else if (k == "due")
      o.set_due_at_ms(toInt(v));
    else if (k == "ended")
      o.set_ended_at_ms(toInt(v));
    else if (k == "trace" && trace)
      *trace = v;
    else if (k == "state")
      o.set_state(v == "open"  ? v1::OBLIGATION_STATE_OPEN
                  : v == "met" ? v1::OBLIGATION_STATE_MET
                               : v1::OBLIGATION_STATE_BREACHED);
  }
  return o;
}

std::vector<v1::Obligation> ObligationStore::forComplaint(const std::string& complaint_id) {
  std::vector<v1::Obligation> out;
  for (const auto& id :
       redis_.command({"SMEMBERS", redis_.key("sla:complaint:" + complaint_id)}).elements)
    if (auto o = get(id.str, nullptr)) out.push_back(std::move(*o));
  return out;
}

LifecycleHandler::LifecycleHandler(ObligationStore& store, const SlaPolicy& policy,
                                   const time::Clock& clock, log::Logger logger,
                                   SlaMetrics& metrics)
    : store_(store), policy_(policy), clock_(clock), log_(std::move(logger)), metrics_(metrics) {}

kafka::HandleResult LifecycleHandler::handle(const kafka::Message& msg) {
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope) return kafka::HandleResult::deadLetter("undecodable", decoded.error);
  const auto& env = *decoded.envelope;
  for (const auto& o : obligationsStartedBy(env, policy_)) {
    if (store_.start(o, env.trace_id())) {
      metrics_.started.Add({{"stage", stageName(o.stage)}}).Increment();
      log_.info("clock started", {{"complaint_id", o.complaint_id},
                                  {"trace_id", env.trace_id()},
                                  {"agency", o.agency_id},
                                  {"stage", stageName(o.stage)},
                                  {"due_at_ms", o.due_at_ms}});
    }
  }
  if (auto id = obligationEndedBy(env); !id.empty()) {
    if (store_.end(id, env.occurred_at_ms())) {
      metrics_.met.Add({{"stage", "acknowledge"}}).Increment();
      log_.info("clock stopped: obligation met",
                {{"complaint_id", env.complaint_id()}, {"trace_id", env.trace_id()}});
    }
  }
  return kafka::HandleResult::done();
}

TimerScheduler::TimerScheduler(ObligationStore& store, kafka::MessageSink& events,
                               const time::Clock& clock, log::Logger logger, SlaMetrics& metrics,
                               std::chrono::milliseconds tick,
                               std::chrono::milliseconds produce_timeout)
    : store_(store),
      events_(events),
      clock_(clock),
      log_(std::move(logger)),
      metrics_(metrics),
      tick_(tick),
      produce_timeout_(produce_timeout) {}

TimerScheduler::~TimerScheduler() {
  stop();
}

void TimerScheduler::start() {
  thread_ = std::thread([this] {
    std::unique_lock lk(mu_);
    while (!stop_) {
      lk.unlock();
      try {
        fireDue();
      } catch (const std::exception& e) {
        log_.warn("timer pass failed, retrying next tick", {{"error", e.what()}});
      }
      lk.lock();
      cv_.wait_for(lk, tick_, [this] { return stop_; });
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
  // The lease is longer than a produce can take, so a live claimer always finishes first.
  auto claimed = store_.claimDue(now, produce_timeout_ * 3, 100);
  int fired = 0;
  for (const auto& member : claimed) {
    const auto [id, kind] = splitMember(member);
    std::string trace;
    auto ob = store_.get(id, &trace);
    if (!ob || ob->state() != v1::OBLIGATION_STATE_OPEN) {
      store_.complete(member, now);  // met in the meantime: nothing to say
      continue;
    }
    auto env = events::makeEnvelope(kProducer, ob->complaint_id(), trace, now,
                                    events::nameUuid(kind + "/" + id));
    if (kind == "warn") {
      auto* w = env.mutable_sla_warning();
      w->set_obligation_id(id);
      w->set_stage(ob->stage());
      w->set_agency_id(ob->agency_id());
      w->set_assignment_id(ob->assignment_id());
      w->set_due_at_ms(ob->due_at_ms());
    } else {
      auto* b = env.mutable_sla_breached();
      b->set_obligation_id(id);
      b->set_stage(ob->stage());
      b->set_agency_id(ob->agency_id());
      b->set_assignment_id(ob->assignment_id());
      b->set_due_at_ms(ob->due_at_ms());
      b->set_breached_at_ms(now);
    }
    if (!events_.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env), produce_timeout_)
             .ok) {
      // Left in flight: the lease runs out and the timer is claimed again.
      log_.warn("timer event not produced, will fire again",
                {{"complaint_id", ob->complaint_id()}});
      continue;
    }
    store_.complete(member, now);
    ++fired;
    const auto stage = stageName(ob->stage());
    if (kind == "warn") {
      metrics_.warnings.Add({{"stage", stage}}).Increment();
      log_.warn("deadline approaching", {{"complaint_id", ob->complaint_id()},
                                         {"trace_id", trace},
                                         {"agency", ob->agency_id()},
                                         {"stage", stage}});
    } else {
      metrics_.breaches.Add({{"stage", stage}, {"agency", ob->agency_id()}}).Increment();
      log_.warn("deadline breached", {{"complaint_id", ob->complaint_id()},
                                      {"trace_id", trace},
                                      {"agency", ob->agency_id()},
                                      {"stage", stage}});
    }
  }
  return fired;
}

grpc::Status SlaServiceImpl::GetObligations(grpc::ServerContext*,
                                            const v1::GetObligationsRequest* req,
                                            v1::GetObligationsResponse* resp) {
  if (req->complaint_id().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "complaint_id: is required");
  try {
    for (auto& o : store_.forComplaint(req->complaint_id())) *resp->add_obligations() = o;
  } catch (const redis::RedisError&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "obligation store unavailable");
  }
  return grpc::Status::OK;
}

}  // namespace lapor::sla
