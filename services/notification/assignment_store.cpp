// Redis layout (all under the configured prefix):
//   notif:seen:<event id>          dispatch events already taken (dedupe, 30 days)
//   notif:feed:<agency>            stream: the agency's feed; the entry id is the cursor
//   notif:feed:<agency>:confirmations  stream: ConfirmDelivery calls (stream id, cursor), read
//                                  by the agency's open Subscribe streams (their windows)
//   notif:assignment:<id>          hash: owner agency, state, summary, pending event id, the
//                                  work unit it is delegated to (unit); kind
//                                  (assignment, escalation) and, for an escalation, what it is
//                                  about (escalated assignment and agency, level)
//   notif:open:<agency>            sorted set of open assignment ids by dispatch time
//   notif:feed:<unit>, notif:open:<unit>  the same for a work unit: what is delegated to it
//   notif:question:<event id>      hash: who asked the reporter (agency, unit, assignment)
//   notif:delivered:<id>           hash agency -> time: AssignmentDelivered recorded
//   notif:outbox / notif:outbox:due  events written with their state change, not yet produced
//   notif:webhook:due / notif:webhook:job:<id>  webhook deliveries and their retry time
//   notif:kafka:<agency>:<partition>  sorted set, kafka-channel agencies only: assignment id
//                                  by the offset of its first item on the dispatch topic, until
//                                  the agency's consumer group committed past it (delivered)
#include "assignment_store.h"

#include "domain/assignment_rules.h"
#include "events/envelope.h"
#include "producer.h"
#include "text/stored_int.h"

namespace lapor::notification {

namespace {

// KEYS: seen, feed, assignment, open, webhook due, webhook job, kafka positions
// ARGV: event id, item bytes, agency, complaint, trace, kind, now, webhook flag,
//       tracking, category, priority, title, role, assignment id, work kind,
//       escalated assignment, escalated agency, escalation level, dispatch-topic offset ('' for
//       an agency that does not read its topic itself), key prefix (a withdrawal also reaches
//       the work unit holding the assignment: its feed and open set)
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
  local unit = redis.call('HGET', KEYS[3], 'unit')
  if unit then
    redis.call('ZREM', ARGV[20] .. 'notif:open:' .. unit, ARGV[14])
    redis.call('XADD', ARGV[20] .. 'notif:feed:' .. unit, '*', 'event_id', ARGV[1], 'trace_id',
               ARGV[5], 'item', ARGV[2])
  end
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

// KEYS: assignment, outbox, outbox due, agency open, old unit open, new unit open, feed 1,
//       feed 2 (the feeds of the items; '' when unused)
// ARGV: expected state, expected unit, next state, next unit, close, assignment id, now,
//       dispatch time (the open-set score), trace id, item 1 event id, item 1 bytes ('' none),
//       item 2 event id, item 2 bytes, then event id and bytes of each event, in order
constexpr const char* kChange = R"lua(
local was = redis.call('HMGET', KEYS[1], 'state', 'unit')
if was[1] ~= ARGV[1] or (was[2] or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[3])
if ARGV[4] == '' then redis.call('HDEL', KEYS[1], 'unit')
else redis.call('HSET', KEYS[1], 'unit', ARGV[4]) end
local now = tonumber(ARGV[7])
local last = ''
for i = 14, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  -- one millisecond apart: the outbox pass produces them in this order
  redis.call('ZADD', KEYS[3], now + (i - 14) / 2, ARGV[i])
  last = ARGV[i]
end
if last ~= '' then redis.call('HSET', KEYS[1], 'pending', last) end
if ARGV[5] == '1' then
  redis.call('ZREM', KEYS[4], ARGV[6])
  if ARGV[2] ~= '' then redis.call('ZREM', KEYS[5], ARGV[6]) end
  if ARGV[4] ~= '' then redis.call('ZREM', KEYS[6], ARGV[6]) end
elseif ARGV[2] ~= ARGV[4] then
  if ARGV[2] ~= '' then redis.call('ZREM', KEYS[5], ARGV[6]) end
  if ARGV[4] ~= '' then redis.call('ZADD', KEYS[6], ARGV[8], ARGV[6]) end
end
if ARGV[11] ~= '' then
  redis.call('XADD', KEYS[7], '*', 'event_id', ARGV[10], 'trace_id', ARGV[9], 'item', ARGV[11])
end
if ARGV[13] ~= '' then
  redis.call('XADD', KEYS[8], '*', 'event_id', ARGV[12], 'trace_id', ARGV[9], 'item', ARGV[13])
end
return 1
)lua";

// KEYS: assignment, outbox, outbox due, question, feed ('' none)
// ARGV: expected state, expected unit, event id, bytes, now, agency, unit, assignment id,
//       question ttl (s), trace id, item bytes ('' none)
// 2 when the question (its event id) was recorded before: a retried request.
constexpr const char* kAsk = R"lua(
if redis.call('EXISTS', KEYS[4]) == 1 then return 2 end
local was = redis.call('HMGET', KEYS[1], 'state', 'unit')
if was[1] ~= ARGV[1] or (was[2] or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
redis.call('HSET', KEYS[4], 'agency', ARGV[6], 'unit', ARGV[7], 'assignment', ARGV[8])
redis.call('EXPIRE', KEYS[4], ARGV[9])
if ARGV[11] ~= '' then
  redis.call('XADD', KEYS[5], '*', 'event_id', ARGV[3], 'trace_id', ARGV[10], 'item', ARGV[11])
end
return 1
)lua";

// KEYS: seen, agency feed, unit feed ('' none), assignment. ARGV: event id, trace id, item
// bytes, unit
constexpr const char* kAnswer = R"lua(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', 2592000) then return '' end
local id = redis.call('XADD', KEYS[2], '*', 'event_id', ARGV[1], 'trace_id', ARGV[2], 'item',
                      ARGV[3])
if ARGV[4] ~= '' and redis.call('HGET', KEYS[4], 'unit') == ARGV[4] then
  redis.call('XADD', KEYS[3], '*', 'event_id', ARGV[1], 'trace_id', ARGV[2], 'item', ARGV[3])
end
return id
)lua";

