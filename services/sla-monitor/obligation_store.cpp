// Keys (under the Redis prefix): sla:ob:<id> (hash), sla:complaint:<id> (set of obligation
// ids), sla:ledger:<complaint> (the follow-up ledger, a serialized ComplaintLedger whose
// complaint holds only its id and tracking id), sla:ledger:<complaint>:complaint (the complaint
// as submitted, a serialized Complaint, packed (redis/packed_value.h): written once, given the
// ledger's time to live),
// sla:complaints:open (complaints the owner audit checks), sla:timers (zset by due time),
// sla:inflight (zset by lease end), sla:open (hash of open counts by agency|stage|priority|
// overdue), sla:emopen:<stage> (open emergency obligations by start), sla:decided and
// sla:breaches (zsets by decision time, for compliance queries), sla:summary:<YYYY-MM>:<agency>
// (the monthly counters, a hash of <type>|<category>|<figure>; agency "" = the regency).
#include "obligation_store.h"

#include "redis/packed_value.h"
#include "text/stored_int.h"

#include <absl/time/time.h>

namespace lapor::sla {

namespace {

// Lua functions every script starts with: the key of an obligation and its counter field. The
// scripts read an obligation's fields once (one HMGET of the names in kObFields) and hand them
// to these, instead of each helper reading the hash again.
constexpr const char* kLuaHelpers = R"lua(
local function okey(id) return ARGV[1] .. 'sla:ob:' .. id end
-- The fields the helpers need, in this order: o.state, o.ended, o.agency, ...
local kObFields = {'state', 'ended', 'agency', 'stage_name', 'prio_name', 'started', 'next',
                   'redispatch_next', 'type', 'category'}
local function readOb(k)
  local f = redis.call('HMGET', k, unpack(kObFields))
  local o = {}
  for i, name in ipairs(kObFields) do o[name] = f[i] or nil end
  return o
end
-- The open-counts field of an obligation of this agency, stage and priority.
local function field(o, overdue)
  return o.agency .. '|' .. o.stage_name .. '|' .. o.prio_name .. '|' .. overdue
end
-- A counter of a period (a month, a day): HINCRBY, and the key's time to live when the
-- increment created the key (its first field), as `ttl` seconds plus the period's length: the
-- key lives at least `ttl` past its period's last count without an EXPIRE on every count. An
-- answer equal to the increment may also be a new field of a key that exists, or a field that
-- stood at 0: an EXPIRE more (once per key and call), no harm.
local expiring = {}  -- keys given their time to live in this call
local function count(key, name, by, ttl, period)
  if redis.call('HINCRBY', key, name, by) == tonumber(by) and not expiring[key] then
    redis.call('EXPIRE', key, tonumber(ttl) + period)
    expiring[key] = true
  end
end
local kMonthSeconds, kDaySeconds = 31 * 86400, 86400
-- An answer decided (follow-up or resolution met on time, or breached): counted in the month
-- given for the obligation's agency and the regency, once, as the state changes with it.
local function answered(prefix, o, month, sttl, figure)
  if o.stage_name ~= 'follow_up' and o.stage_name ~= 'resolution' then return end
  local name = (o.type or '0') .. '|' .. (o.category or '') .. '|' .. figure
  for _, a in ipairs({o.agency or '', ''}) do
    count(prefix .. 'sla:summary:' .. month .. ':' .. a, name, 1, sttl, kMonthSeconds)
  end
end
-- A decision (met on time, or breached) counted for the compliance gauge, in the UTC day of
-- `now`, for the agency and stage it was decided for; in the script that changes the state, so
-- a replay counts nothing twice.
local function decided(prefix, o, now, ttl, met)
  local key = prefix .. 'sla:compliance:' .. string.format('%d', math.floor(tonumber(now) / 86400000))
  local name = (o.agency or '') .. '|' .. (o.stage_name or '')
  count(key, name .. '|due', 1, ttl, kDaySeconds)
  if met then count(key, name .. '|met', 1, ttl, kDaySeconds) end
end
)lua";

// KEYS: complaint set, timers, open counts
constexpr const char* kStart = R"lua(
local k = okey(ARGV[2])
if redis.call('EXISTS', k) == 1 then return 0 end
redis.call('HSET', k, 'complaint', ARGV[3], 'assignment', ARGV[4], 'agency', ARGV[5],
           'stage', ARGV[6], 'stage_name', ARGV[7], 'priority', ARGV[8], 'prio_name', ARGV[9],
           'category', ARGV[10], 'deadline', ARGV[11], 'started', ARGV[12], 'due', ARGV[13],
           'state', 'open', 'trace', ARGV[15], 'level', ARGV[18], 'tracking', ARGV[19],
           'type', ARGV[20])
if ARGV[17] ~= '' then redis.call('HSET', k, 'escalates', ARGV[17]) end
redis.call('SADD', KEYS[1], ARGV[2])
-- The deadline's timer, and the warning's before it if there is one: one ZADD.
if ARGV[14] ~= '0' then
  redis.call('ZADD', KEYS[2], ARGV[14], ARGV[2] .. '|warn', ARGV[13], ARGV[2] .. '|' .. ARGV[16])
else
  redis.call('ZADD', KEYS[2], ARGV[13], ARGV[2] .. '|' .. ARGV[16])
end
redis.call('HINCRBY', KEYS[3], field({agency = ARGV[5], stage_name = ARGV[7], prio_name = ARGV[9]}, '0'), 1)
if ARGV[9] == 'emergency' then
  redis.call('ZADD', ARGV[1] .. 'sla:emopen:' .. ARGV[7], ARGV[12], ARGV[2])
end
return 1
)lua";

