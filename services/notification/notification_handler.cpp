// Feeds are Redis streams, one per agency: the stream id is the resume cursor, so a client that
// comes back gets everything after its last item, in order, from any notification instance.
// Each Subscribe reads the feed at its own pace and sends at most a window of items beyond what
// its client confirmed, so a slow client never holds up another; one whose window stays full is
// ended and told the cursor to resume after.
#include "notification_handler.h"

#include "domain/delegation.h"
#include "domain/feed_cursor.h"
#include "events/envelope.h"
#include "grpc/grpc_server.h"
#include "producer.h"

#include <deque>
#include <numeric>
#include <optional>
#include <regex>
#include <set>

namespace lapor::notification {

namespace {
constexpr int kMaxPageSize = 500;
constexpr int kMaxAcknowledgeBatch = 500;

void setAcknowledged(v1::EventEnvelope& env, const std::string& assignment_id,
                     const std::string& agency, const std::string& operator_name,
                     const std::string& unit_id) {
  auto* e = env.mutable_acknowledged();
  e->set_assignment_id(assignment_id);
  e->set_agency_id(agency);
  e->set_operator_(operator_name);
  e->set_unit_id(unit_id);
}

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

using domain::cursorAfter;

constexpr size_t kMaxText = 2000;

// A feed item about an assignment that the receiver already knows (or learns now, with
// `complaint`): its record's summary, the kind, the unit and the note.
v1::DispatchItem workItem(const AssignmentRecord& rec, v1::DispatchKind kind,
                          const std::string& unit, const std::string& note,
                          v1::AssignmentState state) {
  v1::DispatchItem item;
  item.set_kind(kind);
  auto* a = item.mutable_assignment();
  a->set_assignment_id(rec.assignment_id);
  a->set_complaint_id(rec.complaint_id);
  a->set_agency_id(rec.agency);
  a->set_role(static_cast<v1::AssignmentRole>(rec.role));
  a->set_state(state);
  a->set_dispatched_at_ms(rec.dispatched_at_ms);
  a->set_unit_id(unit);
  auto* c = item.mutable_complaint();
  c->set_complaint_id(rec.complaint_id);
  c->set_tracking_id(rec.tracking_id);
  c->set_category(rec.category);
  c->set_priority(static_cast<v1::Priority>(rec.priority));
  c->set_title(rec.title);
  item.set_note(note);
  item.set_unit_id(unit);
  return item;
}
}  // namespace

NotificationMetrics::NotificationMetrics(prometheus::Registry& r)
    : received(prometheus::BuildCounter()
                   .Name("lapor_notification_assignments_received_total")
                   .Help("Dispatch items taken from dispatch topics into feeds, by agency")
                   .Register(r)),
      duplicates(prometheus::BuildCounter()
                     .Name("lapor_notification_duplicates_dropped_total")
                     .Help("Dispatch events dropped as repeats of an event id, by agency")
                     .Register(r)),
      delivered(prometheus::BuildCounter()
                    .Name("lapor_notification_deliveries_total")
                    .Help("Assignments confirmed delivered to their agency, by agency and channel")
                    .Register(r)),
      acknowledged(prometheus::BuildCounter()
                       .Name("lapor_notification_acknowledgements_total")
                       .Help("Assignments acknowledged by their agency, by agency")
                       .Register(r)),
      actions(prometheus::BuildCounter()
                  .Name("lapor_notification_agency_actions_total")
                  .Help("Agency actions recorded, by agency and action")
                  .Register(r)),
      denied(prometheus::BuildCounter()
                 .Name("lapor_notification_calls_denied_total")
                 .Help("AgencyService calls refused for a missing, unknown or foreign token")
                 .Register(r)),
      slow_streams(prometheus::BuildCounter()
                       .Name("lapor_notification_slow_streams_ended_total")
                       .Help("Subscribe streams ended because the client stopped taking items, "
                             "by agency and reason (window-full, write-blocked)")
                       .Register(r)),
      streams(prometheus::BuildGauge()
                  .Name("lapor_notification_active_streams")
                  .Help("Open Subscribe streams, by agency")
                  .Register(r)) {}

v1::DispatchItem forAgency(v1::DispatchItem item) {
  auto* c = item.mutable_complaint();
  if (c->anonymous()) c->clear_reporter_ref();
  return item;
}

DispatchHandler::DispatchHandler(const agencies::AgencyDirectory& directory,
                                 const AccessControl& access, AssignmentStore& store,
                                 log::Logger logger, NotificationMetrics& metrics)
    : directory_(directory),
      access_(access),
      store_(store),
      log_(std::move(logger)),
      metrics_(metrics) {}

kafka::HandleResult DispatchHandler::handle(const kafka::Message& msg) {
  return handleBatch({msg}).at(0);
}

std::vector<kafka::HandleResult> DispatchHandler::handleBatch(
    const std::vector<kafka::Message>& batch) {
  std::vector<std::optional<kafka::HandleResult>> results(batch.size());
  // Every valid item's script in one round trip, in the order read (each agency's feed gets
  // its items in topic order).
  struct Queued {
    size_t i;
    v1::EventEnvelope env;
    std::string agency;
  };
  std::vector<Queued> queued;
  redis::Pipeline p;
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& msg = batch[i];
    auto decoded = events::decode(msg.value);
    if (!decoded.envelope) {
      results[i] = kafka::HandleResult::deadLetter("undecodable", decoded.error);
      continue;
    }
    const auto& env = *decoded.envelope;
    if (env.event_case() != v1::EventEnvelope::kDispatched) {
      results[i] = kafka::HandleResult::deadLetter(
          "unexpected-event",
          "dispatch topics carry only AssignmentDispatched, got " + events::eventKind(env));
      continue;
    }
    const auto item = forAgency(env.dispatched().item());
    const auto& agency = item.assignment().agency_id();
    const auto* info = directory_.find(agency);
    const bool lane = msg.topic == kafka::kEmergencyDispatchTopic;
    if (!info || (!lane && msg.topic != kafka::dispatchTopic(agency))) {
      results[i] = kafka::HandleResult::deadLetter(
          "invalid", "assignment for agency '" + agency + "' on " + msg.topic);
      continue;
    }
    // An agency that reads its dispatch topic itself is delivered by its own consumer group's
    // position on that topic: its lane copy has nothing to add.
    const bool reads_own_topic = info->delivery_channel == "kafka";
    if (lane && reads_own_topic) {
      results[i] = kafka::HandleResult::done();
      continue;
    }
    if (item.assignment().assignment_id().empty()) {
      results[i] = kafka::HandleResult::deadLetter("invalid", "dispatch item without assignment_id");
      continue;
    }
    // The agency's channel says how "delivered" is learnt: a webhook answered 2xx, or its own
    // consumer group committing past this message; every agency also has its feed (streams).
    const bool webhook =
        info->delivery_channel == "webhook" && access_.webhook(agency).has_value();
    std::optional<TopicPosition> position;
    if (reads_own_topic) position = TopicPosition{msg.partition, msg.offset};
    store_.addAppendDispatch(p, env.event_id(), env.trace_id(), env.complaint_id(), item, webhook,
                             position);
    queued.push_back({i, env, agency});
  }
  std::vector<redis::Reply> replies;
  if (!p.empty()) {
    try {
      replies = store_.run(p);
    } catch (const redis::RedisError& e) {
      for (const auto& q : queued) results[q.i] = kafka::HandleResult::retry("redis", e.what());
      queued.clear();
    }
  }
  for (size_t k = 0; k < queued.size(); ++k) {
    const auto& [i, env, agency] = queued[k];
    const auto& r = replies[k];
    if (r.type == redis::Reply::Type::Error) {
      results[i] = kafka::HandleResult::retry("redis", r.str);
      continue;
    }
    results[i] = kafka::HandleResult::done();
    if (r.str.empty()) {
      metrics_.duplicates.Add({{"agency", agency}}).Increment();
      continue;
    }
    metrics_.received.Add({{"agency", agency}}).Increment();
    log_.debug("assignment queued for agency",
               {{"complaint_id", env.complaint_id()},
                {"trace_id", env.trace_id()},
                {"agency", agency},
                {"kind", v1::DispatchKind_Name(env.dispatched().item().kind())},
                {"cursor", r.str}});
  }
  std::vector<kafka::HandleResult> out;
  out.reserve(batch.size());
  for (auto& r : results) out.push_back(std::move(*r));
  return out;
}

