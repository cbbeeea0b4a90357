// Feeds are Redis streams, one per agency: the stream id is the resume cursor, so a client that
// comes back gets everything after its last item, in order, from any notification instance.
#include "notification_handler.h"

#include "events/envelope.h"

#include <regex>

namespace lapor::notification {

namespace {
constexpr const char* kProducer = "notification";

// Appends to the feed only the first time an event id is seen.
constexpr const char* kAppendFeed = R"lua(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', 2592000) then return '' end
local id = redis.call('XADD', KEYS[2], '*', 'event_id', ARGV[1], 'trace_id', ARGV[5], 'item', ARGV[2])
redis.call('HSET', KEYS[3], 'agency', ARGV[3], 'complaint', ARGV[4], 'state', 'dispatched',
           'cursor', id, 'trace_id', ARGV[5])
return id
)lua";
}  // namespace

NotificationMetrics::NotificationMetrics(prometheus::Registry& r)
    : received(prometheus::BuildCounter()
                   .Name("lapor_notification_assignments_received_total")
                   .Help("New assignments taken from dispatch topics, by agency")
                   .Register(r)),
      duplicates(prometheus::BuildCounter()
                     .Name("lapor_notification_duplicates_dropped_total")
                     .Help("Dispatch events dropped as repeats of an event id, by agency")
                     .Register(r)),
      delivered(prometheus::BuildCounter()
                    .Name("lapor_notification_deliveries_total")
                    .Help("Assignments first delivered to their agency, by agency and channel")
                    .Register(r)),
      acknowledged(prometheus::BuildCounter()
                       .Name("lapor_notification_acknowledgements_total")
                       .Help("Assignments acknowledged by their agency, by agency")
                       .Register(r)),
      streams(prometheus::BuildGauge()
                  .Name("lapor_notification_active_streams")
                  .Help("Open Subscribe streams, by agency")
                  .Register(r)) {}

DispatchHandler::DispatchHandler(const agencies::AgencyDirectory& directory,
                                 redis::RedisClient& redis, log::Logger logger,
                                 NotificationMetrics& metrics)
    : directory_(directory), redis_(redis), log_(std::move(logger)), metrics_(metrics) {}

kafka::HandleResult DispatchHandler::handle(const kafka::Message& msg) {
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope) return kafka::HandleResult::deadLetter("undecodable", decoded.error);
  const auto& env = *decoded.envelope;
  if (env.event_case() != v1::EventEnvelope::kDispatched)
    return kafka::HandleResult::deadLetter(
        "unexpected-event",
        "dispatch topics carry only AssignmentDispatched, got " + events::eventKind(env));
  const auto& item = env.dispatched().item();
  const auto& agency = item.assignment().agency_id();
  if (!directory_.find(agency) || msg.topic != kafka::dispatchTopic(agency))
    return kafka::HandleResult::deadLetter(
        "invalid", "assignment for agency '" + agency + "' on " + msg.topic);
  auto id = redis_.eval(
      kAppendFeed,
      {redis_.key("notif:seen:" + env.event_id()), redis_.key("notif:feed:" + agency),
       redis_.key("notif:assignment:" + item.assignment().assignment_id())},
      {env.event_id(), item.SerializeAsString(), agency, env.complaint_id(), env.trace_id()});
  if (id.str.empty()) {
    metrics_.duplicates.Add({{"agency", agency}}).Increment();
    return kafka::HandleResult::done();
  }
  metrics_.received.Add({{"agency", agency}}).Increment();
  log_.info("assignment queued for agency", {{"complaint_id", env.complaint_id()},
                                             {"trace_id", env.trace_id()},
                                             {"agency", agency},
                                             {"cursor", id.str}});
  return kafka::HandleResult::done();
}

AgencyServiceImpl::AgencyServiceImpl(const agencies::AgencyDirectory& directory,
                                     redis::RedisClient& redis, kafka::MessageSink& events,
                                     const time::Clock& clock, log::Logger logger,
                                     NotificationMetrics& metrics,
                                     std::chrono::milliseconds produce_timeout)
    : directory_(directory),
      redis_(redis),
      events_(events),
      clock_(clock),
      log_(std::move(logger)),
      metrics_(metrics),
      produce_timeout_(produce_timeout) {}

