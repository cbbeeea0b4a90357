// Ids here are derived from the cause (event id or command id), so a replay after a crash
// produces the same event ids and assignment ids; stored outputs make it the same bytes.
#include "routing_handler.h"

#include "events/envelope.h"
#include "redis/packed_value.h"

#include <map>
#include <regex>
#include <set>

namespace lapor::routing {

RoutingMetrics::RoutingMetrics(prometheus::Registry& r)
    : routed(prometheus::BuildCounter()
                 .Name("lapor_routing_complaints_routed_total")
                 .Help("Routing decisions, by outcome (rule, triage, rerouted, reroute-cap, "
                       "operator, redispatch)")
                 .Register(r)),
      assignments(prometheus::BuildCounter()
                      .Name("lapor_routing_assignments_dispatched_total")
                      .Help("Assignments written to agency dispatch topics, by agency and role")
                      .Register(r)),
      reloads(prometheus::BuildCounter()
                  .Name("lapor_routing_rule_reloads_total")
                  .Help("Rule file reloads, by outcome (applied, refused)")
                  .Register(r)) {}

std::optional<v1::RoutingState> RoutingStore::parseState(const std::string& complaint_id,
                                                         const redis::Reply& r) {
  if (r.isNil()) return std::nullopt;
  v1::RoutingState s;
  if (!redis::parsePacked(s, r.str))
    throw CorruptRecord("routing state of " + complaint_id + " does not parse");
  return s;
}

std::optional<v1::RoutingOutputs> RoutingStore::parseOutputs(const std::string& cause_id,
                                                             const redis::Reply& r) {
  if (r.isNil()) return std::nullopt;
  v1::RoutingOutputs o;
  if (!redis::parsePacked(o, r.str))
    throw CorruptRecord("routing outputs of " + cause_id + " do not parse");
  return o;
}

std::optional<v1::RoutingState> RoutingStore::state(const std::string& complaint_id) {
  return parseState(complaint_id,
                    redis_.command({"GET", redis_.key("routing:state:" + complaint_id)}));
}

std::optional<v1::RoutingOutputs> RoutingStore::outputs(const std::string& cause_id) {
  return parseOutputs(cause_id, redis_.command({"GET", redis_.key("routing:out:" + cause_id)}));
}

std::vector<RoutingStore::Stored> RoutingStore::load(const std::vector<Key>& keys) {
  std::vector<Stored> out;
  if (keys.empty()) return out;
  // One MGET a message: its cause's outputs and its complaint's state.
  redis::Pipeline p;
  for (const auto& k : keys)
    p.command({"MGET", redis_.key("routing:out:" + k.cause_id),
               redis_.key("routing:state:" + k.complaint_id)});
  auto replies = redis_.pipelineOrThrow(p, "routing read");
  for (auto& r : replies) {
    if (r.elements.size() != 2) throw redis::RedisError("redis routing read: not two values");
    out.push_back({std::move(r.elements[0]), std::move(r.elements[1])});
  }
  return out;
}

namespace {
// The verification queue: complaint ids by the time they (re-)entered it, kept in the same
// script as the state, so the queue and the states never disagree.
constexpr const char* kQueueKey = "routing:verification-queue";

bool queued(const v1::RoutingState& s) {
  return !s.closed() && s.verification() != v1::COMPLAINT_STATUS_UNSPECIFIED;
}

const redis::Script& saveStateScript() {
  static const redis::Script s(
      "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
      "if ARGV[3] == '' then redis.call('ZREM', KEYS[2], ARGV[4])\n"
      "else redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4]) end\n"
      "return 1");
  return s;
}

// One script: the state and the outputs that go with it are never seen one without the other.
const redis::Script& saveScript() {
  static const redis::Script s(
      "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])\n"
      "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
      "if ARGV[4] == '' then redis.call('ZREM', KEYS[3], ARGV[5])\n"
      "else redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5]) end\n"
      "return 1");
  return s;
}
}  // namespace

void RoutingStore::addSaveState(redis::Pipeline& p, const std::string& complaint_id,
                                const v1::RoutingState& state) {
  p.eval(saveStateScript(), {redis_.key("routing:state:" + complaint_id), redis_.key(kQueueKey)},
         {redis_.pack(state.SerializeAsString()), std::to_string(ttl_.count()),
          queued(state) ? std::to_string(state.queued_at_ms()) : "", complaint_id});
}

void RoutingStore::addSave(redis::Pipeline& p, const std::string& complaint_id,
                           const v1::RoutingState& state, const std::string& cause_id,
                           const v1::RoutingOutputs& outputs) {
  p.eval(saveScript(),
         {redis_.key("routing:state:" + complaint_id), redis_.key("routing:out:" + cause_id),
          redis_.key(kQueueKey)},
         {redis_.pack(state.SerializeAsString()),
          redis_.pack(outputs.SerializeAsString()), std::to_string(ttl_.count()),
          queued(state) ? std::to_string(state.queued_at_ms()) : "", complaint_id});
}

void RoutingStore::run(const redis::Pipeline& p) {
  redis_.pipelineOrThrow(p, "routing write");
}

std::vector<v1::RoutingState> RoutingStore::verificationQueue(int64_t offset, int64_t count,
                                                              int64_t* total) {
  auto ids = redis_.command({"ZRANGE", redis_.key(kQueueKey), std::to_string(offset),
                             std::to_string(offset + count - 1)});
  if (total) *total = redis_.command({"ZCARD", redis_.key(kQueueKey)}).integer;
  std::vector<v1::RoutingState> out;
  if (ids.elements.empty()) return out;
  // The page's states in one round trip, not one GET per report.
  std::vector<std::string> mget{"MGET"};
  for (const auto& id : ids.elements) mget.push_back(redis_.key("routing:state:" + id.str));
  auto states = redis_.command(mget);
  for (size_t i = 0; i < states.elements.size() && i < ids.elements.size(); ++i) {
    if (states.elements[i].isNil()) continue;  // expired with its TTL
    auto st = parseState(ids.elements[i].str, states.elements[i]);
    if (queued(*st)) out.push_back(std::move(*st));
  }
  return out;
}

namespace {
// A new assignment of an EMERGENCY complaint is also written to the emergency lane, which
// notification reads ahead of the dispatch topics (kafka::kEmergencyDispatchTopic).
bool takesEmergencyLane(const std::string& topic, const v1::EventEnvelope& env) {
  if (!kafka::isDispatchTopic(topic) || !env.has_dispatched()) return false;
  const auto& item = env.dispatched().item();
  return (item.kind() == v1::DISPATCH_KIND_NEW || item.kind() == v1::DISPATCH_KIND_UNSPECIFIED) &&
         item.complaint().priority() == v1::PRIORITY_EMERGENCY;
}

// The messages of stored outputs, the emergency lane's copies included: they are derived here,
// not stored, so a replay writes them again and the stored outputs keep their size.
std::vector<kafka::OutMessage> toMessages(const v1::RoutingOutputs& o) {
  std::vector<kafka::OutMessage> out;
  for (const auto& item : o.items()) {
    v1::EventEnvelope env;
    env.ParseFromString(item.envelope());
    if (takesEmergencyLane(item.topic(), env))
      out.push_back(events::toMessage(kafka::kEmergencyDispatchTopic, env));
    out.push_back(events::toMessage(item.topic(), env));
  }
  return out;
}
}  // namespace

RoutingHandler::RoutingHandler(const RulesHolder& rules, RoutingStore& store,
                               const ComplaintRouter& router, const time::Clock& clock,
                               log::Logger logger, RoutingMetrics& metrics)
    : rules_(rules),
      store_(store),
      router_(router),
      clock_(clock),
      log_(std::move(logger)),
      metrics_(metrics) {}

kafka::TransformResult RoutingHandler::handle(const kafka::Message& msg) {
  return handleBatch({msg}).at(0);
}

std::vector<kafka::TransformResult> RoutingHandler::handleBatch(
    const std::vector<kafka::Message>& batch) {
  const auto now = clock_.nowMs();
  const auto rules = rules_.get();
  std::vector<std::optional<kafka::TransformResult>> results(batch.size());
  // Decoded once and kept for the whole batch: the steps' decisions refer to them.
  std::vector<v1::EventEnvelope> envs(batch.size());
  std::vector<v1::RoutingCommand> cmds(batch.size());
  std::vector<Step> steps;
  for (size_t i = 0; i < batch.size(); ++i) {
    auto c = classify(batch[i], i, *rules, now, envs[i], cmds[i]);
    if (auto* step = std::get_if<Step>(&c))
      steps.push_back(std::move(*step));
    else
      results[i] = std::move(std::get<kafka::TransformResult>(c));
  }
  // Every step's stored outputs and state in one round trip.
  std::vector<RoutingStore::Key> keys;
  for (const auto& st : steps) keys.push_back({st.cause_id, st.complaint_id});
  const auto stored = store_.load(keys);
  // Decided in this batch: a later message of the same complaint decides on the state an
  // earlier one left, and a cause seen twice is decided once.
  std::map<std::string, std::optional<v1::RoutingState>> states;
  std::set<std::string> causes;
  redis::Pipeline saves;
  for (size_t k = 0; k < steps.size(); ++k) {
    const auto& st = steps[k];
    const auto& msg = batch[st.index];
    try {
      results[st.index] = apply(msg, st, stored[k], states, causes, saves);
    } catch (const CorruptRecord& e) {
      log_.error("stored routing record unreadable, message dead-lettered",
                 {{"topic", msg.topic}, {"offset", msg.offset}, {"error", e.what()}});
      results[st.index] = kafka::TransformResult::deadLetter("corrupt-state", e.what());
    }
  }
  // The batch's states and outputs, written before any of its outputs is produced.
  store_.run(saves);
  std::vector<kafka::TransformResult> out;
  out.reserve(batch.size());
  for (auto& r : results) out.push_back(r ? std::move(*r) : kafka::TransformResult::done());
  return out;
}

kafka::TransformResult RoutingHandler::apply(
    const kafka::Message& msg, const Step& st, const RoutingStore::Stored& stored,
    std::map<std::string, std::optional<v1::RoutingState>>& states,
    std::set<std::string>& causes, redis::Pipeline& saves) {
  const auto& cause_id = st.cause_id;
  const auto& complaint_id = st.complaint_id;
  // The same cause earlier in this batch (a producer's retry, a repeated Assign): decided.
  if (causes.contains(cause_id)) return kafka::TransformResult::done();
  if (auto prior = RoutingStore::parseOutputs(cause_id, stored.outputs)) {
    // Decided before. The same message again: its transaction did not commit, send the same
    // outputs. The same cause in a later message (a producer's retry, a repeated Assign): the
    // outputs are already out, send nothing.
    const bool replay = prior->source_topic() == msg.topic &&
                        prior->source_partition() == msg.partition &&
                        prior->source_offset() == msg.offset;
    causes.insert(cause_id);
    return kafka::TransformResult::done(replay ? toMessages(*prior)
                                               : std::vector<kafka::OutMessage>{});
  }
  auto known = states.find(complaint_id);
  const auto state = known != states.end()
                         ? known->second
                         : RoutingStore::parseState(complaint_id, stored.state);
  auto decision = st.decide(state);
  if (decision.refusal)
    return kafka::TransformResult::deadLetter(decision.refusal->reason, decision.refusal->detail);
  if (!decision.effects) return kafka::TransformResult::done();
  const auto& fx = *decision.effects;
  states[complaint_id] = fx.state;
  if (fx.out.empty()) {
    // Only what routing remembers changed (an answer, a close with nothing left to take
    // back): a replay sets it again, so there are no outputs to keep.
    store_.addSaveState(saves, complaint_id, fx.state);
    return kafka::TransformResult::done();
  }
  causes.insert(cause_id);
  v1::RoutingOutputs outputs;
  outputs.set_source_topic(msg.topic);
  outputs.set_source_partition(msg.partition);
  outputs.set_source_offset(msg.offset);
  for (const auto& [topic, env] : fx.out) {
    auto* item = outputs.add_items();
    item->set_topic(topic);
    item->set_envelope(env.SerializeAsString());
  }
  store_.addSave(saves, complaint_id, fx.state, cause_id, outputs);
  metrics_.routed.Add({{"outcome", fx.outcome}}).Increment();
  std::string agencies;
  for (const auto& [topic, env] : fx.out) {
    if (!env.has_dispatched() || topic == kafka::kComplaintsTopic) continue;
    const auto& a = env.dispatched().item().assignment();
    agencies += (agencies.empty() ? "" : ",") + a.agency_id();
    metrics_.assignments
        .Add({{"agency", a.agency_id()},
              {"role", a.role() == v1::ASSIGNMENT_ROLE_LEAD ? "lead" : "support"}})
        .Increment();
  }
  log_.debug("complaint routed", {{"complaint_id", complaint_id},
                                 {"cause", cause_id},
                                 {"outcome", fx.outcome},
                                 {"rule", fx.state.rule_id()},
                                 {"rules_version", fx.state.rules_version()},
                                 {"agencies", agencies}});
  return kafka::TransformResult::done(toMessages(outputs));
}

RoutingHandler::Classified RoutingHandler::classify(const kafka::Message& msg, size_t index,
                                                   const RuleSet& rules, int64_t now,
                                                   v1::EventEnvelope& env,
                                                   v1::RoutingCommand& cmd) {
  const auto finish = [](kafka::TransformResult r) { return Classified(std::move(r)); };
  if (msg.topic == kCommandsTopic) {
    if (!cmd.ParseFromString(msg.value) || cmd.command_id().empty() ||
        ComplaintRouter::complaintOf(cmd).empty())
      return finish(kafka::TransformResult::deadLetter("undecodable", "not a RoutingCommand"));
    return Step{index, cmd.command_id(), ComplaintRouter::complaintOf(cmd),
                [this, &rules, &cmd, now](const auto& state) {
                  return router_.command(rules, state, cmd, now);
                }};
  }
  // The events of the switch below; the others (most of the topic) are passed by undecoded.
  if (events::passBy(msg, {"submitted", "rejected", "redispatch_requested", "reopened",
                           "resolved", "status_updated", "closed", "reporter_answered"}))
    return finish(kafka::TransformResult::done());
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope)
    return finish(kafka::TransformResult::deadLetter("undecodable", decoded.error));
  env = std::move(*decoded.envelope);
  const auto on = [&](std::function<Decision(const std::optional<v1::RoutingState>&)> decide) {
    return Classified(Step{index, env.event_id(), env.complaint_id(), std::move(decide)});
  };
  const auto* e = &env;
  switch (env.event_case()) {
    case v1::EventEnvelope::kSubmitted:
      return on([this, &rules, e, now](const auto& state) {
        // Already routed under another event id (a resubmission): routing twice is the one
        // thing this service must never do.
        if (state) return Decision{};
        return router_.submitted(rules, *e, now);
      });
    case v1::EventEnvelope::kRejected:
      return on([this, &rules, e, now](const auto& state) {
        return router_.rejected(rules, state, *e, now);
      });
    case v1::EventEnvelope::kRedispatchRequested:
      return on([this, e, now](const auto& state) { return router_.redispatch(state, *e, now); });
    case v1::EventEnvelope::kReopened:
      return on([this, e, now](const auto& state) { return router_.reopened(state, *e, now); });
    case v1::EventEnvelope::kResolved:
      return on([this, e](const auto& state) { return router_.answered(state, *e); });
    case v1::EventEnvelope::kStatusUpdated:
      if (env.status_updated().state() != v1::ASSIGNMENT_STATE_RESPONDED)
        return finish(kafka::TransformResult::done());
      return on([this, e](const auto& state) { return router_.answered(state, *e); });
    case v1::EventEnvelope::kClosed:
      return on([this, e, now](const auto& state) { return router_.closed(state, *e, now); });
    case v1::EventEnvelope::kReporterAnswered:
      return on([this, e](const auto& state) { return router_.reporterAnswered(state, *e); });
    default:
      return finish(kafka::TransformResult::done());  // other services' events
  }
}

