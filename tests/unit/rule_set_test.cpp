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
  EXPECT_THAT(rs.version(), StartsWith("rules-test+"));
  EXPECT_EQ(rs.source(), "rules.yaml");
  EXPECT_TRUE(rs.route(complaint("fire", v1::PRIORITY_EMERGENCY)).triage);
}

TEST(RuleSetTest, ShippedRulesRouteFireToDamkarWithHospitalAndPolice) {
  auto rs = RuleSet::fromDirectory(AgencyDirectory::loadFile(kShipped));
  EXPECT_EQ(rs.size(), 15u);
  EXPECT_THAT(rs.version(), StartsWith("kutim-2026.11.2+"));

  auto house_fire = complaint("fire", v1::PRIORITY_EMERGENCY, "Sangatta Utara");
  house_fire.set_description("Rumah terbakar, dua orang terjebak di dalam");
  auto fire = rs.route(house_fire);
  EXPECT_EQ(fire.rule_id, "fire");
  EXPECT_FALSE(fire.triage);
  EXPECT_THAT(targets(fire),
              ::testing::ElementsAre(Target{"disdamkar", kLead}, Target{"rsud-kudungga", kSupport},
                                     Target{"polres-kutim", kSupport}));
  auto forest = complaint("fire", v1::PRIORITY_EMERGENCY, "Muara Wahau");
  forest.set_title("Kebakaran LAHAN gambut dekat desa");
  EXPECT_EQ(rs.route(forest).rule_id, "forest-fire");
  EXPECT_THAT(targets(rs.route(forest)),
              ::testing::ElementsAre(Target{"bpbd", kLead}, Target{"disdamkar", kSupport},
                                     Target{"dlh", kSupport}));

  auto landslide = rs.route(complaint("landslide", v1::PRIORITY_HIGH, "Bengalon"));
  EXPECT_EQ(landslide.rule_id, "flood");
  EXPECT_THAT(targets(landslide),
              ::testing::ElementsAre(Target{"bpbd", kLead}, Target{"dinas-pu", kSupport}));

  auto water = rs.route(complaint("water", v1::PRIORITY_NORMAL));
  EXPECT_THAT(targets(water), ::testing::ElementsAre(Target{"pdam", kLead}));
  // PDAM's pipes do not reach Busang: the rural water rule takes it.
  auto rural = rs.route(complaint("water", v1::PRIORITY_NORMAL, "Busang"));
  EXPECT_EQ(rural.rule_id, "water-rural");
  EXPECT_THAT(targets(rural), ::testing::ElementsAre(Target{"dinas-pu", kLead}));

  auto other = rs.route(complaint("other", v1::PRIORITY_LOW));
  EXPECT_TRUE(other.triage);
  EXPECT_THAT(targets(other), ::testing::ElementsAre(Target{"triage", kLead}));
}

