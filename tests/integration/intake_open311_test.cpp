// Open311 GeoReport v2 on a running intake, spoken to by the real `curl` binary: every resource,
// every error status (400, 403, 404, 429), and confidential complaints kept out of GET results.
#include "intake_fixture.h"
#include "integration_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <cctype>
#include <cstdio>
#include <fstream>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

struct HttpAnswer {
  int status = 0;
  std::string headers;
  std::string body;
  json parsed() const { return json::parse(body, nullptr, false); }
};

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A tracking id's check symbol may be one of * ~ $ = (Crockford), so ids in a query string are
// percent-encoded like any value.
std::string queryValue(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == ',') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// curl -X method url [--data-urlencode k=v]...
HttpAnswer curl(const std::string& method, const std::string& path,
                const std::vector<std::pair<std::string, std::string>>& form = {}) {
  const auto base = testing::runDir() + "/curl-" + uniqueName("out");
  std::string cmd = "curl -sS -o " + quote(base + ".body") + " -D " + quote(base + ".head") +
                    " -w '%{http_code}' -X " + method + " ";
  for (const auto& [k, v] : form) cmd += "--data-urlencode " + quote(k + "=" + v) + " ";
  cmd += quote("http://127.0.0.1:" + std::to_string(shared().a.open311Port()) + path);
  HttpAnswer out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[16] = {};
  if (std::fgets(buf, sizeof buf, p)) out.status = std::atoi(buf);
  pclose(p);
  auto slurp = [](const std::string& f) {
    std::ifstream in(f);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  out.body = slurp(base + ".body");
  out.headers = slurp(base + ".head");
  std::remove((base + ".body").c_str());
  std::remove((base + ".head").c_str());
  return out;
}

// An Open311 error answer: a JSON array of {code, description} with the HTTP status as code.
void expectErrors(const HttpAnswer& a, int status, const std::string& mentions = "") {
  EXPECT_EQ(a.status, status) << a.body;
  auto j = a.parsed();
  ASSERT_TRUE(j.is_array() && !j.empty()) << a.body;
  for (const auto& e : j) {
    EXPECT_EQ(e.value("code", 0), status) << a.body;
    EXPECT_FALSE(e.value("description", "").empty()) << a.body;
  }
  if (!mentions.empty()) {
    EXPECT_NE(a.body.find(mentions), std::string::npos) << a.body;
  }
}

std::vector<std::pair<std::string, std::string>> goodForm(const std::string& key) {
  return {{"api_key", key},
          {"service_code", "road-damage"},
          {"lat", "0.5089"},
          {"long", "117.545"},
          {"address_string", "Jl. Yos Sudarso, Sangatta"},
          {"description", "Lubang besar di depan pasar, sudah dua minggu."},
          {"attribute[kecamatan]", "Sangatta Utara"},
          {"first_name", "Siti"},
          {"email", "siti@example.org"},
          {"media_url", "https://example.org/lubang.jpg"}};
}

// Waits until the view has the submission (GET results are read from it).
void waitForView(const std::string& tracking_id) {
  waitFor(
      [&] {
        v1::GetComplaintRequest req;
        req.set_tracking_id(tracking_id);
        v1::ComplaintView v;
        return shared().a.stub()->GetComplaint(call().get(), req, &v).ok() &&
               v.submitted_at_ms() > 0;
      },
      20s);
}

TEST(IntakeOpen311Test, ServiceDiscovery) {
  auto a = curl("GET", "/services.json");
  ASSERT_EQ(a.status, 200) << a.body;
  auto j = a.parsed();
  ASSERT_TRUE(j.is_array());
  bool fire = false;
  for (const auto& s : j)
    if (s["service_code"] == "fire") {
      fire = true;
      EXPECT_EQ(s["metadata"], true);
      EXPECT_EQ(s["service_name"], "Kebakaran");
    }
  EXPECT_TRUE(fire) << a.body;

  auto def = curl("GET", "/services/fire.json");
  ASSERT_EQ(def.status, 200) << def.body;
  auto d = def.parsed();
  EXPECT_EQ(d["service_code"], "fire");
  bool priority = false;
  for (const auto& attr : d["attributes"])
    if (attr["code"] == "priority") priority = attr["values"].size() == 4;
  EXPECT_TRUE(priority) << def.body;

  expectErrors(curl("GET", "/services/alien-invasion.json"), 404, "alien-invasion");
  expectErrors(curl("GET", "/no-such-thing.json"), 404);
}

TEST(IntakeOpen311Test, PostThenGetTheRequest) {
  auto post = curl("POST", "/requests.json", goodForm(kPartnerKey));
  ASSERT_EQ(post.status, 200) << post.body;
  auto j = post.parsed();
  ASSERT_TRUE(j.is_array() && j.size() == 1) << post.body;
  const std::string id = j[0].value("service_request_id", "");
  ASSERT_EQ(id.rfind("LPR-", 0), 0u) << post.body;
  EXPECT_NE(j[0].value("service_notice", "").find("3 working days"), std::string::npos);
  EXPECT_EQ(j[0].value("token", "").size(), 26u) << "the reporter's secret: " << post.body;

  waitForView(id);
  auto get = curl("GET", "/requests/" + id + ".json");
  ASSERT_EQ(get.status, 200) << get.body;
  auto r = get.parsed()[0];
  EXPECT_EQ(r["service_request_id"], id);
  EXPECT_EQ(r["status"], "open");
  EXPECT_EQ(r["service_code"], "road-damage");
  EXPECT_EQ(r["description"], "Lubang besar di depan pasar, sudah dua minggu.");
  EXPECT_DOUBLE_EQ(r["lat"].get<double>(), 0.5089);
  EXPECT_DOUBLE_EQ(r["long"].get<double>(), 117.545);
  EXPECT_EQ(r["media_url"], "https://example.org/lubang.jpg");
  EXPECT_TRUE(r["expected_datetime"].is_string());
  EXPECT_NE(r["requested_datetime"].get<std::string>().find("+08:00"), std::string::npos);
  // The reporter's contact is never part of a public answer.
  EXPECT_EQ(get.body.find("siti@example.org"), std::string::npos);

  auto list =
      curl("GET", "/requests.json?service_request_id=" + queryValue(id + "," + absentTrackingId()));
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.parsed().size(), 1u) << list.body;
  auto by_code = curl("GET", "/requests.json?service_code=road-damage&status=open");
  ASSERT_EQ(by_code.status, 200);
  EXPECT_NE(by_code.body.find(id), std::string::npos);
  auto closed = curl("GET", "/requests.json?service_code=road-damage&status=closed");
  ASSERT_EQ(closed.status, 200);
  EXPECT_EQ(closed.body.find(id), std::string::npos);
  auto later = curl("GET", "/requests.json?start_date=2099-01-01T00:00:00Z");
  ASSERT_EQ(later.status, 200);
  EXPECT_EQ(later.parsed().size(), 0u);

  expectErrors(curl("GET", "/requests/" + absentTrackingId() + ".json"), 404);
  expectErrors(curl("GET", "/requests/garbage.json"), 404);
}