// KEYS: complaint set, timers, open counts, decided.
// ARGV: prefix, now, ttl, mode, then for mode 'filter': stage (0 = any), assignment ('' = any),
// outcome (met|cancelled); for mode 'ids': count, then id and outcome pairs; last the month of
// `now` and the monthly counters' ttl.
// Returns id, result, stage name, agency, priority name, started for each ended obligation.
constexpr const char* kEnd = R"lua(
local prefix, now, ttl = ARGV[1], ARGV[2], ARGV[3]
-- ended: what ended here; after_breach: whether any of it ended after its breach, the only
-- obligations a supervisor can have been given (an escalation starts from a breach).
local out, ended, after_breach = {}, {}, false
local function finish(id, outcome)
  local k = okey(id)
  local f = readOb(k)
  local result = nil
  if f.state == 'open' then
    result = outcome
    redis.call('HSET', k, 'state', result, 'ended', now)
    redis.call('ZREM', KEYS[2], id .. '|warn', id .. '|breach', id .. '|close')
    redis.call('HINCRBY', KEYS[3], field(f, '0'), -1)
    if result == 'met' then
      redis.call('ZADD', KEYS[4], now, id)
      decided(prefix, f, now, ttl, true)
      answered(prefix, f, ARGV[#ARGV - 1], ARGV[#ARGV], 'on_time')
    end
  elseif f.state == 'breached' and not f.ended then
    if outcome == 'met' then result = 'late' else result = 'cancelled' end
    redis.call('HSET', k, 'ended', now)
    redis.call('HINCRBY', KEYS[3], field(f, '1'), -1)
    after_breach = true
  end
  if result then
    if f.next then redis.call('ZREM', KEYS[2], f.next) end
    if f.redispatch_next then
      redis.call('ZREM', KEYS[2], f.redispatch_next)
      redis.call('HDEL', k, 'redispatch_next')
    end
    -- Only an emergency's obligation is in the open emergencies (kStart).
    if f.prio_name == 'emergency' then
      redis.call('ZREM', prefix .. 'sla:emopen:' .. f.stage_name, id)
    end
    redis.call('EXPIRE', k, ttl)
    ended[id] = true
    for _, v in ipairs({id, result, f.stage_name, f.agency, f.prio_name, f.started}) do
      table.insert(out, v)
    end
  end
end
-- The complaint's obligations and what the escalation pass below needs of each, read once.
local members, escalates, withdrawn = nil, {}, {}
local function scan()
  members = redis.call('SMEMBERS', KEYS[1])
  for _, id in ipairs(members) do
    local g = redis.call('HMGET', okey(id), 'stage', 'assignment', 'escalates', 'withdrawn')
    escalates[id], withdrawn[id] = g[3], g[4]
    if ARGV[4] == 'filter' and g[1] and (ARGV[5] == '0' or g[1] == ARGV[5]) and
        (ARGV[6] == '' or g[2] == ARGV[6]) then
      finish(id, ARGV[7])
    end
  end
end
if ARGV[4] == 'filter' then
  scan()
  -- Closing the complaint ends all of it: its index expires with the obligations' records.
  if ARGV[5] == '0' and ARGV[6] == '' then redis.call('EXPIRE', KEYS[1], ttl) end
else
  for i = 1, tonumber(ARGV[5]) do finish(ARGV[4 + 2 * i], ARGV[5 + 2 * i]) end
end
-- The escalations of what ended are not needed any more: end them and take the supervisors'
-- items back (a withdraw timer each, fired at once by the scheduler). Neither field read for
-- this is one finish() changes. Nothing that ended before its breach was ever escalated, so
-- without a breached one among them the complaint's other obligations are not read.
if after_breach then
  if not members then scan() end
  for _, id in ipairs(members) do
    local k = okey(id)
    if escalates[id] and ended[escalates[id]] then
      finish(id, 'cancelled')
      if not withdrawn[id] then
        redis.call('HSET', k, 'withdrawn', now)
        redis.call('ZADD', KEYS[2], now, id .. '|withdraw')
      end
    end
  end
end
return out
)lua";

// KEYS: open counts. ARGV: prefix, obligation id, new agency
constexpr const char* kReassign = R"lua(
local k = okey(ARGV[2])
local f = readOb(k)
if f.agency and f.agency ~= ARGV[3] and (f.state == 'open' or (f.state == 'breached' and not f.ended)) then
  local overdue = f.state == 'open' and '0' or '1'
  redis.call('HINCRBY', KEYS[1], field(f, overdue), -1)
  redis.call('HSET', k, 'agency', ARGV[3])
  f.agency = ARGV[3]
  redis.call('HINCRBY', KEYS[1], field(f, overdue), 1)
end
return 1
)lua";

