// Notification's pure parts: which agency action is allowed in which assignment state (and on
// a supervisor's escalation), the webhook signature, privacy of anonymous reporters, and the
// access section of the config.
#include "agency_access.h"
#include "domain/assignment_rules.h"
#include "notification_handler.h"
#include "webhook_sender.h"

#include <gtest/gtest.h>

namespace lapor::notification {
namespace {

using domain::Action;
using domain::WorkKind;
using K = domain::Decision::Kind;

domain::Decision check(v1::AssignmentState s, Action a, v1::AssignmentState target = {},
                        const std::string& text = "", const std::string& reason = "") {
  return domain::decide(WorkKind::Assignment, s, a, target, text, reason);
}

domain::Decision escalation(v1::AssignmentState s, Action a, v1::AssignmentState target = {},
                            const std::string& text = "", const std::string& reason = "") {
  return domain::decide(WorkKind::Escalation, s, a, target, text, reason);
}

TEST(AssignmentRules, AcknowledgeOnlyBeforeWorkStartsAndTwiceIsARepeat) {
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_DISPATCHED, Action::Acknowledge).kind, K::Apply);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_DELIVERED, Action::Acknowledge).kind, K::Apply);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::Acknowledge).kind, K::Repeat);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_RESOLVED, Action::Acknowledge).kind, K::Refused);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_WITHDRAWN, Action::Acknowledge).kind, K::Refused);
}

TEST(AssignmentRules, NoProgressOrResolutionWithoutAcknowledgement) {
  auto d = check(v1::ASSIGNMENT_STATE_DELIVERED, Action::UpdateStatus,
                  v1::ASSIGNMENT_STATE_RESOLVED, "done");
  EXPECT_EQ(d.kind, K::Refused);
  EXPECT_NE(d.why.find("acknowledge"), std::string::npos);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                   v1::ASSIGNMENT_STATE_IN_PROGRESS).next,
            v1::ASSIGNMENT_STATE_IN_PROGRESS);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_IN_PROGRESS, Action::UpdateStatus,
                   v1::ASSIGNMENT_STATE_ON_SCENE).kind,
            K::Apply);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_ON_SCENE, Action::UpdateStatus,
                   v1::ASSIGNMENT_STATE_RESOLVED, "padam").kind,
            K::Apply);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_RESOLVED, Action::UpdateStatus,
                   v1::ASSIGNMENT_STATE_IN_PROGRESS).kind,
            K::Refused);
}

TEST(AssignmentRules, ArgumentsAreCheckedFirst) {
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                   v1::ASSIGNMENT_STATE_ACKNOWLEDGED).kind,
            K::Invalid);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                   v1::ASSIGNMENT_STATE_RESPONDED, "").kind,
            K::Invalid);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                   v1::ASSIGNMENT_STATE_RESOLVED, "").kind,
            K::Invalid);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_DISPATCHED, Action::Reject, {}, "", "whatever").kind,
            K::Invalid);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_DISPATCHED, Action::Reject, {}, std::string(5000, 'x'),
                   "duplicate")
                .kind,
            K::Invalid);
}

TEST(AssignmentRules, RejectUntilTheAnswerIsGiven) {
  for (auto s : {v1::ASSIGNMENT_STATE_DISPATCHED, v1::ASSIGNMENT_STATE_DELIVERED,
                 v1::ASSIGNMENT_STATE_ACKNOWLEDGED, v1::ASSIGNMENT_STATE_IN_PROGRESS})
    EXPECT_EQ(check(s, Action::Reject, {}, "", "not-our-authority").next,
              v1::ASSIGNMENT_STATE_REJECTED);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_REJECTED, Action::Reject, {}, "", "duplicate").kind,
            K::Repeat);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_RESPONDED, Action::Reject, {}, "", "duplicate").kind,
            K::Refused);
  EXPECT_EQ(check(v1::ASSIGNMENT_STATE_WITHDRAWN, Action::Reject, {}, "", "duplicate").kind,
            K::Refused);
}