// How long who asked a question is kept for its answer.
constexpr int64_t kQuestionTtlSeconds = 180LL * 24 * 3600;

// KEYS: outbox, outbox due, a mark to write last ('' = none), then the delivered record and
// the assignment of each item. ARGV: agency, now, the mark's value, then the event id and the
// event's bytes of each item. Per item 1 when recorded now, 0 when it was before. The mark is
// written after every item is recorded, so it never passes a delivery that is not.
constexpr const char* kDelivered = R"lua(
local out = {}
for i = 4, #KEYS, 2 do
  local r = 0
  if redis.call('HSETNX', KEYS[i], ARGV[1], ARGV[2]) == 1 then
    local a = redis.call('HMGET', KEYS[i + 1], 'agency', 'state')
    if a[1] == ARGV[1] and a[2] == 'dispatched' then redis.call('HSET', KEYS[i + 1], 'state', 'delivered') end
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    redis.call('ZADD', KEYS[2], ARGV[2], ARGV[i])
    r = 1
  end
  out[#out + 1] = r
end
if KEYS[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
return out
)lua";
// Deliveries recorded by one call of kDelivered at most.
constexpr size_t kDeliveriesPerCall = 500;

// KEYS: feed, its confirmations ('' = add none). ARGV: after (exclusive), up to, count (0 =
// read none), the key prefix, the confirmation's stream id and cursor. The page's entries, each
// as id, assignment ('' = none) and the assignment's record (HGETALL).
constexpr const char* kFeedPage = R"lua(
if KEYS[2] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000', '*', 'stream', ARGV[5], 'cursor', ARGV[6])
  redis.call('PEXPIRE', KEYS[2], 86400000)
end
local out = {}
if ARGV[3] == '0' then return out end
for _, e in ipairs(redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], ARGV[2], 'COUNT', ARGV[3])) do
  local a = ''
  for i = 1, #e[2], 2 do
    if e[2][i] == 'assignment' then a = e[2][i + 1] end
  end
  local record = {}
  if a ~= '' then record = redis.call('HGETALL', ARGV[4] .. 'notif:assignment:' .. a) end
  out[#out + 1] = {e[1], a, record}
end
return out
)lua";

