// SLA policy: which obligations an event starts or ends, and when they fall due.
#include "domain/sla_policy.h"

#include "events/envelope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace lapor::sla {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr int64_t kOccurred = 1'795'917'600'000;  // 2026-11-29T02:00:00Z

v1::EventEnvelope routed(v1::Priority priority, const std::vector<std::string>& agencies) {
  auto env = events::makeEnvelope("routing", "complaint-1", "trace-1", kOccurred);
  auto* r = env.mutable_routed();
  r->set_priority(priority);
  r->set_rule_id("rule");
  bool lead = true;
  for (const auto& agency : agencies) {
    auto* a = r->add_assignments();
    a->set_assignment_id("assignment-" + agency);
    a->set_complaint_id("complaint-1");
    a->set_agency_id(agency);
    a->set_role(lead ? v1::ASSIGNMENT_ROLE_LEAD : v1::ASSIGNMENT_ROLE_SUPPORT);
    lead = false;
  }
  return env;
}

v1::EventEnvelope acknowledged(const std::string& assignment_id, const std::string& agency) {
  auto env = events::makeEnvelope("notification", "complaint-1", "trace-1", kOccurred + 5'000);
  auto* a = env.mutable_acknowledged();
  a->set_assignment_id(assignment_id);
  a->set_agency_id(agency);
  a->set_operator_("operator-7");
  return env;
}

config::Config configOf(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return config::Config::fromString(
      yaml, [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      });
}

int64_t ms(std::chrono::milliseconds d) {
  return d.count();
}

TEST(SlaPolicyTest, RoutedStartsOneAcknowledgeObligationPerAssignment) {
  const auto env = routed(v1::PRIORITY_EMERGENCY, {"disdamkar", "rsud-kudungga", "polres-kutim"});
  const auto obligations = obligationsStartedBy(env, SlaPolicy::defaults());
  ASSERT_EQ(obligations.size(), 3u);
  std::set<std::string> ids;
  for (size_t i = 0; i < obligations.size(); ++i) {
    const auto& o = obligations[i];
    const auto& a = env.routed().assignments(static_cast<int>(i));
    EXPECT_EQ(o.assignment_id, a.assignment_id());
    EXPECT_EQ(o.agency_id, a.agency_id());
    EXPECT_EQ(o.complaint_id, "complaint-1");
    EXPECT_EQ(o.stage, v1::SLA_STAGE_ACKNOWLEDGE);
    EXPECT_EQ(o.obligation_id, obligationId(a.assignment_id(), v1::SLA_STAGE_ACKNOWLEDGE));
    EXPECT_EQ(o.started_at_ms, kOccurred);
    EXPECT_EQ(o.due_at_ms, kOccurred + ms(60s));
    EXPECT_EQ(o.warn_at_ms, kOccurred + ms(48s));  // 80% of 60 s
    ids.insert(o.obligation_id);
  }
  EXPECT_EQ(ids.size(), 3u) << "each assignment has its own obligation";
}

TEST(SlaPolicyTest, DueTimeFollowsThePriority) {
  const std::pair<v1::Priority, std::chrono::milliseconds> cases[] = {
      {v1::PRIORITY_EMERGENCY, 60s},       {v1::PRIORITY_HIGH, 24h},
      {v1::PRIORITY_NORMAL, 5 * 24h},      {v1::PRIORITY_LOW, 5 * 24h},
      {v1::PRIORITY_UNSPECIFIED, 5 * 24h},  // unknown priority: the normal time
  };
  for (const auto& [priority, limit] : cases) {
    auto o = obligationsStartedBy(routed(priority, {"dinas-pu"}), SlaPolicy::defaults());
    ASSERT_EQ(o.size(), 1u) << v1::Priority_Name(priority);
    EXPECT_EQ(o[0].due_at_ms - kOccurred, ms(limit)) << v1::Priority_Name(priority);
    EXPECT_EQ(o[0].warn_at_ms - kOccurred, ms(limit) * 8 / 10) << v1::Priority_Name(priority);
  }
}

TEST(SlaPolicyTest, ReplayedEventStartsTheSameObligations) {
  const auto env = routed(v1::PRIORITY_HIGH, {"bpbd", "dinas-pu"});
  auto first = obligationsStartedBy(env, SlaPolicy::defaults());
  auto again = obligationsStartedBy(env, SlaPolicy::defaults());
  ASSERT_EQ(first.size(), again.size());
  for (size_t i = 0; i < first.size(); ++i)
    EXPECT_EQ(first[i].obligation_id, again[i].obligation_id);
}

TEST(SlaPolicyTest, ConfigOverridesDurationsAndWarnShare) {
  auto policy =
      SlaPolicy::fromConfig(configOf("sla:\n"
                                     "  acknowledge_emergency: 90s\n"
                                     "  acknowledge_high: 2h\n"
                                     "  warn_percent: 50\n"));
  EXPECT_EQ(policy.acknowledge.at(v1::PRIORITY_EMERGENCY), 90s);
  EXPECT_EQ(policy.acknowledge.at(v1::PRIORITY_HIGH), 2h);
  EXPECT_EQ(policy.acknowledge.at(v1::PRIORITY_NORMAL), 5 * 24h);  // default kept
  EXPECT_DOUBLE_EQ(policy.warn_fraction, 0.5);

  auto o = obligationsStartedBy(routed(v1::PRIORITY_EMERGENCY, {"disdamkar"}), policy);
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].due_at_ms, kOccurred + ms(90s));
  EXPECT_EQ(o[0].warn_at_ms, kOccurred + ms(45s));
}

