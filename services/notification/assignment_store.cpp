// Redis layout (all under the configured prefix):
//   notif:seen:<event id>          dispatch events already taken (dedupe, 30 days)
//   notif:feed:<agency>            stream: the agency's feed; the entry id is the cursor
//   notif:feed:<agency>:confirmations  stream: ConfirmDelivery calls (stream id, cursor), read
//                                  by the agency's open Subscribe streams (their windows)
//   notif:assignment:<id>          hash: owner agency, state, summary, pending event id; kind
//                                  (assignment, escalation) and, for an escalation, what it is
//                                  about (escalated assignment and agency, level)
//   notif:open:<agency>            sorted set of open assignment ids by dispatch time
//   notif:delivered:<id>           hash agency -> time: AssignmentDelivered recorded
//   notif:outbox / notif:outbox:due  events written with their state change, not yet produced
//   notif:webhook:due / notif:webhook:job:<id>  webhook deliveries and their retry time
//   notif:kafka:<agency>:<partition>  sorted set, kafka-channel agencies only: assignment id
//                                  by the offset of its first item on the dispatch topic, until
//                                  the agency's consumer group committed past it (delivered)
#include "assignment_store.h"

#include "domain/assignment_rules.h"
#include "events/envelope.h"
#include "text/stored_int.h"

namespace lapor::notification {

namespace {
constexpr const char* kProducer = "notification";

// KEYS: seen, feed, assignment, open, webhook due, webhook job, kafka positions
// ARGV: event id, item bytes, agency, complaint, trace, kind, now, webhook flag,
//       tracking, category, priority, title, role, assignment id, work kind,
//       escalated assignment, escalated agency, escalation level, dispatch-topic offset ('' for
//       an agency that does not read its topic itself)
constexpr const char* kAppendDispatch = R"lua(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', 2592000) then return '' end
local id = redis.call('XADD', KEYS[2], '*', 'event_id', ARGV[1], 'trace_id', ARGV[5],
                      'item', ARGV[2], 'assignment', ARGV[14])
local exists = redis.call('EXISTS', KEYS[3]) == 1
local kind = ARGV[6]
if not exists and kind ~= 'withdrawn' then
  redis.call('HSET', KEYS[3], 'agency', ARGV[3], 'complaint', ARGV[4], 'state', 'dispatched',
             'cursor', id, 'trace_id', ARGV[5], 'tracking', ARGV[9], 'category', ARGV[10],
             'priority', ARGV[11], 'title', ARGV[12], 'role', ARGV[13], 'dispatched_at_ms', ARGV[7],
             'kind', ARGV[15])
  if ARGV[15] == 'escalation' then
    redis.call('HSET', KEYS[3], 'escalated_assignment', ARGV[16], 'escalated_agency', ARGV[17],
               'level', ARGV[18])
  end
  redis.call('ZADD', KEYS[4], ARGV[7], ARGV[14])
elseif exists and kind == 'withdrawn' and redis.call('HGET', KEYS[3], 'agency') == ARGV[3] then
  redis.call('HSET', KEYS[3], 'state', 'withdrawn')
  redis.call('ZREM', KEYS[4], ARGV[14])
end
if ARGV[8] == '1' then
  redis.call('HSET', KEYS[6], 'agency', ARGV[3], 'event_id', ARGV[1], 'cursor', id,
             'item', ARGV[2], 'attempts', '0', 'assignment', ARGV[14])
  redis.call('ZADD', KEYS[5], ARGV[7], ARGV[1])
end
if ARGV[19] ~= '' then
  -- NX: the first item of an assignment is the one whose consumption delivers it.
  redis.call('ZADD', KEYS[7], 'NX', ARGV[19], ARGV[14])
end
return id
)lua";

// KEYS: assignment, outbox, outbox due, open. ARGV: expected, next, event id, bytes, now,
// close, assignment id
constexpr const char* kTransition = R"lua(
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'pending', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
if ARGV[6] == '1' then redis.call('ZREM', KEYS[4], ARGV[7]) end
return 1
)lua";

// KEYS: delivered, assignment, outbox, outbox due. ARGV: agency, now, event id, bytes
constexpr const char* kDelivered = R"lua(
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if redis.call('HGET', KEYS[2], 'agency') == ARGV[1] and
   redis.call('HGET', KEYS[2], 'state') == 'dispatched' then
  redis.call('HSET', KEYS[2], 'state', 'delivered')
