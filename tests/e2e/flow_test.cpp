// End to end: every service a separate process on the run's real Kafka and Redis. A complaint
// goes intake -> routing -> notification -> agency stream -> Acknowledge -> SLA clock stops;
// an unacknowledged one breaches; a malformed event is dead-lettered and the next is processed.
#include "events/envelope.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "lapor/v1/agency_service.grpc.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "lapor/v1/routing_admin.grpc.pb.h"
#include "lapor/v1/sla.grpc.pb.h"
#include "agency_client.h"
#include "operator_context.h"
#include "stack.h"
#include "topic_reader.h"
#include "wait.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <sys/prctl.h>

#include <csignal>
#include <cstdio>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace lapor::testing {
namespace {

using namespace std::chrono_literals;

Stack* g_stack = nullptr;

class StackEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    // Normal-priority agencies get 4 s to acknowledge here, so a breach fits in a test.
    g_stack = new Stack({{"LAPOR_SLA_ACKNOWLEDGE_NORMAL", "4s"}, {"LAPOR_SLA_TICK", "100ms"}});
  }
  void TearDown() override {
    delete g_stack;
    g_stack = nullptr;
  }
};

std::string notificationTarget() {
  return g_stack->endpoint("notification").grpc();
}


v1::SubmitComplaintRequest complaint(const std::string& category, v1::Priority priority) {
  v1::SubmitComplaintRequest req;
  req.set_channel(v1::CHANNEL_CALL_CENTRE_112);
  req.set_category(category);
  req.set_priority(priority);
  req.set_title("Laporan uji " + category);
  req.set_description("Deskripsi laporan uji untuk kategori " + category);
  auto* loc = req.mutable_location();
  loc->set_has_coordinates(true);
  loc->set_lat(0.5108);
  loc->set_lon(117.6422);
  loc->set_kecamatan("Sangatta Utara");
  return req;
}