// KEYS: outbox, outbox due, then the assignment of each event ('' for none).
// ARGV: the event ids, in the order of their assignments.
constexpr const char* kPublished = R"lua(
redis.call('HDEL', KEYS[1], unpack(ARGV))
redis.call('ZREM', KEYS[2], unpack(ARGV))
for i = 3, #KEYS do
  if KEYS[i] ~= '' and redis.call('HGET', KEYS[i], 'pending') == ARGV[i - 2] then
    redis.call('HDEL', KEYS[i], 'pending')
  end
end
return 1
)lua";
const redis::Script kPublishedScript(kPublished);
// Events taken out of the outbox by one call at most (Lua's unpack has a stack to fit in).
constexpr size_t kMarksPerCall = 500;

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

AssignmentStore::~AssignmentStore() {
  if (!deferred_) return;
  {
    std::lock_guard lk(deferred_->mu);
    deferred_->stopping = true;
  }
  deferred_->cv.notify_all();
  deferred_->thread.join();
  try {
    flushMarks();
  } catch (const std::exception& e) {
    log_.warn("outbox marks not written at stop; the outbox pass sends those events again",
              {{"error", e.what()}});
  }
}

void AssignmentStore::deferMarks(std::chrono::milliseconds interval, size_t max_pending) {
  if (deferred_) throw std::logic_error("AssignmentStore::deferMarks called twice");
  deferred_ = std::make_unique<DeferredMarks>();
  deferred_->interval = interval;
  deferred_->max_pending = std::max<size_t>(max_pending, 1);
  deferred_->thread = std::thread([this] { markLoop(); });
}

void AssignmentStore::markLoop() {
  auto& d = *deferred_;
  std::unique_lock lk(d.mu);
  while (!d.stopping) {
    if (d.pending.empty()) {
      d.cv.wait(lk, [&] { return d.stopping || !d.pending.empty(); });
      continue;
    }
    if (d.cv.wait_until(lk, d.first + d.interval, [&] { return d.stopping || d.pending.empty(); }))
      continue;  // stopping (the destructor writes them), or written by a caller meanwhile
    lk.unlock();
    try {
      flushMarks();
    } catch (const std::exception& e) {
      // Kept: the next round writes them with the ones that come meanwhile.
      log_.warn("outbox marks not written, retrying", {{"error", e.what()}});
      lk.lock();
      d.cv.wait_for(lk, d.interval, [&] { return d.stopping; });
      continue;
    }
    lk.lock();
  }
}

void AssignmentStore::flushMarks() {
  if (!deferred_) return;
  std::vector<Published> take;
  {
    std::lock_guard lk(deferred_->mu);
    take.swap(deferred_->pending);
  }
  if (take.empty()) return;
  try {
    markNow(take);
  } catch (...) {
    std::lock_guard lk(deferred_->mu);
    // Back in front of what came meanwhile, and written with it. The next caller at
    // max_pending tries again itself; while Redis refuses these writes it refuses the state
    // changes whose events would add marks too, so the list does not grow meanwhile.
    if (deferred_->pending.empty()) deferred_->first = std::chrono::steady_clock::now();
    deferred_->pending.insert(deferred_->pending.begin(), take.begin(), take.end());
    throw;
  }
}

void AssignmentStore::markNow(const std::vector<Published>& events) {
  redis::Pipeline marks;
  addMarkPublished(marks, events);
  if (!marks.empty()) redis_.pipelineOrThrow(marks, "outbox");
}

void AssignmentStore::marksFor(std::vector<Published> events) {
  if (events.empty()) return;
  if (!deferred_) {
    markNow(events);
    return;
  }
  bool full = false;
  {
    std::lock_guard lk(deferred_->mu);
    if (deferred_->pending.empty()) deferred_->first = std::chrono::steady_clock::now();
    deferred_->pending.insert(deferred_->pending.end(), std::make_move_iterator(events.begin()),
                              std::make_move_iterator(events.end()));
    full = deferred_->pending.size() >= deferred_->max_pending;
  }
  if (full) flushMarks();
  deferred_->cv.notify_all();
}

