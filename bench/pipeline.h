// The pipeline under load: complaints submitted to IntakeService on a schedule (open loop) or
// as fast as they complete (a fixed window in flight), and one simulated client per agency
// that reads its AgencyService stream and acknowledges what it gets. Every complaint is
// followed from its scheduled send to its delivery to every agency the rules name.
#pragma once

#include "lapor/v1/agency_service.grpc.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "measure.h"
#include "workload.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace lapor::bench {

// A client's batch calls, one in flight at a time: what comes while a call is out waits for the
// next call, up to `kMax` in each (the service's bound). Not locked: its owner's mutex guards it.
template <class T>
class CallBatches {
 public:
  static constexpr size_t kMax = 500;
  // The items of the call to start now (`item` alone), or none when a call is out (queued).
  std::vector<T> offer(T item) {
    queued_.push_back(std::move(item));
    if (out_) return {};
    out_ = true;
    return take();
  }
  // Once a call is answered: the items of the next one, or none (then no call is out).
  std::vector<T> next() {
    auto batch = take();
    out_ = !batch.empty();
    return batch;
  }

 private:
  std::vector<T> take() {
    const auto n = static_cast<long>(std::min(queued_.size(), kMax));
    std::vector<T> batch(std::make_move_iterator(queued_.begin()),
                         std::make_move_iterator(queued_.begin() + n));
    queued_.erase(queued_.begin(), queued_.begin() + n);
    return batch;
  }
  bool out_ = false;
  std::vector<T> queued_;
};

using Clock = std::chrono::steady_clock;

// Sent when set: `x-api-key` on intake calls, `authorization: Bearer` on agency calls.
struct Credentials {
  std::string api_key;
  std::string agency_token;
};

struct StepOptions {
  std::string name;
  double rate = 0;  // complaints/s offered on a fixed schedule; 0: as fast as they complete
  std::chrono::milliseconds duration{5000};
  // Open loop: submissions awaiting an answer before the generator holds back (it then
  // falls behind its schedule, and that lateness is counted in every latency).
  size_t max_in_flight = 2000;
  // Open loop: complaints submitted and not yet delivered everywhere. Above the pipeline's
  // capacity the backlog would otherwise grow for the whole step and take minutes to drain;
  // sends scheduled while it is full are given up at the end of the step and reported as
  // unsent (the ones sent late still count their lateness).
  size_t max_open = 3000;
  // Closed loop (rate 0): complaints submitted and not yet delivered to every agency.
  size_t window = 200;
  std::chrono::milliseconds drain_timeout{60000};
};

