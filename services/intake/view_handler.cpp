// One lifecycle event -> one atomic Lua update of the view; the event id set makes a repeat a
// no-op. Events of one complaint share a partition, so they arrive in order and the status is
// simply the one the latest status-changing event implies.
#include "view_handler.h"

#include "domain/escalation_note.h"
#include "events/envelope.h"

#include <nlohmann/json.hpp>

namespace lapor::intake {

namespace {
// KEYS: events, view, timeline, agencies, assignments, roles, index
// ARGV: event_id, entry, status, occurred_at_ms, index_score ('' = none),
//       n, n field/value pairs of the view hash, m, m agency/state pairs, k, k agency/role pairs
constexpr const char* kApplyView = R"lua(
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[3], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'status', ARGV[3]) end
local updated = tonumber(redis.call('HGET', KEYS[2], 'updated_at_ms') or '0')
if tonumber(ARGV[4]) > updated then redis.call('HSET', KEYS[2], 'updated_at_ms', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[7], ARGV[5], string.match(KEYS[2], '[^:]+$')) end
local i = 6
local n = tonumber(ARGV[i]); i = i + 1
for j = 1, n do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for j = 1, n do
  redis.call('SADD', KEYS[4], ARGV[i])
  redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1]); i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for j = 1, n do redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1]); i = i + 2 end
return 1
)lua";

std::string stateName(v1::AssignmentState s) {
  switch (s) {
    case v1::ASSIGNMENT_STATE_DISPATCHED:
      return "dispatched";
    case v1::ASSIGNMENT_STATE_DELIVERED:
      return "delivered";
    case v1::ASSIGNMENT_STATE_ACKNOWLEDGED:
      return "acknowledged";
    case v1::ASSIGNMENT_STATE_IN_PROGRESS:
      return "in_progress";
    case v1::ASSIGNMENT_STATE_RESPONDED:
      return "responded";
    case v1::ASSIGNMENT_STATE_RESOLVED:
      return "resolved";
    case v1::ASSIGNMENT_STATE_REJECTED:
      return "rejected";
    case v1::ASSIGNMENT_STATE_WITHDRAWN:
      return "withdrawn";
    case v1::ASSIGNMENT_STATE_ON_SCENE:
      return "on_scene";
    default:
      return "assigned";
  }
}

std::string status(v1::ComplaintStatus s) {
  return std::to_string(static_cast<int>(s));
}
}  // namespace

ViewHandler::ViewHandler(redis::RedisClient& redis, log::Logger logger, IntakeMetrics& metrics)
    : redis_(redis), log_(std::move(logger)), metrics_(metrics) {}

