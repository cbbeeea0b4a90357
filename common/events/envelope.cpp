// Envelope helpers shared by every producer and consumer of lifecycle events.
#include "events/envelope.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <stdexcept>

namespace lapor::events {

namespace {
std::string formatUuid(unsigned char b[16]) {
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}
}  // namespace

std::string newUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return formatUuid(b);
}

std::string nameUuid(std::string_view name) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(name.data()), name.size(), md);
  md[6] = static_cast<unsigned char>((md[6] & 0x0f) | 0x50);
  md[8] = static_cast<unsigned char>((md[8] & 0x3f) | 0x80);
  return formatUuid(md);
}

v1::EventEnvelope makeEnvelope(const std::string& producer, const std::string& complaint_id,
                               const std::string& trace_id, int64_t now_ms, std::string event_id) {
  v1::EventEnvelope env;
  env.set_event_id(event_id.empty() ? newUuid() : std::move(event_id));
  env.set_complaint_id(complaint_id);
  env.set_occurred_at_ms(now_ms);
  env.set_producer(producer);
  env.set_trace_id(trace_id.empty() ? newUuid() : trace_id);
  return env;
}

std::string eventKind(const v1::EventEnvelope& env) {
  using E = v1::EventEnvelope;
  switch (env.event_case()) {
    case E::kSubmitted:
      return "submitted";
    case E::kRouted:
      return "routed";
    case E::kDispatched:
      return "dispatched";
    case E::kDelivered:
      return "delivered";
    case E::kAcknowledged:
      return "acknowledged";
    case E::kRejected:
      return "rejected";
    case E::kResolved:
      return "resolved";
    case E::kSlaWarning:
      return "sla_warning";
    case E::kSlaBreached:
      return "sla_breached";
    case E::kEscalated:
      return "escalated";
    case E::kStatusUpdated:
      return "status_updated";
    case E::kWithdrawn:
      return "withdrawn";
    case E::kUndeliverable:
      return "undeliverable";
    case E::kRedispatchRequested:
      return "redispatch_requested";
    case E::kFeedback:
      return "feedback";
    case E::kReopened:
      return "reopened";
    case E::kClosed:
      return "closed";
    case E::kEscalationUpdated:
      return "escalation_updated";
    case E::kVerificationRequested:
      return "verification_requested";
    case E::kVerified:
      return "verified";
    case E::kPostponed:
      return "postponed";
    case E::kReporterAsked:
      return "reporter_asked";
    case E::kReporterAnswered:
      return "reporter_answered";
    case E::kDelegated:
      return "delegated";
    case E::kDelegationRevoked:
      return "delegation_revoked";
    case E::kReporterNotified:
      return "reporter_notified";
    case E::EVENT_NOT_SET:
      return "";
  }
  return "";
}

kafka::OutMessage toMessage(const std::string& topic, const v1::EventEnvelope& env) {
  kafka::OutMessage m;
  m.topic = topic;
  m.key = env.complaint_id();
  m.value = env.SerializeAsString();
  m.headers = {{"lapor.event_id", env.event_id()},
               {"lapor.event_type", eventKind(env)},
               {"lapor.trace_id", env.trace_id()},
               {"lapor.producer", env.producer()}};
  return m;
}

bool passBy(const kafka::Message& msg, std::initializer_list<std::string_view> acted_on) {
  for (const auto& [k, v] : msg.headers) {
    if (k != "lapor.event_type") continue;
    if (v.empty()) return false;
    for (auto a : acted_on)
      if (v == a) return false;
    return true;
  }
  return false;
}

Decoded decode(const std::string& bytes) {
  Decoded d;
  v1::EventEnvelope env;
  if (!env.ParseFromString(bytes)) {
    d.error = "payload is not a lapor.v1.EventEnvelope";
    return d;
  }
  if (env.event_id().empty())
    d.error = "event_id is empty";
  else if (env.complaint_id().empty())
    d.error = "complaint_id is empty";
  else if (env.event_case() == v1::EventEnvelope::EVENT_NOT_SET)
    d.error = "no event in envelope";
  if (d.error.empty()) d.envelope = std::move(env);
  return d;
}

std::vector<v1::EventEnvelope> decodeBatch(const std::vector<kafka::Message>& batch,
                                           kafka::BatchPasses& passes) {
  std::vector<v1::EventEnvelope> envs(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto decoded = decode(batch[i].value);
    if (!decoded.envelope) {
      passes.finish(i, kafka::HandleResult::deadLetter("undecodable", decoded.error));
      continue;
    }
    envs[i] = std::move(*decoded.envelope);
    passes.setKey(i, envs[i].complaint_id());
  }
  return envs;
}

}  // namespace lapor::events
