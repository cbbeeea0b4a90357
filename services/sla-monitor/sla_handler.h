// SLA monitor edges: lifecycle events in -> obligations and timers in Redis; a scheduler that
// fires due timers exactly once in effect (SlaWarning, SlaBreached, Escalated with a dispatch
// item for the supervisor, RedispatchRequested, auto-close); SlaService queries.
#pragma once

#include "agencies/agency_directory.h"
#include "auth/operator_access.h"
#include "domain/escalation.h"
#include "domain/sla_policy.h"
#include "domain/work_calendar.h"
#include "kafka/message.h"
#include "lapor/v1/sla.grpc.pb.h"
#include "log/logger.h"
#include "obligation_store.h"
#include "time/clock.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace lapor::sla {

struct SlaMetrics {
  explicit SlaMetrics(prometheus::Registry& r);
  // Buckets from a second to 90 days: emergencies are judged in seconds, complaints in days.
  static prometheus::Histogram::BucketBoundaries durationBuckets();
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Family<prometheus::Counter>& started;
  prometheus::Family<prometheus::Counter>& met;
  prometheus::Family<prometheus::Counter>& cancelled;
  prometheus::Family<prometheus::Counter>& completed_late;
  prometheus::Family<prometheus::Counter>& warnings;
  prometheus::Family<prometheus::Counter>& breaches;
  prometheus::Family<prometheus::Counter>& escalations;
  prometheus::Family<prometheus::Counter>& redispatches;
  prometheus::Family<prometheus::Counter>& auto_closed;
  prometheus::Family<prometheus::Gauge>& open;
  prometheus::Family<prometheus::Gauge>& oldest_emergency;
  prometheus::Family<prometheus::Gauge>& compliance;
  prometheus::Family<prometheus::Gauge>& without_owner;
  prometheus::Family<prometheus::Gauge>& open_complaints;
  prometheus::Family<prometheus::Histogram>& time_to_acknowledge;
  prometheus::Family<prometheus::Histogram>& time_to_resolve;
};

class LifecycleHandler {
 public:
  LifecycleHandler(ObligationStore& store, const SlaPolicy& policy, const WorkCalendar& calendar,
                   log::Logger logger, SlaMetrics& metrics);
  kafka::HandleResult handle(const kafka::Message& msg);
  // What one poll returned (kafka::BatchHandler): per pass, one event of each complaint, with
  // one Redis round trip writing all their changes, in the order handle() writes them. Each
  // complaint's ledger is read once per batch (in the first pass it appears in); its later
  // events start from the ledger the one before saved.
  std::vector<kafka::HandleResult> handleBatch(const std::vector<kafka::Message>& batch);

 private:
  kafka::HandleResult apply(const v1::EventEnvelope& env);
  void ended(const v1::EventEnvelope& env, const std::vector<EndedObligation>& ended);

  ObligationStore& store_;
  const SlaPolicy& policy_;
  const WorkCalendar& calendar_;
  log::Logger log_;
  SlaMetrics& metrics_;
};

struct SchedulerOptions {
  std::chrono::milliseconds tick{250};
  std::chrono::milliseconds produce_timeout{10000};
  std::string emergency_desk = "ncc-112";  // where an unacknowledged emergency goes at once
  std::chrono::milliseconds compliance_window{std::chrono::hours(24 * 30)};
  int max_redispatches = 2;  // per unacknowledged emergency assignment
  // How often every open complaint is checked for an owner (an open obligation).
  std::chrono::milliseconds owner_check_interval{std::chrono::seconds(30)};
  // The most open complaints one owner check reads; a longer list is read on by the next
  // checks, and the gauge of complaints without an owner is set once the list is through.
  size_t owner_check_batch = 10'000;
};

class TimerScheduler {
 public:
  TimerScheduler(ObligationStore& store, kafka::MessageSink& events, const time::Clock& clock,
                 const agencies::AgencyDirectory& directory, const WorkCalendar& calendar,
                 log::Logger logger, SlaMetrics& metrics, SchedulerOptions options);
  ~TimerScheduler();
  void start();
  void stop();
  // One pass: claim what is due and fire it. Returns how many timers were fired.
  int fireDue();
  // Refreshes the gauges from Redis (shared by every monitor instance).
  void refreshGauges();
  // One owner check: logs each open complaint without an open obligation it reads, and once a
  // round through the list ends sets the gauge and returns the round's count (-1 before).
  int64_t auditOwners();

 private:
  // A claimed timer read, decided and produced, its acknowledgements still to come.
  struct Firing {
    std::string member;
    TimerMember t;
    ObligationRecord rec;
    std::optional<ObligationRecord> escalated;
    FiredTimer f;
    std::vector<std::future<kafka::DeliveryReport>> reports;
  };
  std::optional<Firing> prepare(const std::string& member, int64_t now);
  // Waits for its produces, then records what the timer reached.
  bool finish(Firing& x);

  ObligationStore& store_;
  kafka::MessageSink& events_;
  const time::Clock& clock_;
  const agencies::AgencyDirectory& directory_;
  const WorkCalendar& calendar_;
  log::Logger log_;
  SlaMetrics& metrics_;
  SchedulerOptions opt_;
  int64_t compliance_at_ms_ = 0;  // last compliance refresh (it reads every decided obligation)
  int64_t audit_at_ms_ = 0;       // last owner audit
  std::string audit_cursor_ = "0";       // where the next owner check reads on
  std::set<std::string> audit_found_;    // without an owner, in this round through the list
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

// Compliance per stage over a set of decided obligations: met on time / due.
v1::GetComplianceResponse compliance(const std::vector<v1::Obligation>& decided,
                                     const std::string& agency,
                                     v1::ReportType type = v1::REPORT_TYPE_UNSPECIFIED);

class SlaServiceImpl final : public v1::SlaService::Service {
 public:
  SlaServiceImpl(ObligationStore& store, const time::Clock& clock,
                 const auth::OperatorAccess& operators,
                 const agencies::AgencyDirectory& directory, const WorkCalendar& calendar)
      : store_(store),
        clock_(clock),
        operators_(operators),
        directory_(directory),
        calendar_(calendar) {}
  grpc::Status GetObligations(grpc::ServerContext*, const v1::GetObligationsRequest* req,
                              v1::GetObligationsResponse* resp) override;
  grpc::Status GetCompliance(grpc::ServerContext*, const v1::GetComplianceRequest* req,
                             v1::GetComplianceResponse* resp) override;
  grpc::Status ListBreaches(grpc::ServerContext*, const v1::ListBreachesRequest* req,
                            v1::ListBreachesResponse* resp) override;
  grpc::Status ListDueSoon(grpc::ServerContext*, const v1::ListDueSoonRequest* req,
                           v1::ListDueSoonResponse* resp) override;
  grpc::Status GetMonthlySummary(grpc::ServerContext*, const v1::GetMonthlySummaryRequest* req,
                                 v1::GetMonthlySummaryResponse* resp) override;

 private:
  ObligationStore& store_;
  const time::Clock& clock_;
  const auth::OperatorAccess& operators_;
  const agencies::AgencyDirectory& directory_;
  const WorkCalendar& calendar_;
};

}  // namespace lapor::sla