// KEYS: complaint set, timers. ARGV: prefix, stage, assignment, reason, now
constexpr const char* kExpedite = R"lua(
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = okey(id)
  local f = redis.call('HMGET', k, 'stage', 'assignment', 'state')
  if f[1] == ARGV[2] and f[2] == ARGV[3] and f[3] == 'open' then
    redis.call('HSET', k, 'expedite', ARGV[4])
    redis.call('ZREM', KEYS[2], id .. '|warn')
    redis.call('ZADD', KEYS[2], ARGV[5], id .. '|breach')
    return 1
  end
end
return 0
)lua";

// KEYS: timers, inflight, open, decided, breaches. ARGV: prefix, now, lease end, limit, ttl,
// the month of now, the monthly counters' ttl
constexpr const char* kClaim = R"lua(
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[4])) do
  redis.call('ZREM', KEYS[1], m)
  local id, kind = string.match(m, '^([^|]+)|(%a+)')
  local k = okey(id or '')
  local f = readOb(k)
  local won = false
  if kind == 'warn' then
    if f.state == 'open' then redis.call('HSET', k, 'warned', ARGV[2]); won = true end
  elseif kind == 'breach' then
    if f.state == 'open' then
      redis.call('HSET', k, 'state', 'breached', 'breached', ARGV[2])
      redis.call('HINCRBY', KEYS[3], field(f, '0'), -1)
      redis.call('HINCRBY', KEYS[3], field(f, '1'), 1)
      redis.call('ZADD', KEYS[4], ARGV[2], id)
      redis.call('ZADD', KEYS[5], ARGV[2], id)
      decided(ARGV[1], f, ARGV[2], ARGV[5], false)
      answered(ARGV[1], f, ARGV[6], ARGV[7], 'late')
      won = true
    end
  elseif kind == 'close' then
    if f.state == 'open' then
      redis.call('HSET', k, 'state', 'closed', 'ended', ARGV[2])
      redis.call('HINCRBY', KEYS[3], field(f, '0'), -1)
      redis.call('ZREM', ARGV[1] .. 'sla:emopen:' .. f.stage_name, id)
      redis.call('EXPIRE', k, ARGV[5])
      -- The monitor closes the complaint now (its `closed` event follows): off the audit's list.
      redis.call('SREM', ARGV[1] .. 'sla:complaints:open', redis.call('HGET', k, 'complaint'))
      won = true
    end
  elseif kind == 'redispatch' then
    if f.state == 'breached' and not f.ended then won = true end
  elseif kind == 'withdraw' then
    if f.state then won = true end
  end
  if won then
    redis.call('ZADD', KEYS[2], ARGV[3], m)
    table.insert(out, m)
  end
end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, ARGV[4])) do
  redis.call('ZADD', KEYS[2], ARGV[3], m)
  table.insert(out, m)
end
return out
)lua";

// KEYS: inflight, timers. ARGV: prefix, member, level, redispatches, next member, next due
constexpr const char* kComplete = R"lua(
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
local id = string.match(ARGV[2], '^([^|]+)|')
local k = okey(id)
if redis.call('EXISTS', k) == 0 then return 1 end
if ARGV[3] ~= '0' then redis.call('HSET', k, 'level', ARGV[3]) end
if ARGV[4] ~= '0' then redis.call('HSET', k, 'redispatches', ARGV[4]) end
local f = redis.call('HMGET', k, 'state', 'ended', 'redispatch_next')
if ARGV[5] ~= '' and f[1] == 'breached' and not f[2] then
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])
  redis.call('HSET', k, 'redispatch_next', ARGV[5])
