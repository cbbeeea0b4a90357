// Notification's edges: dispatch topics in -> the agency's feed in Redis (deduplicated by event
// id) and its webhook schedule; AgencyService calls in (each authorised by the agency's token)
// -> assignment state change + lifecycle event out.
#pragma once

#include "agencies/agency_directory.h"
#include "agency_access.h"
#include "assignment_store.h"
#include "domain/assignment_rules.h"
#include "kafka/message.h"
#include "lapor/v1/agency_service.grpc.pb.h"
#include "log/logger.h"
#include "time/clock.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace lapor::notification {

struct NotificationMetrics {
  explicit NotificationMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& received;
  prometheus::Family<prometheus::Counter>& duplicates;
  prometheus::Family<prometheus::Counter>& delivered;
  prometheus::Family<prometheus::Counter>& acknowledged;
  prometheus::Family<prometheus::Counter>& actions;
  prometheus::Family<prometheus::Counter>& denied;
  prometheus::Family<prometheus::Counter>& slow_streams;
  prometheus::Family<prometheus::Gauge>& streams;
};

// What an agency may see of a complaint: never who an anonymous reporter is.
v1::DispatchItem forAgency(v1::DispatchItem item);

// Consumes lapor.dispatch.<agency>.v1 and appends each new item to the agency's feed.
class DispatchHandler {
 public:
  DispatchHandler(const agencies::AgencyDirectory& directory, const AccessControl& access,
                  AssignmentStore& store, log::Logger logger, NotificationMetrics& metrics);
  kafka::HandleResult handle(const kafka::Message& msg);
  // What one poll returned of the dispatch topics (kafka::BatchHandler): every item's update
  // in one Redis round trip.
  std::vector<kafka::HandleResult> handleBatch(const std::vector<kafka::Message>& batch);

 private:
  const agencies::AgencyDirectory& directory_;
  const AccessControl& access_;
  AssignmentStore& store_;
  log::Logger log_;
  NotificationMetrics& metrics_;
};

// Flow control per Subscribe stream: at most `window` items, and at most `window_bytes` of them
// (always one), sent beyond the stream's last confirmation. The byte bound stays under the
// 64 KiB every HTTP/2 peer starts its stream window with, so the status that ends a stalled
// stream is never stuck behind unread data.
struct StreamSettings {
  int window = 100;
  size_t window_bytes = 48 * 1024;
  // A window full this long ends the stream (RESOURCE_EXHAUSTED, with the cursor to resume
  // after); a write blocked this long (a client that stopped reading its socket) is cancelled.
  std::chrono::milliseconds stall_timeout{30'000};
};

class AgencyServiceImpl final : public v1::AgencyService::Service {
 public:
  AgencyServiceImpl(const agencies::AgencyDirectory& directory, const AccessControl& access,
                    AssignmentStore& store, redis::RedisOptions redis, const time::Clock& clock,
                    log::Logger logger, NotificationMetrics& metrics, StreamSettings streams);
  ~AgencyServiceImpl() override;
  // Ends the stall watchdog; call after the server stopped.
  void stop();

  grpc::Status Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                         grpc::ServerWriter<v1::AgencyFeedItem>* writer) override;
  grpc::Status ConfirmDelivery(grpc::ServerContext* ctx, const v1::ConfirmDeliveryRequest* req,
                               v1::ConfirmDeliveryResponse* resp) override;
  grpc::Status Acknowledge(grpc::ServerContext* ctx, const v1::AcknowledgeRequest* req,
                           v1::AcknowledgeResponse* resp) override;
  grpc::Status AcknowledgeBatch(grpc::ServerContext* ctx,
                                const v1::AcknowledgeBatchRequest* req,
                                v1::AcknowledgeBatchResponse* resp) override;
  grpc::Status UpdateStatus(grpc::ServerContext* ctx, const v1::UpdateStatusRequest* req,
                            v1::UpdateStatusResponse* resp) override;
  grpc::Status Resolve(grpc::ServerContext* ctx, const v1::ResolveRequest* req,
                       v1::UpdateStatusResponse* resp) override;
  grpc::Status Reject(grpc::ServerContext* ctx, const v1::RejectRequest* req,
                      v1::RejectResponse* resp) override;
  grpc::Status ListAssignments(grpc::ServerContext* ctx, const v1::ListAssignmentsRequest* req,
                               v1::ListAssignmentsResponse* resp) override;
  grpc::Status Delegate(grpc::ServerContext* ctx, const v1::DelegateRequest* req,
                        v1::DelegateResponse* resp) override;
  grpc::Status TakeBack(grpc::ServerContext* ctx, const v1::TakeBackRequest* req,
                        v1::TakeBackResponse* resp) override;
  grpc::Status AskReporter(grpc::ServerContext* ctx, const v1::AskReporterRequest* req,
                           v1::AskReporterResponse* resp) override;

 private:
  struct StreamSlot {
    grpc::ServerContext* ctx;
    std::atomic<int64_t> writing_since_ms{0};  // steady-clock ms; 0 when not in a write
    std::atomic<bool> stalled{false};
  };
  // `caller` is an agency or a work unit; the token must be its own.
  grpc::Status authorize(const grpc::ServerContext& ctx, const std::string& caller);
  // The assignment, when `caller` (an agency, or a unit holding it now) may act on it.
  grpc::Status authorizeOn(const std::string& caller, const std::optional<AssignmentRecord>& rec,
                           const std::string& assignment_id);
  // Moves the assignment to `unit` ("" = back to the agency) with its events and feed items.
  grpc::Status moveDelegation(const std::string& agency, const std::string& assignment_id,
                              const std::string& unit, const std::string& note,
                              const std::string& operator_name);
  grpc::Status act(const grpc::ServerContext& ctx, const std::string& agency,
                   const std::string& assignment_id, domain::Action action,
                   v1::AssignmentState target, const std::string& text,
                   const std::string& reason_code, const std::string& operator_name,
                   v1::AssignmentState* out);
  // Counts an action recorded (and an acknowledgement of an assignment) and logs it.
  void recorded(const std::string& agency, const std::string& unit_id,
                const v1::EventEnvelope& env, const std::string& action_name, bool acknowledged);
  // Records the feed's items after the agency's confirmed mark up to `cursor` as delivered and
  // moves the mark; the number recorded.
  int confirmUpTo(const std::string& agency, const std::string& cursor);
  // The same from `from` (the mark as read), a page of kConfirmPage items at a time; with
  // `confirmation`, its entry is added to the confirmations with the first page's read.
  int confirmRange(const std::string& agency, std::string from, const std::string& cursor,
                   const AssignmentStore::Confirmation* confirmation);
  std::string confirmedMarkKey(const std::string& agency) const;
  std::string confirmationsKey(const std::string& agency) const;
  // The cursor of the feed's last entry, "0-0" when the feed is empty; the command that reads
  // it, and its reply read.
  std::string lastCursor(const std::string& agency);
  std::vector<std::string> lastCursorCommand(const std::string& agency) const;
  static std::string lastCursorOf(const redis::Reply& r);
  static constexpr size_t kConfirmPage = 500;
  void watchdog();

  const agencies::AgencyDirectory& directory_;
  const AccessControl& access_;
  AssignmentStore& store_;
  redis::RedisOptions redis_options_;
  const time::Clock& clock_;
  log::Logger log_;
  NotificationMetrics& metrics_;
  StreamSettings settings_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::set<StreamSlot*> slots_;
  std::thread watchdog_;
};

}  // namespace lapor::notification
