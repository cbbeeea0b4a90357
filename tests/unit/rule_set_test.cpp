// Routing rules: first match in file order, all given conditions must hold, support agencies
// come after the lead, no match goes to triage; bad rules are reported with file and line.
#include "domain/rule_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lapor::routing {
namespace {

using agencies::AgencyDirectory;
using agencies::DirectoryError;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kShipped = std::string(LAPOR_SOURCE_DIR) + "/deploy/config/agencies.yaml";

const std::string kAgencies =
    "version: rules-test\n"
    "agencies:\n"
    "  - id: triage\n"
    "  - id: disdamkar\n"
    "  - id: rsud-kudungga\n"
    "  - id: polres-kutim\n"
    "  - id: dinas-pu\n"
    "  - id: bpbd\n"
    "categories:\n"
    "  - code: fire\n"
    "  - code: flood\n"
    "  - code: road-damage\n"
    "  - code: other\n";  // the rules list starts on line 14

RuleSet rulesOf(const std::string& rules) {
  return RuleSet::fromDirectory(AgencyDirectory::parse(kAgencies + rules, "rules.yaml"));
}

std::string ruleError(const std::string& rules) {
  try {
    rulesOf(rules);
  } catch (const DirectoryError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected DirectoryError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected DirectoryError, the rules were accepted:\n" << rules;
  return {};
}

v1::Complaint complaint(const std::string& category, v1::Priority priority,
                        const std::string& kecamatan = "Sangatta Utara") {
  v1::Complaint c;
  c.set_complaint_id("c-1");
  c.set_category(category);
  c.set_priority(priority);
  c.mutable_location()->set_kecamatan(kecamatan);
  return c;
}

struct Target {
  std::string agency;
  v1::AssignmentRole role;
  bool operator==(const Target&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Target& t) {
  return os << t.agency << "/" << v1::AssignmentRole_Name(t.role);
}

std::vector<Target> targets(const RouteDecision& d) {
  std::vector<Target> out;
  for (const auto& t : d.targets) out.push_back({t.agency_id, t.role});
  return out;
}

constexpr auto kLead = v1::ASSIGNMENT_ROLE_LEAD;
constexpr auto kSupport = v1::ASSIGNMENT_ROLE_SUPPORT;

TEST(RuleSetTest, FirstMatchInFileOrderWins) {
  auto rs = rulesOf(
      "rules:\n"
      "  - {id: fire-first, categories: [fire], lead: disdamkar}\n"
      "  - {id: fire-second, categories: [fire], lead: bpbd}\n"
      "  - {id: catch-all, lead: dinas-pu}\n");
  auto d = rs.route(complaint("fire", v1::PRIORITY_HIGH));
  EXPECT_EQ(d.rule_id, "fire-first");
  EXPECT_FALSE(d.triage);
  EXPECT_THAT(targets(d), ::testing::ElementsAre(Target{"disdamkar", kLead}));

  // A rule without conditions matches everything that reaches it.
  auto other = rs.route(complaint("other", v1::PRIORITY_LOW));
  EXPECT_EQ(other.rule_id, "catch-all");
  EXPECT_THAT(targets(other), ::testing::ElementsAre(Target{"dinas-pu", kLead}));
}

TEST(RuleSetTest, EveryGivenConditionMustMatch) {
  auto rs = rulesOf(
      "rules:\n"
      "  - id: urgent-road-bengalon\n"
      "    categories: [road-damage]\n"
      "    priorities: [emergency, high]\n"
      "    kecamatan: [Bengalon, Kaliorang]\n"
      "    lead: bpbd\n"
      "  - {id: road, categories: [road-damage], lead: dinas-pu}\n");
  EXPECT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs.route(complaint("road-damage", v1::PRIORITY_HIGH, "Bengalon")).rule_id,
            "urgent-road-bengalon");
  EXPECT_EQ(rs.route(complaint("road-damage", v1::PRIORITY_EMERGENCY, "Kaliorang")).rule_id,
            "urgent-road-bengalon");
  // One condition off each time: the next rule takes it.
  EXPECT_EQ(rs.route(complaint("road-damage", v1::PRIORITY_NORMAL, "Bengalon")).rule_id, "road");
  EXPECT_EQ(rs.route(complaint("road-damage", v1::PRIORITY_HIGH, "Sangatta Utara")).rule_id,
            "road");
  auto flood = rs.route(complaint("flood", v1::PRIORITY_HIGH, "Bengalon"));
  EXPECT_TRUE(flood.triage);
  EXPECT_EQ(flood.rule_id, "");
}

TEST(RuleSetTest, ScalarConditionIsAOneElementList) {
  auto rs = rulesOf(
      "rules:\n"
      "  - {id: flood, categories: flood, priorities: high, lead: bpbd}\n");
  EXPECT_EQ(rs.route(complaint("flood", v1::PRIORITY_HIGH)).rule_id, "flood");
  EXPECT_TRUE(rs.route(complaint("flood", v1::PRIORITY_LOW)).triage);
}

TEST(RuleSetTest, SupportAgenciesFollowTheLead) {
  auto rs = rulesOf(
      "rules:\n"
      "  - {id: fire, categories: [fire], lead: disdamkar, support: [rsud-kudungga, "
      "polres-kutim]}\n");
  auto d = rs.route(complaint("fire", v1::PRIORITY_EMERGENCY));
  EXPECT_THAT(targets(d),
              ::testing::ElementsAre(Target{"disdamkar", kLead}, Target{"rsud-kudungga", kSupport},
                                     Target{"polres-kutim", kSupport}));
}

TEST(RuleSetTest, NoMatchGoesToTriage) {
  auto rs = rulesOf(
      "rules:\n"
      "  - {id: fire, categories: [fire], lead: disdamkar}\n");
  auto d = rs.route(complaint("road-damage", v1::PRIORITY_NORMAL));
  EXPECT_TRUE(d.triage);
  EXPECT_EQ(d.rule_id, "");
  EXPECT_THAT(targets(d), ::testing::ElementsAre(Target{"triage", kLead}));
}

TEST(RuleSetTest, NoRulesAtAllTriagesEverything) {
  auto rs = RuleSet::fromDirectory(AgencyDirectory::parse(kAgencies, "rules.yaml"));
  EXPECT_EQ(rs.size(), 0u);
  EXPECT_EQ(rs.version(), "rules-test");
  EXPECT_EQ(rs.source(), "rules.yaml");
  EXPECT_TRUE(rs.route(complaint("fire", v1::PRIORITY_EMERGENCY)).triage);
}

TEST(RuleSetTest, ShippedRulesRouteFireToDamkarWithHospitalAndPolice) {
  auto rs = RuleSet::fromDirectory(AgencyDirectory::loadFile(kShipped));
  EXPECT_EQ(rs.size(), 10u);
  EXPECT_EQ(rs.version(), "kutim-2026.11.1");

  auto fire = rs.route(complaint("fire", v1::PRIORITY_EMERGENCY, "Sangatta Utara"));
  EXPECT_EQ(fire.rule_id, "fire");
  EXPECT_FALSE(fire.triage);
  EXPECT_THAT(targets(fire),
              ::testing::ElementsAre(Target{"disdamkar", kLead}, Target{"rsud-kudungga", kSupport},
                                     Target{"polres-kutim", kSupport}));

  auto landslide = rs.route(complaint("landslide", v1::PRIORITY_HIGH, "Bengalon"));
  EXPECT_EQ(landslide.rule_id, "flood");
  EXPECT_THAT(targets(landslide),
              ::testing::ElementsAre(Target{"bpbd", kLead}, Target{"dinas-pu", kSupport}));

  auto water = rs.route(complaint("water", v1::PRIORITY_NORMAL));
  EXPECT_THAT(targets(water), ::testing::ElementsAre(Target{"pdam", kLead}));

  auto other = rs.route(complaint("other", v1::PRIORITY_LOW));
  EXPECT_TRUE(other.triage);
  EXPECT_THAT(targets(other), ::testing::ElementsAre(Target{"triage", kLead}));
}

TEST(RuleSetTest, UnknownLeadAgencyNamesFileAndLine) {
  auto msg = ruleError(
      "rules:\n"
      "  - id: fire\n"
      "    categories: [fire]\n"
      "    lead: pemadam\n");
  EXPECT_THAT(msg, StartsWith("rules.yaml:17: "));
  EXPECT_THAT(msg, HasSubstr("unknown agency 'pemadam'"));
}

TEST(RuleSetTest, UnknownSupportAgencyNamesFileAndLine) {
  auto msg = ruleError(
      "rules:\n"
      "  - id: fire\n"
      "    lead: disdamkar\n"
      "    support: [rsud-kudungga, puskesmas]\n");
  EXPECT_THAT(msg, StartsWith("rules.yaml:17: "));
  EXPECT_THAT(msg, HasSubstr("puskesmas"));
}

TEST(RuleSetTest, LeadAlsoListedAsSupportIsRejected) {
  auto msg = ruleError(
      "rules:\n"
      "  - {id: fire, lead: disdamkar, support: [disdamkar]}\n");
  EXPECT_THAT(msg, StartsWith("rules.yaml:15: "));
}

TEST(RuleSetTest, DuplicateRuleIdNamesFileAndLine) {
  auto msg = ruleError(
      "rules:\n"
      "  - {id: fire, categories: [fire], lead: disdamkar}\n"
      "  - {id: flood, categories: [flood], lead: bpbd}\n"
      "  - {id: fire, categories: [road-damage], lead: dinas-pu}\n");
  EXPECT_THAT(msg, StartsWith("rules.yaml:17: "));
  EXPECT_THAT(msg, HasSubstr("duplicate rule id 'fire'"));
}

TEST(RuleSetTest, UnknownCategoryNamesFileAndLine) {
  auto msg = ruleError(
      "rules:\n"
      "  - id: volcano\n"
      "    lead: bpbd\n"
      "    categories: [flood, volcano]\n");
  EXPECT_THAT(msg, StartsWith("rules.yaml:17: "));
  EXPECT_THAT(msg, HasSubstr("unknown category 'volcano'"));
}

TEST(RuleSetTest, UnknownPriorityNamesFileAndLine) {
  auto msg = ruleError(
      "rules:\n"
      "  - id: fire\n"
      "    lead: disdamkar\n"
      "\n"
      "    priorities: [emergency, urgent]\n");
  EXPECT_THAT(msg, StartsWith("rules.yaml:18: "));
  EXPECT_THAT(msg, HasSubstr("unknown priority 'urgent'"));
}

TEST(RuleSetTest, RuleWithoutIdOrLeadNamesFileAndLine) {
  EXPECT_THAT(ruleError("rules:\n  - {lead: bpbd}\n"), StartsWith("rules.yaml:15: "));
  EXPECT_THAT(ruleError("rules:\n  - {id: x, categories: [fire]}\n"),
              StartsWith("rules.yaml:15: "));
}

TEST(RuleSetTest, PriorityNames) {
  EXPECT_EQ(priorityFromName("emergency"), v1::PRIORITY_EMERGENCY);
  EXPECT_EQ(priorityFromName("high"), v1::PRIORITY_HIGH);
  EXPECT_EQ(priorityFromName("normal"), v1::PRIORITY_NORMAL);
  EXPECT_EQ(priorityFromName("low"), v1::PRIORITY_LOW);
  EXPECT_EQ(priorityFromName("urgent"), v1::PRIORITY_UNSPECIFIED);
  EXPECT_EQ(priorityFromName("Emergency"), v1::PRIORITY_UNSPECIFIED);
}

}  // namespace
}  // namespace lapor::routing