end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
return 1
)lua";

// KEYS: outbox, outbox due, assignment ('' allowed). ARGV: event id
constexpr const char* kPublished = R"lua(
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[3], 'pending') == ARGV[1] then redis.call('HDEL', KEYS[3], 'pending') end
return 1
)lua";

// KEYS: open set. ARGV: score and id of the last entry of the previous page ('' for the first
// page), count. Members are ordered by score, ties by id (byte order), which Lua's string
// comparison follows; what was removed before the position cannot shift the page.
constexpr const char* kOpenPage = R"lua(
local start = 0
if ARGV[1] ~= '' then
  start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[1])
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[1], 'BYSCORE')) do
    if m <= ARGV[2] then start = start + 1 end
  end
end
return redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[3]) - 1, 'WITHSCORES')
)lua";

std::string kindName(v1::DispatchKind k) {
  switch (k) {
    case v1::DISPATCH_KIND_REDISPATCH: return "redispatch";
    case v1::DISPATCH_KIND_ESCALATION: return "escalation";
    case v1::DISPATCH_KIND_WITHDRAWN: return "withdrawn";
    case v1::DISPATCH_KIND_UPDATE: return "update";
    case v1::DISPATCH_KIND_REOPENED: return "reopened";
    default: return "new";
  }
}

}  // namespace

v1::EscalationUpdated escalationUpdate(const AssignmentRecord& escalation,
                                       v1::AssignmentState state) {
  v1::EscalationUpdated u;
  u.set_escalation_id(escalation.assignment_id);
  u.set_agency_id(escalation.agency);
  u.set_escalated_assignment_id(escalation.escalated_assignment_id);
  u.set_escalated_agency_id(escalation.escalated_agency);
  u.set_level(escalation.level);
  u.set_state(state);
  return u;
}

AssignmentStore::AssignmentStore(redis::RedisClient& redis, kafka::MessageSink& events,
                                 const time::Clock& clock, log::Logger logger,
                                 std::chrono::milliseconds produce_timeout)
    : redis_(redis),
      events_(events),
      clock_(clock),
      log_(std::move(logger)),
      produce_timeout_(produce_timeout) {}

std::string AssignmentStore::appendDispatch(const std::string& event_id,
                                            const std::string& trace_id,
                                            const std::string& complaint_id,
                                            const v1::DispatchItem& item, bool webhook,
                                            const std::optional<TopicPosition>& kafka) {
  const auto& a = item.assignment();
  const auto& c = item.complaint();
  auto r = redis_.eval(kAppendDispatch,
                       {redis_.key("notif:seen:" + event_id), feedKey(a.agency_id()),
                        redis_.key("notif:assignment:" + a.assignment_id()),
                        redis_.key("notif:open:" + a.agency_id()), redis_.key("notif:webhook:due"),
                        redis_.key("notif:webhook:job:" + event_id),
                        kafkaKey(a.agency_id(), kafka ? kafka->partition : 0)},
                       {event_id, item.SerializeAsString(), a.agency_id(), complaint_id, trace_id,
                        kindName(item.kind()), std::to_string(clock_.nowMs()), webhook ? "1" : "0",
                        c.tracking_id(), c.category(), std::to_string(c.priority()), c.title(),
                        std::to_string(a.role()), a.assignment_id(),
                        domain::workKindName(item.kind() == v1::DISPATCH_KIND_ESCALATION
                                                 ? domain::WorkKind::Escalation
                                                 : domain::WorkKind::Assignment),
                        item.escalated_assignment_id(), item.escalated_agency_id(),
                        std::to_string(item.escalation_level()),
                        kafka ? std::to_string(kafka->offset) : std::string()});
  return r.str;
}

std::string AssignmentStore::kafkaKey(const std::string& agency, int32_t partition) const {
  return redis_.key("notif:kafka:" + agency + ":" + std::to_string(partition));
}

std::vector<std::string> AssignmentStore::consumedBelow(const std::string& agency,
                                                        int32_t partition, int64_t next_offset,
                                                        int limit) {
  auto r = redis_.command({"ZRANGEBYSCORE", kafkaKey(agency, partition), "-inf",
                           "(" + std::to_string(next_offset), "LIMIT", "0",
                           std::to_string(limit)});
  std::vector<std::string> out;
  for (const auto& e : r.elements) out.push_back(e.str);
  return out;
}

