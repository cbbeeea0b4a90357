// Routing's edges: lifecycle events (submitted, rejected, redispatch_requested, reopened,
// closed, and the answers a reopen goes back to) and operator commands (Assign, CloseComplaint,
// ReturnToTriage) in -> ComplaintRouter decision -> events out, inside the transaction of the
// consumed message; and the RoutingAdmin gRPC service.
#pragma once

#include "auth/operator_access.h"
#include "domain/complaint_router.h"
#include "domain/rule_set.h"
#include "kafka/message.h"
#include "kafka/transactional_processor.h"
#include "lapor/v1/routing_admin.grpc.pb.h"
#include "log/logger.h"
#include "redis/redis_client.h"
#include "time/clock.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace lapor::routing {

// Operator commands (Assign), keyed by complaint id like the lifecycle topic and created with
// the same partition count, so one member owns both partitions of a complaint.
inline constexpr const char* kCommandsTopic = "lapor.routing.commands.v1";

struct RoutingMetrics {
  explicit RoutingMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& routed;
  prometheus::Family<prometheus::Counter>& assignments;
  prometheus::Family<prometheus::Counter>& reloads;
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

// A stored record that does not parse: not retryable (reading it again gives the same bytes),
// so the message that needs it goes to the dead-letter topic instead of stalling its partition.
class CorruptRecord : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Per-complaint state and per-event outputs in Redis. Both are written together before the
// transaction commits; an event found in the outputs store was decided before (the earlier
// transaction aborted or the process died), and its stored outputs are sent again unchanged.
class RoutingStore {
 public:
  RoutingStore(redis::RedisClient& redis, std::chrono::milliseconds ttl)
      : redis_(redis), ttl_(ttl) {}
  std::optional<v1::RoutingState> state(const std::string& complaint_id);
  std::optional<v1::RoutingOutputs> outputs(const std::string& cause_id);

  // A batch's reads and writes, one round trip each: what `load` returns is parsed with
  // parseOutputs / parseState; the writes are queued into a pipeline and sent with `run`, which
  // throws RedisError when any of them failed.
  struct Key {
    std::string cause_id, complaint_id;
  };
  struct Stored {
    redis::Reply outputs, state;
  };
  std::vector<Stored> load(const std::vector<Key>& keys);
  static std::optional<v1::RoutingOutputs> parseOutputs(const std::string& cause_id,
                                                        const redis::Reply& r);
  static std::optional<v1::RoutingState> parseState(const std::string& complaint_id,
                                                    const redis::Reply& r);
  void addSave(redis::Pipeline& p, const std::string& complaint_id, const v1::RoutingState& state,
               const std::string& cause_id, const v1::RoutingOutputs& outputs);
  void addSaveState(redis::Pipeline& p, const std::string& complaint_id,
                    const v1::RoutingState& state);
  void run(const redis::Pipeline& p);
  // Held reports (VERIFYING, POSTPONED), oldest first; `total` gets the queue's length.
  std::vector<v1::RoutingState> verificationQueue(int64_t offset, int64_t count, int64_t* total);

 private:
  redis::RedisClient& redis_;
  std::chrono::milliseconds ttl_;
};

class RoutingHandler {
 public:
  RoutingHandler(const RulesHolder& rules, RoutingStore& store, const ComplaintRouter& router,
                 const time::Clock& clock, log::Logger logger, RoutingMetrics& metrics);
  kafka::TransformResult handle(const kafka::Message& msg);
  // What one poll returned, one result per message in order: every state and stored output
  // the batch needs read in one round trip, decided in the batch's order (a later event of a
  // complaint on the state an earlier one left), and every write in one round trip before
  // the processor produces the outputs.
  std::vector<kafka::TransformResult> handleBatch(const std::vector<kafka::Message>& batch);

 private:
  // A message that needs routing's store: its cause, its complaint and the decision to take on
  // the complaint's state.
  struct Step {
    size_t index = 0;
    std::string cause_id, complaint_id;
    std::function<Decision(const std::optional<v1::RoutingState>&)> decide;
  };
  using Classified = std::variant<Step, kafka::TransformResult>;
  // The message's result when it needs no state, else its step; `env` / `cmd` receive what
  // was decoded and must outlive the step.
  Classified classify(const kafka::Message& msg, size_t index, const RuleSet& rules, int64_t now,
                      v1::EventEnvelope& env, v1::RoutingCommand& cmd);
  kafka::TransformResult apply(const kafka::Message& msg, const Step& st,
                               const RoutingStore::Stored& stored,
                               std::map<std::string, std::optional<v1::RoutingState>>& states,
                               std::set<std::string>& causes, redis::Pipeline& saves);

  const RulesHolder& rules_;
  RoutingStore& store_;
  const ComplaintRouter& router_;
  const time::Clock& clock_;
  log::Logger log_;
  RoutingMetrics& metrics_;
};

class RoutingAdminService final : public v1::RoutingAdmin::Service {
 public:
  RoutingAdminService(const RulesHolder& rules, const agencies::AgencyDirectory& directory,
                      RoutingStore& store, kafka::MessageSink& commands, const time::Clock& clock,
                      const auth::OperatorAccess& operators,
                      std::chrono::milliseconds produce_timeout);
  grpc::Status ExplainRoute(grpc::ServerContext*, const v1::ExplainRouteRequest* req,
                            v1::ExplainRouteResponse* resp) override;
  grpc::Status ListAgencies(grpc::ServerContext*, const v1::ListAgenciesRequest*,
                            v1::ListAgenciesResponse* resp) override;
  grpc::Status GetRules(grpc::ServerContext*, const v1::GetRulesRequest*,
                        v1::GetRulesResponse* resp) override;
  grpc::Status Assign(grpc::ServerContext*, const v1::AssignRequest* req,
                      v1::AssignResponse* resp) override;
  grpc::Status CloseComplaint(grpc::ServerContext*, const v1::CloseComplaintRequest* req,
                              v1::CloseComplaintResponse* resp) override;
  grpc::Status ReturnToTriage(grpc::ServerContext*, const v1::ReturnToTriageRequest* req,
                              v1::ReturnToTriageResponse* resp) override;
  grpc::Status ListVerificationQueue(grpc::ServerContext*,
                                     const v1::ListVerificationQueueRequest* req,
                                     v1::ListVerificationQueueResponse* resp) override;
  grpc::Status Verify(grpc::ServerContext*, const v1::VerifyRequest* req,
                      v1::VerifyResponse*) override;
  grpc::Status Postpone(grpc::ServerContext*, const v1::PostponeRequest* req,
                        v1::PostponeResponse*) override;
  grpc::Status NotOurs(grpc::ServerContext*, const v1::NotOursRequest* req,
                       v1::NotOursResponse*) override;
  grpc::Status Archive(grpc::ServerContext*, const v1::ArchiveRequest* req,
                       v1::ArchiveResponse*) override;

 private:
  // Checks the complaint's state, then puts the command on the commands topic; a retried
  // request (same request id) whose command was carried out already is answered OK.
  grpc::Status submit(const v1::RoutingCommand& cmd, bool retried);

  const RulesHolder& rules_;
  const agencies::AgencyDirectory& directory_;
  RoutingStore& store_;
  kafka::MessageSink& commands_;
  const time::Clock& clock_;
  const auth::OperatorAccess& operators_;
  std::chrono::milliseconds produce_timeout_;
};

}  // namespace lapor::routing