AgencyServiceImpl::AgencyServiceImpl(const agencies::AgencyDirectory& directory,
                                     const AccessControl& access, AssignmentStore& store,
                                     redis::RedisOptions redis, const time::Clock& clock,
                                     log::Logger logger, NotificationMetrics& metrics,
                                     StreamSettings streams)
    : directory_(directory),
      access_(access),
      store_(store),
      redis_options_(std::move(redis)),
      clock_(clock),
      log_(std::move(logger)),
      metrics_(metrics),
      settings_(streams) {
  watchdog_ = std::thread([this] { watchdog(); });
}

AgencyServiceImpl::~AgencyServiceImpl() {
  stop();
}

void AgencyServiceImpl::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void AgencyServiceImpl::watchdog() {
  std::unique_lock lk(mu_);
  const auto tick = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(50),
                                                        settings_.stall_timeout / 4);
  while (!cv_.wait_for(lk, tick, [this] { return stop_; })) {
    const auto now = steadyMs();
    for (auto* s : slots_) {
      const auto since = s->writing_since_ms.load();
      if (since != 0 && now - since > settings_.stall_timeout.count() &&
          !s->stalled.exchange(true)) {
        log_.warn("client stopped reading its stream, ending it",
                  {{"blocked_ms", now - since}});
        s->ctx->TryCancel();  // unblocks the write; the client resumes from its last cursor
      }
    }
  }
}

grpc::Status AgencyServiceImpl::authorize(const grpc::ServerContext& ctx,
                                          const std::string& caller) {
  if (!directory_.find(caller) && !directory_.unit(caller))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "agency_id: unknown agency or work unit '" + caller + "'");
  const auto token = grpcx::bearerToken(ctx);
  if (token.empty()) {
    metrics_.denied.Add({{"reason", "missing"}}).Increment();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing `authorization: Bearer <token>` metadata");
  }
  const auto owner = access_.agencyOf(token);
  if (owner.empty()) {
    metrics_.denied.Add({{"reason", "unknown"}}).Increment();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "token not accepted");
  }
  if (owner != caller) {
    metrics_.denied.Add({{"reason", "foreign"}}).Increment();
    log_.warn("call for another agency refused", {{"agency", caller}, {"token_agency", owner}});
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "this token does not speak for " +
                            std::string(directory_.unit(caller) ? "work unit" : "agency") + " '" +
                            caller + "'");
  }
  return grpc::Status::OK;
}

grpc::Status AgencyServiceImpl::authorizeOn(const std::string& caller,
                                            const std::optional<AssignmentRecord>& rec,
                                            const std::string& assignment_id) {
  if (!rec) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no assignment " + assignment_id);
  const auto* unit = directory_.unit(caller);
  if (rec->agency != (unit ? unit->agency : caller))
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "assignment belongs to another agency");
  // A unit acts only on what its agency delegated to it, and only while it holds it.
  if (unit && rec->unit != caller)
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "assignment is not delegated to work unit '" + caller + "'");
  return grpc::Status::OK;
}