v1::SubmitComplaintResponse submit(const v1::SubmitComplaintRequest& req) {
  v1::SubmitComplaintResponse resp;
  auto s = g_stack->stub<v1::IntakeService>("intake")->SubmitComplaint(callContext().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

std::vector<v1::Obligation> obligations(const std::string& complaint_id) {
  v1::GetObligationsRequest req;
  req.set_complaint_id(complaint_id);
  v1::GetObligationsResponse resp;
  auto s = g_stack->stub<v1::SlaService>("sla-monitor")->GetObligations(operatorContext("auditor").get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<v1::Obligation> out;  // the acknowledge clocks (other stages: sla_*_test.cpp)
  for (const auto& o : resp.obligations())
    if (o.stage() == v1::SLA_STAGE_ACKNOWLEDGE) out.push_back(o);
  return out;
}

std::optional<v1::Obligation> obligationOf(const std::string& complaint_id,
                                           const std::string& agency) {
  for (auto& o : obligations(complaint_id))
    if (o.agency_id() == agency) return o;
  return std::nullopt;
}

TEST(EndToEnd, ComplaintReachesEveryAgencyAndAcknowledgementStopsTheClock) {
  FeedReader fire(notificationTarget(), "disdamkar");
  FeedReader hospital(notificationTarget(), "rsud-kudungga");
  FeedReader police(notificationTarget(), "polres-kutim");
  auto sub = submit(complaint("fire", v1::PRIORITY_EMERGENCY));
  ASSERT_FALSE(sub.tracking_id().empty());

  auto lead = fire.waitFor(sub.complaint_id());
  auto support1 = hospital.waitFor(sub.complaint_id());
  auto support2 = police.waitFor(sub.complaint_id());
  ASSERT_TRUE(lead && support1 && support2) << g_stack->logs();
  EXPECT_EQ(lead->item().assignment().role(), v1::ASSIGNMENT_ROLE_LEAD);
  EXPECT_EQ(support1->item().assignment().role(), v1::ASSIGNMENT_ROLE_SUPPORT);
  EXPECT_EQ(support2->item().assignment().role(), v1::ASSIGNMENT_ROLE_SUPPORT);
  EXPECT_EQ(lead->item().complaint().tracking_id(), sub.tracking_id());
  EXPECT_FALSE(lead->cursor().empty());
  EXPECT_FALSE(lead->event_id().empty());

  // Clocks run for all three assignments before anyone acknowledges.
  ASSERT_TRUE(waitFor([&] { return obligations(sub.complaint_id()).size() == 3; }, 30s));
  for (const auto& o : obligations(sub.complaint_id())) {
    EXPECT_EQ(o.state(), v1::OBLIGATION_STATE_OPEN);
    EXPECT_EQ(o.stage(), v1::SLA_STAGE_ACKNOWLEDGE);
    EXPECT_EQ(o.due_at_ms() - o.started_at_ms(), 60'000);  // emergency: 60 s (docs/deadlines.md)
  }

  auto agency = g_stack->stub<v1::AgencyService>("notification");
  v1::AcknowledgeRequest ack;
  ack.set_agency_id("polres-kutim");  // not the owner of this assignment
  ack.set_assignment_id(lead->item().assignment().assignment_id());
  v1::AcknowledgeResponse ack_resp;
  EXPECT_EQ(agency->Acknowledge(agencyContext("polres-kutim").get(), ack, &ack_resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  ack.set_agency_id("disdamkar");
  auto s = agency->Acknowledge(agencyContext("disdamkar").get(), ack, &ack_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ack_resp.state(), v1::ASSIGNMENT_STATE_ACKNOWLEDGED);

  ASSERT_TRUE(waitFor(
      [&] {
        auto o = obligationOf(sub.complaint_id(), "disdamkar");
        return o && o->state() == v1::OBLIGATION_STATE_MET;
      },
      30s))
      << g_stack->logs();
  EXPECT_EQ(obligationOf(sub.complaint_id(), "rsud-kudungga")->state(), v1::OBLIGATION_STATE_OPEN);
  EXPECT_EQ(obligationOf(sub.complaint_id(), "polres-kutim")->state(), v1::OBLIGATION_STATE_OPEN);

  // A second acknowledgement is harmless.
  ASSERT_TRUE(agency->Acknowledge(agencyContext("disdamkar").get(), ack, &ack_resp).ok());

  // The tracking view follows the lifecycle topic.
  auto intake = g_stack->stub<v1::IntakeService>("intake");
  v1::GetComplaintRequest get;
  get.set_tracking_id(sub.tracking_id());
  v1::ComplaintView view;
  ASSERT_TRUE(waitFor(
      [&] {
        view.Clear();
        return intake->GetComplaint(callContext().get(), get, &view).ok() &&
               view.status() == v1::COMPLAINT_STATUS_IN_PROGRESS;
      },
      30s));
  EXPECT_EQ(view.agencies_size(), 3);
  EXPECT_EQ(fire.countFor(sub.complaint_id()), 1u);
}

TEST(EndToEnd, AnAgencyRejectsAndTheNextOneReceivesIt) {
  // population-documents: Disdukcapil leads; Ortala is the rule's alternative (agencies.yaml).
  FeedReader first(notificationTarget(), "disdukcapil");
  FeedReader next(notificationTarget(), "ortala");
  auto sub = submit(complaint("population-documents", v1::PRIORITY_NORMAL));
  auto original = first.waitFor(sub.complaint_id());
  ASSERT_TRUE(original) << g_stack->logs();
  EXPECT_EQ(next.countFor(sub.complaint_id()), 0u);

  auto agency = g_stack->stub<v1::AgencyService>("notification");
  v1::RejectRequest reject;
  reject.set_agency_id("disdukcapil");
  reject.set_assignment_id(original->item().assignment().assignment_id());
  reject.set_reason_code("not-our-authority");
  reject.set_note("Bukan wewenang: pengaduan layanan, bukan dokumen");
  reject.set_operator_("petugas-disdukcapil");
  v1::RejectResponse rejected;
  auto s = agency->Reject(agencyContext("disdukcapil").get(), reject, &rejected);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rejected.state(), v1::ASSIGNMENT_STATE_REJECTED);

  // Routing reads the rejection from the lifecycle topic and dispatches to the next candidate,
  // whose stream carries it with the rejection in its history.
  auto rerouted = next.waitFor(sub.complaint_id());
  ASSERT_TRUE(rerouted) << g_stack->logs();
  const auto& item = rerouted->item();
  EXPECT_EQ(item.assignment().agency_id(), "ortala");
  EXPECT_NE(item.assignment().assignment_id(), original->item().assignment().assignment_id());
  EXPECT_EQ(item.complaint().tracking_id(), sub.tracking_id());
  ASSERT_EQ(item.history_size(), 1);
  EXPECT_EQ(item.history(0).agency_id(), "disdukcapil");
  EXPECT_EQ(item.history(0).reason_code(), "not-our-authority");
  EXPECT_EQ(item.history(0).note(), reject.note());

  // The new agency can act on it; the one that rejected cannot any more.
  v1::AcknowledgeRequest ack;
  ack.set_agency_id("ortala");
  ack.set_assignment_id(item.assignment().assignment_id());
  v1::AcknowledgeResponse ack_resp;
  s = agency->Acknowledge(agencyContext("ortala").get(), ack, &ack_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ack.set_agency_id("disdukcapil");
  ack.set_assignment_id(original->item().assignment().assignment_id());
  EXPECT_EQ(agency->Acknowledge(agencyContext("disdukcapil").get(), ack, &ack_resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(next.countFor(sub.complaint_id()), 1u);
}

TEST(EndToEnd, UnacknowledgedAssignmentWarnsThenBreaches) {
  auto sub = submit(complaint("garbage", v1::PRIORITY_NORMAL));  // dlh, 4 s to acknowledge
  TopicReader lifecycle(g_stack->brokers(), kafka::kComplaintsTopic);
  std::optional<v1::EventEnvelope> warning, breach;
  bool seen = lifecycle
                  .readUntil(
                      [&](const kafka::Message& m) {
                        auto d = events::decode(m.value);
                        if (!d.envelope || d.envelope->complaint_id() != sub.complaint_id())
                          return false;
                        if (d.envelope->has_sla_warning()) warning = d.envelope;
                        if (d.envelope->has_sla_breached()) breach = d.envelope;
                        return breach.has_value();
                      },
                      40s)
                  .has_value();
  ASSERT_TRUE(seen) << g_stack->logs();
  ASSERT_TRUE(warning.has_value()) << "a warning must precede the breach";
  EXPECT_LE(warning->occurred_at_ms(), breach->occurred_at_ms());  // one timer pass may fire both
  EXPECT_EQ(breach->sla_breached().agency_id(), "dlh");
  EXPECT_EQ(breach->sla_breached().stage(), v1::SLA_STAGE_ACKNOWLEDGE);
  EXPECT_GE(breach->sla_breached().breached_at_ms(), breach->sla_breached().due_at_ms());
  ASSERT_TRUE(waitFor(
      [&] {
        auto o = obligationOf(sub.complaint_id(), "dlh");
        return o && o->state() == v1::OBLIGATION_STATE_BREACHED;
      },
      10s));
  // Fired once: exactly one breach event for this obligation.
  int breaches = 0;
  for (const auto& m : lifecycle.seen()) {
    auto d = events::decode(m.value);
    breaches += d.envelope && d.envelope->complaint_id() == sub.complaint_id() &&
                d.envelope->has_sla_breached();
  }
  EXPECT_EQ(breaches, 1);
}

TEST(EndToEnd, MalformedEventIsDeadLetteredAndTheNextOneIsProcessed) {
  FeedReader roads(notificationTarget(), "dinas-pu");
  const auto key = events::newUuid();
  ASSERT_TRUE(produceRaw(g_stack->brokers(), kafka::kComplaintsTopic, key, "\xff\x01not-protobuf"));
  // The next message on the same partition (same key): a valid submission.
  auto env = events::makeEnvelope("e2e-test", key, "", 1'790'000'000'000);
  auto* c = env.mutable_submitted()->mutable_complaint();
  c->set_complaint_id(key);
  c->set_tracking_id("LPR-0000-0000-0");
  c->set_category("road-damage");
  c->set_priority(v1::PRIORITY_NORMAL);
  c->set_title("Jalan berlubang");
  ASSERT_TRUE(
      produceRaw(g_stack->brokers(), kafka::kComplaintsTopic, key, env.SerializeAsString()));

  TopicReader dlq(g_stack->brokers(), kafka::kDeadLetterTopic);
  std::set<std::string> services;
  bool all =
      dlq.readUntil(
             [&](const kafka::Message& m) {
               // Only the malformed message: later events of this complaint (e.g. an escalation
               // item on a supervisor's topic) are no business of this test.
               if (m.key != key || m.value != "\xff\x01not-protobuf") return false;
               EXPECT_EQ(m.header("lapor.dlq.reason").value_or(""), "undecodable");
               EXPECT_EQ(m.header("lapor.dlq.source.topic").value_or(""), kafka::kComplaintsTopic);
               EXPECT_TRUE(m.header("lapor.dlq.source.offset").has_value());
               services.insert(m.header("lapor.dlq.service").value_or("?"));
               // Intake's view, routing, the SLA monitor and notification (the reporters'
               // answers to agencies) all read it.
               return services.size() == 4;
             },
             30s)
          .has_value();
  EXPECT_TRUE(all) << "dead letters from: " << services.size();
  EXPECT_TRUE(services.count("routing"));
  EXPECT_TRUE(services.count("notification"));
  auto routed = roads.waitFor(key);
  ASSERT_TRUE(routed.has_value()) << g_stack->logs();
  EXPECT_EQ(routed->item().assignment().agency_id(), "dinas-pu");
}

TEST(EndToEnd, InvalidSubmissionIsRefusedWithTheField) {
  auto intake = g_stack->stub<v1::IntakeService>("intake");
  auto req = complaint("volcano", v1::PRIORITY_NORMAL);
  v1::SubmitComplaintResponse resp;
  auto s = intake->SubmitComplaint(callContext().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("category"), std::string::npos) << s.error_message();
  EXPECT_TRUE(resp.tracking_id().empty());

  req = complaint("fire", v1::PRIORITY_EMERGENCY);
  req.set_description(std::string(4001, 'x'));
  s = intake->SubmitComplaint(callContext().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("description"), std::string::npos) << s.error_message();

  req.set_description(std::string(2 << 20, 'x'));  // over the server's message size limit
  s = intake->SubmitComplaint(callContext().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(EndToEnd, SubscribeRefusesAnUnknownAgencyAndABadCursor) {
  auto agency = g_stack->stub<v1::AgencyService>("notification");
  auto status = [&](const std::string& id, const std::string& cursor) {
    v1::SubscribeRequest req;
    req.set_agency_id(id);
    req.set_resume_cursor(cursor);
    auto c = agencyContext(id, 5s);
    auto reader = agency->Subscribe(c.get(), req);
    v1::AgencyFeedItem item;
    while (reader->Read(&item)) {
    }
    return reader->Finish();
  };
  auto s = status("pemadam", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("agency_id"), std::string::npos) << s.error_message();
  s = status("disdamkar", "not-a-cursor");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("resume_cursor"), std::string::npos) << s.error_message();
}

TEST(EndToEnd, RoutingAdminExplainsWithoutProducing) {
  auto admin = g_stack->stub<v1::RoutingAdmin>("routing");
  v1::ExplainRouteRequest req;
  req.mutable_draft()->set_category("traffic-accident");
  v1::ExplainRouteResponse resp;
  ASSERT_TRUE(admin->ExplainRoute(operatorContext("auditor").get(), req, &resp).ok());
  EXPECT_EQ(resp.rule_id(), "traffic-accident");
  ASSERT_EQ(resp.agencies_size(), 3);
  EXPECT_EQ(resp.agencies(0).agency_id(), "polres-kutim");
  req.mutable_draft()->set_category("other");
  ASSERT_TRUE(admin->ExplainRoute(operatorContext("auditor").get(), req, &resp).ok());
  EXPECT_TRUE(resp.triage());
  // Operators only, each for what its role allows.
  EXPECT_EQ(admin->ExplainRoute(callContext().get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto stranger = callContext();
  stranger->AddMetadata("authorization", "Bearer lapor-demo-dinas-pu");
  EXPECT_EQ(admin->ExplainRoute(stranger.get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED)
      << "an agency's token is not an operator's";
  v1::ReturnToTriageRequest back;
  back.set_complaint_id("any");
  back.set_note("salah alamat");
  v1::ReturnToTriageResponse back_resp;
  auto st = admin->ReturnToTriage(operatorContext("operator").get(), back, &back_resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("supervisor"), std::string::npos) << st.error_message();
  v1::GetObligationsRequest obligations;
  obligations.set_complaint_id("any");
  v1::GetObligationsResponse obligations_resp;
  EXPECT_EQ(g_stack->stub<v1::SlaService>("sla-monitor")
                ->GetObligations(callContext().get(), obligations, &obligations_resp)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST(EndToEnd, EveryServiceServesLintCleanMetrics) {
  const std::map<std::string, std::string> expected{
      {"intake", "lapor_intake_complaints_submitted_total"},
      {"routing", "lapor_routing_complaints_routed_total"},
      {"notification", "lapor_notification_assignments_received_total"},
      {"sla-monitor", "lapor_sla_monitor_obligations_started_total"}};
  for (const auto& [service, metric] : expected) {
    httplib::Client http("127.0.0.1", g_stack->endpoint(service).metrics_port);
    auto res = http.Get("/metrics");
    ASSERT_TRUE(res) << service;
    EXPECT_EQ(res->status, 200) << service;
    EXPECT_NE(res->body.find(metric), std::string::npos) << service << " lacks " << metric;
    // Every service consumes a topic (intake for its tracking view; routing in transactions):
    // after the tests above each reports how far behind it is.
    std::string svc = service;
    std::replace(svc.begin(), svc.end(), '-', '_');
    const auto lag = "lapor_" + svc + "_consumer_lag_messages{";
    EXPECT_NE(res->body.find(lag), std::string::npos) << service << " lacks " << lag;
    // By group: intake's two consumers of the lifecycle topic (its view and its reporter
    // notices) are told apart, instead of one overwriting the other's lag.
    std::set<std::string> groups;
    std::istringstream lines(res->body);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(lag, 0) == 0)
        if (auto at = line.find("group=\""); at != std::string::npos)
          groups.insert(line.substr(at + 7, line.find('"', at + 7) - at - 7));
    EXPECT_GE(groups.size(), service == "intake" ? 2u : 1u)
        << service << "'s lag by group: " << ::testing::PrintToString(groups);
    // promtool (from Debian's prometheus package) is the judge of the exposition format.
    const std::string path = runDir() + "/metrics-" + service + ".txt";
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(res->body.data(), 1, res->body.size(), f);
    std::fclose(f);
    const std::string cmd = "promtool check metrics < " + path + " > " + path + ".lint 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0)
        << service << ": promtool check metrics failed, see " << path << ".lint";
  }
}

TEST(EndToEnd, EveryServiceAnswersHealthChecksAndReflection) {
  const std::map<std::string, std::string> api{{"intake", "lapor.v1.IntakeService"},
                                               {"routing", "lapor.v1.RoutingAdmin"},
                                               {"notification", "lapor.v1.AgencyService"},
                                               {"sla-monitor", "lapor.v1.SlaService"}};
  for (const auto& [service, name] : api) {
    auto channel =
        grpc::CreateChannel(g_stack->endpoint(service).grpc(), grpc::InsecureChannelCredentials());
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health->Check(callContext().get(), req, &resp).ok()) << service;
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
    req.set_service(name);  // per-service status too, as grpc-health-probe -service asks
    ASSERT_TRUE(health->Check(callContext().get(), req, &resp).ok()) << service;
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;

    // Server reflection, which grpcurl uses, lists the service's API.
    auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
    auto c = callContext();
    auto stream = reflection->ServerReflectionInfo(c.get());
    grpc::reflection::v1alpha::ServerReflectionRequest list;
    list.set_list_services("");
    ASSERT_TRUE(stream->Write(list));
    stream->WritesDone();
    grpc::reflection::v1alpha::ServerReflectionResponse listed;
    ASSERT_TRUE(stream->Read(&listed)) << service;
    std::set<std::string> names;
    for (const auto& s : listed.list_services_response().service()) names.insert(s.name());
    EXPECT_TRUE(names.count(name)) << service << " does not list " << name;
    EXPECT_TRUE(names.count("grpc.health.v1.Health")) << service;
    while (stream->Read(&listed)) {
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
}

// Last: SIGTERM stops every service cleanly (offsets committed, producers flushed, exit 0).
TEST(EndToEnd, ServicesStopCleanlyOnSigterm) {
  auto problems = g_stack->stopAll();
  EXPECT_EQ(problems, "");
}

}  // namespace
}  // namespace lapor::testing

int main(int argc, char** argv) {
  // If the runner above is killed, this process goes too, and the services with it (each has
  // its own PDEATHSIG): a killed test run leaves nothing behind.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new lapor::testing::StackEnvironment);
  return RUN_ALL_TESTS();
}