elseif f[3] == ARGV[2] then
  redis.call('HDEL', k, 'redispatch_next')
end
return 1
)lua";

// KEYS: the ledger, the open-complaint set, the ledger's complaint. ARGV: ledger bytes, ttl ms,
// complaint id, the audit's list ('1' = on it, '0' = off it, '' = as it was), the monthly
// counters' ttl, the complaint's bytes ('' = stored before), then key, field, increment triples
constexpr const char* kSaveLedger = R"lua(
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
-- The complaint lives as long as its ledger.
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
if ARGV[4] == '1' then redis.call('SADD', KEYS[2], ARGV[3])
elseif ARGV[4] == '0' then redis.call('SREM', KEYS[2], ARGV[3]) end
for i = 7, #ARGV - 2, 3 do count(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[5], kMonthSeconds) end
return 1
)lua";

// ARGV: prefix, complaint ids. Returns the complaints none of whose obligations is open, or
// breached and not yet met.
constexpr const char* kOwnerless = R"lua(
local out = {}
for i = 2, #ARGV do
  local owned = false
  for _, id in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'sla:complaint:' .. ARGV[i])) do
    local f = redis.call('HMGET', okey(id), 'state', 'ended')
    if f[1] == 'open' or (f[1] == 'breached' and not f[2]) then owned = true; break end
  end
  if not owned then table.insert(out, ARGV[i]) end
end
return out
)lua";

// The store's scripts with the helpers in front, each hashed once.
redis::Script withHelpers(const char* body) {
  return redis::Script(std::string(kLuaHelpers) + body);
}
const redis::Script kStartScript = withHelpers(kStart);
const redis::Script kEndScript = withHelpers(kEnd);
const redis::Script kReassignScript = withHelpers(kReassign);
const redis::Script kExpediteScript = withHelpers(kExpedite);
const redis::Script kClaimScript = withHelpers(kClaim);
const redis::Script kCompleteScript = withHelpers(kComplete);
const redis::Script kOwnerlessScript = withHelpers(kOwnerless);
const redis::Script kSaveLedgerScript = withHelpers(kSaveLedger);

std::string outcomeName(EndOutcome o) {
  return o == EndOutcome::Met ? "met" : "cancelled";
}

v1::ObligationState stateOf(const std::string& v) {
  if (v == "open") return v1::OBLIGATION_STATE_OPEN;
  if (v == "met") return v1::OBLIGATION_STATE_MET;
  if (v == "breached") return v1::OBLIGATION_STATE_BREACHED;
  if (v == "cancelled") return v1::OBLIGATION_STATE_CANCELLED;
  if (v == "closed") return v1::OBLIGATION_STATE_CLOSED;
  return v1::OBLIGATION_STATE_UNSPECIFIED;
}

std::string utcMonth(int64_t ms) {
  const auto t = absl::FromUnixMillis(ms);
  return absl::FormatTime("%Y-%m", t, absl::UTCTimeZone());
}

}  // namespace

ObligationStore::ObligationStore(redis::RedisClient& redis, std::chrono::seconds retention,
                                 SummaryOptions summary)
    : redis_(redis), retention_(retention), summary_(std::move(summary)) {}

std::string ObligationStore::monthOf(int64_t ms) const {
  return summary_.month_of ? summary_.month_of(ms) : utcMonth(ms);
}

std::vector<std::pair<std::string, std::string>> ObligationStore::summary(
    const std::string& month, const std::string& agency) {
  auto h = redis_.command({"HGETALL", redis_.key("sla:summary:" + month + ":" + agency)});
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < h.elements.size(); i += 2)
    out.emplace_back(h.elements[i].str, h.elements[i + 1].str);
  return out;
}

ObligationStore::Call ObligationStore::startCall(const ObligationStart& o,
                                                const std::string& trace_id) const {
  return {&kStartScript,
          {redis_.key("sla:complaint:" + o.complaint_id), redis_.key("sla:timers"),
           redis_.key("sla:open")},
          {redis_.key(""), o.obligation_id, o.complaint_id, o.assignment_id, o.agency_id,
           std::to_string(o.stage), stageName(o.stage), std::to_string(o.priority),
           priorityName(o.priority), o.category, o.deadline, std::to_string(o.started_at_ms),
           std::to_string(o.due_at_ms), std::to_string(o.warn_at_ms), trace_id,
           o.stage == v1::SLA_STAGE_AUTO_CLOSE ? "close" : "breach", o.escalates,
           std::to_string(o.level), o.tracking_id, std::to_string(o.report_type)}};
}

