// Reporter notifications: a consumer of lapor.complaints.v1 (its own group) turns each status
// change the reporter should know (domain/reporter_notice.h) into one job per channel, and a
// sender works the jobs off a Redis schedule, retrying with backoff up to the configured
// attempts, then records the outcome as ReporterNotified. Redis layout (configured prefix):
//   intake:notify:c:<cid>          hash: tracking_id, title, channel, anonymous, publisher,
//                                  reporter_ref, external_ref (from submitted and verified)
//   intake:notify:roles:<cid>      hash: assignment id -> lead / support
//   intake:notify:dispatched:<cid> the event id of the complaint's first dispatch
//   intake:notify:job:<job id>     hash: the notice, its complaint, channel, attempts, ...
//   intake:notify:due              sorted set: job id by when it is due (a claim leases it)
//   intake:notify:done:<job id>    the job's final outcome is recorded (kept 90 days)
// Job ids derive from (status-change event id, channel), so a replay of the topic makes no
// second job, and a job whose final outcome is recorded is never made again.
#pragma once

#include "app/periodic_task.h"
#include "kafka/message.h"
#include "log/logger.h"
#include "redis/redis_client.h"
#include "reporter_channels.h"
#include "time/clock.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lapor::intake {

// Every stat of the reporter notifications, prefix lapor_intake_reporter_notifications_.
struct ReporterNotifyMetrics {
  explicit ReporterNotifyMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& attempts;  // by channel, outcome (delivered, failed)
  prometheus::Family<prometheus::Counter>& outcomes;  // by channel, outcome (delivered, given_up)
};

struct NotifySettings {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{2000};
  std::chrono::milliseconds max_backoff{300'000};
  std::chrono::milliseconds timeout{10'000};  // one request
  std::chrono::milliseconds poll{500};
  std::chrono::milliseconds produce_timeout{10'000};
  std::optional<EmailSettings> email;
  std::optional<SmsSettings> sms;
  std::map<std::string, CallbackTarget> callbacks;  // by publisher id
};

class ReporterNotifier {
 public:
  // `redis` serves the consumer's thread, `send_redis` the sender's.
  ReporterNotifier(redis::RedisClient& redis, redis::RedisClient& send_redis,
                   kafka::MessageSink& events, const time::Clock& clock, log::Logger logger,
                   ReporterNotifyMetrics& metrics, NotifySettings settings);
  ~ReporterNotifier();  // stop()

  // One lifecycle event: remember what later notices need, and make the jobs of its notice.
  kafka::HandleResult handle(const kafka::Message& msg);
  // What one poll returned (kafka::BatchHandler), in three Redis round trips whatever its size:
  // the events' writes and reads in the order read, the reporters' contacts, the jobs. Each
  // event decides on what the ones before it left, as one at a time. A Redis failure throws
  // (the consumer then goes one message at a time); every write is safe to repeat.
  std::vector<kafka::HandleResult> handleBatch(const std::vector<kafka::Message>& batch);

  void start();
  void stop();
  // Attempts every job due now; returns how many were attempted.
  int runDue();

 private:
  void attempt(const std::string& job_id);
  void giveUpOrDone(const std::string& job_id, const std::map<std::string, std::string>& job,
                    bool delivered, int attempts, const std::string& error);

  redis::RedisClient& redis_;
  redis::RedisClient& send_redis_;
  kafka::MessageSink& events_;
  const time::Clock& clock_;
  log::Logger log_;
  ReporterNotifyMetrics& metrics_;
  NotifySettings settings_;
  app::PeriodicTask sender_;
};

// Sections `notify`, `email`, `sms` and the publishers' callback_url / callback_secret_file.
NotifySettings notifySettingsFrom(const config::Config& cfg);

}  // namespace lapor::intake
