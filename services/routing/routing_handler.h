// Routing's edges: ComplaintSubmitted in -> rule decision -> ComplaintRouted on the lifecycle
// topic and one AssignmentDispatched per agency on its dispatch topic; and RoutingAdmin.
#pragma once

#include "domain/rule_set.h"
#include "kafka/message.h"
#include "lapor/v1/routing_admin.grpc.pb.h"
#include "log/logger.h"
#include "redis/redis_client.h"
#include "time/clock.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <mutex>

namespace lapor::routing {

struct RoutingMetrics {
  explicit RoutingMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& routed;
  prometheus::Family<prometheus::Counter>& assignments;
};

// The rules in force; replaced whole on reload so a routing decision never sees half a file.
class RulesHolder {
 public:
  explicit RulesHolder(std::shared_ptr<const RuleSet> rules) : rules_(std::move(rules)) {}
  std::shared_ptr<const RuleSet> get() const {
    std::lock_guard lk(mu_);
    return rules_;
  }
  void set(std::shared_ptr<const RuleSet> r) {
    std::lock_guard lk(mu_);
    rules_ = std::move(r);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const RuleSet> rules_;
};

class RoutingHandler {
 public:
  RoutingHandler(const RulesHolder& rules, redis::RedisClient& redis, kafka::MessageSink& out,
                 const time::Clock& clock, log::Logger logger, RoutingMetrics& metrics,
                 std::chrono::milliseconds produce_timeout);
  kafka::HandleResult handle(const kafka::Message& msg);

 private:
  const RulesHolder& rules_;
  redis::RedisClient& redis_;
  kafka::MessageSink& out_;
  const time::Clock& clock_;
  log::Logger log_;
  RoutingMetrics& metrics_;
  std::chrono::milliseconds produce_timeout_;
};

class RoutingAdminService final : public v1::RoutingAdmin::Service {
 public:
  RoutingAdminService(const RulesHolder& rules, const agencies::AgencyDirectory& directory);
  grpc::Status ExplainRoute(grpc::ServerContext*, const v1::ExplainRouteRequest* req,
                            v1::ExplainRouteResponse* resp) override;
  grpc::Status ListAgencies(grpc::ServerContext*, const v1::ListAgenciesRequest*,
                            v1::ListAgenciesResponse* resp) override;
  grpc::Status GetRules(grpc::ServerContext*, const v1::GetRulesRequest*,
                        v1::GetRulesResponse* resp) override;

 private:
  const RulesHolder& rules_;
  const agencies::AgencyDirectory& directory_;
};

}  // namespace lapor::routing