struct StepResult {
  std::string name;
  int index = -1;           // the pipeline's step number (warm-ups included)
  int instances = 1;        // of each consumer service (routing, notification, sla-monitor)
  double offered_rate = 0;  // 0: max
  double send_seconds = 0;
  double achieved_rate = 0;  // submitted / send_seconds
  uint64_t scheduled = 0;    // sends the schedule called for (fixed-rate steps)
  uint64_t unsent = 0;       // of those, given up because the backlog limit held them back
  uint64_t submitted = 0, accepted = 0, errors = 0, completed = 0;
  // lost: never delivered by the end of the run; late: not within the step's drain time but
  // afterwards (they are in neither latency figure).
  uint64_t late = 0;
  uint64_t expected_assignments = 0, delivered_assignments = 0, lost = 0;
  uint64_t duplicates = 0, unexpected = 0;
  double completion_seconds = 0;  // first scheduled send -> last complaint delivered everywhere
  double throughput = 0;          // completed / completion_seconds
  LatencySummary submit;          // scheduled send -> accepted by intake
  LatencySummary delivered;       // scheduled send -> on the stream of its last agency
  // The same two for the step's EMERGENCY complaints alone (their count: emergency_accepted,
  // and emergency_delivered.count of them delivered everywhere).
  uint64_t emergency_accepted = 0;
  LatencySummary emergency_submit, emergency_delivered;
  // Where the time goes, per assignment, by wall clock: accepted by intake -> dispatched by
  // routing (Assignment.dispatched_at_ms), and dispatched -> read from the agency's stream.
  LatencySummary to_dispatch, to_stream;
  LatencySummary emergency_to_dispatch, emergency_to_stream;  // the EMERGENCY ones alone
  // The agencies' Acknowledge calls for this step's assignments: call -> answer, and failures.
  LatencySummary acknowledge;
  uint64_t ack_errors = 0;
  std::map<std::string, std::string> error_samples;  // gRPC code -> one message
  std::map<std::string, double> cpu_seconds;         // per process group, during the step
  // Over the same window: the share of it in which some runnable thread on the machine waited
  // for a core (cpuPressureSeconds); -1 when the kernel does not report it.
  double cpu_pressure = -1;
  // What Redis did over the same window as cpu_seconds (measured: Redis's INFO could be read).
  bool redis_measured = false;
  RedisWork redis;
  // The readers of the lifecycle topic (consumer groups) once the step's last delivery arrived:
  // events each had not yet read (committed), and how long until every one had read them all
  // (-1: not within the drain time). The citizens' view and notices are not on the agencies'
  // path, so the delivery figures alone would not show them falling behind; the step's CPU is
  // measured up to here, so what they do late counts in it.
  std::map<std::string, int64_t> readers_behind;
  double readers_caught_up_seconds = 0;
};

class Pipeline {
 public:
  Pipeline(std::string intake_target, Credentials credentials, Workload& workload);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // (Re)subscribes every agency, spread over the given notification instances; a client
  // already connected resumes from its last cursor, so nothing is missed in between.
  void connectAgencies(const std::vector<std::string>& notification_targets);
  StepResult run(const StepOptions& options);

  // Assignments of step `index` not delivered (yet).
  uint64_t undeliveredOf(int index);
  // Accepted complaints of any step still waiting for a delivery.
  uint64_t open();

  // On: each agency acknowledges what it read while its AcknowledgeBatch call was out, in the
  // next call (up to 500); off: one Acknowledge call per assignment.
  void acknowledgeInBatches(bool on) { ack_batches_ = on; }
  // On: the publisher sends what came due while its SubmitComplaints call was out, in the next
  // call (up to 500); off: one SubmitComplaint call per complaint.
  void submitInBatches(bool on) { submit_batches_ = on; }
  // Waits (up to `limit`) for acknowledgements still in flight, then fills in `acknowledge` and
  // `ack_errors` of each step.
  void finishAcknowledgements(std::vector<StepResult>& steps, std::chrono::seconds limit);
  uint64_t acknowledged() const { return acks_ok_.load(); }
  uint64_t ackErrors();
  // Failed acknowledgements by gRPC status code name, with one message each.
  std::map<std::string, std::pair<uint64_t, std::string>> ackErrorsByCode();
  uint64_t streamErrors() const { return stream_errors_.load(); }
  uint64_t confirmErrors() const { return confirm_errors_.load(); }
  // One CSV line per accepted complaint: step, complaint id, submit and delivered latency (ms
  // from the scheduled send; delivered empty when not every agency got it), agencies expected
  // and delivered, the complaint's priority (the enum's name, e.g. PRIORITY_EMERGENCY) and the
  // wall-clock time intake accepted it (Unix ms: to line the samples up with other processes'
  // logs, e.g. the broker's GC pauses).
  void writeSamples(std::ostream& out);
  // Deliveries of complaints this run never had accepted.
  uint64_t orphanDeliveries();

