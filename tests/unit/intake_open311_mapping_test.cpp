// Open311 GeoReport v2 mapping: form fields to a submission, states to open/closed, W3C times.
#include "domain/open311_mapping.h"

#include <gtest/gtest.h>

namespace lapor::intake::open311 {
namespace {

TEST(Open311MappingTest, FormBecomesAnOpen311Submission) {
  Params form{{"service_code", "road-damage"},
              {"lat", "0.5089"},
              {"long", "117.545"},
              {"address_string", "Jl. Yos Sudarso"},
              {"description", "Lubang besar di depan pasar"},
              {"first_name", "Siti"},
              {"last_name", "Aminah"},
              {"phone", "0811"},
              {"email", "siti@example.org"},
              {"device_id", "dev-1"},
              {"media_url", "https://example.org/a.jpg"},
              {"attribute[kecamatan]", "Sangatta Utara"},
              {"attribute[confidential]", "true"},
              {"attribute[external_ref]", "city-app-77"}};
  auto f = fromForm(form, false);
  EXPECT_TRUE(f.violations.empty());
  const auto& r = f.request;
  EXPECT_EQ(r.channel(), v1::CHANNEL_OPEN311);
  EXPECT_EQ(r.category(), "road-damage");
  EXPECT_EQ(r.priority(), v1::PRIORITY_NORMAL);
  EXPECT_TRUE(r.location().has_coordinates());
  EXPECT_DOUBLE_EQ(r.location().lat(), 0.5089);
  EXPECT_DOUBLE_EQ(r.location().lon(), 117.545);
  EXPECT_EQ(r.location().address(), "Jl. Yos Sudarso");
  EXPECT_EQ(r.location().kecamatan(), "Sangatta Utara");
  EXPECT_EQ(r.title(), "Lubang besar di depan pasar");
  EXPECT_EQ(r.reporter().name(), "Siti Aminah");
  EXPECT_EQ(r.reporter().device_id(), "dev-1");
  ASSERT_EQ(r.attachments_size(), 1);
  EXPECT_EQ(r.attachments(0).url(), "https://example.org/a.jpg");
  EXPECT_TRUE(r.confidential());
  EXPECT_FALSE(r.anonymous());
  EXPECT_EQ(r.external_ref(), "city-app-77");
}

TEST(Open311MappingTest, EmergencyServicesDefaultToEmergencyPriority) {
  EXPECT_EQ(fromForm({{"service_code", "fire"}}, true).request.priority(), v1::PRIORITY_EMERGENCY);
  EXPECT_EQ(fromForm({{"attribute[priority]", "low"}}, true).request.priority(), v1::PRIORITY_LOW);
}

TEST(Open311MappingTest, UnreadableFieldsAreNamed) {
  auto f = fromForm({{"lat", "north"}, {"long", "1e999"}, {"attribute[priority]", "asap"}}, false);
  std::vector<std::string> fields;
  for (const auto& v : f.violations) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"attribute[priority]", "lat", "long"}));
  EXPECT_FALSE(f.request.location().has_coordinates());
}

TEST(Open311MappingTest, LongDescriptionsGiveATitleCutAtACharacter) {
  std::string d;
  for (int i = 0; i < 100; ++i) d += "é";  // two bytes each
  auto f = fromForm({{"description", d}}, false);
  EXPECT_EQ(f.request.title().size(), 160u);  // 80 characters
}

TEST(Open311MappingTest, StatesMapToOpenOrClosed) {
  EXPECT_EQ(status(v1::COMPLAINT_STATUS_SUBMITTED), "open");
  EXPECT_EQ(status(v1::COMPLAINT_STATUS_IN_PROGRESS), "open");
  EXPECT_EQ(status(v1::COMPLAINT_STATUS_REOPENED), "open");
  EXPECT_EQ(status(v1::COMPLAINT_STATUS_TRIAGE), "open");
  EXPECT_EQ(status(v1::COMPLAINT_STATUS_RESOLVED), "closed");
  EXPECT_EQ(status(v1::COMPLAINT_STATUS_CLOSED), "closed");
  EXPECT_FALSE(statusWords(v1::COMPLAINT_STATUS_TRIAGE).empty());
}

TEST(Open311MappingTest, FieldNamesGoBackToOpen311Parameters) {
  EXPECT_EQ(parameterName("category"), "service_code");
  EXPECT_EQ(parameterName("location.lon"), "long");
  EXPECT_EQ(parameterName("description"), "description");
}

TEST(Open311MappingTest, W3CTimes) {
  EXPECT_EQ(parseTime("2026-11-29T10:15:00Z"), 1'795'947'300'000);
  EXPECT_EQ(parseTime("2026-11-29T18:15:00+08:00"), 1'795'947'300'000);
  EXPECT_EQ(parseTime("2026-11-29T18:15:00.250+08:00"), 1'795'947'300'000);
  EXPECT_EQ(parseTime("2026-11-29"), 1'795'910'400'000);
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-11-29T25:00:00Z",
                          "2026-11-29T10:15:00+8", "2026/11/29"})
    EXPECT_FALSE(parseTime(bad).has_value()) << bad;
  EXPECT_EQ(formatTime(1'795'947'300'000, 480), "2026-11-29T18:15:00+08:00");
  EXPECT_EQ(formatTime(1'795'947'300'000, -90), "2026-11-29T08:45:00-01:30");
}

}  // namespace
}  // namespace lapor::intake::open311

namespace lapor::intake::open311 {
namespace {

TEST(Open311MappingTest, XmlFollowsGeoReportNames) {
  nlohmann::json services = nlohmann::json::array({{{"service_code", "fire"}, {"metadata", true}}});
  EXPECT_EQ(toXml(services, "services"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><metadata>true</metadata>"
            "<service_code>fire</service_code></service></services>");
  nlohmann::json requests = nlohmann::json::array(
      {{{"service_request_id", "LPR-1"}, {"lat", nullptr}, {"description", "a < b & \"c\""}}});
  EXPECT_EQ(toXml(requests, "service_requests"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request>"
            "<description>a &lt; b &amp; &quot;c&quot;</description><lat/>"
            "<service_request_id>LPR-1</service_request_id></request></service_requests>");
  nlohmann::json def = {
      {"service_code", "fire"},
      {"attributes",
       nlohmann::json::array(
           {{{"code", "priority"}, {"values", nlohmann::json::array({{{"key", "low"}}})}}})}};
  EXPECT_EQ(toXml(def, "service_definition"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_definition><attributes><attribute>"
            "<code>priority</code><values><value><key>low</key></value></values></attribute>"
            "</attributes><service_code>fire</service_code></service_definition>");
}

}  // namespace
}  // namespace lapor::intake::open311
