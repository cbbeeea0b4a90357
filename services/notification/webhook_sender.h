// Webhook delivery for agencies that configured one: signed JSON POSTs, retried with
// exponential backoff and jitter from a Redis schedule (a restart forgets nothing), and after
// the configured attempts: dead-letter topic, metric and an AssignmentUndeliverable event.
#pragma once

#include "agency_access.h"
#include "assignment_store.h"
#include "kafka/message.h"
#include "log/logger.h"
#include "time/clock.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace lapor::notification {

struct WebhookMetrics {
  explicit WebhookMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& attempts;       // by agency, outcome
  prometheus::Family<prometheus::Counter>& undeliverable;  // by agency
};

class WebhookSender {
 public:
  // `delivered` counts first deliveries by agency and channel (notification's own counter).
  WebhookSender(AssignmentStore& store, const AccessControl& access, kafka::MessageSink& sink,
                const time::Clock& clock, log::Logger logger, WebhookMetrics& metrics,
                prometheus::Family<prometheus::Counter>& delivered,
                std::chrono::milliseconds produce_timeout, std::chrono::milliseconds poll);
  ~WebhookSender();
  void start();
  void stop();
  // Attempts every job that is due now; returns how many were attempted.
  int runDue();

 private:
  void loop();
  void attempt(const std::string& job_id);

  AssignmentStore& store_;
  redis::RedisClient& redis_;
  const AccessControl& access_;
  kafka::MessageSink& sink_;
  const time::Clock& clock_;
  log::Logger log_;
  WebhookMetrics& metrics_;
  prometheus::Family<prometheus::Counter>& delivered_;
  std::chrono::milliseconds produce_timeout_;
  std::chrono::milliseconds poll_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lapor::notification
