// Plain Kafka message types shared by the producer, the consumer and their fakes.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lapor::kafka {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct OutMessage {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
};

struct Message {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  Headers headers;
  int64_t timestamp_ms = 0;

  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return std::nullopt;
  }
};

struct DeliveryReport {
  bool ok = false;
  std::string error;  // librdkafka's reason when !ok
  int32_t partition = -1;
  int64_t offset = -1;
};

// The report of `f`, or a failed one saying so if it is not there by `deadline`.
inline DeliveryReport awaitReport(std::future<DeliveryReport>& f,
                                  std::chrono::steady_clock::time_point deadline) {
  if (f.wait_until(deadline) != std::future_status::ready)
    return DeliveryReport{false, "timed out waiting for the broker's acknowledgement", -1, -1};
  return f.get();
}

// The report of `f`, or a failed one saying so if it is not there within `timeout`.
inline DeliveryReport awaitReport(std::future<DeliveryReport>& f,
                                  std::chrono::milliseconds timeout) {
  return awaitReport(f, std::chrono::steady_clock::now() + timeout);
}

// The reports of messages produced together, in their order, all waited for within one
// `timeout` (not one each): a report not there by then is a failed one saying so.
inline std::vector<DeliveryReport> awaitReports(std::vector<std::future<DeliveryReport>>& futures,
                                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<DeliveryReport> out;
  out.reserve(futures.size());
  for (auto& f : futures) out.push_back(awaitReport(f, deadline));
  return out;
}

// Where events go. The real one is Producer; unit tests use a fake that records messages.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // The future resolves once the broker acknowledged (acks=all) or the message failed.
  virtual std::future<DeliveryReport> produce(OutMessage msg) = 0;

  // Produce and wait for the report, failing with a timeout report after `timeout`.
  DeliveryReport produceAndWait(OutMessage msg, std::chrono::milliseconds timeout) {
    auto f = produce(std::move(msg));
    return awaitReport(f, timeout);
  }
};

// What a consumer handler decided for one message.
enum class Outcome { Done, DeadLetter, Retry };

struct HandleResult {
  Outcome outcome = Outcome::Done;
  std::string reason;  // bounded code used as a metric label: undecodable, invalid, ...
  std::string detail;  // free text for logs and the dead-letter header

  static HandleResult done() { return {}; }
  static HandleResult deadLetter(std::string reason, std::string detail) {
    return {Outcome::DeadLetter, std::move(reason), std::move(detail)};
  }
  static HandleResult retry(std::string reason, std::string detail) {
    return {Outcome::Retry, std::move(reason), std::move(detail)};
  }
};

inline constexpr const char* kComplaintsTopic = "lapor.complaints.v1";
inline constexpr const char* kDeadLetterTopic = "lapor.deadletter.v1";
// The emergency lane (docs/events.md): a copy of each EMERGENCY complaint's submission, and of
// each new assignment of one, which routing and notification read ahead of their other topics.
// Only first events go there (nothing of a complaint or an assignment comes before them), so
// taking them early cannot put anything out of order; the copy read second is a repeat.
inline constexpr const char* kEmergencySubmittedTopic = "lapor.emergency.submitted.v1";
inline constexpr const char* kEmergencyDispatchTopic = "lapor.emergency.dispatch.v1";
inline std::string dispatchTopic(const std::string& agency_id) {
  return "lapor.dispatch." + agency_id + ".v1";
}
// True for a name dispatchTopic() gives.
inline bool isDispatchTopic(std::string_view topic) {
  constexpr std::string_view prefix = "lapor.dispatch.", suffix = ".v1";
  return topic.size() > prefix.size() + suffix.size() && topic.starts_with(prefix) &&
         topic.ends_with(suffix);
}

}  // namespace lapor::kafka
