// Intake's two edges: the gRPC front door and the tracking-view consumer.
#include "intake_handler.h"

#include "domain/tracking_id.h"
#include "domain/validation.h"
#include "events/envelope.h"

#include <nlohmann/json.hpp>

namespace lapor::intake {

namespace {
constexpr const char* kProducer = "intake";

std::string metadata(const grpc::ServerContext* ctx, const std::string& key) {
  auto it = ctx->client_metadata().find(key);
  if (it == ctx->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

std::string channelName(v1::Channel c) {
  switch (c) {
    case v1::CHANNEL_WEB:
      return "web";
    case v1::CHANNEL_APP:
      return "app";
    case v1::CHANNEL_SMS:
      return "sms";
    case v1::CHANNEL_CALL_CENTRE_112:
      return "call-centre-112";
    case v1::CHANNEL_OPEN311:
      return "open311";
    case v1::CHANNEL_EXTERNAL:
      return "external";
    default:
      return "unknown";
  }
}

std::string priorityName(v1::Priority p) {
  switch (p) {
    case v1::PRIORITY_EMERGENCY:
      return "emergency";
    case v1::PRIORITY_HIGH:
      return "high";
    case v1::PRIORITY_NORMAL:
      return "normal";
    case v1::PRIORITY_LOW:
      return "low";
    default:
      return "unknown";
  }
}

// Applies one event to the view once: the event id set makes a replay a no-op.
constexpr const char* kApplyView = R"lua(
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], 31536000)
redis.call('RPUSH', KEYS[3], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'status', ARGV[3]) end
for a in string.gmatch(ARGV[4], '[^,]+') do redis.call('SADD', KEYS[4], a) end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
)lua";
}  // namespace

IntakeMetrics::IntakeMetrics(prometheus::Registry& r)
    : submitted(prometheus::BuildCounter()
                    .Name("lapor_intake_complaints_submitted_total")
                    .Help("Complaints accepted (Kafka acknowledged), by channel and priority")
                    .Register(r)),
      rejected(prometheus::BuildCounter()
                   .Name("lapor_intake_submissions_rejected_total")
                   .Help("Submissions refused, by reason")
                   .Register(r)),
      submit_seconds(prometheus::BuildHistogram()
                         .Name("lapor_intake_submit_duration_seconds")
                         .Help("Time to accept a complaint, including the Kafka acknowledgement")
                         .Register(r)),
      view_events(prometheus::BuildCounter()
                      .Name("lapor_intake_view_events_total")
                      .Help("Lifecycle events applied to the tracking view, by type")
                      .Register(r)) {}

IntakeHandler::IntakeHandler(const agencies::AgencyDirectory& directory, redis::RedisClient& redis,
                             kafka::MessageSink& events, const time::Clock& clock,
                             log::Logger logger, IntakeMetrics& metrics,
                             std::chrono::milliseconds produce_timeout)
    : directory_(directory),
      redis_(redis),
      events_(events),
      clock_(clock),
      log_(std::move(logger)),
      metrics_(metrics),
      produce_timeout_(produce_timeout) {}

std::string IntakeHandler::reserveTrackingId(const std::string& complaint_id) {
  // 40 random bits: a collision is rare but possible, and SET NX makes it impossible to hand
  // one id out twice, across restarts and instances.
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto id = TrackingId::generate();
    auto r = redis_.command({"SET", redis_.key("intake:tracking:" + id), complaint_id, "NX"});
    if (!r.isNil()) return id;
  }
  throw redis::RedisError("could not reserve a unique tracking id");
}