void AssignmentStore::forgetConsumed(const std::string& agency, int32_t partition,
                                     const std::vector<std::string>& assignment_ids) {
  if (assignment_ids.empty()) return;
  std::vector<std::string> cmd{"ZREM", kafkaKey(agency, partition)};
  cmd.insert(cmd.end(), assignment_ids.begin(), assignment_ids.end());
  redis_.command(cmd);
}

std::optional<AssignmentRecord> AssignmentStore::get(const std::string& assignment_id) {
  auto h = redis_.command({"HGETALL", redis_.key("notif:assignment:" + assignment_id)});
  if (h.elements.empty()) return std::nullopt;
  auto f = [&](const char* name) {
    const auto* v = h.field(name);
    return v ? *v : std::string();
  };
  AssignmentRecord r;
  r.assignment_id = assignment_id;
  r.agency = f("agency");
  r.complaint_id = f("complaint");
  r.trace_id = f("trace_id");
  r.state = f("state");
  r.pending = f("pending");
  r.tracking_id = f("tracking");
  r.category = f("category");
  r.title = f("title");
  r.priority = static_cast<int>(text::storedInt(h.field("priority")));
  r.role = static_cast<int>(text::storedInt(h.field("role")));
  r.dispatched_at_ms = text::storedInt(h.field("dispatched_at_ms"));
  r.kind = domain::parseWorkKind(f("kind"));
  r.escalated_assignment_id = f("escalated_assignment");
  r.escalated_agency = f("escalated_agency");
  r.level = static_cast<int>(text::storedInt(h.field("level")));
  return r;
}

bool AssignmentStore::publish(const std::string& event_id, const std::string& bytes,
                              const std::string& assignment_key) {
  v1::EventEnvelope env;
  if (!env.ParseFromString(bytes)) {
    log_.error("outbox entry unreadable, dropped", {{"event_id", event_id}});
    markPublished(event_id, assignment_key);
    return true;
  }
  auto rep = events_.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env),
                                    produce_timeout_);
  if (!rep.ok) {
    log_.warn("event not produced yet, kept in the outbox",
              {{"complaint_id", env.complaint_id()}, {"event_id", event_id}, {"error", rep.error}});
    return false;
  }
  markPublished(event_id, assignment_key);
  return true;
}

void AssignmentStore::markPublished(const std::string& event_id,
                                    const std::string& assignment_key) {
  redis_.eval(kPublished,
              {redis_.key("notif:outbox"), redis_.key("notif:outbox:due"), assignment_key},
              {event_id});
}

AssignmentStore::Commit AssignmentStore::transition(const AssignmentRecord& a,
                                                    const std::string& next, bool close,
                                                    const v1::EventEnvelope& env) {
  const auto akey = redis_.key("notif:assignment:" + a.assignment_id);
  const auto bytes = env.SerializeAsString();
  auto r = redis_.eval(kTransition,
                       {akey, redis_.key("notif:outbox"), redis_.key("notif:outbox:due"),
                        redis_.key("notif:open:" + a.agency)},
                       {a.state, next, env.event_id(), bytes, std::to_string(clock_.nowMs()),
                        close ? "1" : "0", a.assignment_id});
  if (r.integer != 1) return Commit::Conflict;
  return publish(env.event_id(), bytes, akey) ? Commit::Published : Commit::Pending;
}

bool AssignmentStore::republishPending(const AssignmentRecord& a) {
  if (a.pending.empty()) return true;
  auto bytes = redis_.command({"HGET", redis_.key("notif:outbox"), a.pending});
  const auto akey = redis_.key("notif:assignment:" + a.assignment_id);
  if (bytes.isNil()) {  // published meanwhile
    redis_.eval(kPublished, {redis_.key("notif:outbox"), redis_.key("notif:outbox:due"), akey},
                {a.pending});
    return true;
  }
  return publish(a.pending, bytes.str, akey);
}

bool AssignmentStore::recordDelivered(const std::string& assignment_id, const std::string& agency,
                                      const std::string& channel) {
  return recordDelivered(std::vector<std::string>{assignment_id}, agency, channel) == 1;
}