ObligationStore::Call ObligationStore::endCall(const std::string& complaint_id,
                                              std::vector<std::string> args) const {
  return {&kEndScript,
          {redis_.key("sla:complaint:" + complaint_id), redis_.key("sla:timers"),
           redis_.key("sla:open"), redis_.key("sla:decided")},
          std::move(args)};
}

ObligationStore::Call ObligationStore::endCall(const std::string& complaint_id,
                                              const ObligationEnd& e, int64_t now_ms) const {
  return endCall(complaint_id,
                 {redis_.key(""), std::to_string(now_ms), std::to_string(retention_.count()),
                  "filter", std::to_string(e.stage), e.assignment_id, outcomeName(e.outcome),
                  monthOf(now_ms), std::to_string(summary_.retention.count())});
}

ObligationStore::Call ObligationStore::endCall(const std::string& complaint_id,
                                              const std::vector<ObligationStop>& stops,
                                              int64_t now_ms) const {
  std::vector<std::string> args{redis_.key(""), std::to_string(now_ms),
                                std::to_string(retention_.count()), "ids",
                                std::to_string(stops.size())};
  for (const auto& s : stops) {
    args.push_back(s.obligation_id);
    args.push_back(outcomeName(s.outcome));
  }
  args.push_back(monthOf(now_ms));
  args.push_back(std::to_string(summary_.retention.count()));
  return endCall(complaint_id, std::move(args));
}

redis::Reply ObligationStore::run(const Call& c) {
  return redis_.eval(c);
}

size_t ObligationStore::add(redis::Pipeline& p, const Call& c) {
  p.eval(c);
  return p.size() - 1;
}

bool ObligationStore::start(const ObligationStart& o, const std::string& trace_id) {
  return run(startCall(o, trace_id)).integer == 1;
}

std::vector<EndedObligation> ObligationStore::end(const std::string& complaint_id,
                                                  const ObligationEnd& e, int64_t now_ms) {
  return endedOf(run(endCall(complaint_id, e, now_ms)));
}

std::vector<EndedObligation> ObligationStore::end(const std::string& complaint_id,
                                                  const std::vector<ObligationStop>& stops,
                                                  int64_t now_ms) {
  if (stops.empty()) return {};
  return endedOf(run(endCall(complaint_id, stops, now_ms)));
}

size_t ObligationStore::addStart(redis::Pipeline& p, const ObligationStart& o,
                                 const std::string& trace_id) {
  return add(p, startCall(o, trace_id));
}

size_t ObligationStore::addEnd(redis::Pipeline& p, const std::string& complaint_id,
                               const ObligationEnd& e, int64_t now_ms) {
  return add(p, endCall(complaint_id, e, now_ms));
}

std::optional<size_t> ObligationStore::addEnd(redis::Pipeline& p, const std::string& complaint_id,
                                              const std::vector<ObligationStop>& stops,
                                              int64_t now_ms) {
  if (stops.empty()) return std::nullopt;
  return add(p, endCall(complaint_id, stops, now_ms));
}

size_t ObligationStore::addReassign(redis::Pipeline& p, const std::string& obligation_id,
                                    const std::string& agency) {
  return add(p, reassignCall(obligation_id, agency));
}

size_t ObligationStore::addSaveLedger(redis::Pipeline& p, const v1::ComplaintLedger& l,
                                      const std::vector<SummaryIncrement>& counts,
                                      std::optional<bool> was_open) {
  return add(p, saveLedgerCall(l, counts, was_open));
}

std::vector<std::string> ObligationStore::ledgerCommand(const std::string& complaint_id) const {
  return {"GET", redis_.key("sla:ledger:" + complaint_id)};
}

v1::ComplaintLedger ObligationStore::ledgerFrom(const redis::Reply& r) {
  v1::ComplaintLedger l;
  if (r.isNil()) return l;
  // A record that does not parse is not retryable: start the complaint's ledger afresh (its
  // stored obligations stay and still fire) rather than stall the partition on it.
  if (!l.ParseFromString(r.str)) l.Clear();
  return l;
}

std::vector<EndedObligation> ObligationStore::endedOf(const redis::Reply& r) {
  std::vector<EndedObligation> out;
  for (size_t i = 0; i + 5 < r.elements.size(); i += 6)
    out.push_back({r.elements[i].str, r.elements[i + 1].str, r.elements[i + 2].str,
                   r.elements[i + 3].str, r.elements[i + 4].str,
                   text::storedInt(r.elements[i + 5].str)});
  return out;
}

void ObligationStore::raiseLevel(const std::string& obligation_id, int level) {
  static const redis::Script kRaise(
      "local k = KEYS[1]\n"
      "if redis.call('EXISTS', k) == 1 and tonumber(redis.call('HGET', k, 'level') or '0') < "
      "tonumber(ARGV[1]) then redis.call('HSET', k, 'level', ARGV[1]) end\n"
      "return 1");
  redis_.eval(kRaise, {redis_.key("sla:ob:" + obligation_id)}, {std::to_string(level)});
}