grpc::Status AgencyServiceImpl::Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                                          grpc::ServerWriter<v1::AgencyFeedItem>* writer) {
  if (auto s = authorize(*ctx, req->agency_id()); !s.ok()) return s;
  const auto& agency = req->agency_id();
  std::string cursor = req->resume_cursor().empty() ? "0-0" : req->resume_cursor();
  // Checked before reading, so that a Redis failure is never mistaken for a bad cursor.
  if (!domain::parseCursor(cursor))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "resume_cursor: '" + req->resume_cursor() + "' is not a feed cursor");
  const auto stream_id = events::newUuid();
  const auto confirmations = confirmationsKey(agency);
  // A blocking read needs a connection of its own.
  std::unique_ptr<redis::RedisClient> conn;
  std::string confirmations_pos = "0-0";
  try {
    // A cursor from after the feed's end was never given out: resuming there would confirm
    // items that do not exist yet, and the stream would skip them once they do.
    if (!req->resume_cursor().empty()) {
      if (auto why = domain::cursorBeyondFeed("resume_cursor", cursor, lastCursor(agency));
          !why.empty())
        return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, why);
    }
    conn = std::make_unique<redis::RedisClient>(redis_options_, log_);
    // Coming back with a cursor confirms everything up to it.
    if (!req->resume_cursor().empty()) confirmUpTo(agency, cursor);
    // Confirmations from now on: the stream id is new, so none before can be for it.
    auto last = conn->command({"XREVRANGE", confirmations, "+", "-", "COUNT", "1"});
    if (!last.elements.empty()) confirmations_pos = last.elements[0].elements[0].str;
  } catch (const redis::RedisError& e) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "feed store unavailable");
  }
  auto& gauge = metrics_.streams.Add({{"agency", agency}});
  gauge.Increment();
  StreamSlot slot{ctx};
  {
    std::lock_guard lk(mu_);
    slots_.insert(&slot);
  }
  struct Leave {
    AgencyServiceImpl& self;
    StreamSlot* slot;
    prometheus::Gauge& g;
    ~Leave() {
      std::lock_guard lk(self.mu_);
      self.slots_.erase(slot);
      g.Decrement();
    }
  } leave{*this, &slot, gauge};
  const auto feed = store_.feedKey(agency);
  log_.info("agency subscribed", {{"agency", agency}, {"cursor", cursor}, {"stream_id", stream_id}});

  std::string confirmed = cursor;            // the stream's last confirmation: where to resume
  std::deque<v1::AgencyFeedItem> pending;    // read from the feed, waiting for the window
  std::deque<std::pair<std::string, size_t>> unconfirmed;  // sent: cursor and size
  size_t unconfirmed_bytes = 0;
  int64_t full_since_ms = 0;
  const auto window = static_cast<size_t>(settings_.window);
  auto admits = [&](size_t bytes) {
    return unconfirmed.empty() ||
           (unconfirmed.size() < window && unconfirmed_bytes + bytes <= settings_.window_bytes);
  };
  auto confirm = [&](const std::string& c) {
    if (cursorAfter(c, confirmed)) confirmed = c;
    while (!unconfirmed.empty() && !cursorAfter(unconfirmed.front().first, c)) {
      unconfirmed_bytes -= unconfirmed.front().second;
      unconfirmed.pop_front();
    }
  };

  while (!ctx->IsCancelled()) {
    while (!pending.empty()) {
      const auto& out = pending.front();
      const size_t bytes = out.ByteSizeLong();
      if (!admits(bytes)) break;
      slot.writing_since_ms = steadyMs();
      const bool written = writer->Write(out);
      slot.writing_since_ms = 0;
      if (!written) {
        if (slot.stalled) {
          metrics_.slow_streams.Add({{"agency", agency}, {"reason", "write-blocked"}}).Increment();
          log_.warn("stream ended: the client stopped reading",
                    {{"agency", agency}, {"stream_id", stream_id}, {"confirmed", confirmed}});
          return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "client too slow; resume after cursor " + confirmed);
        }
        return grpc::Status::OK;  // client went away; it resumes by cursor
      }
      unconfirmed.emplace_back(out.cursor(), bytes);
      unconfirmed_bytes += bytes;
      pending.pop_front();
    }
    const bool full = !pending.empty() || unconfirmed.size() >= window;
    if (!full) {
      full_since_ms = 0;
    } else if (full_since_ms == 0) {
      full_since_ms = steadyMs();
    } else if (steadyMs() - full_since_ms > settings_.stall_timeout.count()) {
      metrics_.slow_streams.Add({{"agency", agency}, {"reason", "window-full"}}).Increment();
      log_.warn("stream ended: the client confirmed nothing while its window was full",
                {{"agency", agency},
                 {"stream_id", stream_id},
                 {"unconfirmed", static_cast<int64_t>(unconfirmed.size())},
                 {"confirmed", confirmed}});
      ctx->AddTrailingMetadata("lapor-resume-cursor", confirmed);
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          std::to_string(unconfirmed.size()) + " items unconfirmed for " +
              std::to_string(settings_.stall_timeout.count()) +
              " ms; confirm stored items with ConfirmDelivery(stream_id) and resume after cursor " +
              confirmed);
    }
    // Wait for new feed items while the window has room, and for confirmations.
    std::vector<std::string> cmd{"XREAD", "COUNT",
                                 std::to_string(full ? 100 : window - unconfirmed.size()), "BLOCK",
                                 "1000", "STREAMS"};
    if (full) {
      cmd.insert(cmd.end(), {confirmations, confirmations_pos});
    } else {
      cmd.insert(cmd.end(), {feed, confirmations, cursor, confirmations_pos});
    }
    redis::Reply r;
    try {
      r = conn->commandWithTimeout(cmd, std::chrono::milliseconds(3000));
    } catch (const redis::RedisError&) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "feed store unavailable; resume later");
    }
    if (r.isNil()) continue;
    for (const auto& per_key : r.elements) {
      const bool is_feed = per_key.elements[0].str == feed;
      for (const auto& entry : per_key.elements[1].elements) {
        const auto& id = entry.elements[0].str;
        const auto& kv = entry.elements[1];
        if (!is_feed) {
          confirmations_pos = id;
          const auto* stream = kv.field("stream");
          const auto* c = kv.field("cursor");
          if (c && domain::parseCursor(*c) &&
              (!stream || stream->empty() || *stream == stream_id))
            confirm(*c);
          continue;
        }
        cursor = id;
        v1::AgencyFeedItem out;
        out.set_cursor(id);
        out.set_stream_id(stream_id);
        if (const auto* e = kv.field("event_id")) out.set_event_id(*e);
        const auto* bytes = kv.field("item");
        if (!bytes || !out.mutable_item()->ParseFromString(*bytes)) {
          log_.error("feed entry unreadable, skipped", {{"agency", agency}, {"cursor", id}});
          continue;
        }
        pending.push_back(std::move(out));
      }
    }
  }
  return grpc::Status::OK;
}

