// Keys (under the Redis prefix): sla:ob:<id> (hash), sla:complaint:<id> (set of obligation
// ids), sla:facts:<complaint> (priority, category), sla:timers (zset by due time),
// sla:inflight (zset by lease end), sla:open (hash of open counts by agency|stage|priority|
// overdue), sla:emopen:<stage> (open emergency obligations by start), sla:decided and
// sla:breaches (zsets by decision time, for compliance queries).
#include "obligation_store.h"

namespace lapor::sla {

namespace {

// Lua functions every script starts with: the key of an obligation and its counter field.
constexpr const char* kLuaHelpers = R"lua(
local function okey(id) return ARGV[1] .. 'sla:ob:' .. id end
local function field(k, overdue)
  local f = redis.call('HMGET', k, 'agency', 'stage_name', 'prio_name')
  return f[1] .. '|' .. f[2] .. '|' .. f[3] .. '|' .. overdue
end
)lua";

constexpr const char* kStart = R"lua(
local k = okey(ARGV[2])
if redis.call('EXISTS', k) == 1 then return 0 end
redis.call('HSET', k, 'complaint', ARGV[3], 'assignment', ARGV[4], 'agency', ARGV[5],
           'stage', ARGV[6], 'stage_name', ARGV[7], 'priority', ARGV[8], 'prio_name', ARGV[9],
           'category', ARGV[10], 'deadline', ARGV[11], 'started', ARGV[12], 'due', ARGV[13],
           'state', 'open', 'trace', ARGV[15], 'level', '0')
redis.call('SADD', KEYS[1], ARGV[2])
if ARGV[14] ~= '0' then redis.call('ZADD', KEYS[2], ARGV[14], ARGV[2] .. '|warn') end
redis.call('ZADD', KEYS[2], ARGV[13], ARGV[2] .. '|' .. ARGV[16])
redis.call('HINCRBY', KEYS[3], field(k, '0'), 1)
if ARGV[9] == 'emergency' then
  redis.call('ZADD', ARGV[1] .. 'sla:emopen:' .. ARGV[7], ARGV[12], ARGV[2])
end
return 1
)lua";

// ARGV: prefix, stage (0 = any), assignment ("" = any), outcome (met|cancelled), now, ttl
constexpr const char* kEnd = R"lua(
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = okey(id)
  local f = redis.call('HMGET', k, 'stage', 'assignment', 'state', 'ended', 'agency',
                       'stage_name', 'prio_name', 'started', 'next')
  if f[3] and (ARGV[2] == '0' or f[1] == ARGV[2]) and (ARGV[3] == '' or f[2] == ARGV[3]) then
    local result = nil
    if f[3] == 'open' then
      result = ARGV[4]
      redis.call('HSET', k, 'state', result, 'ended', ARGV[5])
      redis.call('ZREM', KEYS[2], id .. '|warn', id .. '|breach', id .. '|close')
      redis.call('HINCRBY', KEYS[3], field(k, '0'), -1)
      if result == 'met' then redis.call('ZADD', KEYS[4], ARGV[5], id) end
    elseif f[3] == 'breached' and not f[4] then
      result = 'late'
      redis.call('HSET', k, 'ended', ARGV[5])
      if f[9] then redis.call('ZREM', KEYS[2], f[9]) end
      redis.call('HINCRBY', KEYS[3], field(k, '1'), -1)
    end
    if result then
      redis.call('ZREM', ARGV[1] .. 'sla:emopen:' .. f[6], id)
      redis.call('EXPIRE', k, ARGV[6])
      for _, v in ipairs({id, result, f[6], f[5], f[7], f[8]}) do table.insert(out, v) end
    end
  end
end
-- Closing the complaint ends all of it: its index expires with the obligations' records.
if ARGV[2] == '0' and ARGV[3] == '' then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
return out
)lua";

// ARGV: prefix, stage number, new agency
constexpr const char* kSetAgency = R"lua(
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = okey(id)
  local f = redis.call('HMGET', k, 'stage', 'state', 'ended', 'agency')
  if f[1] == ARGV[2] and f[4] ~= ARGV[3] and (f[2] == 'open' or (f[2] == 'breached' and not f[3])) then
    local overdue = f[2] == 'open' and '0' or '1'
    redis.call('HINCRBY', KEYS[2], field(k, overdue), -1)
    redis.call('HSET', k, 'agency', ARGV[3])
    redis.call('HINCRBY', KEYS[2], field(k, overdue), 1)
  end
end
return 1
)lua";