ObligationStore::Call ObligationStore::reassignCall(const std::string& obligation_id,
                                                   const std::string& agency) const {
  return {&kReassignScript, {redis_.key("sla:open")}, {redis_.key(""), obligation_id, agency}};
}

void ObligationStore::reassign(const std::string& obligation_id, const std::string& agency) {
  run(reassignCall(obligation_id, agency));
}

bool ObligationStore::expedite(const std::string& complaint_id, const std::string& assignment_id,
                               v1::SlaStage stage, const std::string& reason, int64_t now_ms) {
  auto r = redis_.eval(kExpediteScript,
                       {redis_.key("sla:complaint:" + complaint_id), redis_.key("sla:timers")},
                       {redis_.key(""), std::to_string(stage), assignment_id, reason,
                        std::to_string(now_ms)});
  return r.integer == 1;
}

v1::ComplaintLedger ObligationStore::ledger(const std::string& complaint_id) {
  return ledgerFrom(redis_.command(ledgerCommand(complaint_id)));
}

namespace {
// The ledger's complaint as the ledger keeps it (what every event's step reads of it), when the
// ledger holds more of it than that: what its save writes apart.
std::optional<v1::Complaint> slimComplaint(const v1::ComplaintLedger& l) {
  if (!l.has_complaint()) return std::nullopt;
  v1::Complaint slim;
  slim.set_complaint_id(l.complaint().complaint_id());
  slim.set_tracking_id(l.complaint().tracking_id());
  if (slim.ByteSizeLong() == l.complaint().ByteSizeLong()) return std::nullopt;
  return slim;
}
}  // namespace

bool ObligationStore::keepsComplaintApart(const v1::ComplaintLedger& l) {
  return slimComplaint(l).has_value();
}

void ObligationStore::setComplaintApart(v1::ComplaintLedger& l) {
  if (auto slim = slimComplaint(l)) *l.mutable_complaint() = std::move(*slim);
}

std::string ObligationStore::complaintKey(const std::string& complaint_id) const {
  return redis_.key("sla:ledger:" + complaint_id + ":complaint");
}

v1::Complaint ObligationStore::complaint(const std::string& complaint_id) {
  redis::Pipeline p;
  p.command({"GET", complaintKey(complaint_id)});
  p.command(ledgerCommand(complaint_id));
  const auto r = redis_.pipelineOrThrow(p, "complaint read");
  v1::Complaint c;
  if (!r[0].isNil()) {
    const auto bytes = redis::unpackValue(r[0].str);
    if (bytes && c.ParseFromString(*bytes)) return c;
  }
  // A ledger written before the complaint was kept apart holds it whole.
  return ledgerFrom(r[1]).complaint();
}

ObligationStore::Call ObligationStore::saveLedgerCall(const v1::ComplaintLedger& l,
                                                     const std::vector<SummaryIncrement>& counts,
                                                     std::optional<bool> was_open) const {
  // The complaint as submitted (a kilobyte or more) is written once, beside the ledger, not
  // with every event's ledger: the ledger keeps its id and tracking id. The complaint's text is
  // compressed; the ledger (a few hundred bytes of ids, saved with most events) is not: zstd
  // would cost the monitor about what it saved Redis. A ledger holding it
  // whole (a submission just folded in, or a ledger stored before) writes it apart now.
  std::string ledger_bytes, complaint_bytes;
  if (auto slim_complaint = slimComplaint(l)) {
    complaint_bytes = redis_.pack(l.complaint().SerializeAsString());
    auto slim = l;
    *slim.mutable_complaint() = std::move(*slim_complaint);
    ledger_bytes = slim.SerializeAsString();
  } else {
    ledger_bytes = l.SerializeAsString();
  }
  // The audit's list changes only when the complaint opens or closes (the ledger before says
  // whether it did; without it, the list is written as the ledger says).
  const bool open = isOpen(l);
  std::vector<std::string> args{std::move(ledger_bytes),
                                std::to_string(retention_.count() * 1000),
                                l.complaint_id(),
                                was_open && *was_open == open ? "" : open ? "1" : "0",
                                std::to_string(summary_.retention.count()),
                                std::move(complaint_bytes)};
  for (const auto& c : counts) {
    args.push_back(redis_.key("sla:summary:" + c.month + ":" + c.agency));
    args.push_back(c.field);
    args.push_back(std::to_string(c.by));
  }
  return {&kSaveLedgerScript,
          {redis_.key("sla:ledger:" + l.complaint_id()), redis_.key("sla:complaints:open"),
           complaintKey(l.complaint_id())},
          std::move(args)};
}