std::vector<std::string> AgencyServiceImpl::lastCursorCommand(const std::string& agency) const {
  return {"XREVRANGE", store_.feedKey(agency), "+", "-", "COUNT", "1"};
}

std::string AgencyServiceImpl::lastCursorOf(const redis::Reply& r) {
  return r.elements.empty() ? "0-0" : r.elements[0].elements[0].str;
}

std::string AgencyServiceImpl::lastCursor(const std::string& agency) {
  return lastCursorOf(store_.redis().command(lastCursorCommand(agency)));
}

std::string AgencyServiceImpl::confirmationsKey(const std::string& agency) const {
  return store_.feedKey(agency) + ":confirmations";
}

int AgencyServiceImpl::confirmUpTo(const std::string& agency, const std::string& cursor) {
  auto last = store_.redis().command({"GET", confirmedMarkKey(agency)});
  std::string from = last.isNil() ? "0-0" : last.str;
  if (!cursorAfter(cursor, from)) return 0;
  return confirmRange(agency, std::move(from), cursor, nullptr);
}

std::string AgencyServiceImpl::confirmedMarkKey(const std::string& agency) const {
  return store_.redis().key("notif:confirmed:" + agency);
}

int AgencyServiceImpl::confirmRange(const std::string& agency, std::string from,
                                    const std::string& cursor,
                                    const AssignmentStore::Confirmation* confirmation) {
  int confirmed = 0;
  // Per page two round trips: its entries with their assignments' records (and the
  // confirmation, with the first), then the deliveries with the mark moved past them.
  for (;;) {
    const auto page = store_.feedPage(agency, from, cursor, kConfirmPage, confirmation);
    confirmation = nullptr;
    if (page.entries == 0) break;
    from = page.last;
    const AssignmentStore::Mark mark{confirmedMarkKey(agency), from};
    const int n = store_.recordDelivered(page.assignments, page.records, agency, "grpc-stream",
                                         &mark);
    metrics_.delivered.Add({{"agency", agency}, {"channel", "grpc-stream"}})
        .Increment(static_cast<double>(n));
    confirmed += n;
    if (page.entries < kConfirmPage) break;  // the range is read to `cursor`
  }
  return confirmed;
}

grpc::Status AgencyServiceImpl::ConfirmDelivery(grpc::ServerContext* ctx,
                                                const v1::ConfirmDeliveryRequest* req,
                                                v1::ConfirmDeliveryResponse* resp) {
  if (auto s = authorize(*ctx, req->agency_id()); !s.ok()) return s;
  if (!domain::parseCursor(req->cursor()))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "cursor: '" + req->cursor() + "' is not a feed cursor");
  static const std::regex stream_id("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  if (!req->stream_id().empty() && !std::regex_match(req->stream_id(), stream_id))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "stream_id: '" + req->stream_id() + "' is not a stream id");
  try {
    auto& redis = store_.redis();
    const auto& agency = req->agency_id();
    const auto& cursor = req->cursor();
    // One round trip reads the feed's end and the agency's confirmed mark, the next writes the
    // confirmation and reads the first page of what it confirms with its assignments, the
    // third records the page's deliveries and moves the mark.
    redis::Pipeline reads;
    reads.command(lastCursorCommand(agency));
    reads.command({"GET", confirmedMarkKey(agency)});
    const auto read = redis.pipelineOrThrow(reads, "feed of " + agency);
    if (auto why = domain::cursorBeyondFeed("cursor", cursor, lastCursorOf(read[0]));
        !why.empty())
      return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, why);
    // Opens the window of the stream (of every stream of the agency without a stream id), on
    // whichever instance serves it, before the deliveries are recorded: the client has stored
    // the items either way, and the stream need not wait for the events of their delivery. A
    // failure below answers UNAVAILABLE, and the client's retry records what is left.
    const AssignmentStore::Confirmation confirmation{confirmationsKey(agency), req->stream_id(),
                                                     cursor};
    const std::string from = read[1].isNil() ? "0-0" : read[1].str;
    if (cursorAfter(cursor, from)) {
      resp->set_confirmed(confirmRange(agency, from, cursor, &confirmation));
    } else {
      store_.feedPage(agency, from, cursor, 0, &confirmation);
      resp->set_confirmed(0);
    }
    return grpc::Status::OK;
  } catch (const redis::RedisError&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "feed store unavailable; retry");
  }
}