TEST(RuleSetTest, ShippedRulesUseRadiusPolygonAndDesa) {
  auto rs = RuleSet::fromDirectory(AgencyDirectory::loadFile(kShipped));
  auto medical = complaint("medical-emergency", v1::PRIORITY_EMERGENCY);
  medical.mutable_location()->set_has_coordinates(true);
  medical.mutable_location()->set_lat(0.52);  // Sangatta, ~1.5 km from the hospital
  medical.mutable_location()->set_lon(117.55);
  EXPECT_EQ(rs.route(medical).rule_id, "medical-emergency-sangatta");
  medical.mutable_location()->set_lat(1.05);  // Muara Wahau side, far away
  medical.mutable_location()->set_lon(116.80);
  EXPECT_EQ(rs.route(medical).rule_id, "medical-emergency");

  auto flood = complaint("flood", v1::PRIORITY_EMERGENCY);
  flood.mutable_location()->set_has_coordinates(true);
  flood.mutable_location()->set_lat(0.50);
  flood.mutable_location()->set_lon(117.56);
  EXPECT_EQ(rs.route(flood).rule_id, "flood-sangatta-plain");
  flood.mutable_location()->set_has_coordinates(false);  // no point: the polygon cannot match
  EXPECT_EQ(rs.route(flood).rule_id, "flood");

  auto road = complaint("road-damage", v1::PRIORITY_NORMAL);
  road.mutable_location()->set_desa("Swarga Bara");
  EXPECT_EQ(rs.route(road).rule_id, "road-damage-trunk");
  road.mutable_location()->set_desa("Kenyamukan");
  EXPECT_EQ(rs.route(road).rule_id, "road-damage");
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

v1::Complaint at(const std::string& category, double lat, double lon) {
  auto c = complaint(category, v1::PRIORITY_NORMAL);
  c.mutable_location()->set_has_coordinates(true);
  c.mutable_location()->set_lat(lat);
  c.mutable_location()->set_lon(lon);
  return c;
}

TEST(RuleMatchTest, DesaMustBeListed) {
  auto rs = rulesOf(
      "rules:\n"
      "  - {id: swarga, desa: [Swarga Bara], lead: dinas-pu}\n");
  auto c = complaint("road-damage", v1::PRIORITY_NORMAL);
  c.mutable_location()->set_desa("Swarga Bara");
  EXPECT_EQ(rs.route(c).rule_id, "swarga");
  c.mutable_location()->set_desa("Singa Gembara");
  EXPECT_TRUE(rs.route(c).triage);
}

// A square 0..1 x 0..1 (lat, lon).
const std::string kSquare =
    "rules:\n"
    "  - {id: square, polygon: [[0, 0], [0, 1], [1, 1], [1, 0]], lead: bpbd}\n";

TEST(RuleMatchTest, PolygonInsideOutsideAndEdges) {
  auto rs = rulesOf(kSquare);
  EXPECT_EQ(rs.route(at("flood", 0.5, 0.5)).rule_id, "square");
  EXPECT_TRUE(rs.route(at("flood", 1.5, 0.5)).triage);
  EXPECT_TRUE(rs.route(at("flood", 0.5, -0.0001)).triage);
  // On an edge and on a vertex: inside.
  EXPECT_EQ(rs.route(at("flood", 0.0, 0.5)).rule_id, "square");
  EXPECT_EQ(rs.route(at("flood", 0.5, 1.0)).rule_id, "square");
  EXPECT_EQ(rs.route(at("flood", 1.0, 1.0)).rule_id, "square");
  // The ray from a point level with a vertex must not count that vertex twice.
  EXPECT_TRUE(rs.route(at("flood", 1.0, -0.5)).triage);
  // No coordinates: a polygon rule cannot match.
  EXPECT_TRUE(rs.route(complaint("flood", v1::PRIORITY_NORMAL)).triage);
}

TEST(RuleMatchTest, ConcavePolygon) {
  // A "U": the notch between the arms is outside.
  auto rs = rulesOf(
      "rules:\n"
      "  - {id: u, polygon: [[0,0],[0,3],[3,3],[3,2],[1,2],[1,1],[3,1],[3,0]], lead: bpbd}\n");
  EXPECT_EQ(rs.route(at("flood", 0.5, 1.5)).rule_id, "u");
  EXPECT_EQ(rs.route(at("flood", 2.0, 2.5)).rule_id, "u");
  EXPECT_TRUE(rs.route(at("flood", 2.0, 1.5)).triage);
}

TEST(RuleMatchTest, RadiusInMetres) {
  // One thousandth of a degree of latitude is about 111 m.
  auto rs = rulesOf(
      "rules:\n"
      "  - {id: near, radius: {center: [0.5, 117.5], metres: 500}, lead: rsud-kudungga}\n");
  EXPECT_EQ(rs.route(at("fire", 0.5, 117.5)).rule_id, "near");
  EXPECT_EQ(rs.route(at("fire", 0.504, 117.5)).rule_id, "near");  // ~445 m
  EXPECT_TRUE(rs.route(at("fire", 0.505, 117.5)).triage);         // ~556 m
  EXPECT_TRUE(rs.route(complaint("fire", v1::PRIORITY_NORMAL)).triage);
}

TEST(RuleMatchTest, KeywordsAnyOneInTitleOrDescriptionIgnoringCase) {
  auto rs = rulesOf(
      "rules:\n"
      "  - {id: casualties, categories: [fire], keywords: [Korban, terjebak], lead: disdamkar,\n"
      "     support: [rsud-kudungga]}\n"
      "  - {id: fire, categories: [fire], lead: disdamkar}\n");
  auto c = complaint("fire", v1::PRIORITY_EMERGENCY);
  c.set_title("Kebakaran rumah");
  EXPECT_EQ(rs.route(c).rule_id, "fire");
  c.set_description("Ada KORBAN luka bakar");
  EXPECT_EQ(rs.route(c).rule_id, "casualties");
  c.set_description("");
  c.set_title("Warga terjebak di lantai dua");
  EXPECT_EQ(rs.route(c).rule_id, "casualties");
}

TEST(RuleMatchTest, AgencyAreasDecideWhetherItsRuleApplies) {
  const std::string dir =
      "version: areas\n"
      "kecamatan: [Bengalon, Busang]\n"
      "agencies:\n"
      "  - id: triage\n"
      "  - {id: pdam, areas: [Bengalon]}\n"
      "  - {id: dinas-pu}\n"
      "  - {id: dlh, areas: [Bengalon]}\n"
      "rules:\n"
      "  - {id: water, lead: pdam, support: [dlh]}\n"
      "  - {id: rural, lead: dinas-pu, support: [dlh], alternatives: [pdam]}\n";
  auto rs = RuleSet::fromDirectory(AgencyDirectory::parse(dir, "areas.yaml"));
  auto c = complaint("water", v1::PRIORITY_NORMAL, "Bengalon");
  EXPECT_EQ(rs.route(c).rule_id, "water");
  EXPECT_THAT(targets(rs.route(c)),
              ::testing::ElementsAre(Target{"pdam", kLead}, Target{"dlh", kSupport}));
  c.mutable_location()->set_kecamatan("Busang");
  EXPECT_EQ(rs.route(c).rule_id, "rural");
  // dlh does not serve Busang: no support assignment there.
  EXPECT_THAT(targets(rs.route(c)), ::testing::ElementsAre(Target{"dinas-pu", kLead}));
  EXPECT_THAT(rs.candidates(c), ::testing::ElementsAre("dinas-pu"));
}

TEST(RuleMatchTest, CandidatesFollowTheRuleThenLaterMatchingRules) {
  auto rs = rulesOf(
      "rules:\n"
      "  - {id: road-fire, categories: [road-damage], lead: dinas-pu, support: [polres-kutim],\n"
      "     alternatives: [bpbd]}\n"
      "  - {id: never, categories: [fire], lead: disdamkar}\n"
      "  - {id: any, lead: bpbd, support: [rsud-kudungga]}\n");
  EXPECT_THAT(rs.candidates(complaint("road-damage", v1::PRIORITY_NORMAL)),
              ::testing::ElementsAre("dinas-pu", "polres-kutim", "bpbd", "rsud-kudungga"));
  EXPECT_TRUE(rulesOf("rules: []\n").candidates(complaint("fire", v1::PRIORITY_LOW)).empty());
}

TEST(RuleMatchTest, VersionChangesWithTheContent) {
  auto a = rulesOf("rules:\n  - {id: a, lead: bpbd}\n");
  auto b = rulesOf("rules:\n  - {id: a, lead: dinas-pu}\n");
  EXPECT_NE(a.version(), b.version());
  EXPECT_EQ(a.version(), rulesOf("rules:\n  - {id: a, lead: bpbd}\n").version());
}

TEST(RuleMatchTest, BadPolygonNamesFileAndLine) {
  auto two = ruleError(
      "rules:\n"
      "  - id: p\n"
      "    lead: bpbd\n"
      "    polygon: [[0, 0], [1, 1]]\n");
  EXPECT_THAT(two, StartsWith("rules.yaml:17: "));
  EXPECT_THAT(two, HasSubstr("at least 3"));
  auto line = ruleError("rules:\n  - {id: p, lead: bpbd, polygon: [[0, 0], [1, 1], [2, 2]]}\n");
  EXPECT_THAT(line, StartsWith("rules.yaml:15: "));
  EXPECT_THAT(line, HasSubstr("no area"));
  auto range = ruleError(
      "rules:\n"
      "  - id: p\n"
      "    lead: bpbd\n"
      "    polygon:\n"
      "      - [0, 0]\n"
      "      - [95, 1]\n"
      "      - [1, 0]\n");
  EXPECT_THAT(range, StartsWith("rules.yaml:19: "));
  EXPECT_THAT(range, HasSubstr("out of range"));
  EXPECT_THAT(ruleError("rules:\n  - {id: p, lead: bpbd, polygon: [[0, 0], [1, x], [1, 0]]}\n"),
              StartsWith("rules.yaml:15: "));
}

TEST(RuleMatchTest, BadRadiusKeywordOrKeyNamesFileAndLine) {
  EXPECT_THAT(ruleError("rules:\n  - {id: r, lead: bpbd, radius: {center: [0, 0]}}\n"),
              StartsWith("rules.yaml:15: "));
  auto neg = ruleError(
      "rules:\n"
      "  - id: r\n"
      "    lead: bpbd\n"
      "    radius: {center: [0, 0], metres: -5}\n");
  EXPECT_THAT(neg, StartsWith("rules.yaml:17: "));
  EXPECT_THAT(neg, HasSubstr("above 0"));
  EXPECT_THAT(ruleError("rules:\n  - {id: k, lead: bpbd, keywords: [' ']}\n"),
              HasSubstr("empty keyword"));
  auto typo = ruleError("rules:\n  - id: k\n    lead: bpbd\n    kecamatn: [Bengalon]\n");
  EXPECT_THAT(typo, StartsWith("rules.yaml:17: "));
  EXPECT_THAT(typo, HasSubstr("unknown key 'kecamatn'"));
}

TEST(RuleMatchTest, UnknownAlternativeOrKecamatanNamesFileAndLine) {
  EXPECT_THAT(ruleError("rules:\n  - {id: a, lead: bpbd, alternatives: [damkar]}\n"),
              HasSubstr("alternative agency 'damkar'"));
  const std::string dir =
      "kecamatan: [Bengalon]\n"
      "agencies:\n"
      "  - id: triage\n"
      "  - {id: pdam, areas: [Bengalon, Atlantis]}\n";
  try {
    AgencyDirectory::parse(dir, "areas.yaml");
    ADD_FAILURE() << "unknown kecamatan in areas accepted";
  } catch (const DirectoryError& e) {
    EXPECT_THAT(e.what(), StartsWith("areas.yaml:4: "));
    EXPECT_THAT(e.what(), HasSubstr("Atlantis"));
  }
  try {
    RuleSet::fromDirectory(
        AgencyDirectory::parse("kecamatan: [Bengalon]\nagencies:\n  - id: triage\n  - id: pdam\n"
                               "rules:\n  - {id: r, kecamatan: [Bengalon, Narnia], lead: pdam}\n",
                               "kec.yaml"));
    ADD_FAILURE() << "unknown kecamatan in a rule accepted";
  } catch (const DirectoryError& e) {
    EXPECT_THAT(e.what(), StartsWith("kec.yaml:6: "));
    EXPECT_THAT(e.what(), HasSubstr("Narnia"));
  }
}

TEST(RuleMatchTest, DeliveryChannelIsValidated) {
  auto d = AgencyDirectory::parse(
      "agencies:\n  - id: triage\n  - {id: a, delivery: {channel: webhook}}\n", "d.yaml");
  EXPECT_EQ(d.find("a")->delivery_channel, "webhook");
  EXPECT_EQ(d.find("triage")->delivery_channel, "stream");
  try {
    AgencyDirectory::parse("agencies:\n  - id: triage\n  - {id: a, delivery: {channel: fax}}\n",
                           "d.yaml");
    ADD_FAILURE() << "delivery channel fax accepted";
  } catch (const DirectoryError& e) {
    EXPECT_THAT(e.what(), StartsWith("d.yaml:3: "));
    EXPECT_THAT(e.what(), HasSubstr("stream, webhook or kafka"));
  }
}

TEST(RuleMatchTest, AKafkaAgencyHasAConsumerGroupOfItsOwn) {
  auto d = AgencyDirectory::parse(
      "agencies:\n  - id: triage\n  - {id: polres, delivery: {channel: kafka}}\n"
      "  - {id: pdam, delivery: {channel: kafka, group: pdam-dispatch.reader}}\n",
      "d.yaml");
  EXPECT_EQ(d.find("polres")->delivery_group, "agency-polres.dispatch");
  EXPECT_EQ(d.find("pdam")->delivery_group, "pdam-dispatch.reader");
  EXPECT_EQ(d.find("triage")->delivery_group, "");
  for (const auto& [yaml, why] :
       std::vector<std::pair<std::string, std::string>>{
           {"{channel: webhook, group: g}", "needs channel kafka, not webhook"},
           {"{channel: kafka, group: 'a b'}", "must be 1..200 letters"},
           {"{channel: kafka, grup: g}", "unknown key 'delivery.grup'"}}) {
    try {
      AgencyDirectory::parse("agencies:\n  - id: triage\n  - {id: a, delivery: " + yaml + "}\n",
                             "d.yaml");
      ADD_FAILURE() << yaml << " accepted";
    } catch (const DirectoryError& e) {
      EXPECT_THAT(e.what(), StartsWith("d.yaml:3: ")) << yaml;
      EXPECT_THAT(e.what(), HasSubstr(why)) << yaml;
      EXPECT_THAT(e.what(), HasSubstr("agency 'a'")) << yaml;
    }
  }
}

}  // namespace
}  // namespace lapor::routing