// A key reused with another request is a 400 with the error array, naming the key; nothing is
// created.
TEST(IntakeOpen311Test, AReusedIdempotencyKeyWithAnotherRequestIs400) {
  const auto key = uniqueName("o311-key");
  auto form = goodForm(kPartnerKey);
  form.push_back({"idempotency_key", key});
  auto first = curl("POST", "/requests.json", form);
  ASSERT_EQ(first.status, 200) << first.body;
  auto again = curl("POST", "/requests.json", form);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.parsed()[0]["service_request_id"], first.parsed()[0]["service_request_id"]);
  EXPECT_EQ(again.parsed()[0]["token"], first.parsed()[0]["token"]);
  for (auto& [k, v] : form)
    if (k == "description") v = "Pohon tumbang menutup jalan ke sekolah.";
  expectErrors(curl("POST", "/requests.json", form), 400, key);
}

TEST(IntakeOpen311Test, BadRequestsGet400) {
  auto form = goodForm(kPartnerKey);
  auto without = [&](const std::string& name) {
    std::vector<std::pair<std::string, std::string>> f;
    for (const auto& kv : form)
      if (kv.first != name) f.push_back(kv);
    return f;
  };
  expectErrors(curl("POST", "/requests.json", without("service_code")), 400, "service_code");
  auto unknown = form;
  unknown[1].second = "alien-invasion";
  expectErrors(curl("POST", "/requests.json", unknown), 400, "service_code");
  auto no_location = without("lat");
  std::erase_if(no_location, [](const auto& kv) {
    return kv.first == "long" || kv.first == "address_string" || kv.first == "attribute[kecamatan]";
  });
  expectErrors(curl("POST", "/requests.json", no_location), 400, "lat/long or address_string");
  auto bad_lat = form;
  bad_lat[2].second = "north";
  expectErrors(curl("POST", "/requests.json", bad_lat), 400, "lat");
  auto far_lat = form;
  far_lat[2].second = "95";
  expectErrors(curl("POST", "/requests.json", far_lat), 400, "lat");
  auto long_text = form;
  long_text[5].second = std::string(4001, 'x');
  expectErrors(curl("POST", "/requests.json", long_text), 400, "description");
  auto bad_priority = form;
  bad_priority.push_back({"attribute[priority]", "urgent-ish"});
  expectErrors(curl("POST", "/requests.json", bad_priority), 400, "priority");

  expectErrors(curl("GET", "/requests.json?start_date=yesterday"), 400, "start_date");
  expectErrors(curl("GET", "/requests.json?status=pending"), 400, "status");
  expectErrors(
      curl("GET", "/requests.json?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z"),
      400, "end_date");
  expectErrors(curl("GET", "/requests.json?service_code=alien-invasion"), 404);
}