grpc::Status AgencyServiceImpl::act(const grpc::ServerContext& ctx, const std::string& caller,
                                    const std::string& assignment_id, domain::Action action,
                                    v1::AssignmentState target, const std::string& text,
                                    const std::string& reason_code,
                                    const std::string& operator_name, v1::AssignmentState* out) {
  if (auto s = authorize(ctx, caller); !s.ok()) return s;
  if (assignment_id.empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "assignment_id: is required");
  // A work unit acts for its agency: the events name the agency, and the unit beside it.
  const auto* unit = directory_.unit(caller);
  const std::string agency = unit ? unit->agency : caller;
  const std::string unit_id = unit ? caller : "";
  try {
    for (int round = 0; round < 5; ++round) {
      auto rec = store_.get(assignment_id);
      if (auto s = authorizeOn(caller, rec, assignment_id); !s.ok()) return s;
      // The desk's own item is an assignment record of agency triage.
      const auto work = rec->kind == domain::WorkKind::Assignment &&
                                rec->agency == agencies::AgencyDirectory::kTriage
                            ? domain::WorkKind::Triage
                            : rec->kind;
      auto d =
          domain::decide(work, domain::parseState(rec->state), action, target, text, reason_code);
      using K = domain::Decision::Kind;
      if (d.kind == K::Invalid) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, d.why);
      if (d.kind == K::Refused) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, d.why);
      if (d.kind == K::Repeat) {
        // Harmless; if the event of the first call is still pending, this call delivers it.
        if (!store_.republishPending(*rec))
          return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "recorded, but the event log has not confirmed it yet; retry");
        *out = d.next;
        return grpc::Status::OK;
      }
      auto env = events::makeEnvelope(kProducer, rec->complaint_id, rec->trace_id, clock_.nowMs(),
                                      events::newUuid());
      std::string action_name;
      if (work == domain::WorkKind::Escalation) {
        // The supervisor's own work: never an assignment event, which routing, the SLA clocks
        // and the tracking view would read as the breaching agency's (or the complaint's).
        auto* e = env.mutable_escalation_updated();
        *e = escalationUpdate(*rec, d.next);  // rec->agency is `agency`, checked above
        e->set_message(text);
        e->set_operator_(operator_name);
        action_name = "escalation-" + domain::stateName(d.next);
      } else if (action == domain::Action::Reject && unit) {
        // A unit's "not ours" is for its agency to decide: the assignment goes back to the
        // agency, not to routing.
        auto* e = env.mutable_delegation_revoked();
        e->set_assignment_id(assignment_id);
        e->set_agency_id(agency);
        e->set_unit_id(unit_id);
        e->set_note(domain::unitRejectionNote(reason_code, text));
        e->set_operator_(operator_name);
        action_name = "unit-rejected";
      } else if (action == domain::Action::Acknowledge) {
        setAcknowledged(env, assignment_id, agency, operator_name, unit_id);
        action_name = "acknowledged";
      } else if (action == domain::Action::Reject) {
        auto* e = env.mutable_rejected();
        e->set_assignment_id(assignment_id);
        e->set_agency_id(agency);
        e->set_reason_code(reason_code);
        e->set_note(text);
        action_name = "rejected";
      } else if (d.next == v1::ASSIGNMENT_STATE_RESOLVED) {
        auto* e = env.mutable_resolved();
        e->set_assignment_id(assignment_id);
        e->set_agency_id(agency);
        e->set_resolution(text);
        e->set_unit_id(unit_id);
        action_name = "resolved";
      } else {
        auto* e = env.mutable_status_updated();
        e->set_assignment_id(assignment_id);
        e->set_agency_id(agency);
        e->set_state(d.next);
        e->set_message(text);
        e->set_operator_(operator_name);
        e->set_unit_id(unit_id);
        action_name = "status-" + domain::stateName(d.next);
      }
      AssignmentStore::Commit commit;
      if (unit) {
        // The unit's action, and the agency hears of it on its feed in the same write.
        const bool unit_rejects = action == domain::Action::Reject;
        AssignmentChange c;
        c.next_state = unit_rejects ? rec->state : domain::stateName(d.next);
        c.next_unit = unit_rejects ? "" : unit_id;
        c.close = !unit_rejects && !domain::isOpen(d.next);
        c.events.push_back(env);
        const auto note = unit_rejects ? env.delegation_revoked().note() : text;
        // A unit's Reject leaves the state as it was: the agency holds the assignment again.
        const auto shown = unit_rejects ? domain::parseState(rec->state) : d.next;
        c.items.push_back(
            {agency, env.event_id(),
             workItem(*rec, v1::DISPATCH_KIND_UNIT_PROGRESS, unit_id,
                      domain::unitProgressNote(
                          unit_rejects ? "rejected" : domain::stateName(d.next), note),
                      shown)});
        if (unit_rejects)
          c.items.push_back({unit_id, env.event_id(),
                             workItem(*rec, v1::DISPATCH_KIND_DELEGATION_REVOKED, unit_id, note,
                                      shown)});
        d.next = shown;
        commit = store_.change(*rec, c);
      } else if (!rec->unit.empty()) {
        // The agency acts itself on what it delegated; when that ends the work, its unit is
        // told to stop.
        AssignmentChange c;
        c.next_state = domain::stateName(d.next);
        c.next_unit = rec->unit;
        c.close = !domain::isOpen(d.next);
        c.events.push_back(env);
        if (c.close)
          c.items.push_back({rec->unit, env.event_id(),
                             workItem(*rec, v1::DISPATCH_KIND_DELEGATION_REVOKED, rec->unit,
                                      domain::stateName(d.next) + " by the agency", d.next)});
        commit = store_.change(*rec, c);
      } else {
        commit = store_.transition(*rec, domain::stateName(d.next), !domain::isOpen(d.next), env);
      }
      if (commit == AssignmentStore::Commit::Conflict) continue;  // changed meanwhile: decide again
      recorded(agency, unit_id, env, action_name,
               action == domain::Action::Acknowledge && work == domain::WorkKind::Assignment);
      if (commit == AssignmentStore::Commit::Pending)
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "recorded, but the event log has not confirmed it yet; retry");
      *out = d.next;
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::ABORTED, "assignment changed concurrently; retry");
  } catch (const redis::RedisError&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "assignment store unavailable");
  }
}

void AgencyServiceImpl::recorded(const std::string& agency, const std::string& unit_id,
                                 const v1::EventEnvelope& env, const std::string& action_name,
                                 bool acknowledged) {
  metrics_.actions.Add({{"agency", agency}, {"action", action_name}}).Increment();
  if (acknowledged) metrics_.acknowledged.Add({{"agency", agency}}).Increment();
  log_.debug("agency action recorded", {{"complaint_id", env.complaint_id()},
                                       {"trace_id", env.trace_id()},
                                       {"agency", agency},
                                       {"unit", unit_id},
                                       {"action", action_name}});
}