// KEYS: timers, inflight, open, decided, breaches. ARGV: prefix, now, lease end, limit, ttl
constexpr const char* kClaim = R"lua(
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[4])) do
  redis.call('ZREM', KEYS[1], m)
  local id, kind = string.match(m, '^([^|]+)|(%a+)')
  local k = okey(id or '')
  local f = redis.call('HMGET', k, 'state', 'ended', 'stage_name')
  local won = false
  if kind == 'warn' then
    if f[1] == 'open' then redis.call('HSET', k, 'warned', ARGV[2]); won = true end
  elseif kind == 'breach' then
    if f[1] == 'open' then
      redis.call('HSET', k, 'state', 'breached', 'breached', ARGV[2])
      redis.call('HINCRBY', KEYS[3], field(k, '0'), -1)
      redis.call('HINCRBY', KEYS[3], field(k, '1'), 1)
      redis.call('ZADD', KEYS[4], ARGV[2], id)
      redis.call('ZADD', KEYS[5], ARGV[2], id)
      won = true
    end
  elseif kind == 'close' then
    if f[1] == 'open' then
      redis.call('HSET', k, 'state', 'closed', 'ended', ARGV[2])
      redis.call('HINCRBY', KEYS[3], field(k, '0'), -1)
      redis.call('ZREM', ARGV[1] .. 'sla:emopen:' .. f[3], id)
      redis.call('EXPIRE', k, ARGV[5])
      won = true
    end
  elseif kind == 'esc' then
    if f[1] == 'breached' and not f[2] then won = true end
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

// KEYS: inflight, timers. ARGV: prefix, member, level, next member, next due
constexpr const char* kComplete = R"lua(
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
local id = string.match(ARGV[2], '^([^|]+)|')
local k = okey(id)
if ARGV[3] ~= '0' then redis.call('HSET', k, 'level', ARGV[3]) end
local f = redis.call('HMGET', k, 'state', 'ended')
if ARGV[4] ~= '' and f[1] == 'breached' and not f[2] then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
  redis.call('HSET', k, 'next', ARGV[4])
end
return 1
)lua";