bool AssignmentStore::markDeferred(const std::string& event_id) {
  if (!deferred_) return false;
  std::lock_guard lk(deferred_->mu);
  for (const auto& p : deferred_->pending)
    if (p.event_id == event_id) return true;
  return false;
}

std::vector<redis::Reply> AssignmentStore::run(const redis::Pipeline& p) {
  return redis_.pipeline(p);
}

void AssignmentStore::addAppendDispatch(redis::Pipeline& p, const std::string& event_id,
                                        const std::string& trace_id,
                                        const std::string& complaint_id,
                                        const v1::DispatchItem& item, bool webhook,
                                        const std::optional<TopicPosition>& kafka) const {
  p.eval(appendDispatchCall(event_id, trace_id, complaint_id, item, webhook, kafka));
}

redis::ScriptCall AssignmentStore::appendDispatchCall(
    const std::string& event_id, const std::string& trace_id, const std::string& complaint_id,
    const v1::DispatchItem& item, bool webhook, const std::optional<TopicPosition>& kafka) const {
  static const redis::Script kScript(kAppendDispatch);
  const auto& a = item.assignment();
  const auto& c = item.complaint();
  return {&kScript,
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
           kafka ? std::to_string(kafka->offset) : std::string(), redis_.key("")}};
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
  return recordOf(assignment_id,
                  redis_.command({"HGETALL", redis_.key("notif:assignment:" + assignment_id)}));
}

std::vector<std::optional<AssignmentRecord>> AssignmentStore::getAll(
    const std::vector<std::string>& ids) {
  std::vector<std::optional<AssignmentRecord>> out;
  if (ids.empty()) return out;
  redis::Pipeline p;
  for (const auto& id : ids) p.command({"HGETALL", redis_.key("notif:assignment:" + id)});
  const auto replies = redis_.pipelineOrThrow(p, "assignments");
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) out.push_back(recordOf(ids[i], replies[i]));
  return out;
}

std::optional<AssignmentRecord> AssignmentStore::recordOf(const std::string& assignment_id,
                                                          const redis::Reply& h) {
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
  r.unit = f("unit");
  r.cursor = f("cursor");
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
  redis::Pipeline p;
  addMarkPublished(p, {{event_id, assignment_key}});
  redis_.pipelineOrThrow(p, "outbox");
}

void AssignmentStore::addMarkPublished(redis::Pipeline& p, const std::vector<Published>& events) {
  for (size_t from = 0; from < events.size(); from += kMarksPerCall) {
    const size_t to = std::min(events.size(), from + kMarksPerCall);
    std::vector<std::string> keys{redis_.key("notif:outbox"), redis_.key("notif:outbox:due")};
    std::vector<std::string> ids;
    for (size_t i = from; i < to; ++i) {
      keys.push_back(events[i].assignment_key);
      ids.push_back(events[i].event_id);
    }
    p.eval(kPublishedScript, keys, ids);
  }
}

AssignmentStore::Commit AssignmentStore::transition(const AssignmentRecord& a,
                                                    const std::string& next, bool close,
                                                    const v1::EventEnvelope& env) {
  return transitionAll({Move{&a, next, close, &env}}).front();
}