grpc::Status AgencyServiceImpl::Acknowledge(grpc::ServerContext* ctx,
                                            const v1::AcknowledgeRequest* req,
                                            v1::AcknowledgeResponse* resp) {
  v1::AssignmentState out{};
  auto s = act(*ctx, req->agency_id(), req->assignment_id(), domain::Action::Acknowledge, {}, "",
               "", req->operator_(), &out);
  resp->set_state(out);
  return s;
}

grpc::Status AgencyServiceImpl::AcknowledgeBatch(grpc::ServerContext* ctx,
                                                 const v1::AcknowledgeBatchRequest* req,
                                                 v1::AcknowledgeBatchResponse* resp) {
  const auto& caller = req->agency_id();
  if (auto s = authorize(*ctx, caller); !s.ok()) return s;
  const int n = req->assignment_ids_size();
  if (n == 0)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "assignment_ids: give at least one assignment");
  if (n > kMaxAcknowledgeBatch)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "assignment_ids: at most " + std::to_string(kMaxAcknowledgeBatch) +
                            " in one call, got " + std::to_string(n));
  std::vector<std::string> ids(req->assignment_ids().begin(), req->assignment_ids().end());
  std::set<std::string> seen;
  for (int i = 0; i < n; ++i) {
    const auto at = "assignment_ids[" + std::to_string(i) + "]: ";
    if (ids[i].empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, at + "is empty");
    if (!seen.insert(ids[i]).second)
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          at + "'" + ids[i] + "' is listed twice");
  }
  for (const auto& id : ids) resp->add_results()->set_assignment_id(id);
  auto answer = [&](int i, const grpc::Status& s, v1::AssignmentState state) {
    auto* r = resp->mutable_results(i);
    r->set_code(grpcx::statusCodeName(s.error_code()));
    if (s.ok())
      r->set_state(state);
    else
      r->set_message(s.error_message());
  };
  try {
    // The common case in one pass: an assignment of the agency itself (or the triage desk's
    // item), not delegated and not an escalation, that moves to ACKNOWLEDGED. Everything else
    // is decided alone by `act`, exactly as Acknowledge decides it.
    std::vector<int> alone;
    std::vector<int> next_round;
    if (directory_.unit(caller)) {
      alone.resize(ids.size());
      std::iota(alone.begin(), alone.end(), 0);
    } else {
      next_round.resize(ids.size());
      std::iota(next_round.begin(), next_round.end(), 0);
    }
    struct Moved {
      int index;
      v1::AssignmentState next;
      bool assignment;  // counted as an agency's acknowledgement (not the triage desk's)
    };
    // A move that found its assignment changed meanwhile (its delivery recorded, say) is read
    // and decided again with the others of its round, as `act` does for one.
    for (int round = 0; round < 5 && !next_round.empty(); ++round) {
      std::vector<int> these;
      these.swap(next_round);
      std::vector<std::string> round_ids;
      for (const int i : these) round_ids.push_back(ids[i]);
      const auto records = store_.getAll(round_ids);
      std::vector<v1::EventEnvelope> events;
      events.reserve(these.size());  // the moves point into it
      std::vector<AssignmentStore::Move> moves;
      std::vector<Moved> moved;
      for (size_t j = 0; j < these.size(); ++j) {
        const int i = these[j];
        const auto& rec = records[j];
        if (!rec || rec->kind != domain::WorkKind::Assignment || !rec->unit.empty() ||
            rec->agency != caller) {
          alone.push_back(i);
          continue;
        }
        const auto work = rec->agency == agencies::AgencyDirectory::kTriage
                              ? domain::WorkKind::Triage
                              : domain::WorkKind::Assignment;
        const auto d = domain::decide(work, domain::parseState(rec->state),
                                      domain::Action::Acknowledge, {}, "", "");
        if (d.kind != domain::Decision::Kind::Apply) {
          alone.push_back(i);
          continue;
        }
        auto& env = events.emplace_back(events::makeEnvelope(
            kProducer, rec->complaint_id, rec->trace_id, clock_.nowMs(), events::newUuid()));
        setAcknowledged(env, rec->assignment_id, caller, req->operator_(), "");
        moves.push_back({&*rec, domain::stateName(d.next), !domain::isOpen(d.next), &env});
        moved.push_back({i, d.next, work == domain::WorkKind::Assignment});
      }
      const auto commits = store_.transitionAll(moves);
      for (size_t k = 0; k < commits.size(); ++k) {
        const auto [i, next, assignment] = moved[k];
        if (commits[k] == AssignmentStore::Commit::Conflict) {
          next_round.push_back(i);
          continue;
        }
        recorded(caller, "", *moves[k].event, "acknowledged", assignment);
        if (commits[k] == AssignmentStore::Commit::Pending)
          answer(i,
                 grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "recorded, but the event log has not confirmed it yet; retry"),
                 {});
        else
          answer(i, grpc::Status::OK, next);
      }
    }
    alone.insert(alone.end(), next_round.begin(), next_round.end());
    for (const int i : alone) {
      v1::AssignmentState out{};
      const auto s = act(*ctx, caller, ids[i], domain::Action::Acknowledge, {}, "", "",
                         req->operator_(), &out);
      answer(i, s, out);
    }
    return grpc::Status::OK;
  } catch (const redis::RedisError&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "assignment store unavailable");
  }
}

grpc::Status AgencyServiceImpl::UpdateStatus(grpc::ServerContext* ctx,
                                             const v1::UpdateStatusRequest* req,
                                             v1::UpdateStatusResponse* resp) {
  v1::AssignmentState out{};
  auto s = act(*ctx, req->agency_id(), req->assignment_id(), domain::Action::UpdateStatus,
               req->state(), req->message(), "", req->operator_(), &out);
  resp->set_state(out);
  return s;
}