TEST(IntakeOpen311Test, XmlIsServedToo) {
  auto services = curl("GET", "/services.xml");
  ASSERT_EQ(services.status, 200) << services.body;
  EXPECT_NE(services.headers.find("text/xml"), std::string::npos) << services.headers;
  EXPECT_NE(services.body.find("<service><description>Kebakaran</description>"), std::string::npos)
      << services.body;
  auto post = curl("POST", "/requests.xml", goodForm(kPartnerKey));
  ASSERT_EQ(post.status, 200) << post.body;
  const auto start = post.body.find("<service_request_id>");
  ASSERT_NE(start, std::string::npos) << post.body;
  const auto id = post.body.substr(start + 20, 15);
  waitForView(id);
  auto get = curl("GET", "/requests/" + id + ".xml");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_NE(get.body.find("<status>open</status>"), std::string::npos) << get.body;
  auto missing = curl("GET", "/requests/" + absentTrackingId() + ".xml");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("<errors><error><code>404</code>"), std::string::npos)
      << missing.body;
}

TEST(IntakeOpen311Test, KeysAreRequiredAndChecked) {
  expectErrors(curl("POST", "/requests.json", goodForm("")), 403, "api_key");
  expectErrors(curl("POST", "/requests.json", goodForm("stolen-key")), 403, "unknown API key");
}

TEST(IntakeOpen311Test, OverTheRateLimitIs429WithRetryAfter) {
  // The "limited" publisher's budget is shared with gRPC: at most kLimitedRate more succeed.
  HttpAnswer last;
  for (int i = 0; i <= kLimitedRate && last.status != 429; ++i)
    last = curl("POST", "/requests.json", goodForm(kLimitedKey));
  expectErrors(last, 429);
  EXPECT_NE(last.headers.find("Retry-After: "), std::string::npos) << last.headers;
}

TEST(IntakeOpen311Test, ConfidentialRequestsAreNotInGetResults) {
  auto form = goodForm(kPartnerKey);
  form.push_back({"attribute[confidential]", "true"});
  form[1].second = "public-service";
  auto post = curl("POST", "/requests.json", form);
  ASSERT_EQ(post.status, 200) << post.body;
  const std::string id = post.parsed()[0]["service_request_id"];
  waitForView(id);
  expectErrors(curl("GET", "/requests/" + id + ".json"), 404);
  auto list = curl("GET", "/requests.json?service_code=public-service");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(id), std::string::npos);
  auto by_id = curl("GET", "/requests.json?service_request_id=" + queryValue(id));
  ASSERT_EQ(by_id.status, 200);
  EXPECT_EQ(by_id.parsed().size(), 0u);
}

}  // namespace
}  // namespace lapor::integration