RoutingAdminService::RoutingAdminService(const RulesHolder& rules,
                                         const agencies::AgencyDirectory& directory,
                                         RoutingStore& store, kafka::MessageSink& commands,
                                         const time::Clock& clock,
                                         const auth::OperatorAccess& operators,
                                         std::chrono::milliseconds produce_timeout)
    : rules_(rules),
      directory_(directory),
      store_(store),
      commands_(commands),
      clock_(clock),
      operators_(operators),
      produce_timeout_(produce_timeout) {}

grpc::Status RoutingAdminService::ExplainRoute(grpc::ServerContext* ctx,
                                               const v1::ExplainRouteRequest* req,
                                               v1::ExplainRouteResponse* resp) {
  if (auto s = operators_.authorize(*ctx, auth::Role::Auditor, "ExplainRoute"); !s.ok()) return s;
  if (req->draft().category().empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "draft.category: is required");
  auto rules = rules_.get();
  auto d = rules->route(req->draft());
  resp->set_rule_id(d.rule_id);
  resp->set_triage(d.triage);
  resp->set_rules_version(rules->version());
  for (const auto& t : d.targets) {
    auto* a = resp->add_agencies();
    a->set_agency_id(t.agency_id);
    a->set_role(t.role);
  }
  return grpc::Status::OK;
}

