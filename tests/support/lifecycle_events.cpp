#include "lifecycle_events.h"

#include "events/envelope.h"
#include "topic_reader.h"

#include <chrono>

namespace lapor::testing {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string assignmentIdFor(const std::string& complaint_id, const std::string& agency) {
  return "assignment-" + complaint_id + "-" + agency;
}

v1::EventEnvelope routedEvent(const std::string& complaint_id, v1::Priority priority,
                              const std::string& category,
                              const std::vector<std::string>& agencies, int64_t at_ms) {
  auto env = events::makeEnvelope("routing", complaint_id, "trace-" + complaint_id, at_ms);
  auto* r = env.mutable_routed();
  r->set_priority(priority);
  r->set_category(category);
  r->set_reason("initial");
  for (size_t i = 0; i < agencies.size(); ++i) {
    auto* a = r->add_assignments();
    a->set_assignment_id(assignmentIdFor(complaint_id, agencies[i]));
    a->set_complaint_id(complaint_id);
    a->set_agency_id(agencies[i]);
    a->set_role(i == 0 ? v1::ASSIGNMENT_ROLE_LEAD : v1::ASSIGNMENT_ROLE_SUPPORT);
    a->set_dispatched_at_ms(at_ms);
  }
  return env;
}

v1::EventEnvelope submittedEvent(const std::string& complaint_id, v1::Priority priority,
                                 const std::string& category, const std::string& title,
                                 size_t description_bytes, int64_t at_ms) {
  auto env = events::makeEnvelope("intake", complaint_id, "", at_ms);
  auto* c = env.mutable_submitted()->mutable_complaint();
  c->set_complaint_id(complaint_id);
  c->set_tracking_id("LPR-" + complaint_id);
  c->set_priority(priority);
  c->set_category(category);
  c->set_title(title);
  c->set_description(std::string(description_bytes, 'k'));
  c->set_submitted_at_ms(at_ms);
  return env;
}

bool produceEvent(const std::string& brokers, const v1::EventEnvelope& env) {
  std::string bytes;
  env.SerializeToString(&bytes);
  return produceRaw(brokers, kafka::kComplaintsTopic, env.complaint_id(), bytes);
}

std::vector<v1::EventEnvelope> eventsOf(const std::vector<kafka::Message>& messages,
                                        const std::string& complaint_id) {
  std::vector<v1::EventEnvelope> out;
  for (const auto& m : messages) {
    auto d = events::decode(m.value);
    if (d.envelope && d.envelope->complaint_id() == complaint_id) out.push_back(*d.envelope);
  }
  return out;
}

kafka::Message lifecycleMessage(const v1::EventEnvelope& env, int64_t offset) {
  kafka::Message m;
  m.topic = kafka::kComplaintsTopic;
  m.key = env.complaint_id();
  m.value = env.SerializeAsString();
  m.offset = offset;
  return m;
}

std::vector<kafka::Message> interleavedPoll(
    const std::vector<std::vector<v1::EventEnvelope>>& lives, size_t junk_after) {
  std::vector<kafka::Message> messages;
  for (size_t round = 0; !lives.empty() && round < lives[0].size(); ++round) {
    for (const auto& life : lives)
      messages.push_back(lifecycleMessage(life[round], static_cast<int64_t>(messages.size())));
    if (round == junk_after) {
      kafka::Message junk;
      junk.topic = kafka::kComplaintsTopic;
      junk.value = kUndecodable;
      junk.offset = static_cast<int64_t>(messages.size());
      messages.push_back(junk);
    }
  }
  return messages;
}

}  // namespace lapor::testing
