// Proof that the dashboards and alert rules work against the real thing: Debian's prometheus
// scrapes the running stack (1 s interval, the shipped rules loaded) while a small load flows
// through it; then every panel query of every dashboard in deploy/grafana/dashboards runs
// through Prometheus's HTTP API and must succeed with at least one series. The services'
// /metrics, with every family populated by the load, must pass `promtool check metrics`.
#include "events/envelope.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "lifecycle_events.h"
#include "process.h"
#include "stack.h"
#include "topic_reader.h"
#include "wait.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

namespace lapor::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

class DashboardsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack({{"LAPOR_SLA_ACKNOWLEDGE_NORMAL", "2s"},
                        {"LAPOR_SLA_ACKNOWLEDGE_EMERGENCY", "2s"},
                        {"LAPOR_SLA_TICK", "100ms"}});
    startPrometheus();
  }
  static void TearDownTestSuite() {
    prometheus_.reset();
    EXPECT_EQ(stack_->stopAll(), "");
    delete stack_;
    stack_ = nullptr;
  }

  static void startPrometheus() {
    const auto dir = runDir() + "/prometheus-" + std::to_string(std::random_device{}());
    fs::create_directories(dir + "/data");
    json targets = json::array();
    for (const char* s : Stack::kServices)
      targets.push_back({{"targets", {"127.0.0.1:" + std::to_string(
                                                         stack_->endpoint(s).metrics_port)}},
                         {"labels", {{"service", s}}}});
    std::ofstream(dir + "/targets.json") << targets.dump();
    // The shipped configuration with short intervals and this run's targets.
    std::ofstream(dir + "/prometheus.yml")
        << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        << "rule_files: ['" LAPOR_SOURCE_DIR "/deploy/prometheus/rules/lapor.rules.yml']\n"
        << "scrape_configs:\n"
        << "  - job_name: lapor\n"
        << "    file_sd_configs: [{files: ['" << dir << "/targets.json'], refresh_interval: 1s}]\n";
    port_ = freePort();
    prometheus_ = std::make_unique<ChildProcess>(
        "prometheus",
        std::vector<std::string>{"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                                 "--storage.tsdb.path=" + dir + "/data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--log.level=warn"},
        std::map<std::string, std::string>{}, runDir() + "/logs/prometheus.log");
  }

  // Runs an instant query; returns the result array, or null with `error` set.
  static json query(const std::string& promql, std::string* error) {
    httplib::Client http("127.0.0.1", port_);
    http.set_read_timeout(10, 0);
    auto res = http.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
    if (!res) {
      *error = "no answer from prometheus";
      return nullptr;
    }
    auto body = json::parse(res->body, nullptr, false);
    if (res->status != 200 || body.is_discarded() || body.value("status", "") != "success") {
      *error = "HTTP " + std::to_string(res->status) + ": " + res->body;
      return nullptr;
    }
    error->clear();
    return body["data"]["result"];
  }

  static Stack* stack_;
  static std::unique_ptr<ChildProcess> prometheus_;
  static int port_;
};

Stack* DashboardsTest::stack_ = nullptr;
std::unique_ptr<ChildProcess> DashboardsTest::prometheus_;
int DashboardsTest::port_ = 0;

v1::SubmitComplaintRequest submission(const std::string& category, v1::Priority priority) {
  v1::SubmitComplaintRequest req;
  req.set_channel(v1::CHANNEL_WEB);
  req.set_category(category);
  req.set_priority(priority);
  req.set_title("Beban uji dasbor " + category);
  req.set_description("Laporan beban untuk uji dasbor, kategori " + category);
  req.mutable_location()->set_kecamatan("Sangatta Utara");
  return req;
}