grpc::Status RoutingAdminService::ListAgencies(grpc::ServerContext* ctx,
                                               const v1::ListAgenciesRequest*,
                                               v1::ListAgenciesResponse* resp) {
  if (auto s = operators_.authorize(*ctx, auth::Role::Auditor, "ListAgencies"); !s.ok()) return s;
  for (const auto& a : directory_.agencies()) {
    auto* out = resp->add_agencies();
    out->set_id(a.id);
    out->set_name(a.name);
    out->set_kind(a.kind);
    out->set_supervisor(a.supervisor);
  }
  return grpc::Status::OK;
}

grpc::Status RoutingAdminService::GetRules(grpc::ServerContext* ctx, const v1::GetRulesRequest*,
                                           v1::GetRulesResponse* resp) {
  if (auto s = operators_.authorize(*ctx, auth::Role::Auditor, "GetRules"); !s.ok()) return s;
  auto rules = rules_.get();
  resp->set_version(rules->version());
  resp->set_source(rules->source());
  resp->set_rule_count(static_cast<int32_t>(rules->size()));
  return grpc::Status::OK;
}

namespace {
grpc::Status invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// The command id of a request: derived from its request id (a retry is the same command) or new.
std::string commandId(const std::string& kind, const std::string& complaint_id,
                      const std::string& request_id) {
  return request_id.empty() ? events::newUuid()
                            : events::nameUuid(kind + "/" + complaint_id + "/" + request_id);
}

// The tracking id form intake hands out: LPR-XXXX-XXXX-C in Crockford base32.
bool looksLikeTrackingId(const std::string& s) {
  static const std::regex re("^LPR-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U]$");
  return std::regex_match(s, re);
}
}  // namespace

