// Agency directory: the shipped file parses; every error names the file and the line.
#include "agencies/agency_directory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lapor::agencies {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

const std::string kShipped = std::string(LAPOR_SOURCE_DIR) + "/deploy/config/agencies.yaml";

// Parses `yaml` as "dir.yaml", which must fail; returns the message.
std::string parseError(const std::string& yaml) {
  try {
    AgencyDirectory::parse(yaml, "dir.yaml");
  } catch (const DirectoryError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected DirectoryError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected DirectoryError, the directory was accepted:\n" << yaml;
  return {};
}

TEST(AgencyDirectoryTest, ParsesShippedFile) {
  auto d = AgencyDirectory::loadFile(kShipped);
  EXPECT_EQ(d.source(), kShipped);
  EXPECT_EQ(d.version(), "kutim-2026.11.2");
  EXPECT_EQ(d.agencies().size(), 15u);
  EXPECT_EQ(d.categories().size(), 12u);

  const auto* triage = d.find(AgencyDirectory::kTriage);
  ASSERT_NE(triage, nullptr);
  EXPECT_EQ(triage->kind, "operator");
  EXPECT_EQ(triage->supervisor, "sekda");

  const auto* damkar = d.find("disdamkar");
  ASSERT_NE(damkar, nullptr);
  EXPECT_EQ(damkar->name, "Dinas Pemadam Kebakaran dan Penyelamatan");
  EXPECT_EQ(damkar->kind, "fire");
  EXPECT_EQ(damkar->supervisor, "sekda");
  ASSERT_NE(d.find("sekda"), nullptr);
  EXPECT_EQ(d.find("sekda")->supervisor, "inspektorat");
  ASSERT_NE(d.find("inspektorat"), nullptr);
  EXPECT_EQ(d.find("inspektorat")->supervisor, "");
  EXPECT_EQ(d.find("no-such-agency"), nullptr);

  const auto* fire = d.category("fire");
  ASSERT_NE(fire, nullptr);
  EXPECT_TRUE(fire->emergency);
  EXPECT_EQ(fire->name, "Kebakaran");
  ASSERT_NE(d.category("road-damage"), nullptr);
  EXPECT_FALSE(d.category("road-damage")->emergency);
  EXPECT_EQ(d.category("volcano"), nullptr);
}

TEST(AgencyDirectoryTest, EverySupervisorChainEndsWithoutLoops) {
  auto d = AgencyDirectory::loadFile(kShipped);
  for (const auto& a : d.agencies()) {
    const AgencyInfo* at = &a;
    size_t steps = 0;
    while (!at->supervisor.empty() && steps <= d.agencies().size()) {
      at = d.find(at->supervisor);
      ASSERT_NE(at, nullptr) << a.id;
      ++steps;
    }
    EXPECT_LE(steps, d.agencies().size()) << "supervisor loop from " << a.id;
  }
}

TEST(AgencyDirectoryTest, MinimalDirectoryDefaultsNameAndVersion) {
  auto d = AgencyDirectory::parse("agencies:\n  - id: triage\n");
  EXPECT_EQ(d.version(), "unversioned");
  EXPECT_EQ(d.source(), "<string>");
  ASSERT_EQ(d.agencies().size(), 1u);
  EXPECT_EQ(d.agencies()[0].name, "triage");
  EXPECT_TRUE(d.categories().empty());
}

TEST(AgencyDirectoryTest, DuplicateAgencyIdNamesFileAndLine) {
  auto msg = parseError(
      "agencies:\n"
      "  - id: triage\n"
      "  - id: bpbd\n"
      "  - id: dinas-pu\n"
      "  - id: bpbd\n");
  EXPECT_THAT(msg, StartsWith("dir.yaml:5: "));
  EXPECT_THAT(msg, HasSubstr("duplicate agency id 'bpbd'"));
}

TEST(AgencyDirectoryTest, BadIdCharactersNameFileAndLine) {
  for (const char* bad : {"Dinas_PU", "dinas pu", "-pu", "bpbd.v1", "UPPER"}) {
    auto msg = parseError(std::string("agencies:\n  - id: triage\n\n  - id: \"") + bad + "\"\n");
    EXPECT_THAT(msg, StartsWith("dir.yaml:4: ")) << bad;
    EXPECT_THAT(msg, HasSubstr(bad));
  }
}

TEST(AgencyDirectoryTest, UnknownSupervisorNamesFileAndLine) {
  auto msg = parseError(
      "agencies:\n"
      "  - id: triage\n"
      "  - id: bpbd\n"
      "    name: Badan Penanggulangan Bencana Daerah\n"
      "    supervisor: bupati\n");
  EXPECT_THAT(msg, StartsWith("dir.yaml:5: "));
  EXPECT_THAT(msg, HasSubstr("bupati"));
}

TEST(AgencyDirectoryTest, MissingTriageAgencyNamesFileAndLine) {
  auto msg = parseError(
      "version: test\n"
      "agencies:\n"
      "  - id: bpbd\n"
      "  - id: dinas-pu\n");
  EXPECT_THAT(msg, MatchesRegex(R"(dir\.yaml:[0-9]+: .*)"));
  EXPECT_THAT(msg, HasSubstr("triage"));
}

TEST(AgencyDirectoryTest, AgencyWithoutIdNamesFileAndLine) {
  auto msg = parseError(
      "agencies:\n"
      "  - id: triage\n"
      "  - name: Nameless\n");
  EXPECT_THAT(msg, StartsWith("dir.yaml:3: "));
}

TEST(AgencyDirectoryTest, DuplicateCategoryNamesFileAndLine) {
  auto msg = parseError(
      "agencies:\n"
      "  - id: triage\n"
      "categories:\n"
      "  - code: fire\n"
      "  - code: flood\n"
      "  - code: fire\n");
  EXPECT_THAT(msg, StartsWith("dir.yaml:6: "));
  EXPECT_THAT(msg, HasSubstr("fire"));
}

TEST(AgencyDirectoryTest, WrongValueTypeNamesFileAndLine) {
  auto msg = parseError(
      "agencies:\n"
      "  - id: triage\n"
      "categories:\n"
      "  - code: fire\n"
      "    emergency: maybe\n");
  EXPECT_THAT(msg, StartsWith("dir.yaml:5: "));
}

TEST(AgencyDirectoryTest, SyntaxErrorNamesFileAndLine) {
  auto msg = parseError(
      "agencies:\n"
      "  - id: triage\n"
      "  - {id: bpbd\n");
  EXPECT_THAT(msg, MatchesRegex(R"(dir\.yaml:[0-9]+: .*)"));
}

TEST(AgencyDirectoryTest, EmptyOrMissingAgencyListIsRejected) {
  EXPECT_THAT(parseError("agencies: []\n"), HasSubstr("dir.yaml"));
  EXPECT_THAT(parseError("version: x\n"), HasSubstr("agencies"));
  EXPECT_THAT(parseError("- just\n- a list\n"), HasSubstr("dir.yaml"));
}

TEST(AgencyDirectoryTest, UnreadableFileNamesThePath) {
  const std::string missing = std::string(LAPOR_SOURCE_DIR) + "/no/such/agencies.yaml";
  try {
    AgencyDirectory::loadFile(missing);
    FAIL() << "loadFile accepted a missing file";
  } catch (const DirectoryError& e) {
    EXPECT_THAT(e.what(), HasSubstr(missing));
  }
}

TEST(AgencyDirectoryTest, ShippedUnitsBelongToTheirAgencies) {
  auto d = AgencyDirectory::loadFile(kShipped);
  const auto* jalan = d.unit("dinas-pu-upt-jalan-sangatta");
  ASSERT_NE(jalan, nullptr);
  EXPECT_EQ(jalan->agency, "dinas-pu");
  EXPECT_EQ(jalan->name, "UPT Pemeliharaan Jalan Sangatta");
  EXPECT_THAT(jalan->areas, ::testing::Contains("Sangatta Utara"));
  EXPECT_THAT(d.find("dinas-pu")->units,
              ::testing::ElementsAre("dinas-pu-upt-jalan-sangatta", "dinas-pu-upt-jalan-wahau"));
  ASSERT_NE(d.unit("dlh-upt-persampahan"), nullptr);
  EXPECT_EQ(d.unit("dlh-upt-persampahan")->agency, "dlh");
  // A unit is not an agency, and an agency is not a unit.
  EXPECT_EQ(d.find("dinas-pu-upt-jalan-sangatta"), nullptr);
  EXPECT_EQ(d.unit("dinas-pu"), nullptr);
  EXPECT_TRUE(d.find("dishub")->units.empty());
}

const std::string kWithUnits = R"(kecamatan: [Bengalon, Kaubun]
agencies:
  - {id: triage}
  - id: dinas-pu
    areas: [Bengalon]
    units:
)";

