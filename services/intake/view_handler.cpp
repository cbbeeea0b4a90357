// One lifecycle event -> the view model's decision (domain/view_model.h) -> one atomic Lua
// update of the view. The event id set makes a repeat a no-op; the view's version makes the
// update conditional on what was read, so two writers of one complaint (a rebalance, a rebuild
// beside the live consumer) never lose each other's change: the loser reads again.
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
// command, whatever its length.
constexpr const char* kApplyView = R"lua(
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
if (redis.call('HGET', KEYS[2], 'version') or '0') ~= ARGV[6] then return -1 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[2], 'status', ARGV[3], 'version', tostring(tonumber(ARGV[6]) + 1))
local updated = tonumber(redis.call('HGET', KEYS[2], 'updated_at_ms') or '0')
if tonumber(ARGV[4]) > updated then redis.call('HSET', KEYS[2], 'updated_at_ms', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[6], ARGV[5], string.match(KEYS[2], '[^:]+$')) end
local i = 7
local n = tonumber(ARGV[i]); i = i + 1
if n > 0 then redis.call('HSET', KEYS[2], unpack(ARGV, i, i + 2 * n - 1)) end
i = i + 2 * n
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

void ViewHandler::addUpdate(redis::Pipeline& p, const v1::EventEnvelope& env, const Loaded& loaded) {
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
    redis::Pipeline loads;
    for (size_t i : pass) {
      loads.command(loadCommand(envs[i].complaint_id()));
      loads.command({"HGETALL", redis_.key("view:" + envs[i].complaint_id()) + ":assignments"});
    }
    const auto loaded = redis_.pipeline(loads);
    redis::Pipeline writes;
    std::vector<size_t> reply_of;  // per event of the pass: its script's reply in `written`
    for (size_t k = 0; k < pass.size(); ++k) {
      const auto& h = loaded[2 * k];
      const auto& as = loaded[2 * k + 1];
      if (h.type == redis::Reply::Type::Error || as.type == redis::Reply::Type::Error) {
        reply_of.push_back(SIZE_MAX);
        continue;
      }
      addUpdate(writes, envs[pass[k]], parseLoaded(h, as));
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
      if (set_failed || applied.type == redis::Reply::Type::Error) {
        passes.retry(i, "redis", set_failed ? written[reply_of[k] - 1].str : applied.str);
        continue;
      }
      if (applied.integer == -1) {  // changed meanwhile: decide again on what is there now
        if (++attempts[i] >= kAttempts)
          passes.retry(i, "redis",
                "the view of " + envs[i].complaint_id() + " kept changing under this update");
        continue;
      }
      if (applied.integer == 1)
        metrics_.view_events.Add({{"type", events::eventKind(envs[i])}}).Increment();
      passes.finish(i, kafka::HandleResult::done());
    }
  }
  return passes.take();
}

}  // namespace lapor::intake