TEST(EscalationRules, TheSupervisorTakesItUpWorksItAndResolvesIt) {
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_DISPATCHED, Action::Acknowledge).next,
            v1::ASSIGNMENT_STATE_ACKNOWLEDGED);
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_DELIVERED, Action::Acknowledge).kind, K::Apply);
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::Acknowledge).kind, K::Repeat);
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                       v1::ASSIGNMENT_STATE_IN_PROGRESS, "Kadis PU dipanggil besok pagi")
                .next,
            v1::ASSIGNMENT_STATE_IN_PROGRESS);
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_IN_PROGRESS, Action::UpdateStatus,
                       v1::ASSIGNMENT_STATE_RESPONDED, "Perintah: tambal dalam 2 hari")
                .next,
            v1::ASSIGNMENT_STATE_RESPONDED);
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                       v1::ASSIGNMENT_STATE_RESOLVED, "Dinas PU sudah menindaklanjuti")
                .next,
            v1::ASSIGNMENT_STATE_RESOLVED);
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_RESOLVED, Action::UpdateStatus,
                       v1::ASSIGNMENT_STATE_RESOLVED, "lagi")
                .kind,
            K::Repeat);
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_RESOLVED, Action::UpdateStatus,
                       v1::ASSIGNMENT_STATE_IN_PROGRESS)
                .kind,
            K::Refused);
}

TEST(EscalationRules, StateChecksAreThoseOfAnAssignment) {
  auto d = escalation(v1::ASSIGNMENT_STATE_DELIVERED, Action::UpdateStatus,
                      v1::ASSIGNMENT_STATE_RESOLVED, "selesai");
  EXPECT_EQ(d.kind, K::Refused);
  EXPECT_NE(d.why.find("acknowledge it first"), std::string::npos) << d.why;
  EXPECT_NE(d.why.find("escalation"), std::string::npos) << d.why;
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_RESOLVED, Action::Acknowledge).kind, K::Refused);
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                       v1::ASSIGNMENT_STATE_RESOLVED, "")
                .kind,
            K::Invalid);
  d = escalation(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                 v1::ASSIGNMENT_STATE_RESPONDED, "");
  EXPECT_EQ(d.kind, K::Invalid);
  EXPECT_NE(d.why.find("message"), std::string::npos) << d.why;
}

TEST(EscalationRules, AnEscalationIsNeverRejectedAndHasNoScene) {
  for (auto s : {v1::ASSIGNMENT_STATE_DISPATCHED, v1::ASSIGNMENT_STATE_DELIVERED,
                 v1::ASSIGNMENT_STATE_ACKNOWLEDGED, v1::ASSIGNMENT_STATE_IN_PROGRESS}) {
    auto d = escalation(s, Action::Reject, {}, "bukan urusan kami", "not-our-authority");
    EXPECT_EQ(d.kind, K::Refused) << domain::stateName(s);
    EXPECT_NE(d.why.find("Resolve"), std::string::npos) << d.why;
  }
  // Refused for what it is, whatever the reason code says.
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_DISPATCHED, Action::Reject, {}, "", "whatever").kind,
            K::Refused);
  EXPECT_EQ(escalation(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                       v1::ASSIGNMENT_STATE_ON_SCENE)
                .kind,
            K::Refused);
  // The same calls on an ordinary assignment are fine.
  EXPECT_EQ(
      check(v1::ASSIGNMENT_STATE_DISPATCHED, Action::Reject, {}, "", "not-our-authority").kind,
      K::Apply);
  EXPECT_EQ(
      check(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus, v1::ASSIGNMENT_STATE_ON_SCENE)
          .kind,
      K::Apply);
}

TEST(EscalationRules, TheKindIsStoredByName) {
  EXPECT_EQ(domain::parseWorkKind(domain::workKindName(WorkKind::Escalation)),
            WorkKind::Escalation);
  EXPECT_EQ(domain::parseWorkKind(domain::workKindName(WorkKind::Assignment)),
            WorkKind::Assignment);
  EXPECT_EQ(domain::parseWorkKind(""), WorkKind::Assignment) << "records from before kinds";
}

