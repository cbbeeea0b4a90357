// SLA policy: the deadline of each stage per priority, agency and category, from configuration.
#include "domain/sla_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

namespace lapor::sla {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

config::Config configOf(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return config::Config::fromString(
      yaml, [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      });
}

TEST(SlaPolicyTest, ConfigSetsDeadlinesPerPriorityAgencyAndCategory) {
  auto policy = SlaPolicy::fromConfig(configOf(
      "sla:\n"
      "  acknowledge_emergency: 90s\n"
      "  dispose_normal: 2wd\n"
      "  warn_percent: 50\n"
      "  overrides:\n"
      "    - {stage: follow_up, agency: disdukcapil, deadline: 3wd}\n"
      "    - {stage: follow_up, category: road, deadline: 7wd}\n"
      "    - {stage: follow_up, agency: disdukcapil, category: road, deadline: 1wd}\n"
      "    - {stage: on_scene, category: flood, priority: emergency, deadline: 30m}\n"));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_ACKNOWLEDGE, v1::PRIORITY_EMERGENCY, "", ""),
            Deadline::wall(90s));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_DISPOSE, v1::PRIORITY_NORMAL, "", ""),
            Deadline::workingDays(2));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_DISPOSE, v1::PRIORITY_HIGH, "", ""),
            Deadline::workingDays(3));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "x", "disdukcapil"),
            Deadline::workingDays(3));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "road", "dlh"),
            Deadline::workingDays(7));
  EXPECT_EQ(
      policy.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "road", "disdukcapil"),
      Deadline::workingDays(1));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_ON_SCENE, v1::PRIORITY_EMERGENCY, "flood", "bpbd"),
            Deadline::wall(30min));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_ON_SCENE, v1::PRIORITY_EMERGENCY, "fire", "bpbd"),
            Deadline::wall(15min));
  EXPECT_DOUBLE_EQ(policy.warn_fraction, 0.5);
}

TEST(SlaPolicyTest, EnvironmentBeatsTheConfigFile) {
  auto policy = SlaPolicy::fromConfig(
      configOf("sla:\n  acknowledge_normal: 5d\n", {{"LAPOR_SLA_ACKNOWLEDGE_NORMAL", "4s"},
                                                    {"LAPOR_SLA_FOLLOW_UP_NORMAL", "off"}}));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_ACKNOWLEDGE, v1::PRIORITY_NORMAL, "", ""),
            Deadline::wall(4s));
  EXPECT_FALSE(policy.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "", "").enabled());
}

TEST(SlaPolicyTest, ShippedConfigMatchesTheDefaults) {
  std::ifstream in(std::string(LAPOR_SOURCE_DIR) + "/deploy/config/sla-monitor.yaml");
  ASSERT_TRUE(in) << "deploy/config/sla-monitor.yaml";
  std::stringstream text;
  text << in.rdbuf();
  auto policy = SlaPolicy::fromConfig(configOf(text.str()));
  EXPECT_EQ(policy.deadlines, SlaPolicy::defaults().deadlines);
  EXPECT_EQ(policy.type_deadlines, SlaPolicy::defaults().type_deadlines);
  EXPECT_DOUBLE_EQ(policy.warn_fraction, SlaPolicy::defaults().warn_fraction);
  // The numbers of docs/deadlines.md.
  const auto& d = SlaPolicy::defaults();
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_DISPOSE, v1::PRIORITY_NORMAL, "", ""),
            Deadline::workingDays(3));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "", ""),
            Deadline::workingDays(5));
  // A complaint without need of oversight (the default type): 14 working days.
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_RESOLUTION, v1::PRIORITY_LOW, "", ""),
            Deadline::workingDays(14));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_RESOLUTION, v1::PRIORITY_EMERGENCY, "", ""),
            Deadline::wall(std::chrono::hours(24 * 60)));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_AUTO_CLOSE, v1::PRIORITY_NORMAL, "", ""),
            Deadline::workingDays(10));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_ACKNOWLEDGE, v1::PRIORITY_EMERGENCY, "", ""),
            Deadline::wall(60s));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_ON_SCENE, v1::PRIORITY_EMERGENCY, "", ""),
            Deadline::wall(15min));
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
  EXPECT_THAT(error("sla:\n  dispose_low: 0wd\n"), HasSubstr("sla.dispose_low"));
  EXPECT_THAT(error("sla:\n  follow_up_low: xwd\n"), HasSubstr("sla.follow_up_low"));
  EXPECT_THAT(error("sla:\n  warn_percent: 100\n"), HasSubstr("sla.warn_percent"));
  EXPECT_THAT(error("sla:\n  overrides:\n    - {stage: nap, agency: x, deadline: 1d}\n"),
              HasSubstr("overrides[0].stage"));
  EXPECT_THAT(error("sla:\n  overrides:\n    - {stage: dispose, deadline: 1d}\n"),
              HasSubstr("overrides[0]"));
  EXPECT_THAT(error("sla:\n  overrides:\n    - {stage: dispose, agency: x, deadline: never}\n"),
              HasSubstr("overrides[0].deadline"));
}

