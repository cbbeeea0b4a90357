// Notification's pure parts: which agency action is allowed in which assignment state (and on
// a supervisor's escalation), feed cursors, the webhook signature and its check, privacy of
// anonymous reporters, and the access section of the config (webhooks only for the agencies
// whose channel is webhook).
#include "agency_access.h"
#include "auth/sha256.h"
#include "domain/assignment_rules.h"
#include "notification_handler.h"
#include "domain/feed_cursor.h"
#include "webhook/webhook_signature.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

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
  using webhook::signatureHeader;
  // HMAC-SHA256("key", "1700000000.{}") as computed by `openssl dgst -sha256 -hmac key`.
  EXPECT_EQ(signatureHeader("key", 1700000000, "{}"),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
  EXPECT_NE(signatureHeader("key", 1700000000, "{}"), signatureHeader("key", 1700000001, "{}"));
  EXPECT_NE(signatureHeader("key", 1700000000, "{}"), signatureHeader("kex", 1700000000, "{}"));
}

TEST(WebhookSignature, AReceiverAcceptsOnlyTheSecretsSignatureOverTheExactBodyWhileFresh) {
  using webhook::SignatureCheck;
  using webhook::verifySignature;
  const auto h = webhook::signatureHeader("key", 1700000000, "{\"a\":1}");
  EXPECT_EQ(verifySignature("key", h, "{\"a\":1}", 1700000000), SignatureCheck::Valid);
  EXPECT_EQ(verifySignature("key", h, "{\"a\":1}", 1700000300), SignatureCheck::Valid);
  EXPECT_EQ(verifySignature("key", h, "{\"a\":1}", 1700000301), SignatureCheck::Expired);
  EXPECT_EQ(verifySignature("key", h, "{\"a\": 1}", 1700000000), SignatureCheck::Mismatch);
  EXPECT_EQ(verifySignature("kex", h, "{\"a\":1}", 1700000000), SignatureCheck::Mismatch);
  for (const std::string& bad : std::vector<std::string>{
           "", "t=1700000000", "v1=00,t=1700000000", "t=x,v1=" + h.substr(16), h + "0",
           "t=1700000000,v1=" + std::string(64, 'G')})
    EXPECT_EQ(verifySignature("key", bad, "{\"a\":1}", 1700000000), SignatureCheck::Malformed)
        << bad;
}