grpc::Status AgencyServiceImpl::Resolve(grpc::ServerContext* ctx, const v1::ResolveRequest* req,
                                        v1::UpdateStatusResponse* resp) {
  v1::AssignmentState out{};
  auto s = act(*ctx, req->agency_id(), req->assignment_id(), domain::Action::UpdateStatus,
               v1::ASSIGNMENT_STATE_RESOLVED, req->resolution(), "", req->operator_(), &out);
  resp->set_state(out);
  return s;
}

grpc::Status AgencyServiceImpl::Reject(grpc::ServerContext* ctx, const v1::RejectRequest* req,
                                       v1::RejectResponse* resp) {
  v1::AssignmentState out{};
  auto s = act(*ctx, req->agency_id(), req->assignment_id(), domain::Action::Reject, {},
               req->note(), req->reason_code(), req->operator_(), &out);
  resp->set_state(out);
  return s;
}

grpc::Status AgencyServiceImpl::ListAssignments(grpc::ServerContext* ctx,
                                                const v1::ListAssignmentsRequest* req,
                                                v1::ListAssignmentsResponse* resp) {
  if (auto s = authorize(*ctx, req->agency_id()); !s.ok()) return s;
  const int size = req->page_size() == 0 ? 50 : req->page_size();
  if (size < 1 || size > kMaxPageSize)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_size: must be 1..500");
  // The token is the position of the page's last entry: "<dispatch ms>:<assignment id>".
  std::optional<AssignmentStore::OpenPosition> after;
  if (!req->page_token().empty()) {
    static const std::regex position("^([0-9]{1,16}):([A-Za-z0-9._-]{1,100})$");
    std::smatch m;
    if (!std::regex_match(req->page_token(), m, position))
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_token: not from this service");
    after = AssignmentStore::OpenPosition{m[2].str(), m[1].str()};
  }
  try {
    // A unit's open work is what is delegated to it now (its own open set).
    auto page = store_.openAssignments(req->agency_id(), after, size + 1);
    const bool is_unit = directory_.unit(req->agency_id()) != nullptr;
    const bool more = static_cast<int>(page.size()) > size;
    if (more) page.pop_back();
    for (const auto& [id, score] : page) {
      auto rec = store_.get(id);
      if (!rec || (is_unit && rec->unit != req->agency_id())) continue;
      auto* l = resp->add_assignments();
      auto* a = l->mutable_assignment();
      a->set_assignment_id(id);
      a->set_complaint_id(rec->complaint_id);
      a->set_agency_id(rec->agency);
      a->set_role(static_cast<v1::AssignmentRole>(rec->role));
      a->set_state(domain::parseState(rec->state));
      a->set_dispatched_at_ms(rec->dispatched_at_ms);
      a->set_unit_id(rec->unit);
      l->set_tracking_id(rec->tracking_id);
      l->set_category(rec->category);
      l->set_priority(static_cast<v1::Priority>(rec->priority));
      l->set_title(rec->title);
    }
    if (more) resp->set_next_page_token(page.back().score + ":" + page.back().assignment_id);
    return grpc::Status::OK;
  } catch (const redis::RedisError&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "assignment store unavailable");
  }
}

grpc::Status AgencyServiceImpl::moveDelegation(const std::string& agency,
                                               const std::string& assignment_id,
                                               const std::string& unit, const std::string& note,
                                               const std::string& operator_name) {
  try {
    for (int round = 0; round < 5; ++round) {
      auto rec = store_.get(assignment_id);
      if (auto s = authorizeOn(agency, rec, assignment_id); !s.ok()) return s;
      auto d = domain::decideDelegation(rec->kind == domain::WorkKind::Assignment &&
                                            rec->agency != agencies::AgencyDirectory::kTriage,
                                        domain::parseState(rec->state), rec->unit, unit);
      using K = domain::DelegationDecision::Kind;
      if (d.kind == K::Refused) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, d.why);
      if (d.kind == K::Repeat) {
        if (!store_.republishPending(*rec))
          return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "recorded, but the event log has not confirmed it yet; retry");
        return grpc::Status::OK;
      }
      const auto state = domain::parseState(rec->state);
      AssignmentChange c;
      c.next_state = rec->state;
      c.next_unit = unit;
      if (d.revoke) {
        auto env = events::makeEnvelope(kProducer, rec->complaint_id, rec->trace_id,
                                        clock_.nowMs(), events::newUuid());
        auto* e = env.mutable_delegation_revoked();
        e->set_assignment_id(assignment_id);
        e->set_agency_id(agency);
        e->set_unit_id(rec->unit);
        e->set_note(unit.empty() ? note : "moved to " + unit);
        e->set_operator_(operator_name);
        c.items.push_back({rec->unit, env.event_id(),
                           workItem(*rec, v1::DISPATCH_KIND_DELEGATION_REVOKED, rec->unit,
                                    e->note(), state)});
        c.events.push_back(std::move(env));
      }
      if (d.delegate) {
        auto env = events::makeEnvelope(kProducer, rec->complaint_id, rec->trace_id,
                                        clock_.nowMs(), events::newUuid());
        auto* e = env.mutable_delegated();
        e->set_assignment_id(assignment_id);
        e->set_agency_id(agency);
        e->set_unit_id(unit);
        e->set_note(note);
        e->set_operator_(operator_name);
        auto item = workItem(*rec, v1::DISPATCH_KIND_DELEGATED, unit, note, state);
        // The unit gets the complaint as its agency got it (an anonymous reporter stays so).
        if (auto first = store_.feedItem(agency, rec->cursor)) {
          *item.mutable_complaint() = first->complaint();
          item.set_rules_version(first->rules_version());
          *item.mutable_history() = first->history();
        }
        c.items.push_back({unit, env.event_id(), std::move(item)});
        c.events.push_back(std::move(env));
      }
      auto commit = store_.change(*rec, c);
      if (commit == AssignmentStore::Commit::Conflict) continue;
      for (const auto& e : c.events)
        metrics_.actions.Add({{"agency", agency}, {"action", events::eventKind(e)}}).Increment();
      log_.info("assignment delegation changed", {{"complaint_id", rec->complaint_id},
                                                  {"trace_id", rec->trace_id},
                                                  {"agency", agency},
                                                  {"from_unit", rec->unit},
                                                  {"to_unit", unit}});
      if (commit == AssignmentStore::Commit::Pending)
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "recorded, but the event log has not confirmed it yet; retry");
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::ABORTED, "assignment changed concurrently; retry");
  } catch (const redis::RedisError&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "assignment store unavailable");
  }
}

