// The event envelope on the wire: ids, encoding into Kafka messages and strict decoding.
#pragma once

#include "kafka/batch_passes.h"
#include "kafka/message.h"
#include "lapor/v1/events.pb.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <initializer_list>

namespace lapor::events {

// Random UUID (v4) from the system CSPRNG.
std::string newUuid();
// Deterministic UUID (v5 layout, SHA-1) for ids that must come out the same when a crashed
// step is replayed, so downstream dedupe by event id catches the repeat.
std::string nameUuid(std::string_view name);

// What each service writes into EventEnvelope.producer of the events it produces.
inline constexpr const char* kIntakeProducer = "intake";
inline constexpr const char* kRoutingProducer = "routing";
inline constexpr const char* kNotificationProducer = "notification";
inline constexpr const char* kSlaMonitorProducer = "sla-monitor";

v1::EventEnvelope makeEnvelope(const std::string& producer, const std::string& complaint_id,
                               const std::string& trace_id, int64_t now_ms,
                               std::string event_id = {});

// Key = complaint id (one complaint's events stay in order); headers say id, type and trace.
kafka::OutMessage toMessage(const std::string& topic, const v1::EventEnvelope& env);

// Short name of the event in the oneof: submitted, routed, ..., or "" when none is set.
std::string eventKind(const v1::EventEnvelope& env);

// True when the message's lapor.event_type header names an event not in `acted_on`: a consumer
// can pass it by without decoding it. A message without the header (or with an empty one) is
// never passed by, so what another producer wrote is still decoded and, if broken, dead-lettered.
bool passBy(const kafka::Message& msg, std::initializer_list<std::string_view> acted_on);

struct Decoded {
  std::optional<v1::EventEnvelope> envelope;
  std::string error;  // why it could not be used, when !envelope
};
// Rejects bytes that do not parse, and envelopes without event id, complaint id or event.
Decoded decode(const std::string& bytes);

// Decodes a batch for `passes`: the envelopes by position, each keyed by its complaint id; an
// undecodable message is finished as a dead letter (its envelope stays empty).
std::vector<v1::EventEnvelope> decodeBatch(const std::vector<kafka::Message>& batch,
                                           kafka::BatchPasses& passes);

}  // namespace lapor::events