grpc::Status RoutingAdminService::submit(const v1::RoutingCommand& cmd, bool retried) {
  using grpc::StatusCode;
  const auto& complaint_id = ComplaintRouter::complaintOf(cmd);
  try {
    // A retried request whose command was already carried out gets the same answer.
    if (retried && store_.outputs(cmd.command_id())) return grpc::Status::OK;
    auto state = store_.state(complaint_id);
    if (!state) return grpc::Status(StatusCode::NOT_FOUND, "complaint_id: not routed yet");
    if (auto why = ComplaintRouter::refusalOf(*state, cmd); !why.empty()) {
      // The first copy of this request may have been carried out between the two reads (state
      // and outputs are saved together): then it is the same answer, not a refusal.
      if (retried && store_.outputs(cmd.command_id())) return grpc::Status::OK;
      return grpc::Status(StatusCode::FAILED_PRECONDITION, why);
    }
  } catch (const std::exception& e) {
    return grpc::Status(StatusCode::UNAVAILABLE, std::string("routing state: ") + e.what());
  }
  auto rep = commands_.produceAndWait(
      kafka::OutMessage{kCommandsTopic, complaint_id, cmd.SerializeAsString(), {}},
      produce_timeout_);
  if (!rep.ok) return grpc::Status(StatusCode::UNAVAILABLE, "kafka: " + rep.error);
  return grpc::Status::OK;
}