// A small load that touches every metric family the dashboards read: submissions (one
// invalid), routing, dispatch, acknowledgements in time and late, breaches and escalations
// of complaints and emergencies, a resolution, and undecodable bytes for the dead letters.
void generateLoad(Stack& stack) {
  auto intake = v1::IntakeService::NewStub(
      grpc::CreateChannel(stack.endpoint("intake").grpc(), grpc::InsecureChannelCredentials()));
  auto submit = [&](const v1::SubmitComplaintRequest& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::SubmitComplaintResponse resp;
    return intake->SubmitComplaint(&ctx, req, &resp);
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(submit(submission("road-damage", v1::PRIORITY_NORMAL)).ok());
    EXPECT_TRUE(submit(submission("fire", v1::PRIORITY_EMERGENCY)).ok());
  }
  auto invalid = submission("road-damage", v1::PRIORITY_NORMAL);
  invalid.clear_title();
  EXPECT_EQ(submit(invalid).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const auto& brokers = stack.brokers();
  const auto run = std::to_string(std::random_device{}());
  for (int i = 0; i < 4; ++i) {
    const auto cid = "dash-" + run + "-" + std::to_string(i);
    const bool emergency = i % 2 == 1;
    auto sub = events::makeEnvelope("intake", cid, "trace-" + cid, nowMs());
    auto* c = sub.mutable_submitted()->mutable_complaint();
    c->set_complaint_id(cid);
    c->set_category(emergency ? "fire" : "road-damage");
    c->set_priority(emergency ? v1::PRIORITY_EMERGENCY : v1::PRIORITY_NORMAL);
    EXPECT_TRUE(produceEvent(brokers, sub));
    const std::string agency = emergency ? "disdamkar" : "dinas-pu";
    EXPECT_TRUE(produceEvent(brokers, routedEvent(cid,
                                                  emergency ? v1::PRIORITY_EMERGENCY
                                                            : v1::PRIORITY_NORMAL,
                                                  c->category(), {agency}, nowMs())));
    if (i >= 2) continue;  // these two nobody acknowledges: breaches and escalations
    auto ack = events::makeEnvelope(agency, cid, "trace-" + cid, nowMs());
    ack.mutable_acknowledged()->set_assignment_id(assignmentIdFor(cid, agency));
    ack.mutable_acknowledged()->set_agency_id(agency);
    EXPECT_TRUE(produceEvent(brokers, ack));
    auto resolved = events::makeEnvelope(agency, cid, "trace-" + cid, nowMs());
    resolved.mutable_resolved()->set_assignment_id(assignmentIdFor(cid, agency));
    resolved.mutable_resolved()->set_agency_id(agency);
    EXPECT_TRUE(produceEvent(brokers, resolved));
  }
  EXPECT_TRUE(produceRaw(brokers, kafka::kComplaintsTopic, "dash-" + run, "\xff\x01not-protobuf"));
}

// Grafana's variables, as Grafana would fill them for "All" over the last minutes.
std::string expand(std::string expr) {
  expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "15s");
  expr = std::regex_replace(expr, std::regex(R"(\$__range)"), "10m");
  expr = std::regex_replace(expr, std::regex(R"(\$agency)"), ".*");
  expr = std::regex_replace(expr, std::regex(R"(\$job|\$instance)"), ".+");  // allValue
  return expr;
}

struct PanelQuery {
  std::string where;  // dashboard / panel title / refId
  std::string expr;
};

std::vector<PanelQuery> everyPanelQuery() {
  std::vector<PanelQuery> out;
  for (const auto& entry : fs::directory_iterator(LAPOR_SOURCE_DIR "/deploy/grafana/dashboards")) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    auto d = json::parse(in, nullptr, false);
    EXPECT_FALSE(d.is_discarded()) << entry.path() << " is not JSON";
    if (d.is_discarded()) continue;
    for (const auto& p : d["panels"])
      for (const auto& t : p["targets"])
        out.push_back({entry.path().filename().string() + " / " + p.value("title", "?") + " / " +
                           t.value("refId", "?"),
                       expand(t.value("expr", ""))});
    for (const auto& v : d["templating"]["list"]) {
      // label_values(metric, label): the metric must have series for the variable to fill.
      std::smatch m;
      const auto q = v.value("definition", "");
      if (std::regex_match(q, m, std::regex(R"(label_values\((\w+(\{[^}]*\})?),\s*\w+\))")))
        out.push_back({entry.path().filename().string() + " / variable " + v.value("name", ""),
                       expand(m[1].str())});
    }
  }
  return out;
}

