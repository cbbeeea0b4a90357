// Ids here are derived from the cause (event id or command id), so a replay after a crash
// produces the same event ids and assignment ids; stored outputs make it the same bytes.
#include "routing_handler.h"

#include "events/envelope.h"

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

std::optional<v1::RoutingState> RoutingStore::state(const std::string& complaint_id) {
  auto r = redis_.command({"GET", redis_.key("routing:state:" + complaint_id)});
  if (r.isNil()) return std::nullopt;
  v1::RoutingState s;
  if (!s.ParseFromString(r.str))
    throw redis::RedisError("routing state of " + complaint_id + " does not parse");
  return s;
}

std::optional<v1::RoutingOutputs> RoutingStore::outputs(const std::string& cause_id) {
  auto r = redis_.command({"GET", redis_.key("routing:out:" + cause_id)});
  if (r.isNil()) return std::nullopt;
  v1::RoutingOutputs o;
  if (!o.ParseFromString(r.str))
    throw redis::RedisError("routing outputs of " + cause_id + " do not parse");
  return o;
}

void RoutingStore::save(const std::string& complaint_id, const v1::RoutingState& state,
                        const std::string& cause_id, const v1::RoutingOutputs& outputs) {
  // One script: the state and the outputs that go with it are never seen one without the other.
  static const std::string kScript =
      "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])\n"
      "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
      "return 1";
  redis_.eval(
      kScript, {redis_.key("routing:state:" + complaint_id), redis_.key("routing:out:" + cause_id)},
      {state.SerializeAsString(), outputs.SerializeAsString(), std::to_string(ttl_.count())});
}

