// Envelope: ids, encoding into Kafka messages and strict decoding.
#include "events/envelope.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace lapor::events {
namespace {

const std::regex kUuidV4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
const std::regex kUuidV5("[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

v1::EventEnvelope routedEnvelope() {
  auto env = makeEnvelope("routing", "c0ffee00-0000-4000-8000-000000000001", "trace-1",
                          1'795'917'600'000, "e0000000-0000-4000-8000-000000000001");
  auto* routed = env.mutable_routed();
  routed->set_rule_id("fire");
  routed->set_rules_version("kutim-2026.11.1");
  routed->set_priority(v1::PRIORITY_EMERGENCY);
  routed->set_category("fire");
  auto* a = routed->add_assignments();
  a->set_assignment_id("a-1");
  a->set_complaint_id(env.complaint_id());
  a->set_agency_id("disdamkar");
  a->set_role(v1::ASSIGNMENT_ROLE_LEAD);
  return env;
}

TEST(EnvelopeTest, NewUuidIsVersion4Lowercase) {
  for (int i = 0; i < 100; ++i) {
    auto id = newUuid();
    EXPECT_TRUE(std::regex_match(id, kUuidV4)) << id;
  }
}

TEST(EnvelopeTest, NewUuidIsUniqueOverMany) {
  std::set<std::string> seen;
  constexpr int kCount = 20'000;
  for (int i = 0; i < kCount; ++i) seen.insert(newUuid());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
}

TEST(EnvelopeTest, NameUuidIsDeterministicVersion5) {
  const auto a = nameUuid("obligation/a-1/2");
  EXPECT_TRUE(std::regex_match(a, kUuidV5)) << a;
  EXPECT_EQ(nameUuid("obligation/a-1/2"), a);
  EXPECT_NE(nameUuid("obligation/a-1/3"), a);
  EXPECT_NE(nameUuid("obligation/a-2/2"), a);
  EXPECT_NE(nameUuid(""), a);
  EXPECT_TRUE(std::regex_match(nameUuid(""), kUuidV5));
}

TEST(EnvelopeTest, NameUuidDiffersForManyNames) {
  std::set<std::string> seen;
  for (int i = 0; i < 5'000; ++i) seen.insert(nameUuid("name-" + std::to_string(i)));
  EXPECT_EQ(seen.size(), 5'000u);
}

TEST(EnvelopeTest, MakeEnvelopeFillsIds) {
  auto env = makeEnvelope("intake", "complaint-1", "", 1234);
  EXPECT_TRUE(std::regex_match(env.event_id(), kUuidV4)) << env.event_id();
  EXPECT_TRUE(std::regex_match(env.trace_id(), kUuidV4)) << env.trace_id();
  EXPECT_EQ(env.complaint_id(), "complaint-1");
  EXPECT_EQ(env.producer(), "intake");
  EXPECT_EQ(env.occurred_at_ms(), 1234);

  auto given = makeEnvelope("intake", "complaint-1", "trace-9", 1, "event-9");
  EXPECT_EQ(given.event_id(), "event-9");
  EXPECT_EQ(given.trace_id(), "trace-9");
}

TEST(EnvelopeTest, ToMessageKeysByComplaintAndSetsHeaders) {
  const auto env = routedEnvelope();
  const auto msg = toMessage("lapor.complaints.v1", env);
  EXPECT_EQ(msg.topic, "lapor.complaints.v1");
  EXPECT_EQ(msg.key, env.complaint_id());
  EXPECT_EQ(msg.value, env.SerializeAsString());
  const kafka::Headers want = {{"lapor.event_id", env.event_id()},
                               {"lapor.event_type", "routed"},
                               {"lapor.trace_id", "trace-1"},
                               {"lapor.producer", "routing"}};
  EXPECT_EQ(msg.headers, want);
}

TEST(EnvelopeTest, EventKindNamesTheOneof) {
  v1::EventEnvelope env;
  EXPECT_EQ(eventKind(env), "");
  env.mutable_submitted();
  EXPECT_EQ(eventKind(env), "submitted");
  env.mutable_acknowledged();
  EXPECT_EQ(eventKind(env), "acknowledged");
  env.mutable_sla_breached();
  EXPECT_EQ(eventKind(env), "sla_breached");
  env.mutable_escalated();
  EXPECT_EQ(eventKind(env), "escalated");
  env.mutable_status_updated();
  EXPECT_EQ(eventKind(env), "status_updated");
  env.mutable_withdrawn();
  EXPECT_EQ(eventKind(env), "withdrawn");
  env.mutable_undeliverable();
  EXPECT_EQ(eventKind(env), "undeliverable");
  env.mutable_redispatch_requested();
  EXPECT_EQ(eventKind(env), "redispatch_requested");
  env.mutable_feedback();
  EXPECT_EQ(eventKind(env), "feedback");
  env.mutable_reopened();
  EXPECT_EQ(eventKind(env), "reopened");
  env.mutable_closed();
  EXPECT_EQ(eventKind(env), "closed");
  env.mutable_escalation_updated();
  EXPECT_EQ(eventKind(env), "escalation_updated");
}

TEST(EnvelopeTest, DecodeRoundTrip) {
  const auto env = routedEnvelope();
  const auto decoded = decode(toMessage("t", env).value);
  ASSERT_TRUE(decoded.envelope) << decoded.error;
  EXPECT_TRUE(decoded.error.empty());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*decoded.envelope, env))
      << decoded.envelope->DebugString();
}

TEST(EnvelopeTest, DecodeRejectsBytesThatDoNotParse) {
  const std::string garbage[] = {
      std::string("\xff\xff\xff\xff\xff", 5),  // unterminated varint tag
      std::string("\x0a\x10short", 7),         // length prefix past the end
      std::string("\x0f", 1),                  // wire type 7 does not exist
      "{\"event_id\": \"json is not protobuf\"}",
  };
  for (const auto& bytes : garbage) {
    auto d = decode(bytes);
    EXPECT_FALSE(d.envelope) << ::testing::PrintToString(bytes);
    EXPECT_FALSE(d.error.empty()) << ::testing::PrintToString(bytes);
  }
}

TEST(EnvelopeTest, DecodeRejectsMissingEventId) {
  auto env = routedEnvelope();
  env.clear_event_id();
  auto d = decode(env.SerializeAsString());
  EXPECT_FALSE(d.envelope);
  EXPECT_NE(d.error.find("event_id"), std::string::npos) << d.error;
}

TEST(EnvelopeTest, DecodeRejectsMissingComplaintId) {
  auto env = routedEnvelope();
  env.clear_complaint_id();
  auto d = decode(env.SerializeAsString());
  EXPECT_FALSE(d.envelope);
  EXPECT_NE(d.error.find("complaint_id"), std::string::npos) << d.error;
}

TEST(EnvelopeTest, DecodeRejectsEnvelopeWithoutEvent) {
  auto env = routedEnvelope();
  env.clear_event();
  auto d = decode(env.SerializeAsString());
  EXPECT_FALSE(d.envelope);
  EXPECT_NE(d.error.find("no event"), std::string::npos) << d.error;
}

TEST(EnvelopeTest, DecodeRejectsEmptyPayload) {
  auto d = decode("");
  EXPECT_FALSE(d.envelope);
  EXPECT_FALSE(d.error.empty());
}

// Consumers pass by what they do not act on, by the type header, without decoding the payload;
// a message without the header is always decoded.
TEST(EnvelopeTest, PassByReadsTheTypeHeaderOnly) {
  auto env = routedEnvelope();
  kafka::Message m;
  auto out = toMessage("lapor.complaints", env);
  m.headers = out.headers;
  m.value = "not a protobuf at all";
  EXPECT_EQ(m.header("lapor.event_type"), std::optional<std::string>("routed"));
  EXPECT_TRUE(passBy(m, {"submitted", "closed"}));
  EXPECT_FALSE(passBy(m, {"submitted", "routed"}));
  m.headers.clear();
  EXPECT_FALSE(passBy(m, {"submitted"})) << "no header: decode and judge the payload";
  m.headers = {{"lapor.event_type", ""}};
  EXPECT_FALSE(passBy(m, {"submitted"}));
}

}  // namespace
}  // namespace lapor::events
