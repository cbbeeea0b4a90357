// Lifecycle events as the services write them, for tests that feed lapor.complaints.v1
// directly (the contract between the services) instead of driving another service.
#pragma once

#include "kafka/message.h"
#include "lapor/v1/events.pb.h"

#include <string>
#include <vector>

namespace lapor::testing {

int64_t nowMs();

// ComplaintRouted with one assignment per agency (the first is the lead); assignment ids are
// "assignment-<complaint>-<agency>".
v1::EventEnvelope routedEvent(const std::string& complaint_id, v1::Priority priority,
                              const std::string& category,
                              const std::vector<std::string>& agencies, int64_t at_ms);
std::string assignmentIdFor(const std::string& complaint_id, const std::string& agency);

// Writes the envelope to lapor.complaints.v1 keyed by complaint id; true once acknowledged.
bool produceEvent(const std::string& brokers, const v1::EventEnvelope& env);

// The envelope as a consumer gets it from lapor.complaints.v1 at `offset` (for handlers fed
// in-process).
kafka::Message lifecycleMessage(const v1::EventEnvelope& env, int64_t offset);

// What interleavedPoll() puts among the events: a message that is not an envelope.
inline constexpr const char* kUndecodable = "not an envelope";

// Several complaints' events as one poll returns them from lapor.complaints.v1: round by round,
// one event of each complaint (each complaint's in its order), offsets in sequence, and an
// undecodable message (kUndecodable) after round `junk_after`. Every life has as many events
// as the first.
std::vector<kafka::Message> interleavedPoll(
    const std::vector<std::vector<v1::EventEnvelope>>& lives, size_t junk_after);

// Every decodable envelope of `complaint_id` among `messages`.
std::vector<v1::EventEnvelope> eventsOf(const std::vector<kafka::Message>& messages,
                                        const std::string& complaint_id);

}  // namespace lapor::testing