grpc::Status RoutingAdminService::Assign(grpc::ServerContext* ctx, const v1::AssignRequest* req,
                                         v1::AssignResponse* resp) {
  auth::OperatorInfo caller;
  if (auto s = operators_.authorize(*ctx, auth::Role::Operator, "Assign", &caller); !s.ok())
    return s;
  if (req->complaint_id().empty()) return invalid("complaint_id: is required");
  if (!rules_.get()->knows(req->agency_id()) ||
      req->agency_id() == agencies::AgencyDirectory::kTriage)
    return invalid("agency_id: '" + req->agency_id() + "' is not an agency (or is triage)");
  if (req->note().size() > 2000) return invalid("note: at most 2000 bytes");
  v1::RoutingCommand cmd;
  cmd.set_command_id(commandId("assign-request", req->complaint_id(), req->request_id()));
  *cmd.mutable_request() = *req;
  // Who decided: the name given, else the operator the credential belongs to.
  if (req->operator_().empty()) cmd.mutable_request()->set_operator_(caller.id);
  cmd.set_requested_at_ms(clock_.nowMs());
  auto s = submit(cmd, !req->request_id().empty());
  if (s.ok())
    resp->set_assignment_id(ComplaintRouter::assignmentIdFor(cmd.command_id(), req->agency_id()));
  return s;
}