std::vector<AssignmentStore::Commit> AssignmentStore::transitionAll(
    const std::vector<Move>& moves) {
  std::vector<Commit> out(moves.size(), Commit::Conflict);
  if (moves.empty()) return out;
  static const redis::Script kScript(kTransition);
  const auto now = std::to_string(clock_.nowMs());
  std::vector<std::string> akeys, bytes;
  redis::Pipeline p;
  for (const auto& m : moves) {
    const auto& a = *m.record;
    akeys.push_back(redis_.key("notif:assignment:" + a.assignment_id));
    bytes.push_back(m.event->SerializeAsString());
    p.eval(kScript,
           {akeys.back(), redis_.key("notif:outbox"), redis_.key("notif:outbox:due"),
            redis_.key("notif:open:" + a.agency)},
           {a.state, m.next, m.event->event_id(), bytes.back(), now, m.close ? "1" : "0",
            a.assignment_id});
  }
  const auto replies = redis_.pipelineOrThrow(p, "assignment moves");
  // Every moved assignment's event in flight at once; then one wait for all the reports.
  std::vector<size_t> moved;
  std::vector<std::future<kafka::DeliveryReport>> inflight;
  for (size_t i = 0; i < moves.size(); ++i) {
    if (replies[i].integer != 1) continue;
    moved.push_back(i);
    inflight.push_back(events_.produce(events::toMessage(kafka::kComplaintsTopic, *moves[i].event)));
  }
  const auto reports = kafka::awaitReports(inflight, produce_timeout_);
  std::vector<Published> published;
  std::vector<size_t> marked;
  for (size_t k = 0; k < moved.size(); ++k) {
    const auto i = moved[k];
    const auto& rep = reports[k];
    if (!rep.ok) {
      // Kept in the outbox: the outbox pass, or a repeated Acknowledge, produces it.
      log_.warn("event not produced yet, kept in the outbox",
                {{"complaint_id", moves[i].event->complaint_id()},
                 {"event_id", moves[i].event->event_id()},
                 {"error", rep.error}});
      out[i] = Commit::Pending;
      continue;
    }
    published.push_back({moves[i].event->event_id(), akeys[i]});
    marked.push_back(i);
  }
  try {
    marksFor(std::move(published));
  } catch (const redis::RedisError&) {
    // Produced, and still in the outbox: the outbox pass produces them again, and every
    // reader drops the repeated event id.
    for (auto i : marked) out[i] = Commit::Pending;
    return out;
  }
  for (auto i : marked) out[i] = Commit::Published;
  return out;
}

AssignmentStore::Commit AssignmentStore::change(const AssignmentRecord& a,
                                                const AssignmentChange& c) {
  const auto akey = redis_.key("notif:assignment:" + a.assignment_id);
  auto open = [&](const std::string& owner) {
    return owner.empty() ? std::string() : redis_.key("notif:open:" + owner);
  };
  std::vector<std::string> keys{akey,
                                redis_.key("notif:outbox"),
                                redis_.key("notif:outbox:due"),
                                open(a.agency),
                                open(a.unit),
                                open(c.next_unit),
                                c.items.size() > 0 ? feedKey(c.items[0].owner) : "",
                                c.items.size() > 1 ? feedKey(c.items[1].owner) : ""};
  std::vector<std::string> args{a.state,
                                a.unit,
                                c.next_state,
                                c.next_unit,
                                c.close ? "1" : "0",
                                a.assignment_id,
                                std::to_string(clock_.nowMs()),
                                std::to_string(a.dispatched_at_ms),
                                a.trace_id};
  for (size_t i = 0; i < 2; ++i) {
    args.push_back(i < c.items.size() ? c.items[i].event_id : "");
    args.push_back(i < c.items.size() ? c.items[i].item.SerializeAsString() : "");
  }
  std::vector<std::string> bytes;
  for (const auto& e : c.events) {
    bytes.push_back(e.SerializeAsString());
    args.push_back(e.event_id());
    args.push_back(bytes.back());
  }
  auto r = redis_.eval(kChange, keys, args);
  if (r.integer != 1) return Commit::Conflict;
  for (size_t i = 0; i < c.events.size(); ++i)
    if (!publish(c.events[i].event_id(), bytes[i], akey)) return Commit::Pending;
  return Commit::Published;
}