namespace {
std::vector<kafka::OutMessage> toMessages(const v1::RoutingOutputs& o) {
  std::vector<kafka::OutMessage> out;
  for (const auto& item : o.items()) {
    v1::EventEnvelope env;
    env.ParseFromString(item.envelope());
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

kafka::TransformResult RoutingHandler::apply(
    const kafka::Message& msg, const std::string& cause_id, const std::string& complaint_id,
    const std::function<Decision(const std::optional<v1::RoutingState>&)>& decide) {
  if (auto stored = store_.outputs(cause_id)) {
    // Decided before. The same message again: its transaction did not commit, send the same
    // outputs. The same cause in a later message (a producer's retry, a repeated Assign): the
    // outputs are already out, send nothing.
    const bool replay = stored->source_topic() == msg.topic &&
                        stored->source_partition() == msg.partition &&
                        stored->source_offset() == msg.offset;
    return kafka::TransformResult::done(replay ? toMessages(*stored)
                                               : std::vector<kafka::OutMessage>{});
  }
  auto decision = decide(store_.state(complaint_id));
  if (decision.refusal)
    return kafka::TransformResult::deadLetter(decision.refusal->reason, decision.refusal->detail);
  if (!decision.effects) return kafka::TransformResult::done();
  const auto& fx = *decision.effects;
  v1::RoutingOutputs outputs;
  outputs.set_source_topic(msg.topic);
  outputs.set_source_partition(msg.partition);
  outputs.set_source_offset(msg.offset);
  for (const auto& [topic, env] : fx.out) {
    auto* item = outputs.add_items();
    item->set_topic(topic);
    item->set_envelope(env.SerializeAsString());
  }
  store_.save(complaint_id, fx.state, cause_id, outputs);
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
  log_.info("complaint routed", {{"complaint_id", complaint_id},
                                 {"cause", cause_id},
                                 {"outcome", fx.outcome},
                                 {"rule", fx.state.rule_id()},
                                 {"rules_version", fx.state.rules_version()},
                                 {"agencies", agencies}});
  return kafka::TransformResult::done(toMessages(outputs));
}

kafka::TransformResult RoutingHandler::handle(const kafka::Message& msg) {
  const auto now = clock_.nowMs();
  if (msg.topic == kCommandsTopic) {
    v1::RoutingCommand cmd;
    if (!cmd.ParseFromString(msg.value) || cmd.command_id().empty() ||
        cmd.request().complaint_id().empty())
      return kafka::TransformResult::deadLetter("undecodable", "not a RoutingCommand");
    auto rules = rules_.get();
    return apply(msg, cmd.command_id(), cmd.request().complaint_id(), [&](const auto& state) {
      if (state && !state->triage())
        return Decision{std::nullopt, Refusal{"not-triaged", "complaint is not in triage"}};
      return router_.assign(*rules, state, cmd, now);
    });
  }
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope) return kafka::TransformResult::deadLetter("undecodable", decoded.error);
  const auto& env = *decoded.envelope;
  auto rules = rules_.get();
  switch (env.event_case()) {
    case v1::EventEnvelope::kSubmitted:
      return apply(msg, env.event_id(), env.complaint_id(), [&](const auto& state) {
        // Already routed under another event id (a resubmission): routing twice is the one
        // thing this service must never do.
        if (state) return Decision{};
        return router_.submitted(*rules, env, now);
      });
    case v1::EventEnvelope::kRejected:
      return apply(msg, env.event_id(), env.complaint_id(),
                   [&](const auto& state) { return router_.rejected(*rules, state, env, now); });
    case v1::EventEnvelope::kRedispatchRequested:
      return apply(msg, env.event_id(), env.complaint_id(),
                   [&](const auto& state) { return router_.redispatch(state, env, now); });
    default:
      return kafka::TransformResult::done();  // other services' events
  }
}

RoutingAdminService::RoutingAdminService(const RulesHolder& rules,
                                         const agencies::AgencyDirectory& directory,
                                         RoutingStore& store, kafka::MessageSink& commands,
                                         const time::Clock& clock,
                                         std::chrono::milliseconds produce_timeout)
    : rules_(rules),
      directory_(directory),
      store_(store),
      commands_(commands),
      clock_(clock),
      produce_timeout_(produce_timeout) {}

grpc::Status RoutingAdminService::ExplainRoute(grpc::ServerContext*,
                                               const v1::ExplainRouteRequest* req,
                                               v1::ExplainRouteResponse* resp) {
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

grpc::Status RoutingAdminService::ListAgencies(grpc::ServerContext*, const v1::ListAgenciesRequest*,
                                               v1::ListAgenciesResponse* resp) {
  for (const auto& a : directory_.agencies()) {
    auto* out = resp->add_agencies();
    out->set_id(a.id);
    out->set_name(a.name);
    out->set_kind(a.kind);
    out->set_supervisor(a.supervisor);
  }
  return grpc::Status::OK;
}

grpc::Status RoutingAdminService::GetRules(grpc::ServerContext*, const v1::GetRulesRequest*,
                                           v1::GetRulesResponse* resp) {
  auto rules = rules_.get();
  resp->set_version(rules->version());
  resp->set_source(rules->source());
  resp->set_rule_count(static_cast<int32_t>(rules->size()));
  return grpc::Status::OK;
}

grpc::Status RoutingAdminService::Assign(grpc::ServerContext*, const v1::AssignRequest* req,
                                         v1::AssignResponse* resp) {
  using grpc::StatusCode;
  if (req->complaint_id().empty())
    return grpc::Status(StatusCode::INVALID_ARGUMENT, "complaint_id: is required");
  if (req->operator_().empty())
    return grpc::Status(StatusCode::INVALID_ARGUMENT, "operator: is required");
  if (!rules_.get()->knows(req->agency_id()) ||
      req->agency_id() == agencies::AgencyDirectory::kTriage)
    return grpc::Status(StatusCode::INVALID_ARGUMENT,
                        "agency_id: '" + req->agency_id() + "' is not an agency (or is triage)");
  if (req->note().size() > 2000)
    return grpc::Status(StatusCode::INVALID_ARGUMENT, "note: at most 2000 bytes");
  v1::RoutingCommand cmd;
  cmd.set_command_id(
      req->request_id().empty()
          ? events::newUuid()
          : events::nameUuid("assign-request/" + req->complaint_id() + "/" + req->request_id()));
  *cmd.mutable_request() = *req;
  cmd.set_requested_at_ms(clock_.nowMs());
  const auto assignment_id = ComplaintRouter::assignmentIdFor(cmd.command_id(), req->agency_id());
  try {
    // A retried request whose command was already carried out gets the same answer.
    if (!req->request_id().empty() && store_.outputs(cmd.command_id())) {
      resp->set_assignment_id(assignment_id);
      return grpc::Status::OK;
    }
    auto state = store_.state(req->complaint_id());
    if (!state) return grpc::Status(StatusCode::NOT_FOUND, "complaint_id: not routed yet");
    if (!state->triage()) {
      // The first copy of this request may have been carried out between the two reads (state
      // and outputs are saved together): then it is the same answer, not a refusal.
      if (!req->request_id().empty() && store_.outputs(cmd.command_id())) {
        resp->set_assignment_id(assignment_id);
        return grpc::Status::OK;
      }
      return grpc::Status(StatusCode::FAILED_PRECONDITION, "complaint is not in triage");
    }
  } catch (const std::exception& e) {
    return grpc::Status(StatusCode::UNAVAILABLE, std::string("routing state: ") + e.what());
  }
  auto rep = commands_.produceAndWait(
      kafka::OutMessage{kCommandsTopic, req->complaint_id(), cmd.SerializeAsString(), {}},
      produce_timeout_);
  if (!rep.ok) return grpc::Status(StatusCode::UNAVAILABLE, "kafka: " + rep.error);
  resp->set_assignment_id(assignment_id);
  return grpc::Status::OK;
}

}  // namespace lapor::routing