int AssignmentStore::recordDelivered(const std::vector<std::string>& assignment_ids,
                                     const std::string& agency, const std::string& channel) {
  struct Produced {
    std::string event_id;
    std::future<kafka::DeliveryReport> report;
  };
  std::vector<Produced> produced;
  for (const auto& assignment_id : assignment_ids) {
    auto a = get(assignment_id);
    if (!a) continue;  // not an assignment we know
    const auto now = clock_.nowMs();
    auto env = events::makeEnvelope(kProducer, a->complaint_id, a->trace_id, now,
                                    events::nameUuid("delivered/" + assignment_id + "/" + agency));
    if (a->kind == domain::WorkKind::Escalation && a->agency == agency) {
      // Not an assignment of the complaint: an AssignmentDelivered would start a follow-up
      // clock the supervisor's actions never meet, and list the supervisor among its agencies.
      *env.mutable_escalation_updated() = escalationUpdate(*a, v1::ASSIGNMENT_STATE_DELIVERED);
    } else {
      auto* d = env.mutable_delivered();
      d->set_assignment_id(assignment_id);
      d->set_agency_id(agency);
      d->set_channel(channel);
      d->set_delivered_at_ms(now);
    }
    const auto bytes = env.SerializeAsString();
    // Recorded with its event in the outbox: a failed or lost produce is repeated from there.
    auto r = redis_.eval(kDelivered,
                         {redis_.key("notif:delivered:" + assignment_id),
                          redis_.key("notif:assignment:" + assignment_id),
                          redis_.key("notif:outbox"), redis_.key("notif:outbox:due")},
                         {agency, std::to_string(now), env.event_id(), bytes});
    if (r.integer != 1) continue;
    produced.push_back(
        {env.event_id(), events_.produce(events::toMessage(kafka::kComplaintsTopic, env))});
    log_.info("assignment delivered", {{"complaint_id", env.complaint_id()},
                                       {"trace_id", env.trace_id()},
                                       {"agency", agency},
                                       {"channel", channel}});
  }
  for (auto& p : produced) {
    const auto rep = kafka::awaitReport(p.report, produce_timeout_);
    if (rep.ok)
      markPublished(p.event_id, "");
    else
      log_.warn("event not produced yet, kept in the outbox",
                {{"event_id", p.event_id}, {"error", rep.error}});
  }
  return static_cast<int>(produced.size());
}

std::vector<AssignmentStore::OpenPosition> AssignmentStore::openAssignments(
    const std::string& agency, const std::optional<OpenPosition>& after, int count) {
  auto r = redis_.eval(kOpenPage, {redis_.key("notif:open:" + agency)},
                       {after ? after->score : "", after ? after->assignment_id : "",
                        std::to_string(count)});
  std::vector<OpenPosition> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2)
    out.push_back({r.elements[i].str, r.elements[i + 1].str});
  return out;
}

int AssignmentStore::flushOutbox(std::chrono::milliseconds age) {
  auto due = redis_.command({"ZRANGEBYSCORE", redis_.key("notif:outbox:due"), "-inf",
                             std::to_string(clock_.nowMs() - age.count()), "LIMIT", "0", "100"});
  int n = 0;
  for (const auto& e : due.elements) {
    auto bytes = redis_.command({"HGET", redis_.key("notif:outbox"), e.str});
    if (bytes.isNil()) {
      redis_.command({"ZREM", redis_.key("notif:outbox:due"), e.str});
      continue;
    }
    v1::EventEnvelope env;
    std::string akey;
    if (env.ParseFromString(bytes.str)) {
      std::string id;
      switch (env.event_case()) {
        case v1::EventEnvelope::kAcknowledged: id = env.acknowledged().assignment_id(); break;
        case v1::EventEnvelope::kStatusUpdated: id = env.status_updated().assignment_id(); break;
        case v1::EventEnvelope::kResolved: id = env.resolved().assignment_id(); break;
        case v1::EventEnvelope::kRejected: id = env.rejected().assignment_id(); break;
        case v1::EventEnvelope::kEscalationUpdated:
          id = env.escalation_updated().escalation_id();
          break;
        default: break;
      }
      if (!id.empty()) akey = redis_.key("notif:assignment:" + id);
    }
    if (!publish(e.str, bytes.str, akey)) break;  // the broker is away: try again later
    ++n;
  }
  return n;
}

}  // namespace lapor::notification