AssignmentStore::Commit AssignmentStore::ask(const AssignmentRecord& a,
                                             const v1::EventEnvelope& asked,
                                             const std::optional<FeedAppend>& item) {
  const auto akey = redis_.key("notif:assignment:" + a.assignment_id);
  const auto bytes = asked.SerializeAsString();
  const auto& q = asked.reporter_asked();
  auto r = redis_.eval(kAsk,
                       {akey, redis_.key("notif:outbox"), redis_.key("notif:outbox:due"),
                        redis_.key("notif:question:" + asked.event_id()),
                        item ? feedKey(item->owner) : ""},
                       {a.state, a.unit, asked.event_id(), bytes, std::to_string(clock_.nowMs()),
                        q.agency_id(), q.unit_id(), a.assignment_id,
                        std::to_string(kQuestionTtlSeconds), a.trace_id,
                        item ? item->item.SerializeAsString() : ""});
  if (r.integer == 2) return Commit::Repeated;
  if (r.integer != 1) return Commit::Conflict;
  // Not the assignment's pending event: the outbox pass produces it if this produce fails.
  return publish(asked.event_id(), bytes, "") ? Commit::Published : Commit::Pending;
}

std::optional<QuestionRecord> AssignmentStore::question(const std::string& question_id) {
  auto h = redis_.command({"HGETALL", redis_.key("notif:question:" + question_id)});
  if (h.elements.empty()) return std::nullopt;
  auto f = [&](const char* name) {
    const auto* v = h.field(name);
    return v ? *v : std::string();
  };
  return QuestionRecord{f("assignment"), f("agency"), f("unit")};
}

std::string AssignmentStore::appendAnswer(const std::string& event_id, const std::string& trace_id,
                                          const QuestionRecord& q, const v1::DispatchItem& item) {
  auto r = redis_.eval(kAnswer,
                       {redis_.key("notif:seen:" + event_id), feedKey(q.agency),
                        q.unit.empty() ? "" : feedKey(q.unit),
                        redis_.key("notif:assignment:" + q.assignment_id)},
                       {event_id, trace_id, item.SerializeAsString(), q.unit});
  return r.str;
}

std::optional<v1::DispatchItem> AssignmentStore::feedItem(const std::string& owner,
                                                          const std::string& cursor) {
  if (cursor.empty()) return std::nullopt;
  auto r = redis_.command({"XRANGE", feedKey(owner), cursor, cursor});
  if (r.elements.empty()) return std::nullopt;
  const auto* bytes = r.elements[0].elements[1].field("item");
  v1::DispatchItem item;
  if (!bytes || !item.ParseFromString(*bytes)) return std::nullopt;
  return item;
}