TEST_F(DashboardsTest, EveryPanelQueryReturnsSeriesFromTheRunningStack) {
  std::string error;
  ASSERT_TRUE(waitFor(
      [&] {
        auto r = query("sum(up{job=\"lapor\"})", &error);
        return r.is_array() && r.size() == 1 && r[0]["value"][1] == "4";
      },
      60s))
      << "prometheus did not scrape all four services: " << error << "\n"
      << prometheus_->logTail();
  generateLoad(*stack_);

  const auto queries = everyPanelQuery();
  ASSERT_GE(queries.size(), 25u) << "three dashboards with their panels";
  std::vector<std::string> failures;
  for (const auto& q : queries) {
    json result;
    // Series appear as the load reaches each stage (breaches after 2 s, escalations after 4 s).
    const bool ok = waitFor(
        [&] {
          result = query(q.expr, &error);
          return error.empty() && result.is_array() && !result.empty();
        },
        60s, 500ms);
    if (!ok)
      failures.push_back(q.where + "\n    " + q.expr + "\n    " +
                         (error.empty() ? "no series" : error));
  }
  std::string all;
  for (const auto& f : failures) all += f + "\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " panel queries failed:\n" << all;
}

TEST_F(DashboardsTest, AlertRulesAreLoadedAndEvaluated) {
  std::string error;
  httplib::Client http("127.0.0.1", port_);
  json rules;
  ASSERT_TRUE(waitFor(
      [&] {
        auto res = http.Get("/api/v1/rules");
        if (!res || res->status != 200) return false;
        rules = json::parse(res->body, nullptr, false);
        return !rules.is_discarded() && rules["data"]["groups"].size() == 2;
      },
      30s));
  std::set<std::string> names;
  for (const auto& g : rules["data"]["groups"])
    for (const auto& r : g["rules"]) {
      names.insert(r.value("name", ""));
      EXPECT_NE(r.value("health", ""), "err") << r.value("name", "") << ": "
                                              << r.value("lastError", "");
    }
  for (const char* alert : {"LaporSlaBreachRateHigh", "LaporEmergencyNotAcknowledged",
                            "LaporConsumerLagHigh", "LaporDeadLettersGrowing", "LaporServiceDown"})
    EXPECT_TRUE(names.count(alert)) << alert;
}

// What an operator's standard dashboards and alerts expect of any process, and which build it is.
TEST_F(DashboardsTest, EveryServiceExportsProcessMetricsAndBuildInfo) {
  for (const char* service : Stack::kServices) {
    httplib::Client http("127.0.0.1", stack_->endpoint(service).metrics_port);
    auto res = http.Get("/metrics");
    ASSERT_TRUE(res && res->status == 200) << service;
    for (const char* name :
         {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
          "process_max_fds ", "process_start_time_seconds ", "process_virtual_memory_bytes "}) {
      std::smatch m;
      EXPECT_TRUE(std::regex_search(res->body, m,
                                    std::regex("\n" + std::string(name) + "([0-9.e+]+)\n")))
          << service << " has no " << name;
      if (std::string(name) == "process_start_time_seconds " && !m.empty()) {
        EXPECT_NEAR(std::stod(m[1]), static_cast<double>(nowMs()) / 1000, 3600)
            << service << ": a start time of this run";
      }
      if (std::string(name) == "process_resident_memory_bytes " && !m.empty()) {
        EXPECT_GT(std::stod(m[1]), 1e6) << service;
      }
    }
    EXPECT_TRUE(std::regex_search(
        res->body, std::regex(R"(\nlapor_build_info\{version="[0-9.]+",revision="[^"]+"\} 1\n)")))
        << service << ":\n" << res->body.substr(0, 2000);
  }
  std::string error;
  EXPECT_TRUE(waitFor(
      [&] {
        auto r = query("count(lapor_build_info{job=\"lapor\"})", &error);
        return r.is_array() && r.size() == 1 && r[0]["value"][1] == "4";
      },
      60s))
      << "Prometheus sees the build of all four services: " << error;
}

TEST_F(DashboardsTest, EveryServicesMetricsPassPromtoolAfterTheLoad) {
  for (const char* service : Stack::kServices) {
    httplib::Client http("127.0.0.1", stack_->endpoint(service).metrics_port);
    auto res = http.Get("/metrics");
    ASSERT_TRUE(res && res->status == 200) << service;
    const std::string path = runDir() + "/ops-metrics-" + service + ".txt";
    std::ofstream(path) << res->body;
    const std::string cmd = "promtool check metrics < " + path + " > " + path + ".lint 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << service << ": see " << path << ".lint";
  }
}

}  // namespace
}  // namespace lapor::testing