 private:
  struct Record {
    int step = -1;
    bool accepted = false;
    bool done = false;
    v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
    Clock::time_point scheduled, accepted_at, completed_at;
    std::vector<std::string> expected;
    std::map<std::string, Clock::time_point> delivered;
    int64_t accepted_wall_ms = 0;
    std::vector<std::pair<int64_t, int64_t>> dispatched_delivered_wall_ms;
    uint32_t duplicates = 0;
  };
  struct StepState {
    uint64_t submitted = 0, accepted = 0, errors = 0, completed = 0;
    std::map<std::string, std::string> error_samples;
    std::vector<double> ack_ms;
    uint64_t ack_errors = 0;
  };
  class AgencyClient;

  void submit(int step, Clock::time_point scheduled);
  struct QueuedSubmit {
    int step = -1;
    Clock::time_point scheduled;
    WorkItem item;
  };
  void sendSubmitBatch(std::vector<QueuedSubmit> batch);
  // One submission answered: counted for its step, the record started (mu_ held by the caller).
  void submitAnswered(int step, Clock::time_point scheduled, const grpc::Status& s,
                      const v1::SubmitComplaintResponse& resp, v1::Priority priority,
                      std::vector<std::string> agencies);
  // Returns the step of the complaint (-1 when it is not one of this run's).
  int onDelivered(const std::string& complaint_id, const std::string& agency, Clock::time_point t,
                  int64_t dispatched_at_ms);
  void acknowledge(const std::string& target, const std::string& agency,
                   const std::string& assignment_id, int step);
  struct QueuedAck {
    std::string assignment_id;
    int step = -1;
    Clock::time_point read_at;
  };
  void sendAckBatch(const std::string& target, const std::string& agency,
                    std::vector<QueuedAck> batch);
  // One acknowledgement answered: counted for its step (mu_ held by the caller).
  void ackAnswered(int step, Clock::time_point read_at, const grpc::Status& s);
  // Confirms the agency's items up to `item` (as a client does once it stored them), which
  // opens the stream's window; at most one call per agency in flight, later cursors coalesce.
  void confirm(const std::string& target, const std::string& agency,
               const v1::AgencyFeedItem& item);
  void sendConfirm(const std::string& target, const std::string& agency,
                   const v1::AgencyFeedItem& item);
  v1::AgencyService::Stub& agencyStub(const std::string& target);
  // Marks the record done when nothing it expects is missing; call with mu_ held.
  void settle(Record& r);
  std::shared_ptr<grpc::Channel> channel(const std::string& target);
  // `{agency}` in the configured token is replaced by the agency's id.
  void addAgencyAuth(grpc::ClientContext& ctx, const std::string& agency) const;

  Credentials credentials_;
  Workload& workload_;
  std::unique_ptr<v1::IntakeService::Stub> intake_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Record> records_;  // by complaint id
  std::vector<StepState> steps_;
  size_t submits_in_flight_ = 0;
  size_t open_ = 0;  // submitted in the current step and not yet done (or failed)
  int current_step_ = -1;

  std::mutex channels_mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  std::map<std::string, std::unique_ptr<v1::AgencyService::Stub>> agency_stubs_;
  std::vector<std::unique_ptr<AgencyClient>> agencies_;

  std::atomic<uint64_t> acks_ok_{0}, stream_errors_{0}, acks_in_flight_{0};
  struct ConfirmState {
    bool in_flight = false;
    std::optional<v1::AgencyFeedItem> next;  // newest item read while a call was in flight
  };
  std::mutex confirm_mu_;
  std::map<std::string, ConfirmState> confirms_;  // by agency
  std::atomic<uint64_t> confirms_in_flight_{0}, confirm_errors_{0};
  std::map<std::string, std::pair<uint64_t, std::string>> ack_errors_by_code_;  // under mu_
  bool ack_batches_ = true;
  std::mutex ack_mu_;
  std::map<std::string, CallBatches<QueuedAck>> ack_batches_by_agency_;
  bool submit_batches_ = true;
  std::mutex submit_mu_;
  CallBatches<QueuedSubmit> submit_calls_;
};

}  // namespace lapor::bench