bool AssignmentStore::republishPending(const AssignmentRecord& a) {
  if (a.pending.empty()) return true;
  if (markDeferred(a.pending)) return true;  // produced; its mark is on the way
  auto bytes = redis_.command({"HGET", redis_.key("notif:outbox"), a.pending});
  const auto akey = redis_.key("notif:assignment:" + a.assignment_id);
  if (bytes.isNil()) {  // published meanwhile
    markPublished(a.pending, akey);
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
  if (assignment_ids.empty()) return 0;
  redis::Pipeline reads;
  for (const auto& id : assignment_ids)
    reads.command({"HGETALL", redis_.key("notif:assignment:" + id)});
  return recordDelivered(assignment_ids, redis_.pipeline(reads), agency, channel, nullptr);
}

AssignmentStore::FeedPage AssignmentStore::feedPage(const std::string& owner,
                                                    const std::string& after,
                                                    const std::string& up_to, size_t count,
                                                    const Confirmation* confirmation) {
  static const redis::Script kScript(kFeedPage);
  auto r = redis_.eval(kScript, {feedKey(owner), confirmation ? confirmation->key : ""},
                       {after, up_to, std::to_string(count), redis_.key(""),
                        confirmation ? confirmation->stream_id : "",
                        confirmation ? confirmation->cursor : ""});
  FeedPage page;
  for (auto& e : r.elements) {
    if (e.elements.size() != 3) throw redis::RedisError("redis feed page: unexpected entry");
    page.last = e.elements[0].str;
    ++page.entries;
    if (e.elements[1].str.empty()) continue;
    page.assignments.push_back(std::move(e.elements[1].str));
    page.records.push_back(std::move(e.elements[2]));
  }
  return page;
}

int AssignmentStore::recordDelivered(const std::vector<std::string>& assignment_ids,
                                     const std::vector<redis::Reply>& records,
                                     const std::string& agency, const std::string& channel,
                                     const Mark* mark) {
  static const redis::Script kDeliveredScript(kDelivered);
  // Two round trips for the whole page, whatever its length (with the records read before):
  // the deliveries, each with its event in the outbox, and the outbox once the events are
  // acknowledged (deferred marks share theirs).
  std::vector<v1::EventEnvelope> envs;
  std::vector<std::string> ids;  // of envs
  const auto now = clock_.nowMs();
  for (size_t i = 0; i < assignment_ids.size() && i < records.size(); ++i) {
    const auto& assignment_id = assignment_ids[i];
    if (records[i].type == redis::Reply::Type::Error)
      throw redis::RedisError("redis assignment " + assignment_id + ": " + records[i].str);
    auto a = recordOf(assignment_id, records[i]);
    if (!a) continue;  // not an assignment we know
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
    envs.push_back(std::move(env));
    ids.push_back(assignment_id);
  }
  // Recorded with their events in the outbox, up to kDeliveriesPerCall a call: a failed or
  // lost produce is repeated from there. The mark goes with the last call when there is one
  // call, else after all of them.
  const size_t calls = (envs.size() + kDeliveriesPerCall - 1) / kDeliveriesPerCall;
  redis::Pipeline writes;
  for (size_t c = 0; c < calls; ++c) {
    const bool with_mark = mark && calls == 1;
    std::vector<std::string> keys{redis_.key("notif:outbox"), redis_.key("notif:outbox:due"),
                                  with_mark ? mark->key : ""};
    std::vector<std::string> args{agency, std::to_string(now), with_mark ? mark->value : ""};
    for (size_t k = c * kDeliveriesPerCall; k < std::min(envs.size(), (c + 1) * kDeliveriesPerCall);
         ++k) {
      keys.push_back(redis_.key("notif:delivered:" + ids[k]));
      keys.push_back(redis_.key("notif:assignment:" + ids[k]));
      args.push_back(envs[k].event_id());
      args.push_back(envs[k].SerializeAsString());
    }
    writes.eval(kDeliveredScript, keys, args);
  }
  if (mark && calls != 1) writes.command({"SET", mark->key, mark->value});
  if (writes.empty()) return 0;
  const auto recorded = redis_.pipeline(writes);
  std::vector<std::string> produced;  // event ids, in the order of `inflight`
  std::vector<std::future<kafka::DeliveryReport>> inflight;
  std::string failed;  // the first refused write; the others are produced all the same
  for (size_t k = 0; k < envs.size(); ++k) {
    const auto& env = envs[k];
    const auto& call = recorded[k / kDeliveriesPerCall];
    if (call.type == redis::Reply::Type::Error) {
      if (failed.empty()) failed = call.str;
      continue;
    }
    const auto i = k % kDeliveriesPerCall;
    if (i >= call.elements.size() || call.elements[i].integer != 1) continue;  // recorded before
    produced.push_back(env.event_id());
    inflight.push_back(events_.produce(events::toMessage(kafka::kComplaintsTopic, env)));
    log_.debug("assignment delivered", {{"complaint_id", env.complaint_id()},
                                       {"trace_id", env.trace_id()},
                                       {"agency", agency},
                                       {"channel", channel}});
  }
  std::vector<Published> published;
  const auto reports = kafka::awaitReports(inflight, produce_timeout_);
  for (size_t k = 0; k < produced.size(); ++k) {
    if (reports[k].ok)
      published.push_back({produced[k], ""});
    else
      log_.warn("event not produced yet, kept in the outbox",
                {{"event_id", produced[k]}, {"error", reports[k].error}});
  }
  try {
    marksFor(std::move(published));
  } catch (const redis::RedisError&) {
    // what fails here the outbox sends again
  }
  if (mark && calls != 1 && recorded.back().type == redis::Reply::Type::Error && failed.empty())
    failed = recorded.back().str;
  if (!failed.empty()) throw redis::RedisError("redis delivery record: " + failed);
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
        case v1::EventEnvelope::kDelegated: id = env.delegated().assignment_id(); break;
        case v1::EventEnvelope::kDelegationRevoked:
          id = env.delegation_revoked().assignment_id();
          break;
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
