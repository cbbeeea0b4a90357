// Ids here are derived from the source event, so a replay after a crash produces the same
// event ids and assignment ids, which every consumer drops as repeats.
#include "routing_handler.h"

#include "events/envelope.h"

#include <future>

namespace lapor::routing {

namespace {
constexpr const char* kProducer = "routing";
}

RoutingMetrics::RoutingMetrics(prometheus::Registry& r)
    : routed(prometheus::BuildCounter()
                 .Name("lapor_routing_complaints_routed_total")
                 .Help("Complaints routed, by outcome (rule or triage)")
                 .Register(r)),
      assignments(prometheus::BuildCounter()
                      .Name("lapor_routing_assignments_dispatched_total")
                      .Help("Assignments written to agency dispatch topics, by agency and role")
                      .Register(r)) {}

RoutingHandler::RoutingHandler(const RulesHolder& rules, redis::RedisClient& redis,
                               kafka::MessageSink& out, const time::Clock& clock,
                               log::Logger logger, RoutingMetrics& metrics,
                               std::chrono::milliseconds produce_timeout)
    : rules_(rules),
      redis_(redis),
      out_(out),
      clock_(clock),
      log_(std::move(logger)),
      metrics_(metrics),
      produce_timeout_(produce_timeout) {}

kafka::HandleResult RoutingHandler::handle(const kafka::Message& msg) {
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope) return kafka::HandleResult::deadLetter("undecodable", decoded.error);
  const auto& env = *decoded.envelope;
  if (env.event_case() != v1::EventEnvelope::kSubmitted) return kafka::HandleResult::done();
  const auto& complaint = env.submitted().complaint();
  if (complaint.complaint_id() != env.complaint_id())
    return kafka::HandleResult::deadLetter("invalid", "complaint id differs from envelope");

  const auto done_key = redis_.key("routing:done:" + env.event_id());
  if (redis_.command({"EXISTS", done_key}).integer == 1) return kafka::HandleResult::done();

  auto rules = rules_.get();
  auto decision = rules->route(complaint);
  const auto now = clock_.nowMs();
  auto routed = events::makeEnvelope(kProducer, env.complaint_id(), env.trace_id(), now,
                                     events::nameUuid("routed/" + env.event_id()));
  auto* r = routed.mutable_routed();
  r->set_rule_id(decision.rule_id);
  r->set_rules_version(rules->version());
  r->set_triage(decision.triage);
  r->set_priority(complaint.priority());
  r->set_category(complaint.category());

  std::vector<std::future<kafka::DeliveryReport>> pending;
  for (const auto& t : decision.targets) {
    v1::Assignment a;
    a.set_assignment_id(events::nameUuid("assignment/" + env.event_id() + "/" + t.agency_id));
    a.set_complaint_id(env.complaint_id());
    a.set_agency_id(t.agency_id);
    a.set_role(t.role);
    a.set_state(v1::ASSIGNMENT_STATE_DISPATCHED);
    a.set_dispatched_at_ms(now);
    *r->add_assignments() = a;

    auto dispatched = events::makeEnvelope(kProducer, env.complaint_id(), env.trace_id(), now,
                                           events::nameUuid("dispatched/" + a.assignment_id()));
    auto* item = dispatched.mutable_dispatched()->mutable_item();
    *item->mutable_assignment() = a;
    *item->mutable_complaint() = complaint;
    item->set_rules_version(rules->version());
    pending.push_back(
        out_.produce(events::toMessage(kafka::dispatchTopic(t.agency_id), dispatched)));
  }
  pending.push_back(out_.produce(events::toMessage(kafka::kComplaintsTopic, routed)));
  for (auto& f : pending) {
    auto rep = kafka::awaitReport(f, produce_timeout_);
    if (!rep.ok) return kafka::HandleResult::retry("produce-failed", rep.error);
  }
  redis_.command({"SET", done_key, "1", "EX", "604800"});
  metrics_.routed.Add({{"outcome", decision.triage ? "triage" : "rule"}}).Increment();
  for (const auto& t : decision.targets)
    metrics_.assignments
        .Add({{"agency", t.agency_id},
              {"role", t.role == v1::ASSIGNMENT_ROLE_LEAD ? "lead" : "support"}})
        .Increment();
  std::string agencies;
  for (const auto& t : decision.targets) agencies += (agencies.empty() ? "" : ",") + t.agency_id;
  log_.info("complaint routed", {{"complaint_id", env.complaint_id()},
                                 {"trace_id", env.trace_id()},
                                 {"rule", decision.rule_id},
                                 {"triage", decision.triage},
                                 {"agencies", agencies}});
  return kafka::HandleResult::done();
}

RoutingAdminService::RoutingAdminService(const RulesHolder& rules,
                                         const agencies::AgencyDirectory& directory)
    : rules_(rules), directory_(directory) {}

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

}  // namespace lapor::routing