grpc::Status RoutingAdminService::CloseComplaint(grpc::ServerContext* ctx,
                                                 const v1::CloseComplaintRequest* req,
                                                 v1::CloseComplaintResponse*) {
  auth::OperatorInfo caller;
  if (auto s = operators_.authorize(*ctx, auth::Role::Operator, "CloseComplaint", &caller);
      !s.ok())
    return s;
  const auto& code = req->reason_code();
  if (req->complaint_id().empty()) return invalid("complaint_id: is required");
  if (code != "spam" && code != "out-of-scope" && code != "duplicate" &&
      code != "insufficient-information")
    return invalid("reason_code: must be spam, out-of-scope, duplicate or insufficient-information");
  if (code == "duplicate" && !looksLikeTrackingId(req->duplicate_of()))
    return invalid("duplicate_of: the tracking id (LPR-XXXX-XXXX-C) of the complaint it repeats "
                   "is required for a duplicate");
  if (code != "duplicate" && !req->duplicate_of().empty())
    return invalid("duplicate_of: only for reason_code duplicate");
  if (code == "insufficient-information" && req->note().empty())
    return invalid("note: say what is missing (the reporter sees it)");
  if (req->note().size() > 2000) return invalid("note: at most 2000 bytes");
  v1::RoutingCommand cmd;
  cmd.set_command_id(commandId("close-request", req->complaint_id(), req->request_id()));
  *cmd.mutable_close() = *req;
  if (req->operator_().empty()) cmd.mutable_close()->set_operator_(caller.id);
  cmd.set_requested_at_ms(clock_.nowMs());
  return submit(cmd, !req->request_id().empty());
}

grpc::Status RoutingAdminService::ReturnToTriage(grpc::ServerContext* ctx,
                                                 const v1::ReturnToTriageRequest* req,
                                                 v1::ReturnToTriageResponse* resp) {
  auth::OperatorInfo caller;
  if (auto s = operators_.authorize(*ctx, auth::Role::Supervisor, "ReturnToTriage", &caller);
      !s.ok())
    return s;
  if (req->complaint_id().empty()) return invalid("complaint_id: is required");
  if (req->note().empty()) return invalid("note: say why it goes back to the triage desk");
  if (req->note().size() > 2000) return invalid("note: at most 2000 bytes");
  v1::RoutingCommand cmd;
  cmd.set_command_id(commandId("return-request", req->complaint_id(), req->request_id()));
  *cmd.mutable_return_to_triage() = *req;
  if (req->operator_().empty()) cmd.mutable_return_to_triage()->set_operator_(caller.id);
  cmd.set_requested_at_ms(clock_.nowMs());
  auto s = submit(cmd, !req->request_id().empty());
  if (s.ok())
    resp->set_assignment_id(ComplaintRouter::assignmentIdFor(cmd.command_id(),
                                                             agencies::AgencyDirectory::kTriage));
  return s;
}

grpc::Status RoutingAdminService::ListVerificationQueue(
    grpc::ServerContext* ctx, const v1::ListVerificationQueueRequest* req,
    v1::ListVerificationQueueResponse* resp) {
  if (auto s = operators_.authorize(*ctx, auth::Role::Operator, "ListVerificationQueue"); !s.ok())
    return s;
  const int size = req->page_size() == 0 ? 50 : req->page_size();
  if (size < 1 || size > 500) return invalid("page_size: must be 1..500");
  int64_t offset = 0;
  if (!req->page_token().empty()) {
    const auto& t = req->page_token();
    if (t.size() > 12 || t.find_first_not_of("0123456789") != std::string::npos)
      return invalid("page_token: not a token this call returned");
    offset = std::stoll(t);
  }
  try {
    int64_t total = 0;
    for (auto& st : store_.verificationQueue(offset, size, &total)) {
      auto* r = resp->add_reports();
      *r->mutable_complaint() = st.complaint();
      r->set_queued_at_ms(st.queued_at_ms());
      r->set_reporter_answer(st.reporter_answer());
      r->set_status(st.verification());
    }
    if (offset + size < total) resp->set_next_page_token(std::to_string(offset + size));
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string("routing state: ") + e.what());
  }
  return grpc::Status::OK;
}