void ObligationStore::saveLedger(const v1::ComplaintLedger& l,
                                 const std::vector<SummaryIncrement>& counts,
                                 std::optional<bool> was_open) {
  run(saveLedgerCall(l, counts, was_open));
}

std::vector<std::string> ObligationStore::claimDue(int64_t now_ms, std::chrono::milliseconds lease,
                                                   int limit) {
  auto r = redis_.eval(kClaimScript,
                       {redis_.key("sla:timers"), redis_.key("sla:inflight"),
                        redis_.key("sla:open"), redis_.key("sla:decided"),
                        redis_.key("sla:breaches")},
                       {redis_.key(""), std::to_string(now_ms),
                        std::to_string(now_ms + lease.count()), std::to_string(limit),
                        std::to_string(retention_.count()), monthOf(now_ms),
                        std::to_string(summary_.retention.count())});
  std::vector<std::string> out;
  for (auto& e : r.elements) out.push_back(std::move(e.str));
  return out;
}

bool ObligationStore::complete(const std::string& member, const Completion& done) {
  auto r = redis_.eval(kCompleteScript, {redis_.key("sla:inflight"), redis_.key("sla:timers")},
                       {redis_.key(""), member, std::to_string(done.level),
                        std::to_string(done.redispatches), done.next_member,
                        std::to_string(done.next_due_ms)});
  return r.integer == 1;
}

std::optional<ObligationRecord> ObligationStore::record(const std::string& id) {
  auto h = redis_.command({"HGETALL", redis_.key("sla:ob:" + id)});
  if (h.elements.empty()) return std::nullopt;
  ObligationRecord rec;
  auto& o = rec.obligation;
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
      o.set_stage(static_cast<v1::SlaStage>(text::storedInt(v)));
    else if (k == "priority")
      o.set_priority(static_cast<v1::Priority>(text::storedInt(v)));
    else if (k == "category")
      o.set_category(v);
    else if (k == "started")
      o.set_started_at_ms(text::storedInt(v));
    else if (k == "due")
      o.set_due_at_ms(text::storedInt(v));
    else if (k == "ended")
      o.set_ended_at_ms(text::storedInt(v));
    else if (k == "breached")
      o.set_breached_at_ms(text::storedInt(v));
    else if (k == "level")
      o.set_escalation_level(static_cast<int32_t>(text::storedInt(v)));
    else if (k == "escalates")
      o.set_escalates_obligation_id(v);
    else if (k == "redispatches")
      o.set_redispatches(static_cast<int32_t>(text::storedInt(v)));
    else if (k == "tracking")
      o.set_tracking_id(v);
    else if (k == "type")
      o.set_report_type(static_cast<v1::ReportType>(text::storedInt(v)));
    else if (k == "state")
      o.set_state(stateOf(v));
    else if (k == "trace")
      rec.trace_id = v;
    else if (k == "deadline")
      rec.deadline = v;
    else if (k == "expedite")
      rec.expedite_reason = v;
  }
  return rec;
}

std::optional<v1::Obligation> ObligationStore::get(const std::string& id) {
  auto rec = record(id);
  if (!rec) return std::nullopt;
  return std::move(rec->obligation);
}

std::vector<v1::Obligation> ObligationStore::forComplaint(const std::string& complaint_id) {
  std::vector<v1::Obligation> out;
  for (const auto& id :
       redis_.command({"SMEMBERS", redis_.key("sla:complaint:" + complaint_id)}).elements)
    if (auto o = get(id.str)) out.push_back(std::move(*o));
  return out;
}

std::vector<v1::Obligation> ObligationStore::decidedSince(int64_t since_ms) {
  std::vector<v1::Obligation> out;
  for (const auto& id : redis_
                            .command({"ZRANGEBYSCORE", redis_.key("sla:decided"),
                                      std::to_string(since_ms), "+inf"})
                            .elements)
    if (auto o = get(id.str)) out.push_back(std::move(*o));
  return out;
}