TEST(AgencyDirectoryTest, UnitErrorsNameTheEntry) {
  EXPECT_THAT(parseError(kWithUnits + "      - {id: UPT_Jalan}\n"),
              AllOf(StartsWith("dir.yaml:7: "), HasSubstr("unit 'UPT_Jalan'"),
                    HasSubstr("lower-case")));
  EXPECT_THAT(parseError(kWithUnits + "      - {id: triage}\n"),
              AllOf(StartsWith("dir.yaml:7: "), HasSubstr("unit 'triage'"),
                    HasSubstr("agency's id")));
  EXPECT_THAT(parseError(kWithUnits + "      - {id: upt-a}\n      - {id: upt-a}\n"),
              AllOf(StartsWith("dir.yaml:8: "), HasSubstr("duplicate unit id")));
  EXPECT_THAT(parseError(kWithUnits + "      - {id: upt-a, areas: [Sangatta]}\n"),
              AllOf(StartsWith("dir.yaml:7: "), HasSubstr("unknown kecamatan 'Sangatta'")));
  EXPECT_THAT(parseError(kWithUnits + "      - {id: upt-a, areas: [Kaubun]}\n"),
              AllOf(HasSubstr("unit 'upt-a'"), HasSubstr("not among the areas of its agency")));
  EXPECT_THAT(parseError(kWithUnits + "      - {id: upt-a, supervisor: triage}\n"),
              AllOf(HasSubstr("unit 'upt-a'"), HasSubstr("unknown key 'supervisor'")));
  EXPECT_THAT(parseError(kWithUnits + "      - {name: x}\n"), HasSubstr("unit without 'id'"));
  EXPECT_THAT(parseError(kWithUnits + "      upt-a\n"), HasSubstr("'units' must be a list"));
  // A unit id may not be taken by an agency listed after it either.
  EXPECT_THAT(parseError(kWithUnits + "      - {id: dlh}\n  - {id: dlh}\n"),
              AllOf(HasSubstr("unit 'dlh'"), HasSubstr("agency's id")));
}

}  // namespace
}  // namespace lapor::agencies
