// Agency directory: the shipped file parses; every error names the file and the line.
#include "agencies/agency_directory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lapor::agencies {
namespace {

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

}  // namespace
}  // namespace lapor::agencies