grpc::Status IntakeHandler::SubmitComplaint(grpc::ServerContext* ctx,
                                            const v1::SubmitComplaintRequest* req,
                                            v1::SubmitComplaintResponse* resp) {
  const auto started = std::chrono::steady_clock::now();
  auto violations = validateSubmission(*req, directory_);
  if (!violations.empty()) {
    std::string msg = "invalid complaint:";
    for (const auto& v : violations) msg += " " + v.field + ": " + v.description + ";";
    metrics_.rejected.Add({{"reason", "invalid"}}).Increment();
    log_.info("submission rejected",
              {{"violations", violations.size()}, {"first_field", violations.front().field}});
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, msg);
  }
  const auto complaint_id = events::newUuid();
  std::string tracking_id;
  std::string reporter_ref;
  try {
    tracking_id = reserveTrackingId(complaint_id);
    const auto& rep = req->reporter();
    if (!rep.name().empty() || !rep.phone().empty() || !rep.email().empty() ||
        !rep.device_id().empty()) {
      // Personal data stays here, in intake's own store; events carry only the opaque ref.
      reporter_ref = events::newUuid();
      redis_.command({"HSET", redis_.key("intake:reporter:" + reporter_ref), "name", rep.name(),
                      "phone", rep.phone(), "email", rep.email(), "device_id", rep.device_id(),
                      "complaint_id", complaint_id});
    }
  } catch (const redis::RedisError& e) {
    metrics_.rejected.Add({{"reason", "store-unavailable"}}).Increment();
    log_.error("intake store unavailable", {{"error", e.what()}});
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "complaint store unavailable; nothing was recorded, retry later");
  }

  const auto now = clock_.nowMs();
  auto env = events::makeEnvelope(kProducer, complaint_id, metadata(ctx, "x-trace-id"), now);
  auto* c = env.mutable_submitted()->mutable_complaint();
  c->set_complaint_id(complaint_id);
  c->set_tracking_id(tracking_id);
  c->set_channel(req->channel());
  c->set_category(req->category());
  c->set_priority(req->priority());
  c->set_title(req->title());
  c->set_description(req->description());
  *c->mutable_location() = req->location();
  c->set_reporter_ref(reporter_ref);
  c->set_anonymous(req->anonymous());
  c->set_confidential(req->confidential());
  *c->mutable_attachments() = req->attachments();
  c->set_external_ref(req->external_ref());
  c->set_publisher(metadata(ctx, "x-publisher"));
  c->set_submitted_at_ms(now);

  auto report =
      events_.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env), produce_timeout_);
  auto logger = log_.with({{"complaint_id", complaint_id}, {"trace_id", env.trace_id()}});
  if (!report.ok) {
    metrics_.rejected.Add({{"reason", "event-log-unavailable"}}).Increment();
    logger.error("complaint not accepted: event log did not acknowledge",
                 {{"error", report.error}});
    try {
      redis_.command({"DEL", redis_.key("intake:tracking:" + tracking_id)});
    } catch (const redis::RedisError&) {
      // The reserved id stays unused; harmless.
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "event log unavailable (" + report.error +
                                                           "); nothing was recorded, retry later");
  }
  metrics_.submitted
      .Add({{"channel", channelName(req->channel())}, {"priority", priorityName(req->priority())}})
      .Increment();
  metrics_.submit_seconds
      .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                       2.5, 5, 10})
      .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  logger.info("complaint accepted", {{"tracking_id", tracking_id},
                                     {"category", req->category()},
                                     {"partition", report.partition},
                                     {"offset", report.offset}});
  resp->set_tracking_id(tracking_id);
  resp->set_complaint_id(complaint_id);
  return grpc::Status::OK;
}