TEST(SlaPolicyTest, EnvironmentBeatsTheConfigFile) {
  auto policy = SlaPolicy::fromConfig(
      configOf("sla:\n  acknowledge_normal: 5d\n", {{"LAPOR_SLA_ACKNOWLEDGE_NORMAL", "4s"}}));
  EXPECT_EQ(policy.acknowledge.at(v1::PRIORITY_NORMAL), 4s);
}

TEST(SlaPolicyTest, EmptyConfigGivesTheDefaults) {
  auto policy = SlaPolicy::fromConfig(configOf(""));
  EXPECT_EQ(policy.acknowledge, SlaPolicy::defaults().acknowledge);
  EXPECT_DOUBLE_EQ(policy.warn_fraction, 0.8);
}

TEST(SlaPolicyTest, ShippedConfigMatchesTheDefaults) {
  std::ifstream in(std::string(LAPOR_SOURCE_DIR) + "/deploy/config/sla-monitor.yaml");
  ASSERT_TRUE(in) << "deploy/config/sla-monitor.yaml";
  std::stringstream text;
  text << in.rdbuf();
  auto policy = SlaPolicy::fromConfig(configOf(text.str()));
  EXPECT_EQ(policy.acknowledge, SlaPolicy::defaults().acknowledge);
  EXPECT_DOUBLE_EQ(policy.warn_fraction, SlaPolicy::defaults().warn_fraction);
}

TEST(SlaPolicyTest, InvalidConfigNamesTheKey) {
  auto error = [](const std::string& yaml) -> std::string {
    try {
      SlaPolicy::fromConfig(configOf(yaml));
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted: " << yaml;
    return {};
  };
  EXPECT_THAT(error("sla:\n  acknowledge_high: soon\n"), HasSubstr("sla.acknowledge_high"));
  EXPECT_THAT(error("sla:\n  acknowledge_low: 0s\n"), HasSubstr("sla.acknowledge_low"));
  EXPECT_THAT(error("sla:\n  warn_percent: 100\n"), HasSubstr("sla.warn_percent"));
  EXPECT_THAT(error("sla:\n  warn_percent: 0\n"), HasSubstr("sla.warn_percent"));
}

TEST(SlaPolicyTest, AcknowledgedEndsTheObligationRoutedStarted) {
  const auto env = routed(v1::PRIORITY_EMERGENCY, {"disdamkar", "rsud-kudungga"});
  const auto started = obligationsStartedBy(env, SlaPolicy::defaults());
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(obligationEndedBy(acknowledged("assignment-disdamkar", "disdamkar")),
            started[0].obligation_id);
  EXPECT_EQ(obligationEndedBy(acknowledged("assignment-rsud-kudungga", "rsud-kudungga")),
            started[1].obligation_id);
  EXPECT_NE(obligationEndedBy(acknowledged("assignment-other", "disdamkar")),
            started[0].obligation_id);
}

TEST(SlaPolicyTest, OtherEventsStartAndEndNothing) {
  std::vector<v1::EventEnvelope> others;
  auto base = events::makeEnvelope("x", "complaint-1", "trace-1", kOccurred);
  base.mutable_submitted();
  others.push_back(base);
  base.mutable_dispatched()->mutable_item()->mutable_assignment()->set_assignment_id("a");
  others.push_back(base);
  base.mutable_delivered()->set_assignment_id("a");
  others.push_back(base);
  base.mutable_rejected()->set_assignment_id("a");
  others.push_back(base);
  base.mutable_resolved()->set_assignment_id("a");
  others.push_back(base);
  base.mutable_sla_breached()->set_assignment_id("a");
  others.push_back(base);
  base.clear_event();
  others.push_back(base);
  for (const auto& env : others) {
    EXPECT_TRUE(obligationsStartedBy(env, SlaPolicy::defaults()).empty()) << events::eventKind(env);
    EXPECT_EQ(obligationEndedBy(env), "") << events::eventKind(env);
  }
  // Routed starts but does not end; acknowledged ends but does not start.
  EXPECT_EQ(obligationEndedBy(routed(v1::PRIORITY_HIGH, {"bpbd"})), "");
  EXPECT_TRUE(obligationsStartedBy(acknowledged("a", "bpbd"), SlaPolicy::defaults()).empty());
}

TEST(SlaPolicyTest, ObligationIdDependsOnAssignmentAndStage) {
  const auto id = obligationId("a-1", v1::SLA_STAGE_ACKNOWLEDGE);
  EXPECT_EQ(obligationId("a-1", v1::SLA_STAGE_ACKNOWLEDGE), id);
  EXPECT_NE(obligationId("a-2", v1::SLA_STAGE_ACKNOWLEDGE), id);
  EXPECT_NE(obligationId("a-1", v1::SLA_STAGE_RESOLUTION), id);
}

TEST(SlaPolicyTest, StageNames) {
  EXPECT_EQ(stageName(v1::SLA_STAGE_ACKNOWLEDGE), "acknowledge");
  EXPECT_EQ(stageName(v1::SLA_STAGE_RESOLUTION), "resolution");
  EXPECT_EQ(stageName(v1::SLA_STAGE_UNSPECIFIED), "unknown");
}

}  // namespace
}  // namespace lapor::sla
