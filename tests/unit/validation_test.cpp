// Submission validation, table-driven: each broken field gives exactly one violation that names
// that field; a good request gives none.
#include "domain/validation.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <set>

namespace lapor::intake {
namespace {

const agencies::AgencyDirectory& directory() {
  static const auto d = agencies::AgencyDirectory::parse(
      "agencies:\n"
      "  - id: triage\n"
      "  - id: dinas-pu\n"
      "categories:\n"
      "  - code: road-damage\n"
      "  - code: fire\n"
      "    emergency: true\n",
      "test-agencies.yaml");
  return d;
}

v1::SubmitComplaintRequest goodRequest() {
  v1::SubmitComplaintRequest r;
  r.set_channel(v1::CHANNEL_WEB);
  r.set_category("road-damage");
  r.set_priority(v1::PRIORITY_NORMAL);
  r.set_title("Jalan berlubang di depan pasar");
  r.set_description("Lubang besar di Jl. Yos Sudarso, sudah dua minggu belum diperbaiki.");
  auto* loc = r.mutable_location();
  loc->set_has_coordinates(true);
  loc->set_lat(0.5089);
  loc->set_lon(117.5450);
  loc->set_kecamatan("Sangatta Utara");
  r.mutable_reporter()->set_name("Siti");
  r.add_attachments()->set_url("https://example.org/lubang.jpg");
  return r;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string describe(const std::vector<FieldViolation>& v) {
  std::string out;
  for (const auto& f : v) out += "\n  " + f.field + ": " + f.description;
  return out.empty() ? " (none)" : out;
}

TEST(ValidationTest, GoodRequestHasNoViolations) {
  auto v = validateSubmission(goodRequest(), directory());
  EXPECT_TRUE(v.empty()) << describe(v);
}

struct Case {
  const char* name;
  std::function<void(v1::SubmitComplaintRequest&)> change;
  const char* field;  // nullptr: the change is allowed
};

// Test output names the case instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class ValidationCaseTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidationCaseTest, GivesExactlyTheExpectedViolation) {
  const auto& c = GetParam();
  auto req = goodRequest();
  c.change(req);
  auto v = validateSubmission(req, directory());
  if (!c.field) {
    EXPECT_TRUE(v.empty()) << c.name << describe(v);
    return;
  }
  ASSERT_EQ(v.size(), 1u) << c.name << describe(v);
  EXPECT_EQ(v[0].field, c.field) << c.name;
  EXPECT_FALSE(v[0].description.empty()) << c.name;
}

const std::string kE = "\xc3\xa9";              // é: two bytes
const std::string kKa = "\xe0\xa4\x95";         // क: three bytes
const std::string kEmoji = "\xf0\x9f\x94\xa5";  // 🔥: four bytes

INSTANTIATE_TEST_SUITE_P(
    Fields, ValidationCaseTest,
    ::testing::Values(
        Case{"channel unspecified", [](auto& r) { r.set_channel(v1::CHANNEL_UNSPECIFIED); },
             "channel"},
        Case{"channel out of enum",
             [](auto& r) { r.set_channel(static_cast<v1::Channel>(99)); }, "channel"},
        Case{"category empty", [](auto& r) { r.clear_category(); }, "category"},
        Case{"category unknown", [](auto& r) { r.set_category("volcano"); }, "category"},
        Case{"priority unspecified", [](auto& r) { r.set_priority(v1::PRIORITY_UNSPECIFIED); },
             "priority"},
        Case{"priority out of enum",
             [](auto& r) { r.set_priority(static_cast<v1::Priority>(42)); }, "priority"},
        Case{"title empty", [](auto& r) { r.clear_title(); }, "title"},
        Case{"title blank", [](auto& r) { r.set_title(" \t\r\n "); }, "title"},
        Case{"title 201 chars", [](auto& r) { r.set_title(std::string(201, 'x')); }, "title"},
        Case{"title 200 chars", [](auto& r) { r.set_title(std::string(200, 'x')); }, nullptr},
        Case{"description empty", [](auto& r) { r.clear_description(); }, "description"},
        Case{"description 4001 ascii",
             [](auto& r) { r.set_description(std::string(4001, 'a')); }, "description"},
        Case{"description 4000 ascii",
             [](auto& r) { r.set_description(std::string(4000, 'a')); }, nullptr},
        Case{"description 4000 two-byte chars",
             [](auto& r) { r.set_description(repeat(kE, 4000)); }, nullptr},
        Case{"description 4000 three-byte chars",
             [](auto& r) { r.set_description(repeat(kKa, 4000)); }, nullptr},
        Case{"description 4000 four-byte chars",
             [](auto& r) { r.set_description(repeat(kEmoji, 4000)); }, nullptr},
        Case{"description 4001 two-byte chars",
             [](auto& r) { r.set_description(repeat(kE, 4001)); }, "description"},
        Case{"description invalid byte",
             [](auto& r) { r.set_description("rusak \xff parah"); }, "description"},
        Case{"title truncated sequence", [](auto& r) { r.set_title("jalan \xc3"); }, "title"},
        Case{"title bad continuation", [](auto& r) { r.set_title("\xc3\x28"); }, "title"},
        Case{"description overlong encoding",
             [](auto& r) { r.set_description("\xe0\x80\xaf"); }, "description"},
        Case{"description surrogate", [](auto& r) { r.set_description("\xed\xa0\x80"); },
             "description"},
        Case{"description past U+10FFFF",
             [](auto& r) { r.set_description("\xf4\x90\x80\x80"); }, "description"},
        Case{"kecamatan invalid utf-8",
             [](auto& r) { r.mutable_location()->set_kecamatan("Sangatta \xc0\xaf"); },
             "location.kecamatan"},
        Case{"reporter name invalid utf-8",
             [](auto& r) { r.mutable_reporter()->set_name("\x80"); }, "reporter.name"},
        Case{"lat above 90", [](auto& r) { r.mutable_location()->set_lat(90.0001); },
             "location.lat"},
        Case{"lat below -90", [](auto& r) { r.mutable_location()->set_lat(-91); },
             "location.lat"},
        Case{"lat NaN",
             [](auto& r) {
               r.mutable_location()->set_lat(std::numeric_limits<double>::quiet_NaN());
             },
             "location.lat"},
        Case{"lon above 180", [](auto& r) { r.mutable_location()->set_lon(180.5); },
             "location.lon"},
        Case{"lon below -180", [](auto& r) { r.mutable_location()->set_lon(-181); },
             "location.lon"},
        Case{"lon infinite",
             [](auto& r) {
               r.mutable_location()->set_lon(std::numeric_limits<double>::infinity());
             },
             "location.lon"},
        Case{"lat/lon on the bounds",
             [](auto& r) {
               r.mutable_location()->set_lat(-90);
               r.mutable_location()->set_lon(180);
             },
             nullptr},
        Case{"out-of-range coordinates ignored when has_coordinates is false",
             [](auto& r) {
               r.mutable_location()->set_has_coordinates(false);
               r.mutable_location()->set_lat(500);
             },
             nullptr},
        Case{"no location at all", [](auto& r) { r.clear_location(); }, "location"},
        Case{"address alone is a location",
             [](auto& r) {
               r.clear_location();
               r.mutable_location()->set_address("Jl. Yos Sudarso No. 1");
             },
             nullptr},
        Case{"kecamatan alone is a location",
             [](auto& r) {
               r.clear_location();
               r.mutable_location()->set_kecamatan("Bengalon");
             },
             nullptr},
        Case{"coordinates alone are a location",
             [](auto& r) { r.mutable_location()->clear_kecamatan(); }, nullptr},
        Case{"attachment without url",
             [](auto& r) { r.mutable_attachments(0)->clear_url(); }, "attachments[0].url"},
        Case{"second attachment without url",
             [](auto& r) { r.add_attachments()->set_content_type("image/jpeg"); },
             "attachments[1].url"},
        Case{"eleven attachments",
             [](auto& r) {
               for (int i = 0; i < 10; ++i) r.add_attachments()->set_url("https://x/" + std::to_string(i));
             },
             "attachments"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name;
      for (const char* p = info.param.name; *p; ++p)
        name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
      return name;
    });

TEST(ValidationTest, SeveralFaultsAreAllReported) {
  v1::SubmitComplaintRequest empty;
  auto v = validateSubmission(empty, directory());
  std::set<std::string> fields;
  for (const auto& f : v) fields.insert(f.field);
  for (const char* want : {"channel", "category", "priority", "title", "description", "location"})
    EXPECT_TRUE(fields.count(want)) << want << describe(v);
}

TEST(ValidationTest, LimitsAreConfigurable) {
  auto req = goodRequest();
  req.set_title("twelve chars");
  ValidationLimits limits;
  limits.title_max = 11;
  auto v = validateSubmission(req, directory(), limits);
  ASSERT_EQ(v.size(), 1u) << describe(v);
  EXPECT_EQ(v[0].field, "title");
}

TEST(ValidationTest, IsUtf8) {
  EXPECT_TRUE(isUtf8(""));
  EXPECT_TRUE(isUtf8("plain ascii"));
  EXPECT_TRUE(isUtf8("Kebakaran " + kE + kKa + kEmoji));
  EXPECT_TRUE(isUtf8("\xef\xbf\xbf"));      // U+FFFF
  EXPECT_TRUE(isUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_FALSE(isUtf8("\xff"));
  EXPECT_FALSE(isUtf8("\xc0\x80"));          // overlong NUL
  EXPECT_FALSE(isUtf8("\xc1\xbf"));          // overlong
  EXPECT_FALSE(isUtf8("\xe0\x80\x80"));      // overlong
  EXPECT_FALSE(isUtf8("\xf0\x80\x80\x80"));  // overlong
  EXPECT_FALSE(isUtf8("\xed\xbf\xbf"));      // surrogate
  EXPECT_FALSE(isUtf8("\xf5\x80\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(isUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(isUtf8("\x80"));              // lone continuation
}

}  // namespace
}  // namespace lapor::intake

namespace lapor::intake {
namespace {

constexpr int64_t kNow = 1'795'947'300'000;  // 2026-11-29T10:15:00Z

TEST(ValidationTest, ObservedAtMustBeSane) {
  auto at = [](int64_t ms) {
    auto r = goodRequest();
    r.set_observed_at_ms(ms);
    return validateSubmission(r, directory(), {}, kNow);
  };
  EXPECT_TRUE(at(0).empty());                  // not given
  EXPECT_TRUE(at(kNow - 3'600'000).empty());   // an hour ago
  EXPECT_TRUE(at(kNow + 60'000).empty());      // a minute of clock skew
  ASSERT_EQ(at(kNow + 3'600'000).size(), 1u);  // an hour ahead
  EXPECT_EQ(at(kNow + 3'600'000)[0].field, "observed_at_ms");
  ASSERT_EQ(at(1'795'947'300).size(), 1u);  // seconds, not milliseconds
  EXPECT_EQ(at(1'795'947'300)[0].field, "observed_at_ms");
}

TEST(ValidationTest, ReporterContactAndCategoryAreChecked) {
  auto r = goodRequest();
  r.mutable_reporter()->set_email("siti.example.org");
  r.mutable_reporter()->set_phone(std::string(41, '1'));
  r.mutable_reporter()->set_device_id("dev-\xff");
  r.set_category("road-\xc3");
  std::set<std::string> fields;
  for (const auto& v : validateSubmission(r, directory())) fields.insert(v.field);
  EXPECT_EQ(fields, (std::set<std::string>{"reporter.email", "reporter.phone", "reporter.device_id",
                                           "category"}));
}

}  // namespace
}  // namespace lapor::intake