int64_t toInt(const std::string& s) {
  try {
    return std::stoll(s);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string script(const char* body) {
  return std::string(kLuaHelpers) + body;
}

v1::ObligationState stateOf(const std::string& v) {
  if (v == "open") return v1::OBLIGATION_STATE_OPEN;
  if (v == "met") return v1::OBLIGATION_STATE_MET;
  if (v == "breached") return v1::OBLIGATION_STATE_BREACHED;
  if (v == "cancelled") return v1::OBLIGATION_STATE_CANCELLED;
  if (v == "closed") return v1::OBLIGATION_STATE_CLOSED;
  return v1::OBLIGATION_STATE_UNSPECIFIED;
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
  if (bar2 != std::string::npos) t.level = static_cast<int>(toInt(rest.substr(bar2 + 1)));
  return t;
}

bool ObligationStore::start(const ObligationStart& o, const std::string& trace_id) {
  auto r = redis_.eval(
      script(kStart),
      {redis_.key("sla:complaint:" + o.complaint_id), redis_.key("sla:timers"),
       redis_.key("sla:open")},
      {redis_.key(""), o.obligation_id, o.complaint_id, o.assignment_id, o.agency_id,
       std::to_string(o.stage), stageName(o.stage), std::to_string(o.priority),
       priorityName(o.priority), o.category, o.deadline, std::to_string(o.started_at_ms),
       std::to_string(o.due_at_ms), std::to_string(o.warn_at_ms), trace_id,
       o.stage == v1::SLA_STAGE_AUTO_CLOSE ? "close" : "breach"});
  return r.integer == 1;
}

std::vector<EndedObligation> ObligationStore::end(const std::string& complaint_id,
                                                  const ObligationEnd& e, int64_t now_ms) {
  auto r = redis_.eval(script(kEnd),
                       {redis_.key("sla:complaint:" + complaint_id), redis_.key("sla:timers"),
                        redis_.key("sla:open"), redis_.key("sla:decided")},
                       {redis_.key(""), std::to_string(e.stage), e.assignment_id,
                        e.outcome == EndOutcome::Met ? "met" : "cancelled",
                        std::to_string(now_ms), std::to_string(retention_.count())});
  std::vector<EndedObligation> out;
  for (size_t i = 0; i + 5 < r.elements.size(); i += 6)
    out.push_back({r.elements[i].str, r.elements[i + 1].str, r.elements[i + 2].str,
                   r.elements[i + 3].str, r.elements[i + 4].str, toInt(r.elements[i + 5].str)});
  return out;
}

void ObligationStore::setLeadAgency(const std::string& complaint_id, const std::string& agency) {
  redis_.eval(script(kSetAgency),
              {redis_.key("sla:complaint:" + complaint_id), redis_.key("sla:open")},
              {redis_.key(""), std::to_string(v1::SLA_STAGE_RESOLUTION), agency});
}

void ObligationStore::saveFacts(const std::string& complaint_id, const ComplaintFacts& f) {
  const auto key = redis_.key("sla:facts:" + complaint_id);
  redis_.command({"HSET", key, "priority", std::to_string(f.priority), "category", f.category});
  redis_.command({"EXPIRE", key, std::to_string(retention_.count())});
}

ComplaintFacts ObligationStore::facts(const std::string& complaint_id) {
  auto r = redis_.command({"HMGET", redis_.key("sla:facts:" + complaint_id), "priority",
                           "category"});
  ComplaintFacts f;
  if (r.elements.size() == 2) {
    f.priority = static_cast<v1::Priority>(toInt(r.elements[0].str));
    f.category = r.elements[1].str;
  }
  return f;
}

std::vector<std::string> ObligationStore::claimDue(int64_t now_ms, std::chrono::milliseconds lease,
                                                   int limit) {
  auto r = redis_.eval(script(kClaim),
                       {redis_.key("sla:timers"), redis_.key("sla:inflight"),
                        redis_.key("sla:open"), redis_.key("sla:decided"),
                        redis_.key("sla:breaches")},
                       {redis_.key(""), std::to_string(now_ms),
                        std::to_string(now_ms + lease.count()), std::to_string(limit),
                        std::to_string(retention_.count())});
  std::vector<std::string> out;
  for (auto& e : r.elements) out.push_back(std::move(e.str));
  return out;
}

bool ObligationStore::complete(const std::string& member, int level,
                               const std::string& next_member, int64_t next_due_ms) {
  auto r = redis_.eval(script(kComplete), {redis_.key("sla:inflight"), redis_.key("sla:timers")},
                       {redis_.key(""), member, std::to_string(level), next_member,
                        std::to_string(next_due_ms)});
  return r.integer == 1;
}

std::optional<v1::Obligation> ObligationStore::get(const std::string& id, std::string* trace,
                                                   std::string* deadline) {
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
    else if (k == "priority")
      o.set_priority(static_cast<v1::Priority>(toInt(v)));
    else if (k == "category")
      o.set_category(v);
    else if (k == "started")
      o.set_started_at_ms(toInt(v));
    else if (k == "due")
      o.set_due_at_ms(toInt(v));
    else if (k == "ended")
      o.set_ended_at_ms(toInt(v));
    else if (k == "breached")
      o.set_breached_at_ms(toInt(v));
    else if (k == "level")
      o.set_escalation_level(static_cast<int32_t>(toInt(v)));
    else if (k == "trace" && trace)
      *trace = v;
    else if (k == "deadline" && deadline)
      *deadline = v;
    else if (k == "state")
      o.set_state(stateOf(v));
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

std::vector<v1::Obligation> ObligationStore::decidedSince(int64_t since_ms) {
  std::vector<v1::Obligation> out;
  for (const auto& id : redis_
                            .command({"ZRANGEBYSCORE", redis_.key("sla:decided"),
                                      std::to_string(since_ms), "+inf"})
                            .elements)
    if (auto o = get(id.str, nullptr)) out.push_back(std::move(*o));
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
    auto o = get(id.str, nullptr);
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
    auto o = get(t.obligation_id, nullptr);
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
    c.count = toInt(h.elements[i + 1].str);
    out.push_back(std::move(c));
  }
  return out;
}

std::optional<int64_t> ObligationStore::oldestOpenEmergency(const std::string& stage) {
  auto r = redis_.command(
      {"ZRANGE", redis_.key("sla:emopen:" + stage), "0", "0", "WITHSCORES"});
  if (r.elements.size() < 2) return std::nullopt;
  return toInt(r.elements[1].str);
}

void ObligationStore::trim(int64_t now_ms) {
  const auto before = std::to_string(now_ms - retention_.count() * 1000);
  redis_.command({"ZREMRANGEBYSCORE", redis_.key("sla:decided"), "-inf", "(" + before});
  redis_.command({"ZREMRANGEBYSCORE", redis_.key("sla:breaches"), "-inf", "(" + before});
}

}  // namespace lapor::sla