grpc::Status AgencyServiceImpl::Delegate(grpc::ServerContext* ctx, const v1::DelegateRequest* req,
                                         v1::DelegateResponse* resp) {
  if (auto s = authorize(*ctx, req->agency_id()); !s.ok()) return s;
  if (directory_.unit(req->agency_id()))
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "a work unit does not delegate; its agency does");
  if (req->assignment_id().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "assignment_id: is required");
  const auto* unit = directory_.unit(req->unit_id());
  if (!unit || unit->agency != req->agency_id())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "unit_id: '" + req->unit_id() + "' is not a work unit of agency '" +
                            req->agency_id() + "'");
  if (req->note().size() > kMaxText)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "note: at most 2000 bytes");
  auto s = moveDelegation(req->agency_id(), req->assignment_id(), req->unit_id(), req->note(),
                          req->operator_());
  if (s.ok()) resp->set_unit_id(req->unit_id());
  return s;
}

grpc::Status AgencyServiceImpl::TakeBack(grpc::ServerContext* ctx, const v1::TakeBackRequest* req,
                                         v1::TakeBackResponse*) {
  if (auto s = authorize(*ctx, req->agency_id()); !s.ok()) return s;
  if (directory_.unit(req->agency_id()))
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "a work unit does not take back; its agency does (a unit hands an "
                        "assignment back with Reject)");
  if (req->assignment_id().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "assignment_id: is required");
  if (req->note().size() > kMaxText)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "note: at most 2000 bytes");
  return moveDelegation(req->agency_id(), req->assignment_id(), "", req->note(),
                        req->operator_());
}

grpc::Status AgencyServiceImpl::AskReporter(grpc::ServerContext* ctx,
                                            const v1::AskReporterRequest* req,
                                            v1::AskReporterResponse* resp) {
  const auto& caller = req->agency_id();
  if (auto s = authorize(*ctx, caller); !s.ok()) return s;
  if (req->assignment_id().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "assignment_id: is required");
  if (req->question().empty() || req->question().size() > kMaxText)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "question: must be 1..2000 bytes, got " +
                            std::to_string(req->question().size()));
  if (req->request_id().size() > 200)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "request_id: at most 200 bytes");
  const auto* unit = directory_.unit(caller);
  const std::string agency = unit ? unit->agency : caller;
  const std::string unit_id = unit ? caller : "";
  // A retried request names the question it asked: the same event id, whatever happened since.
  const std::string question_id =
      req->request_id().empty()
          ? events::newUuid()
          : events::nameUuid("reporter-asked/" + req->assignment_id() + "/" + caller + "/" +
                             req->request_id());
  try {
    for (int round = 0; round < 5; ++round) {
      auto rec = store_.get(req->assignment_id());
      if (auto s = authorizeOn(caller, rec, req->assignment_id()); !s.ok()) return s;
      if (!req->request_id().empty() && store_.question(question_id)) {
        resp->set_question_id(question_id);
        return grpc::Status::OK;
      }
      if (rec->kind != domain::WorkKind::Assignment ||
          rec->agency == agencies::AgencyDirectory::kTriage)
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "only an agency's assignment asks the reporter (not an escalation "
                            "or the triage desk's item)");
      if (!domain::isOpen(domain::parseState(rec->state)))
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "assignment is " + rec->state + ": ask while the work is live");
      auto env = events::makeEnvelope(kProducer, rec->complaint_id, rec->trace_id, clock_.nowMs(),
                                      question_id);
      auto* e = env.mutable_reporter_asked();
      e->set_assignment_id(rec->assignment_id);
      e->set_agency_id(agency);
      e->set_unit_id(unit_id);
      e->set_question(req->question());
      e->set_operator_(req->operator_());
      std::optional<FeedAppend> item;
      if (unit)
        item = FeedAppend{agency, env.event_id(),
                          workItem(*rec, v1::DISPATCH_KIND_UNIT_PROGRESS, unit_id,
                                   domain::unitProgressNote("question", req->question()),
                                   domain::parseState(rec->state))};
      auto commit = store_.ask(*rec, env, item);
      if (commit == AssignmentStore::Commit::Conflict) continue;
      if (commit == AssignmentStore::Commit::Repeated) {  // the same request, at the same time
        resp->set_question_id(question_id);
        return grpc::Status::OK;
      }
      metrics_.actions.Add({{"agency", agency}, {"action", "reporter-asked"}}).Increment();
      log_.info("question to the reporter recorded", {{"complaint_id", rec->complaint_id},
                                                      {"trace_id", rec->trace_id},
                                                      {"agency", agency},
                                                      {"unit", unit_id}});
      // The question is kept in the outbox and produced by its next pass, so the call has
      // succeeded either way; a retry with the request id answers the same question_id.
      if (commit == AssignmentStore::Commit::Pending)
        log_.warn("question kept in the outbox until the event log takes it",
                  {{"complaint_id", rec->complaint_id}, {"event_id", env.event_id()}});
      resp->set_question_id(env.event_id());
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::ABORTED, "assignment changed concurrently; retry");
  } catch (const redis::RedisError&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "assignment store unavailable");
  }
}

}  // namespace lapor::notification
