// Lifecycle events as the services write them, for tests that feed lapor.complaints.v1
// directly (the contract between the services) instead of driving another service.
#pragma once

#include "events/envelope.h"
#include "kafka/message.h"
#include "lapor/v1/events.pb.h"

#include <string>
#include <utility>
#include <vector>

namespace lapor::testing {

int64_t nowMs();

// ComplaintRouted with one assignment per agency (the first is the lead); assignment ids are
// "assignment-<complaint>-<agency>".
v1::EventEnvelope routedEvent(const std::string& complaint_id, v1::Priority priority,
                              const std::string& category,
                              const std::vector<std::string>& agencies, int64_t at_ms);
std::string assignmentIdFor(const std::string& complaint_id, const std::string& agency);

// ComplaintSubmitted from intake: tracking id "LPR-<complaint>", a description of
// `description_bytes` letters, submitted at `at_ms`.
v1::EventEnvelope submittedEvent(const std::string& complaint_id, v1::Priority priority,
                                 const std::string& category, const std::string& title,
                                 size_t description_bytes, int64_t at_ms);

// An agency's action on its assignment (assignmentIdFor) as notification writes it; `event`
// picks which, e.g. &v1::EventEnvelope::mutable_acknowledged. Returns the envelope and the
// event, for whatever else it carries.
template <class Event>
std::pair<v1::EventEnvelope, Event*> agencyEvent(const std::string& complaint_id,
                                                 const std::string& agency, int64_t at_ms,
                                                 Event* (v1::EventEnvelope::*event)()) {
  std::pair<v1::EventEnvelope, Event*> out;
  out.first = events::makeEnvelope("notification", complaint_id, "", at_ms);
  out.second = (out.first.*event)();
  out.second->set_agency_id(agency);
  out.second->set_assignment_id(assignmentIdFor(complaint_id, agency));
  return out;
}

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
