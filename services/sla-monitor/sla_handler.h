// SLA monitor edges: lifecycle events in -> obligations and timers in Redis; a scheduler that
// fires due timers exactly once (SlaWarning / SlaBreached out); SlaService queries.
#pragma once

#include "domain/sla_policy.h"
#include "kafka/message.h"
#include "lapor/v1/sla.grpc.pb.h"
#include "log/logger.h"
#include "redis/redis_client.h"
#include "time/clock.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace lapor::sla {

struct SlaMetrics {
  explicit SlaMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& started;
  prometheus::Family<prometheus::Counter>& met;
  prometheus::Family<prometheus::Counter>& warnings;
  prometheus::Family<prometheus::Counter>& breaches;
};

// Obligations and their timers in Redis. Every change is one Lua script, so two monitors and a
// restart in the middle never leave an obligation half-written.
class ObligationStore {
 public:
  explicit ObligationStore(redis::RedisClient& redis) : redis_(redis) {}
  bool start(const ObligationStart& o, const std::string& trace_id);  // false: existed already
  bool end(const std::string& obligation_id, int64_t now_ms);         // false: was not open
  // Claims due timers (and ones whose claimer died) for `lease`; members are "<id>|warn|breach".
  std::vector<std::string> claimDue(int64_t now_ms, std::chrono::milliseconds lease, int limit);
  void complete(const std::string& member, int64_t now_ms);
  std::vector<v1::Obligation> forComplaint(const std::string& complaint_id);
  std::optional<v1::Obligation> get(const std::string& obligation_id, std::string* trace_id);

 private:
  redis::RedisClient& redis_;
};

class LifecycleHandler {
 public:
  LifecycleHandler(ObligationStore& store, const SlaPolicy& policy, const time::Clock& clock,
                   log::Logger logger, SlaMetrics& metrics);
  kafka::HandleResult handle(const kafka::Message& msg);

 private:
  ObligationStore& store_;
  const SlaPolicy& policy_;
  const time::Clock& clock_;
  log::Logger log_;
  SlaMetrics& metrics_;
};

class TimerScheduler {
 public:
  TimerScheduler(ObligationStore& store, kafka::MessageSink& events, const time::Clock& clock,
                 log::Logger logger, SlaMetrics& metrics, std::chrono::milliseconds tick,
                 std::chrono::milliseconds produce_timeout);
  ~TimerScheduler();
  void start();
  void stop();
  // One pass: claim what is due and fire it. Returns how many events were emitted.
  int fireDue();

 private:
  ObligationStore& store_;
  kafka::MessageSink& events_;
  const time::Clock& clock_;
  log::Logger log_;
  SlaMetrics& metrics_;
  std::chrono::milliseconds tick_;
  std::chrono::milliseconds produce_timeout_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

class SlaServiceImpl final : public v1::SlaService::Service {
 public:
  explicit SlaServiceImpl(ObligationStore& store) : store_(store) {}
  grpc::Status GetObligations(grpc::ServerContext*, const v1::GetObligationsRequest* req,
                              v1::GetObligationsResponse* resp) override;

 private:
  ObligationStore& store_;
};

}  // namespace lapor::sla