TEST(FeedCursor, OrdersByTimeThenSequenceAndRefusesACursorAfterTheFeed) {
  using domain::cursorAfter;
  using domain::cursorBeyondFeed;
  EXPECT_TRUE(cursorAfter("10-0", "9-5"));
  EXPECT_TRUE(cursorAfter("10-2", "10-1"));
  EXPECT_FALSE(cursorAfter("10-1", "10-1"));
  EXPECT_FALSE(domain::parseCursor("10"));
  EXPECT_FALSE(domain::parseCursor("-1"));
  EXPECT_FALSE(domain::parseCursor("1-2-3"));
  EXPECT_FALSE(domain::parseCursor("99999999999999999999-0"));  // beyond 64 bits
  EXPECT_EQ(cursorBeyondFeed("cursor", "1700000000000-0", "1700000000000-0"), "");
  EXPECT_EQ(cursorBeyondFeed("cursor", "5-0", "1700000000000-0"), "");
  const auto why = cursorBeyondFeed("resume_cursor", "9999999999999-0", "1700000000000-3");
  EXPECT_NE(why.find("resume_cursor: '9999999999999-0'"), std::string::npos) << why;
  EXPECT_NE(why.find("'1700000000000-3'"), std::string::npos) << why;
  EXPECT_NE(cursorBeyondFeed("cursor", "1-0", "0-0"), "");  // an empty feed gave out nothing
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
  auto cfg = config::Config::fromString("access:\n  a: {tokens: [" + auth::sha256Hex("tok-a") + "]}\n",
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

config::Config configOf(const std::string& yaml,
                        std::map<std::string, std::string> env = {{"HOOK_SECRET", "s3cret"}}) {
  return config::Config::fromString(
      yaml, [env](const std::string& n) -> std::optional<std::string> {
        auto it = env.find(n);
        if (it == env.end()) return std::nullopt;
        return it->second;
      });
}

std::string configErrorOf(const config::Config& cfg, const agencies::AgencyDirectory& dir) {
  try {
    parseAccess(cfg, dir);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

const char* const kChannels =
    "agencies:\n  - {id: triage}\n  - {id: hook, delivery: {channel: webhook}}\n"
    "  - {id: feed, delivery: {channel: stream}}\n  - {id: topic, delivery: {channel: kafka}}\n";

TEST(AgencyAccess, AWebhookAgencyWithoutAWebhookIsAConfigurationErrorNamingIt) {
  auto dir = agencies::AgencyDirectory::parse(kChannels, "agencies.yaml");
  auto none = configErrorOf(configOf("access:\n  feed: {tokens: []}\n"), dir);
  EXPECT_NE(none.find("access.hook.webhook"), std::string::npos) << none;
  EXPECT_NE(none.find("agency 'hook'"), std::string::npos) << none;
  EXPECT_NE(none.find("agencies.yaml"), std::string::npos) << none;
  // No access section at all is the same error.
  EXPECT_NE(configErrorOf(configOf(""), dir).find("access.hook.webhook"), std::string::npos);
}

TEST(AgencyAccess, AWebhookForAnAgencyOfAnotherChannelIsAConfigurationError) {
  auto dir = agencies::AgencyDirectory::parse(kChannels, "agencies.yaml");
  for (const char* agency : {"feed", "topic"}) {
    auto e = configErrorOf(
        configOf(std::string("access:\n  hook: {webhook: {url: 'http://h/x', secret_env: "
                             "HOOK_SECRET}}\n  ") +
                 agency + ": {webhook: {url: 'http://h/y', secret_env: HOOK_SECRET}}\n"),
        dir);
    EXPECT_NE(e.find(std::string("access.") + agency + ".webhook"), std::string::npos) << e;
    EXPECT_NE(e.find("delivery.channel"), std::string::npos) << e;
  }
}

TEST(AgencyAccess, ARelativeWebhookUrlIsJoinedToTheBaseUrlWhichTheEnvironmentMayGive) {
  auto dir = agencies::AgencyDirectory::parse(kChannels, "agencies.yaml");
  const std::string access =
      "access:\n  hook: {webhook: {url: /hooks/hook, secret_env: HOOK_SECRET}}\n";
  AccessControl file(
      parseAccess(configOf("webhook: {base_url: 'http://127.0.0.1:8787/'}\n" + access), dir));
  EXPECT_EQ(file.webhook("hook")->url, "http://127.0.0.1:8787/hooks/hook");
  EXPECT_EQ(file.webhook("hook")->secret, "s3cret");
  AccessControl env(parseAccess(
      configOf("webhook: {base_url: 'http://127.0.0.1:8787'}\n" + access,
               {{"HOOK_SECRET", "s3cret"}, {"LAPOR_WEBHOOK_BASE_URL", "http://127.0.0.1:40001"}}),
      dir));
  EXPECT_EQ(env.webhook("hook")->url, "http://127.0.0.1:40001/hooks/hook");
  EXPECT_FALSE(env.webhook("feed"));
  auto unset = configErrorOf(configOf(access), dir);
  EXPECT_NE(unset.find("access.hook.webhook.url"), std::string::npos) << unset;
  EXPECT_NE(unset.find("LAPOR_WEBHOOK_BASE_URL"), std::string::npos) << unset;
  auto bad_base = configErrorOf(configOf("webhook: {base_url: 'ftp://x'}\n" + access), dir);
  EXPECT_NE(bad_base.find("webhook.base_url"), std::string::npos) << bad_base;
  auto bad_url = configErrorOf(
      configOf("access:\n  hook: {webhook: {url: 'hooks/x', secret_env: HOOK_SECRET}}\n"), dir);
  EXPECT_NE(bad_url.find("access.hook.webhook.url"), std::string::npos) << bad_url;
}

TEST(AgencyAccess, TheShippedConfigurationGivesEveryWebhookAgencyAWebhookOfTheLocalReceiver) {
  auto dir = agencies::AgencyDirectory::loadFile(LAPOR_SOURCE_DIR "/deploy/config/agencies.yaml");
  std::ifstream in(LAPOR_SOURCE_DIR "/deploy/config/notification.yaml");
  std::stringstream yaml;
  yaml << in.rdbuf();
  AccessControl shipped(parseAccess(
      configOf(yaml.str(), {{"LAPOR_DEMO_WEBHOOK_SECRET", "demo"},
                            {"LAPOR_WEBHOOK_BASE_URL", "http://127.0.0.1:40002"}}),
      dir));
  std::vector<std::string> hooked;
  for (const auto& a : dir.agencies()) {
    if (a.delivery_channel != "webhook") {
      EXPECT_FALSE(shipped.webhook(a.id)) << a.id;
      continue;
    }
    hooked.push_back(a.id);
    ASSERT_TRUE(shipped.webhook(a.id)) << a.id;
    EXPECT_EQ(shipped.webhook(a.id)->url, "http://127.0.0.1:40002/hooks/" + a.id);
    EXPECT_EQ(shipped.webhook(a.id)->secret, "demo");
  }
  EXPECT_EQ(hooked, (std::vector<std::string>{"rsud-kudungga", "disdukcapil", "pdam"}));
}

TEST(AgencyAccess, AUnitHasTokensOfItsOwnAndNoWebhook) {
  auto dir = agencies::AgencyDirectory::parse(
      "agencies:\n  - {id: triage}\n  - id: a\n    units: [{id: a-upt}]\n");
  auto none = [](const std::string&) { return std::optional<std::string>(); };
  auto cfg = config::Config::fromString("access:\n  a: {tokens: [" + auth::sha256Hex("tok-a") +
                                            "]}\n  a-upt: {tokens: [" + auth::sha256Hex("tok-u") +
                                            "]}\n",
                                        none);
  AccessControl ac(parseAccess(cfg, dir));
  EXPECT_EQ(ac.agencyOf("tok-u"), "a-upt");
  EXPECT_EQ(ac.agencyOf("tok-a"), "a");
  auto hook = config::Config::fromString(
      "access:\n  a-upt: {webhook: {url: 'http://x/h', secret_env: S}}\n", none);
  try {
    parseAccess(hook, dir);
    FAIL() << "a unit's webhook was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("a-upt.webhook"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("work unit"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lapor::notification