// The public-service standard's classes and the other report types each have their own
// resolution deadline; an emergency keeps its priority's; overrides name a type too.
TEST(SlaPolicyTest, ReportTypesHaveTheirOwnDeadlines) {
  const auto d = SlaPolicy::defaults();
  auto res = [&](v1::ReportType t, v1::Priority p = v1::PRIORITY_NORMAL) {
    return d.deadlineFor(v1::SLA_STAGE_RESOLUTION, p, "road-damage", "dinas-pu", t);
  };
  EXPECT_EQ(res(v1::REPORT_TYPE_COMPLAINT_LIGHT), Deadline::workingDays(2));
  EXPECT_EQ(res(v1::REPORT_TYPE_COMPLAINT_NORMATIVE), Deadline::workingDays(5));
  EXPECT_EQ(res(v1::REPORT_TYPE_COMPLAINT), Deadline::workingDays(14));
  EXPECT_EQ(res(v1::REPORT_TYPE_UNSPECIFIED), Deadline::workingDays(14));
  EXPECT_EQ(res(v1::REPORT_TYPE_COMPLAINT_OVERSIGHT), Deadline::workingDays(60));
  EXPECT_EQ(res(v1::REPORT_TYPE_ASPIRATION), Deadline::workingDays(14));
  EXPECT_EQ(res(v1::REPORT_TYPE_INFORMATION_REQUEST), Deadline::workingDays(10));
  EXPECT_EQ(res(v1::REPORT_TYPE_COMPLAINT_LIGHT, v1::PRIORITY_HIGH), Deadline::workingDays(2));
  EXPECT_EQ(res(v1::REPORT_TYPE_COMPLAINT_LIGHT, v1::PRIORITY_EMERGENCY),
            Deadline::wall(std::chrono::hours(24 * 60)));
  // Stages without a type deadline keep the priority's.
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "", "",
                          v1::REPORT_TYPE_INFORMATION_REQUEST),
            Deadline::workingDays(5));

  auto cfg = configOf(R"(
sla:
  resolution_information_request: 7wd
  follow_up_aspiration: 10wd
  overrides:
    - {stage: resolution, type: complaint_light, deadline: 3wd}
    - {stage: resolution, agency: disdukcapil, type: complaint_normative, deadline: 1wd}
)");
  const auto p = SlaPolicy::fromConfig(cfg);
  EXPECT_EQ(p.deadlineFor(v1::SLA_STAGE_RESOLUTION, v1::PRIORITY_NORMAL, "", "",
                          v1::REPORT_TYPE_INFORMATION_REQUEST),
            Deadline::workingDays(7));
  EXPECT_EQ(p.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_LOW, "", "",
                          v1::REPORT_TYPE_ASPIRATION),
            Deadline::workingDays(10));
  EXPECT_EQ(p.deadlineFor(v1::SLA_STAGE_RESOLUTION, v1::PRIORITY_NORMAL, "", "dinas-pu",
                          v1::REPORT_TYPE_COMPLAINT_LIGHT),
            Deadline::workingDays(3));
  EXPECT_EQ(p.deadlineFor(v1::SLA_STAGE_RESOLUTION, v1::PRIORITY_NORMAL, "", "disdukcapil",
                          v1::REPORT_TYPE_COMPLAINT_NORMATIVE),
            Deadline::workingDays(1));
  EXPECT_EQ(p.deadlineFor(v1::SLA_STAGE_RESOLUTION, v1::PRIORITY_NORMAL, "", "dinas-pu",
                          v1::REPORT_TYPE_COMPLAINT_NORMATIVE),
            Deadline::workingDays(5));

  EXPECT_THROW(SlaPolicy::fromConfig(configOf("sla:\n  resolution_complaint_light: soon\n")),
               config::ConfigError);
  EXPECT_THROW(SlaPolicy::fromConfig(configOf(
                   "sla:\n  overrides:\n    - {stage: resolution, type: gossip, deadline: 1wd}\n")),
               config::ConfigError);
}

}  // namespace
}  // namespace lapor::sla