// The triage desk takes up its item, then disposes of it through RoutingAdmin: a Reject here
// was dead-lettered by routing, an answer or a resolution would have resolved the complaint.
TEST(TriageRules, TheDeskTakesItUpAndDisposesOfItThroughRoutingAdmin) {
  auto desk = [](v1::AssignmentState s, Action a, v1::AssignmentState target = {},
                 const std::string& text = "", const std::string& reason = "") {
    return domain::decide(WorkKind::Triage, s, a, target, text, reason);
  };
  EXPECT_EQ(desk(v1::ASSIGNMENT_STATE_DELIVERED, Action::Acknowledge).kind, K::Apply);
  EXPECT_EQ(desk(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus,
                 v1::ASSIGNMENT_STATE_IN_PROGRESS)
                .kind,
            K::Apply);
  const auto rejected = desk(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::Reject, {}, "spam",
                             "not-our-authority");
  EXPECT_EQ(rejected.kind, K::Refused);
  EXPECT_NE(rejected.why.find("CloseComplaint"), std::string::npos) << rejected.why;
  for (auto target : {v1::ASSIGNMENT_STATE_RESPONDED, v1::ASSIGNMENT_STATE_RESOLVED,
                      v1::ASSIGNMENT_STATE_ON_SCENE})
    EXPECT_EQ(desk(v1::ASSIGNMENT_STATE_ACKNOWLEDGED, Action::UpdateStatus, target, "x").kind,
              K::Refused)
        << v1::AssignmentState_Name(target);
  EXPECT_EQ(domain::parseWorkKind(domain::workKindName(WorkKind::Triage)), WorkKind::Triage);
}

TEST(AssignmentRules, StateNamesRoundTrip) {
  for (auto s : {v1::ASSIGNMENT_STATE_DISPATCHED, v1::ASSIGNMENT_STATE_ON_SCENE,
                 v1::ASSIGNMENT_STATE_WITHDRAWN})
    EXPECT_EQ(domain::parseState(domain::stateName(s)), s);
  EXPECT_FALSE(domain::isOpen(v1::ASSIGNMENT_STATE_RESOLVED));
  EXPECT_TRUE(domain::isOpen(v1::ASSIGNMENT_STATE_RESPONDED));
}

TEST(WebhookSignature, IsHmacSha256OverTimestampDotBody) {
  // HMAC-SHA256("key", "1700000000.{}") as computed by `openssl dgst -sha256 -hmac key`.
  EXPECT_EQ(webhookSignature("key", 1700000000, "{}"),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
  EXPECT_NE(webhookSignature("key", 1700000000, "{}"), webhookSignature("key", 1700000001, "{}"));
  EXPECT_NE(webhookSignature("key", 1700000000, "{}"), webhookSignature("kex", 1700000000, "{}"));
}

TEST(Privacy, AnAnonymousReporterReferenceNeverReachesAnAgency) {
  v1::DispatchItem item;
  item.mutable_complaint()->set_anonymous(true);
  item.mutable_complaint()->set_reporter_ref("rep-1");
  EXPECT_EQ(forAgency(item).complaint().reporter_ref(), "");
  item.mutable_complaint()->set_anonymous(false);
  EXPECT_EQ(forAgency(item).complaint().reporter_ref(), "rep-1");
}

TEST(AgencyAccess, TokensAreMatchedByHashAndUnknownAgenciesRejected) {
  auto dir = agencies::AgencyDirectory::parse(
      "version: t\nagencies:\n  - {id: triage, name: T, kind: operator}\n  - {id: a, name: A, kind: k}\n"
      "categories: []\nrules: []\n");
  auto cfg = config::Config::fromString("access:\n  a: {tokens: [" + sha256Hex("tok-a") + "]}\n",
                                        [](const std::string&) { return std::nullopt; });
  AccessControl ac(parseAccess(cfg, dir));
  EXPECT_EQ(ac.agencyOf("tok-a"), "a");
  EXPECT_EQ(ac.agencyOf("tok-b"), "");
  EXPECT_EQ(ac.agencyOf(""), "");
  auto bad = config::Config::fromString("access:\n  c: {tokens: []}\n",
                                        [](const std::string&) { return std::nullopt; });
  EXPECT_THROW(parseAccess(bad, dir), config::ConfigError);
  auto plain = config::Config::fromString("access:\n  a: {tokens: [tok-a]}\n",
                                          [](const std::string&) { return std::nullopt; });
  EXPECT_THROW(parseAccess(plain, dir), config::ConfigError);
}

}  // namespace
}  // namespace lapor::notification
