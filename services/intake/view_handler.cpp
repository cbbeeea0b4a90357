// One lifecycle event -> the view model's decision (domain/view_model.h) -> one atomic Lua
// update of the view. The event ids it records make a repeat a no-op; the view's version makes the
// update conditional on what was read (or on what this handler wrote last and kept), so two
// writers of one complaint (a rebalance, a rebuild beside the live consumer) never lose each
// other's change: the loser reads again.
#include "view_handler.h"

#include "domain/view_model.h"
#include "events/envelope.h"
#include "kafka/batch_passes.h"
#include "text/stored_int.h"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace lapor::intake {

namespace {
// KEYS: events, view, timeline, agencies, assignments, index
// ARGV: event_id, entry, status, occurred_at_ms, index_score ('' = none), expected version,
//       n, n field/value pairs of the view hash, m, m assignment id/packed pairs, k, k agencies
// Returns 1 applied, 0 a repeat, -1 the view changed since it was read. Each group is one
// command, whatever its length. The view's hash records the events applied to it (a field
// `e:<event id>`), read with its version in one HMGET: a repeat costs no separate look, a new
// event no separate write. A view written before that (without `events_kept`) has them in
// the events set, which is looked at for it too.
constexpr const char* kApplyView = R"lua(
local now = redis.call('HMGET', KEYS[2], 'version', 'updated_at_ms', 'e:' .. ARGV[1], 'events_kept')
if now[3] then return 0 end
if now[1] and not now[4] and redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
if (now[1] or '0') ~= ARGV[6] then return -1 end
redis.call('RPUSH', KEYS[3], ARGV[2])
-- One HSET for the status, the version, the time, the event's record and the event's fields
-- (a later pair wins).
local h = {'status', ARGV[3], 'version', tostring(tonumber(ARGV[6]) + 1), 'e:' .. ARGV[1], '1'}
if not now[1] then
  h[#h + 1] = 'events_kept'
  h[#h + 1] = '1'
end
if tonumber(ARGV[4]) > tonumber(now[2] or '0') then
  h[#h + 1] = 'updated_at_ms'
  h[#h + 1] = ARGV[4]
end
local i = 7
local n = tonumber(ARGV[i]); i = i + 1
for j = i, i + 2 * n - 1 do h[#h + 1] = ARGV[j] end
redis.call('HSET', KEYS[2], unpack(h))
i = i + 2 * n
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[6], ARGV[5], string.match(KEYS[2], '[^:]+$')) end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then redis.call('HSET', KEYS[5], unpack(ARGV, i, i + 2 * n - 1)) end
i = i + 2 * n
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then redis.call('SADD', KEYS[4], unpack(ARGV, i, i + n - 1)) end
return 1
)lua";

}  // namespace

ViewHandler::ViewHandler(redis::RedisClient& redis, log::Logger logger, IntakeMetrics& metrics)
    : redis_(redis), log_(std::move(logger)), metrics_(metrics) {}

std::vector<std::string> ViewHandler::loadCommand(const std::string& complaint_id) const {
  std::vector<std::string> hmget{"HMGET", redis_.key("view:" + complaint_id), "version"};
  const auto& names = modelFieldNames();
  hmget.insert(hmget.end(), names.begin(), names.end());
  return hmget;
}

ViewHandler::Loaded ViewHandler::parseLoaded(const redis::Reply& h, const redis::Reply& as) {
  const auto& names = modelFieldNames();
  std::string version = "0";
  std::map<std::string, std::string> stored;
  if (h.elements.size() == names.size() + 1) {
    if (!h.elements[0].str.empty()) version = h.elements[0].str;
    for (size_t i = 0; i < names.size(); ++i) stored[names[i]] = h.elements[i + 1].str;
  }
  ViewModel m = modelFromFields(stored);
  for (size_t i = 0; i + 1 < as.elements.size(); i += 2)
    if (auto a = AssignmentFacts::unpack(as.elements[i].str, as.elements[i + 1].str))
      m.assignments[a->assignment_id] = *a;
  return {std::move(m), version, std::move(stored)};
}

const ViewHandler::Loaded* ViewHandler::cached(const std::string& complaint_id) {
  auto it = kept_.find(complaint_id);
  return it == kept_.end() ? nullptr : &it->second.loaded;
}

void ViewHandler::remember(const std::string& complaint_id, Loaded loaded) {
  auto it = kept_.find(complaint_id);
  if (it != kept_.end()) {
    recency_.erase(it->second.recency);
    kept_.erase(it);
  }
  recency_.push_front(complaint_id);
  kept_.emplace(complaint_id, Kept{std::move(loaded), recency_.begin()});
  while (kept_.size() > kCachedViews) {
    kept_.erase(recency_.back());
    recency_.pop_back();
  }
}

void ViewHandler::forget(const std::string& complaint_id) {
  auto it = kept_.find(complaint_id);
  if (it == kept_.end()) return;
  recency_.erase(it->second.recency);
  kept_.erase(it);
}

ViewHandler::Loaded ViewHandler::addUpdate(redis::Pipeline& p, const v1::EventEnvelope& env,
                                           const Loaded& loaded) {
  const auto base = redis_.key("view:" + env.complaint_id());
  auto change = applyEvent(loaded.model, env);
  const auto& after = change.after;
  std::string index_score;
  if (env.has_submitted()) {
    const auto& c = env.submitted().complaint();
    index_score = std::to_string(c.submitted_at_ms());
    // Rebuilding the view from the topic restores the tracking id too.
    p.command({"SET", redis_.key("intake:tracking:" + c.tracking_id()), env.complaint_id()});
  }
  nlohmann::json entry = {{"at_ms", env.occurred_at_ms()},
                          {"what", events::eventKind(env)},
                          {"agency_id", change.agency},
                          {"note", change.note},
                          {"event_id", env.event_id()}};
  auto fields = change.fields;
  for (auto& f : changedModelFields(loaded.stored, after)) fields.push_back(std::move(f));
  std::vector<std::string> args{env.event_id(),
                                entry.dump(),
                                std::to_string(static_cast<int>(statusOf(after))),
                                std::to_string(env.occurred_at_ms()),
                                index_score,
                                loaded.version};
  args.push_back(std::to_string(fields.size()));
  for (const auto& [k, v] : fields) args.insert(args.end(), {k, v});
  args.push_back(std::to_string(change.changed.size()));
  for (const auto& a : change.changed) args.insert(args.end(), {a.assignment_id, a.pack()});
  args.push_back(std::to_string(change.agencies.size()));
  args.insert(args.end(), change.agencies.begin(), change.agencies.end());
  static const redis::Script kScript(kApplyView);
  p.eval(kScript,
         {base + ":events", base, base + ":timeline", base + ":agencies", base + ":assignments",
          redis_.key("view:index")},
         args);
  // What a read after the script would give: the model's fields as the HSETs leave them.
  Loaded written{after, std::to_string(text::storedInt(&loaded.version) + 1), loaded.stored};
  for (const auto& name : modelFieldNames()) written.stored.try_emplace(name);
  for (const auto& [k, v] : fields)
    if (auto it = written.stored.find(k); it != written.stored.end()) it->second = v;
  return written;
}

kafka::HandleResult ViewHandler::handle(const kafka::Message& msg) {
  return handleBatch({msg}).at(0);
}

std::vector<kafka::HandleResult> ViewHandler::handleBatch(
    const std::vector<kafka::Message>& batch) {
  constexpr int kAttempts = 20;
  kafka::BatchPasses passes(batch.size());
  const auto envs = events::decodeBatch(batch, passes);
  std::vector<int> attempts(batch.size(), 0);
  // One event per complaint per pass: each applies on the view the one before it left.
  for (auto pass = passes.next(); !pass.empty(); pass = passes.next()) {
    // Read only the views this handler did not write last.
    redis::Pipeline loads;
    std::vector<size_t> load_of(pass.size(), SIZE_MAX);  // per event: its replies in `loaded`
    for (size_t k = 0; k < pass.size(); ++k) {
      const auto& cid = envs[pass[k]].complaint_id();
      if (cached(cid)) continue;
      load_of[k] = loads.size();
      loads.command(loadCommand(cid));
      loads.command({"HGETALL", redis_.key("view:" + cid) + ":assignments"});
    }
    const auto loaded = loads.empty() ? std::vector<redis::Reply>{} : redis_.pipeline(loads);
    redis::Pipeline writes;
    std::vector<size_t> reply_of;  // per event of the pass: its script's reply in `written`
    std::vector<Loaded> after(pass.size());
    for (size_t k = 0; k < pass.size(); ++k) {
      const auto& env = envs[pass[k]];
      if (load_of[k] == SIZE_MAX) {
        after[k] = addUpdate(writes, env, *cached(env.complaint_id()));
        reply_of.push_back(writes.size() - 1);
        continue;
      }
      const auto& h = loaded[load_of[k]];
      const auto& as = loaded[load_of[k] + 1];
      if (h.type == redis::Reply::Type::Error || as.type == redis::Reply::Type::Error) {
        reply_of.push_back(SIZE_MAX);
        continue;
      }
      after[k] = addUpdate(writes, env, parseLoaded(h, as));
      reply_of.push_back(writes.size() - 1);
    }
    const auto written = redis_.pipeline(writes);
    for (size_t k = 0; k < pass.size(); ++k) {
      const size_t i = pass[k];
      if (reply_of[k] == SIZE_MAX) {
        passes.retry(i, "redis", "reading the view of " + envs[i].complaint_id() + " failed");
        continue;
      }
      // The tracking-id SET comes before the script: both must have gone through.
      const bool set_failed = envs[i].has_submitted() &&
                              written[reply_of[k] - 1].type == redis::Reply::Type::Error;
      const auto& applied = written[reply_of[k]];
      const auto& cid = envs[i].complaint_id();
      if (set_failed || applied.type == redis::Reply::Type::Error) {
        forget(cid);
        passes.retry(i, "redis", set_failed ? written[reply_of[k] - 1].str : applied.str);
        continue;
      }
      if (applied.integer == -1) {  // changed meanwhile: decide again on what is there now
        forget(cid);
        if (++attempts[i] >= kAttempts)
          passes.retry(i, "redis", "the view of " + cid + " kept changing under this update");
        continue;
      }
      if (applied.integer == 1) {
        remember(cid, std::move(after[k]));
        metrics_.view_events.Add({{"type", events::eventKind(envs[i])}}).Increment();
      } else {
        forget(cid);  // a repeat: what the view holds was not written by this decision
      }
      passes.finish(i, kafka::HandleResult::done());
    }
  }
  return passes.take();
}

}  // namespace lapor::intake