kafka::HandleResult ViewHandler::handle(const kafka::Message& msg) {
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope) return kafka::HandleResult::deadLetter("undecodable", decoded.error);
  const auto& env = *decoded.envelope;
  const auto kind = events::eventKind(env);
  std::string new_status;
  std::string agency;  // the agency the timeline entry is about
  std::string note;
  std::string index_score;
  std::vector<std::string> fields, states, roles;
  auto setState = [&](const std::string& a, const std::string& s) {
    agency = a;
    states.insert(states.end(), {a, s});
  };
  switch (env.event_case()) {
    case v1::EventEnvelope::kSubmitted: {
      const auto& c = env.submitted().complaint();
      new_status = status(v1::COMPLAINT_STATUS_SUBMITTED);
      const auto& l = c.location();
      fields = {"tracking_id",
                c.tracking_id(),
                "category",
                c.category(),
                "priority",
                std::to_string(c.priority()),
                "channel",
                std::to_string(c.channel()),
                "confidential",
                c.confidential() ? "1" : "0",
                "title",
                c.title(),
                "description",
                c.description(),
                "has_coordinates",
                l.has_coordinates() ? "1" : "0",
                "lat",
                std::to_string(l.lat()),
                "lon",
                std::to_string(l.lon()),
                "kecamatan",
                l.kecamatan(),
                "desa",
                l.desa(),
                "address",
                l.address(),
                "media_url",
                c.attachments_size() > 0 ? c.attachments(0).url() : "",
                "submitted_at_ms",
                std::to_string(c.submitted_at_ms())};
      index_score = std::to_string(c.submitted_at_ms());
      // Rebuilding the view from the topic restores the tracking id too.
      redis_.command({"SET", redis_.key("intake:tracking:" + c.tracking_id()), env.complaint_id()});
      break;
    }
    case v1::EventEnvelope::kRouted: {
      const auto& r = env.routed();
      new_status = status(r.triage() ? v1::COMPLAINT_STATUS_TRIAGE : v1::COMPLAINT_STATUS_ROUTED);
      note = r.reason();
      for (const auto& a : r.assignments()) {
        states.insert(states.end(), {a.agency_id(), stateName(a.state())});
        roles.insert(roles.end(),
                     {a.agency_id(), a.role() == v1::ASSIGNMENT_ROLE_SUPPORT ? "support" : "lead"});
      }
      break;
    }
    case v1::EventEnvelope::kDispatched: {
      const auto& item = env.dispatched().item();
      const auto& a = item.assignment().agency_id();
      note = item.note();
      if (item.kind() == v1::DISPATCH_KIND_WITHDRAWN)
        setState(a, "withdrawn");
      else if (item.kind() == v1::DISPATCH_KIND_NEW || item.kind() == v1::DISPATCH_KIND_UNSPECIFIED)
        setState(a, "dispatched");
      else
        agency = a;
      break;
    }
    case v1::EventEnvelope::kDelivered:
      setState(env.delivered().agency_id(), "delivered");
      note = env.delivered().channel();
      break;
    case v1::EventEnvelope::kUndeliverable:
      setState(env.undeliverable().agency_id(), "undeliverable");
      note = env.undeliverable().last_error();
      break;
    case v1::EventEnvelope::kAcknowledged:
      setState(env.acknowledged().agency_id(), "acknowledged");
      new_status = status(v1::COMPLAINT_STATUS_IN_PROGRESS);
      break;
    case v1::EventEnvelope::kStatusUpdated: {
      const auto& u = env.status_updated();
      setState(u.agency_id(), stateName(u.state()));
      note = u.message();
      if (!note.empty()) fields = {"status_note", note};
      new_status = status(v1::COMPLAINT_STATUS_IN_PROGRESS);
      break;
    }
    case v1::EventEnvelope::kRejected:
      setState(env.rejected().agency_id(), "rejected");
      note = env.rejected().reason_code();
      break;
    case v1::EventEnvelope::kResolved: {
      setState(env.resolved().agency_id(), "resolved");
      note = env.resolved().resolution();
      fields = {"status_note", note};
      // The lead's resolution resolves the complaint; a supporting agency finishing its part
      // does not. An agency the view has no role for (routed not seen) counts as the lead.
      const auto role = redis_.command({"HGET", redis_.key("view:" + env.complaint_id() + ":roles"),
                                        env.resolved().agency_id()});
      new_status = status(role.str == "support" ? v1::COMPLAINT_STATUS_IN_PROGRESS
                                                : v1::COMPLAINT_STATUS_RESOLVED);
      break;
    }
    case v1::EventEnvelope::kWithdrawn:
      setState(env.withdrawn().agency_id(), "withdrawn");
      note = env.withdrawn().reason();
      break;
    case v1::EventEnvelope::kFeedback:
      note = std::to_string(env.feedback().rating()) + "/5" +
             (env.feedback().solved() ? " solved" : " not solved");
      break;
    case v1::EventEnvelope::kReopened:
      new_status = status(v1::COMPLAINT_STATUS_REOPENED);
      note = env.reopened().reason();
      fields = {"status_note", "reopened: " + note};
      break;
    case v1::EventEnvelope::kClosed:
      new_status = status(v1::COMPLAINT_STATUS_CLOSED);
      note = env.closed().reason();
      break;
    case v1::EventEnvelope::kSlaWarning:
      agency = env.sla_warning().agency_id();
      break;
    case v1::EventEnvelope::kSlaBreached:
      agency = env.sla_breached().agency_id();
      break;
    case v1::EventEnvelope::kEscalated:
      agency = env.escalated().to_agency_id();
      note = env.escalated().reason();
      break;
    case v1::EventEnvelope::kEscalationUpdated:
      // The supervisor's own work on an escalation: a timeline entry like `escalated`, no
      // change to the complaint's status or to the agencies' assignments.
      agency = env.escalation_updated().agency_id();
      note = escalationTimelineNote(env.escalation_updated());
      break;
    case v1::EventEnvelope::kRedispatchRequested:
      agency = env.redispatch_requested().agency_id();
      note = env.redispatch_requested().reason();
      break;
    default:
      break;
  }
  nlohmann::json entry = {{"at_ms", env.occurred_at_ms()},
                          {"what", kind},
                          {"agency_id", agency},
                          {"note", note},
                          {"event_id", env.event_id()}};
  const auto base = redis_.key("view:" + env.complaint_id());
  std::vector<std::string> args{env.event_id(), entry.dump(), new_status,
                                std::to_string(env.occurred_at_ms()), index_score};
  auto group = [&args](const std::vector<std::string>& pairs) {
    args.push_back(std::to_string(pairs.size() / 2));
    args.insert(args.end(), pairs.begin(), pairs.end());
  };
  group(fields);
  group(states);
  group(roles);
  auto applied = redis_.eval(kApplyView,
                             {base + ":events", base, base + ":timeline", base + ":agencies",
                              base + ":assignments", base + ":roles", redis_.key("view:index")},
                             args);
  if (applied.integer == 1) metrics_.view_events.Add({{"type", kind}}).Increment();
  return kafka::HandleResult::done();
}

}  // namespace lapor::intake