grpc::Status AgencyServiceImpl::Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                                          grpc::ServerWriter<v1::AgencyFeedItem>* writer) {
  if (!directory_.find(req->agency_id()))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "agency_id: unknown agency '" + req->agency_id() + "'");
  std::string cursor = req->resume_cursor().empty() ? "0-0" : req->resume_cursor();
  // Checked before reading, so that a Redis failure is never mistaken for a bad cursor.
  static const std::regex cursor_re("^[0-9]{1,20}-[0-9]{1,20}$");
  if (!std::regex_match(cursor, cursor_re))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "resume_cursor: '" + req->resume_cursor() + "' is not a feed cursor");
  // A blocking read needs a connection of its own.
  std::unique_ptr<redis::RedisClient> conn;
  try {
    conn = std::make_unique<redis::RedisClient>(redis_.options(), log_);
  } catch (const redis::RedisError& e) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "feed store unavailable");
  }
  auto& gauge = metrics_.streams.Add({{"agency", req->agency_id()}});
  gauge.Increment();
  struct Dec {
    prometheus::Gauge& g;
    ~Dec() { g.Decrement(); }
  } dec{gauge};
  const auto feed = redis_.key("notif:feed:" + req->agency_id());
  log_.info("agency subscribed", {{"agency", req->agency_id()}, {"cursor", cursor}});
  while (!ctx->IsCancelled()) {
    redis::Reply r;
    try {
      r = conn->commandWithTimeout(
          {"XREAD", "COUNT", "100", "BLOCK", "1000", "STREAMS", feed, cursor},
          std::chrono::milliseconds(3000));
    } catch (const redis::RedisError&) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "feed store unavailable; resume later");
    }
    if (r.isNil() || r.elements.empty()) continue;
    for (const auto& entry : r.elements[0].elements[1].elements) {
      const auto& id = entry.elements[0].str;
      const auto& kv = entry.elements[1];
      v1::AgencyFeedItem out;
      out.set_cursor(id);
      if (const auto* e = kv.field("event_id")) out.set_event_id(*e);
      const auto* bytes = kv.field("item");
      if (!bytes || !out.mutable_item()->ParseFromString(*bytes)) {
        log_.error("feed entry unreadable, skipped",
                   {{"agency", req->agency_id()}, {"cursor", id}});
        cursor = id;
        continue;
      }
      if (!writer->Write(out)) return grpc::Status::OK;  // client went away; it resumes by cursor
      cursor = id;
      const auto* trace = kv.field("trace_id");
      recordDelivered(out.item(), trace ? *trace : "");
    }
  }
  return grpc::Status::OK;
}

void AgencyServiceImpl::recordDelivered(const v1::DispatchItem& item, const std::string& trace) {
  const auto& a = item.assignment();
  const auto key = redis_.key("notif:assignment:" + a.assignment_id());
  try {
    if (redis_.command({"HSETNX", key, "delivered_at_ms", std::to_string(clock_.nowMs())})
            .integer != 1)
      return;  // delivered before: the event exists already
    auto env = events::makeEnvelope(kProducer, a.complaint_id(), trace, clock_.nowMs(),
                                    events::nameUuid("delivered/" + a.assignment_id()));
    auto* d = env.mutable_delivered();
    d->set_assignment_id(a.assignment_id());
    d->set_agency_id(a.agency_id());
    d->set_channel("grpc-stream");
    d->set_delivered_at_ms(env.occurred_at_ms());
    if (!events_.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env), produce_timeout_)
             .ok) {
      redis_.command({"HDEL", key, "delivered_at_ms"});  // the next delivery records it
      log_.warn("delivery event not recorded, will retry on next delivery",
                {{"complaint_id", a.complaint_id()}, {"agency", a.agency_id()}});
      return;
    }
    redis_.command({"HSET", key, "state", "delivered"});
    metrics_.delivered.Add({{"agency", a.agency_id()}, {"channel", "grpc-stream"}}).Increment();
  } catch (const redis::RedisError& e) {
    log_.warn("delivery not recorded", {{"error", e.what()}});
  }
}

grpc::Status AgencyServiceImpl::Acknowledge(grpc::ServerContext*, const v1::AcknowledgeRequest* req,
                                            v1::AcknowledgeResponse* resp) {
  if (req->assignment_id().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "assignment_id: is required");
  if (!directory_.find(req->agency_id()))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "agency_id: unknown agency '" + req->agency_id() + "'");
  const auto key = redis_.key("notif:assignment:" + req->assignment_id());
  try {
    auto h = redis_.command({"HGETALL", key});
    if (h.elements.empty())
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no assignment " + req->assignment_id());
    const auto* agency = h.field("agency");
    if (!agency || *agency != req->agency_id())
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "assignment belongs to another agency");
    const auto* state = h.field("state");
    if (state && *state == "acknowledged") {
      resp->set_state(v1::ASSIGNMENT_STATE_ACKNOWLEDGED);
      return grpc::Status::OK;  // acknowledging twice is harmless and changes nothing
    }
    if (state && *state != "dispatched" && *state != "delivered")
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "assignment is " + *state + ", it cannot be acknowledged");
    const auto event_id = events::newUuid();
    if (redis_.command({"HSETNX", key, "ack_event", event_id}).integer != 1) {
      resp->set_state(v1::ASSIGNMENT_STATE_ACKNOWLEDGED);  // a concurrent call got there first
      return grpc::Status::OK;
    }
    const auto* complaint = h.field("complaint");
    const auto* trace = h.field("trace_id");
    auto env = events::makeEnvelope(kProducer, complaint ? *complaint : "", trace ? *trace : "",
                                    clock_.nowMs(), event_id);
    auto* ack = env.mutable_acknowledged();
    ack->set_assignment_id(req->assignment_id());
    ack->set_agency_id(req->agency_id());
    ack->set_operator_(req->operator_());
    if (!events_.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env), produce_timeout_)
             .ok) {
      redis_.command({"HDEL", key, "ack_event"});
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "event log unavailable; the acknowledgement was not recorded, retry");
    }
    redis_.command({"HSET", key, "state", "acknowledged"});
    metrics_.acknowledged.Add({{"agency", req->agency_id()}}).Increment();
    log_.info("assignment acknowledged", {{"complaint_id", env.complaint_id()},
                                          {"trace_id", env.trace_id()},
                                          {"agency", req->agency_id()}});
    resp->set_state(v1::ASSIGNMENT_STATE_ACKNOWLEDGED);
    return grpc::Status::OK;
  } catch (const redis::RedisError& e) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "assignment store unavailable");
  }
}

}  // namespace lapor::notification