grpc::Status IntakeHandler::GetComplaint(grpc::ServerContext*, const v1::GetComplaintRequest* req,
                                         v1::ComplaintView* resp) {
  auto tid = TrackingId::normalize(req->tracking_id());
  if (!tid)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "tracking_id: not a valid tracking id (check for a typo)");
  try {
    auto cid = redis_.command({"GET", redis_.key("intake:tracking:" + *tid)});
    if (cid.isNil())
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no complaint with tracking id " + *tid);
    resp->set_tracking_id(*tid);
    resp->set_complaint_id(cid.str);
    resp->set_status(v1::COMPLAINT_STATUS_SUBMITTED);  // until the view has seen the event
    auto view = redis_.command({"HGETALL", redis_.key("view:" + cid.str)});
    for (size_t i = 0; i + 1 < view.elements.size(); i += 2) {
      const auto& k = view.elements[i].str;
      const auto& v = view.elements[i + 1].str;
      if (k == "status")
        resp->set_status(static_cast<v1::ComplaintStatus>(std::stoi(v)));
      else if (k == "category")
        resp->set_category(v);
      else if (k == "priority")
        resp->set_priority(static_cast<v1::Priority>(std::stoi(v)));
    }
    for (const auto& a :
         redis_.command({"SMEMBERS", redis_.key("view:" + cid.str + ":agencies")}).elements)
      resp->add_agencies(a.str);
    for (const auto& e :
         redis_.command({"LRANGE", redis_.key("view:" + cid.str + ":timeline"), "0", "-1"})
             .elements) {
      auto j = nlohmann::json::parse(e.str, nullptr, false);
      if (j.is_discarded()) continue;
      auto* t = resp->add_timeline();
      t->set_at_ms(j.value("at_ms", int64_t{0}));
      t->set_what(j.value("what", ""));
      t->set_agency_id(j.value("agency_id", ""));
    }
  } catch (const redis::RedisError& e) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "complaint store unavailable");
  }
  return grpc::Status::OK;
}

ViewHandler::ViewHandler(redis::RedisClient& redis, log::Logger logger, IntakeMetrics& metrics)
    : redis_(redis), log_(std::move(logger)), metrics_(metrics) {}

kafka::HandleResult ViewHandler::handle(const kafka::Message& msg) {
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope) return kafka::HandleResult::deadLetter("undecodable", decoded.error);
  const auto& env = *decoded.envelope;
  const auto kind = events::eventKind(env);
  std::string status;
  std::string agencies;
  std::string agency_of_entry;
  std::vector<std::string> fields;
  switch (env.event_case()) {
    case v1::EventEnvelope::kSubmitted: {
      const auto& c = env.submitted().complaint();
      status = std::to_string(v1::COMPLAINT_STATUS_SUBMITTED);
      fields = {"tracking_id",     c.tracking_id(),
                "category",        c.category(),
                "priority",        std::to_string(c.priority()),
                "submitted_at_ms", std::to_string(c.submitted_at_ms())};
      // Rebuilding the view from the topic restores the tracking id too.
      redis_.command({"SET", redis_.key("intake:tracking:" + c.tracking_id()), env.complaint_id()});
      break;
    }
    case v1::EventEnvelope::kRouted:
      status = std::to_string(env.routed().triage() ? v1::COMPLAINT_STATUS_TRIAGE
                                                    : v1::COMPLAINT_STATUS_ROUTED);
      for (const auto& a : env.routed().assignments()) agencies += a.agency_id() + ",";
      break;
    case v1::EventEnvelope::kDelivered:
      agency_of_entry = env.delivered().agency_id();
      break;
    case v1::EventEnvelope::kAcknowledged:
      agency_of_entry = env.acknowledged().agency_id();
      status = std::to_string(v1::COMPLAINT_STATUS_IN_PROGRESS);
      break;
    case v1::EventEnvelope::kResolved:
      agency_of_entry = env.resolved().agency_id();
      status = std::to_string(v1::COMPLAINT_STATUS_RESOLVED);
      break;
    case v1::EventEnvelope::kSlaBreached:
      agency_of_entry = env.sla_breached().agency_id();
      break;
    default:
      break;
  }
  nlohmann::json entry = {{"at_ms", env.occurred_at_ms()},
                          {"what", kind},
                          {"agency_id", agency_of_entry},
                          {"event_id", env.event_id()}};
  const auto base = redis_.key("view:" + env.complaint_id());
  std::vector<std::string> args{env.event_id(), entry.dump(), status, agencies};
  args.insert(args.end(), fields.begin(), fields.end());
  auto applied = redis_.eval(
      kApplyView, {base + ":events", base, base + ":timeline", base + ":agencies"}, args);
  if (applied.integer == 1) metrics_.view_events.Add({{"type", kind}}).Increment();
  return kafka::HandleResult::done();
}

}  // namespace lapor::intake