namespace {
// Who decided: the name given, else the operator the credential belongs to.
void fillOperator(std::string* op, const auth::OperatorInfo& caller) {
  if (op->empty()) *op = caller.id;
}
}  // namespace

grpc::Status RoutingAdminService::Verify(grpc::ServerContext* ctx, const v1::VerifyRequest* req,
                                         v1::VerifyResponse*) {
  auth::OperatorInfo caller;
  if (auto s = operators_.authorize(*ctx, auth::Role::Operator, "Verify", &caller); !s.ok())
    return s;
  if (req->complaint_id().empty()) return invalid("complaint_id: is required");
  if (req->title().size() > 200) return invalid("title: at most 200 bytes");
  if (req->description().size() > 4000) return invalid("description: at most 4000 bytes");
  if (req->note().size() > 2000) return invalid("note: at most 2000 bytes");
  if (!v1::ReportType_IsValid(req->report_type()))
    return invalid("report_type: not a known report type");
  v1::RoutingCommand cmd;
  cmd.set_command_id(commandId("verify-request", req->complaint_id(), req->request_id()));
  *cmd.mutable_verify() = *req;
  fillOperator(cmd.mutable_verify()->mutable_operator_(), caller);
  cmd.set_requested_at_ms(clock_.nowMs());
  return submit(cmd, !req->request_id().empty());
}

grpc::Status RoutingAdminService::Postpone(grpc::ServerContext* ctx,
                                           const v1::PostponeRequest* req, v1::PostponeResponse*) {
  auth::OperatorInfo caller;
  if (auto s = operators_.authorize(*ctx, auth::Role::Operator, "Postpone", &caller); !s.ok())
    return s;
  if (req->complaint_id().empty()) return invalid("complaint_id: is required");
  if (req->question().empty()) return invalid("question: say what the reporter must add");
  if (req->question().size() > 2000) return invalid("question: at most 2000 bytes");
  v1::RoutingCommand cmd;
  cmd.set_command_id(commandId("postpone-request", req->complaint_id(), req->request_id()));
  *cmd.mutable_postpone() = *req;
  fillOperator(cmd.mutable_postpone()->mutable_operator_(), caller);
  cmd.set_requested_at_ms(clock_.nowMs());
  return submit(cmd, !req->request_id().empty());
}

grpc::Status RoutingAdminService::NotOurs(grpc::ServerContext* ctx, const v1::NotOursRequest* req,
                                          v1::NotOursResponse*) {
  auth::OperatorInfo caller;
  if (auto s = operators_.authorize(*ctx, auth::Role::Operator, "NotOurs", &caller); !s.ok())
    return s;
  if (req->complaint_id().empty()) return invalid("complaint_id: is required");
  if (req->forward_to().empty())
    return invalid("forward_to: name the body the report belongs to");
  if (req->forward_to().size() > 200) return invalid("forward_to: at most 200 bytes");
  if (req->note().size() > 2000) return invalid("note: at most 2000 bytes");
  v1::RoutingCommand cmd;
  cmd.set_command_id(commandId("not-ours-request", req->complaint_id(), req->request_id()));
  *cmd.mutable_not_ours() = *req;
  fillOperator(cmd.mutable_not_ours()->mutable_operator_(), caller);
  cmd.set_requested_at_ms(clock_.nowMs());
  return submit(cmd, !req->request_id().empty());
}

grpc::Status RoutingAdminService::Archive(grpc::ServerContext* ctx, const v1::ArchiveRequest* req,
                                          v1::ArchiveResponse*) {
  auth::OperatorInfo caller;
  if (auto s = operators_.authorize(*ctx, auth::Role::Operator, "Archive", &caller); !s.ok())
    return s;
  if (req->complaint_id().empty()) return invalid("complaint_id: is required");
  if (req->reason().empty()) return invalid("reason: say why (the reporter sees it)");
  if (req->reason().size() > 2000) return invalid("reason: at most 2000 bytes");
  v1::RoutingCommand cmd;
  cmd.set_command_id(commandId("archive-request", req->complaint_id(), req->request_id()));
  *cmd.mutable_archive() = *req;
  fillOperator(cmd.mutable_archive()->mutable_operator_(), caller);
  cmd.set_requested_at_ms(clock_.nowMs());
  return submit(cmd, !req->request_id().empty());
}

}  // namespace lapor::routing