std::map<std::pair<std::string, std::string>, ComplianceCount> ObligationStore::complianceSince(
    int64_t since_ms, int64_t now_ms) {
  constexpr int64_t kDay = 86'400'000;
  std::map<std::pair<std::string, std::string>, ComplianceCount> out;
  for (int64_t day = std::max<int64_t>(since_ms, 0) / kDay; day <= now_ms / kDay; ++day) {
    auto h = redis_.command({"HGETALL", redis_.key("sla:compliance:" + std::to_string(day))});
    for (size_t i = 0; i + 1 < h.elements.size(); i += 2) {
      const auto& name = h.elements[i].str;  // agency|stage|figure
      const auto a = name.find('|');
      const auto b = name.rfind('|');
      if (a == std::string::npos || b == a) continue;
      auto& c = out[{name.substr(0, a), name.substr(a + 1, b - a - 1)}];
      const auto n = text::storedInt(&h.elements[i + 1].str);
      if (name.compare(b + 1, std::string::npos, "met") == 0) c.met_on_time += n;
      if (name.compare(b + 1, std::string::npos, "due") == 0) c.due += n;
    }
  }
  return out;
}

std::vector<v1::Obligation> ObligationStore::breachesSince(int64_t since_ms,
                                                           const std::string& agency, int limit) {
  std::vector<v1::Obligation> out;
  for (const auto& id : redis_
                            .command({"ZREVRANGEBYSCORE", redis_.key("sla:breaches"), "+inf",
                                      std::to_string(since_ms)})
                            .elements) {
    if (static_cast<int>(out.size()) >= limit) break;
    auto o = get(id.str);
    if (o && (agency.empty() || o->agency_id() == agency)) out.push_back(std::move(*o));
  }
  return out;
}

std::vector<v1::Obligation> ObligationStore::dueBetween(int64_t from_ms, int64_t to_ms,
                                                        const std::string& agency, int limit) {
  std::vector<v1::Obligation> out;
  for (const auto& m : redis_
                           .command({"ZRANGEBYSCORE", redis_.key("sla:timers"),
                                     std::to_string(from_ms), std::to_string(to_ms)})
                           .elements) {
    if (static_cast<int>(out.size()) >= limit) break;
    auto t = TimerMember::parse(m.str);
    if (t.kind != "breach") continue;
    auto o = get(t.obligation_id);
    if (o && o->state() == v1::OBLIGATION_STATE_OPEN &&
        (agency.empty() || o->agency_id() == agency))
      out.push_back(std::move(*o));
  }
  return out;
}

std::vector<OpenCount> ObligationStore::openCounts() {
  std::vector<OpenCount> out;
  auto h = redis_.command({"HGETALL", redis_.key("sla:open")});
  for (size_t i = 0; i + 1 < h.elements.size(); i += 2) {
    const auto& f = h.elements[i].str;
    OpenCount c;
    auto a = f.find('|'), b = f.find('|', a + 1), d = f.find('|', b + 1);
    if (a == std::string::npos || b == std::string::npos || d == std::string::npos) continue;
    c.agency = f.substr(0, a);
    c.stage = f.substr(a + 1, b - a - 1);
    c.priority = f.substr(b + 1, d - b - 1);
    c.overdue = f.substr(d + 1) == "1";
    c.count = text::storedInt(h.elements[i + 1].str);
    out.push_back(std::move(c));
  }
  return out;
}

std::optional<int64_t> ObligationStore::oldestOpenEmergency(const std::string& stage) {
  auto r = redis_.command(
      {"ZRANGE", redis_.key("sla:emopen:" + stage), "0", "0", "WITHSCORES"});
  if (r.elements.size() < 2) return std::nullopt;
  return text::storedInt(r.elements[1].str);
}

void ObligationStore::trim(int64_t now_ms) {
  const auto before = std::to_string(now_ms - retention_.count() * 1000);
  redis_.command({"ZREMRANGEBYSCORE", redis_.key("sla:decided"), "-inf", "(" + before});
  redis_.command({"ZREMRANGEBYSCORE", redis_.key("sla:breaches"), "-inf", "(" + before});
}

ObligationStore::Audit ObligationStore::auditOwners() {
  std::string cursor = "0";
  return auditOwners(cursor, SIZE_MAX);
}

ObligationStore::Audit ObligationStore::auditOwners(std::string& cursor, size_t max_complaints) {
  Audit audit;
  const auto open = redis_.key("sla:complaints:open");
  audit.open_complaints = redis_.command({"SCARD", open}).integer;
  size_t examined = 0;
  do {
    auto page = redis_.command({"SSCAN", open, cursor, "COUNT", "200"});
    if (page.elements.size() < 2) {
      cursor = "0";
      break;
    }
    cursor = page.elements[0].str;
    std::vector<std::string> args{redis_.key("")};
    for (const auto& e : page.elements[1].elements) args.push_back(e.str);
    examined += args.size() - 1;
    if (args.size() == 1) continue;
    for (auto& c : redis_.eval(kOwnerlessScript, {}, args).elements)
      audit.without_owner.push_back(std::move(c.str));
  } while (cursor != "0" && examined < max_complaints);
  return audit;
}

}  // namespace lapor::sla
