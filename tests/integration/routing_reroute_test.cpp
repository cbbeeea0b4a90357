// Routing against a real broker and Redis: "bukan wewenang" rejections on lapor.complaints.v1
// (the events the notification service's Reject produces) re-route to the next candidate, the
// cap sends the complaint to triage with its history, an operator assigns it through
// RoutingAdmin.Assign, the SLA monitor's redispatch reaches the same assignment again; bad
// events are dead-lettered with their source; rule files reload on change and on SIGHUP, and
// an invalid one is refused.
#include "events/envelope.h"
#include "integration_support.h"
#include "kafka/producer.h"
#include "redis/redis_client.h"
#include "routing_support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

namespace lapor::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string agenciesFile(const std::string& version, const std::string& road_lead) {
  return "version: " + version +
         "\n"
         "agencies:\n"
         "  - {id: triage}\n"
         "  - {id: dinas-pu}\n"
         "  - {id: dishub}\n"
         "  - {id: bpbd}\n"
         "  - {id: dlh}\n"
         "  - {id: disdamkar}\n"
         "  - {id: rsud-kudungga}\n"
         "rules:\n"
         "  - {id: road, categories: [road-damage], lead: " +
         road_lead + ", alternatives: [" + (road_lead == "dishub" ? "dinas-pu" : "dishub") +
         ", bpbd]}\n"
         "  - {id: fire, categories: [fire], lead: disdamkar, support: [rsud-kudungga]}\n";
}

class RoutingRerouteTest : public ::testing::Test {
 protected:
  std::string brokers = testing::requiredEnv("LAPOR_KAFKA_BROKERS");
  std::string file = testing::runDir() + "/" + uniqueName("agencies") + ".yaml";
  kafka::Producer producer{inputProducer(brokers), log::Logger("test")};

  void writeFile(const std::string& text) {
    // Write beside and rename, so the watcher never reads half a file.
    std::ofstream(file + ".tmp") << text;
    std::rename((file + ".tmp").c_str(), file.c_str());
  }
  void send(const v1::EventEnvelope& env) {
    ASSERT_TRUE(producer
                    .produceAndWait(events::toMessage(kafka::kComplaintsTopic, env),
                                    std::chrono::seconds(10))
                    .ok);
  }
  // The next event of `complaint` on `reader`'s topic that satisfies `pred`.
  std::optional<v1::EventEnvelope> await(
      testing::TopicReader& reader, const std::string& complaint,
      const std::function<bool(const v1::EventEnvelope&)>& pred) {
    auto m = reader.readUntil(
        [&](const kafka::Message& msg) {
          if (msg.key != complaint) return false;
          auto d = events::decode(msg.value);
          return d.envelope && pred(*d.envelope);
        },
        std::chrono::seconds(30));
    if (!m) return std::nullopt;
    return events::decode(m->value).envelope;
  }
  static size_t count(const testing::TopicReader& reader, const std::string& complaint,
                      const std::function<bool(const v1::EventEnvelope&)>& pred) {
    size_t n = 0;
    for (const auto& m : reader.seen()) {
      if (m.key != complaint) continue;
      auto d = events::decode(m.value);
      if (d.envelope && pred(*d.envelope)) ++n;
    }
    return n;
  }
  v1::EventEnvelope rejection(const v1::Assignment& a, const std::string& note) {
    auto env = events::makeEnvelope("notification", a.complaint_id(), "", 1'700'000'100'000);
    auto* r = env.mutable_rejected();
    r->set_assignment_id(a.assignment_id());
    r->set_agency_id(a.agency_id());
    r->set_reason_code("not-our-authority");
    r->set_note(note);
    return env;
  }
  static bool dispatched(const v1::EventEnvelope& e) { return e.has_dispatched(); }
};

TEST_F(RoutingRerouteTest, RejectRerouteCapTriageOperatorAssignAndRedispatch) {
  writeFile(agenciesFile("reroute-1", "dinas-pu"));
  auto run = newRoutingRun(file);
  RoutingInstance routing(run, "r");
  testing::TopicReader lifecycle(brokers, kafka::kComplaintsTopic);
  testing::TopicReader pu(brokers, kafka::dispatchTopic("dinas-pu"));
  testing::TopicReader dishub(brokers, kafka::dispatchTopic("dishub"));
  testing::TopicReader bpbd(brokers, kafka::dispatchTopic("bpbd"));
  testing::TopicReader triage(brokers, kafka::dispatchTopic("triage"));
  testing::TopicReader dlh(brokers, kafka::dispatchTopic("dlh"));

  auto submitted = submittedEnvelope("road-damage", "Bengalon");
  const auto id = submitted.complaint_id();
  send(submitted);
  send(submitted);  // a producer's retry: the same event again must not route twice
  auto first = await(pu, id, dispatched);
  ASSERT_TRUE(first) << routing.process().logTail();
  const auto a1 = first->dispatched().item().assignment();

  // Dinas PU: bukan wewenang -> the rule's first alternative, Dishub.
  send(rejection(a1, "jalan nasional, bukan kewenangan kabupaten"));
  auto second = await(dishub, id, dispatched);
  ASSERT_TRUE(second) << routing.process().logTail();
  ASSERT_EQ(second->dispatched().item().history_size(), 1);
  EXPECT_EQ(second->dispatched().item().history(0).agency_id(), "dinas-pu");
  auto rerouted = await(lifecycle, id, [](const auto& e) {
    return e.has_routed() && e.routed().reason() == "rerouted";
  });
  ASSERT_TRUE(rerouted);
  EXPECT_EQ(rerouted->routed().reroute_count(), 1);

  // Dishub rejects -> BPBD (second re-route, the cap).
  send(rejection(second->dispatched().item().assignment(), "bukan wewenang"));
  auto third = await(bpbd, id, dispatched);
  ASSERT_TRUE(third) << routing.process().logTail();

  // BPBD rejects too: the cap of 2 re-routes sends it to triage with the whole history.
  send(rejection(third->dispatched().item().assignment(), "bukan bencana"));
  auto to_triage = await(triage, id, dispatched);
  ASSERT_TRUE(to_triage) << routing.process().logTail();
  ASSERT_EQ(to_triage->dispatched().item().history_size(), 3);
  EXPECT_EQ(to_triage->dispatched().item().history(2).agency_id(), "bpbd");
  EXPECT_EQ(to_triage->dispatched().item().history(2).note(), "bukan bencana");
  auto capped = await(lifecycle, id, [](const auto& e) {
    return e.has_routed() && e.routed().reason() == "reroute-cap";
  });
  ASSERT_TRUE(capped);
  EXPECT_TRUE(capped->routed().triage());
  EXPECT_EQ(capped->routed().history_size(), 3);
  EXPECT_THAT(capped->routed().rules_version(), StartsWith("reroute-1+"));

  // An operator gives it to DLH; the same request twice assigns once.
  v1::AssignRequest req;
  req.set_complaint_id(id);
  req.set_agency_id("dlh");
  req.set_operator_("siti.operator");
  req.set_note("sampah menutup saluran");
  req.set_request_id("req-" + id);
  v1::AssignResponse resp, again;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("authorization", "Bearer lapor-demo-operator");
    ASSERT_TRUE(routing.admin().Assign(&ctx, req, &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("authorization", "Bearer lapor-demo-operator");
    const auto st = routing.admin().Assign(&ctx, req, &again);
    ASSERT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  }
  EXPECT_EQ(resp.assignment_id(), again.assignment_id());
  auto assigned = await(dlh, id, dispatched);
  ASSERT_TRUE(assigned) << routing.process().logTail();
  EXPECT_EQ(assigned->dispatched().item().assignment().assignment_id(), resp.assignment_id());
  EXPECT_EQ(assigned->dispatched().item().note(), "sampah menutup saluran");
  auto by_operator = await(lifecycle, id, [](const auto& e) {
    return e.has_routed() && e.routed().reason() == "operator";
  });
  ASSERT_TRUE(by_operator);
  EXPECT_EQ(by_operator->routed().operator_(), "siti.operator");

  // The SLA monitor asks for a redispatch: the same assignment again, kind REDISPATCH. It comes
  // after both Assign commands in the partition, so by then a second dispatch would be there.
  auto redispatch = events::makeEnvelope("sla-monitor", id, "", 1'700'000'200'000);
  redispatch.mutable_redispatch_requested()->set_assignment_id(resp.assignment_id());
  redispatch.mutable_redispatch_requested()->set_agency_id("dlh");
  redispatch.mutable_redispatch_requested()->set_reason("not acknowledged");
  send(redispatch);
  auto again_item = await(dlh, id, [](const auto& e) {
    return e.has_dispatched() && e.dispatched().item().kind() == v1::DISPATCH_KIND_REDISPATCH;
  });
  ASSERT_TRUE(again_item) << routing.process().logTail();
  EXPECT_EQ(again_item->dispatched().item().assignment().assignment_id(), resp.assignment_id());
  EXPECT_EQ(count(dlh, id,
                  [](const auto& e) {
                    return e.has_dispatched() &&
                           e.dispatched().item().kind() == v1::DISPATCH_KIND_NEW;
                  }),
            1u);
  // Every agency got exactly one NEW dispatch for this complaint.
  for (auto* r : {&pu, &dishub, &bpbd, &triage}) EXPECT_EQ(count(*r, id, dispatched), 1u);
}

TEST_F(RoutingRerouteTest, AssignRefusesWhatIsNotTriagedOrNotAnAgency) {
  writeFile(agenciesFile("assign-1", "dinas-pu"));
  RoutingInstance routing(newRoutingRun(file), "r");
  testing::TopicReader pu(brokers, kafka::dispatchTopic("dinas-pu"));
  auto submitted = submittedEnvelope("road-damage", "Bengalon");
  send(submitted);
  ASSERT_TRUE(await(pu, submitted.complaint_id(), dispatched));
  auto call = [&](const std::string& complaint, const std::string& agency) {
    v1::AssignRequest req;
    req.set_complaint_id(complaint);
    req.set_agency_id(agency);
    req.set_operator_("siti");
    v1::AssignResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("authorization", "Bearer lapor-demo-operator");
    return routing.admin().Assign(&ctx, req, &resp).error_code();
  };
  EXPECT_EQ(call(submitted.complaint_id(), "dlh"), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(call(submitted.complaint_id(), "pemadam"), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call("no-such-complaint", "dlh"), grpc::StatusCode::NOT_FOUND);

  // ListAgencies and GetRules describe the file routing runs with.
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ctx.AddMetadata("authorization", "Bearer lapor-demo-operator");
  v1::ListAgenciesResponse agencies;
  ASSERT_TRUE(routing.admin().ListAgencies(&ctx, v1::ListAgenciesRequest{}, &agencies).ok());
  std::vector<std::string> ids;
  for (const auto& a : agencies.agencies()) ids.push_back(a.id());
  EXPECT_THAT(ids, ::testing::ElementsAre("triage", "dinas-pu", "dishub", "bpbd", "dlh",
                                          "disdamkar", "rsud-kudungga"));
  grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ctx2.AddMetadata("authorization", "Bearer lapor-demo-operator");
  v1::GetRulesResponse rules;
  ASSERT_TRUE(routing.admin().GetRules(&ctx2, v1::GetRulesRequest{}, &rules).ok());
  EXPECT_EQ(rules.source(), file);
  EXPECT_EQ(rules.rule_count(), 2);
}

TEST_F(RoutingRerouteTest, BadEventsAreDeadLetteredWithTheirSourceAndCounted) {
  writeFile(agenciesFile("dlq-1", "dinas-pu"));
  const auto run = newRoutingRun(file);
  RoutingInstance routing(run, "r");
  testing::TopicReader dlq(brokers, kafka::kDeadLetterTopic, testing::TopicReader::From::End);
  const auto key = uniqueName("garbage");
  ASSERT_TRUE(testing::produceRaw(brokers, kafka::kComplaintsTopic, key, "\x0a\xff not proto"));
  auto m = dlq.readUntil([&](const kafka::Message& msg) { return msg.key == key; },
                         std::chrono::seconds(30));
  ASSERT_TRUE(m) << routing.process().logTail();
  EXPECT_EQ(m->header("lapor.dlq.reason"), "undecodable");
  EXPECT_EQ(m->header("lapor.dlq.source.topic"), kafka::kComplaintsTopic);
  EXPECT_TRUE(m->header("lapor.dlq.source.partition"));
  EXPECT_TRUE(m->header("lapor.dlq.source.offset"));
  EXPECT_EQ(m->header("lapor.dlq.service"), "routing");

  // A rejection of an assignment routing never made: dead-lettered, nothing routed.
  v1::Assignment ghost;
  ghost.set_assignment_id("ghost");
  ghost.set_agency_id("dinas-pu");
  ghost.set_complaint_id(uniqueName("ghost"));
  send(rejection(ghost, "?"));
  auto u = dlq.readUntil([&](const kafka::Message& msg) { return msg.key == ghost.complaint_id(); },
                         std::chrono::seconds(30));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->header("lapor.dlq.reason"), "unknown-complaint");

  // A stored state that does not parse cannot get better by retrying: dead-lettered, the
  // partition goes on (earlier versions retried it forever).
  redis::RedisOptions ro;
  ro.host = testing::requiredEnv("LAPOR_REDIS_HOST");
  ro.port = std::stoi(testing::requiredEnv("LAPOR_REDIS_PORT"));
  ro.prefix = run.redis_prefix;
  redis::RedisClient redis(ro, log::Logger("test", log::Level::Error));
  // A rejection of a complaint whose stored state is `stored`: dead-lettered as corrupt.
  const auto corruptStateIsDeadLettered = [&](const std::string& name, const std::string& stored) {
    const auto id = uniqueName(name);
    redis.command({"SET", redis.key("routing:state:" + id), stored});
    v1::Assignment stale;
    stale.set_assignment_id("stale");
    stale.set_agency_id("dinas-pu");
    stale.set_complaint_id(id);
    send(rejection(stale, "?"));
    auto c = dlq.readUntil([&](const kafka::Message& msg) { return msg.key == id; },
                           std::chrono::seconds(30));
    ASSERT_TRUE(c) << routing.process().logTail();
    EXPECT_EQ(c->header("lapor.dlq.reason"), "corrupt-state");
  };
  corruptStateIsDeadLettered("broken", "\x0a\xff not a state");
  // The same for a compressed state whose frame is damaged.
  corruptStateIsDeadLettered("damaged", std::string("\x28\xb5\x2f\xfd not a frame", 16));

  // And routing goes on: a good complaint after the bad ones is routed.
  testing::TopicReader pu(brokers, kafka::dispatchTopic("dinas-pu"));
  auto ok = submittedEnvelope("road-damage", "Bengalon");
  send(ok);
  ASSERT_TRUE(await(pu, ok.complaint_id(), dispatched));
  const auto metrics = routing.metrics();
  EXPECT_THAT(metrics, HasSubstr("lapor_routing_deadletters_total{reason=\"undecodable\"} 1"));
  EXPECT_THAT(metrics,
              HasSubstr("lapor_routing_deadletters_total{reason=\"unknown-complaint\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("lapor_routing_deadletters_total{reason=\"corrupt-state\"} 2"));
}

TEST_F(RoutingRerouteTest, RulesReloadOnFileChangeAndSighupAndAnInvalidFileIsRefused) {
  writeFile(agenciesFile("reload-1", "dinas-pu"));
  auto run = newRoutingRun(file);
  run.extra_env["LAPOR_ROUTING_RELOAD_INTERVAL"] = "200ms";
  RoutingInstance routing(run, "r");
  auto version = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("authorization", "Bearer lapor-demo-operator");
    v1::GetRulesResponse resp;
    routing.admin().GetRules(&ctx, v1::GetRulesRequest{}, &resp);
    return resp.version();
  };
  EXPECT_THAT(version(), StartsWith("reload-1+"));

  // A changed file is picked up without a signal; complaints after it use the new rules.
  writeFile(agenciesFile("reload-2", "dishub"));
  ASSERT_TRUE(waitFor([&] { return version().starts_with("reload-2+"); }, std::chrono::seconds(20)))
      << routing.process().logTail();
  const auto v2 = version();
  testing::TopicReader dishub(brokers, kafka::dispatchTopic("dishub"));
  auto c1 = submittedEnvelope("road-damage", "Bengalon");
  send(c1);
  auto d1 = await(dishub, c1.complaint_id(), dispatched);
  ASSERT_TRUE(d1);
  EXPECT_EQ(d1->dispatched().item().rules_version(), v2);

  // An invalid file (unknown agency, on line 11) is refused on SIGHUP; the old rules stay.
  const auto refused_before = routing.logLines("rules reload refused");
  auto bad = agenciesFile("reload-3", "pemadam");
  writeFile(bad);
  ::kill(routing.process().pid(), SIGHUP);
  ASSERT_TRUE(waitFor([&] { return routing.logLines("rules reload refused") > refused_before; },
                      std::chrono::seconds(20)));
  EXPECT_GE(routing.logLines(file + ":11:"), 1u) << "the refusal names the file and the line";
  EXPECT_EQ(version(), v2);
  auto c2 = submittedEnvelope("road-damage", "Bengalon");
  send(c2);
  auto d2 = await(dishub, c2.complaint_id(), dispatched);
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->dispatched().item().rules_version(), v2);
  EXPECT_THAT(routing.metrics(),
              HasSubstr("lapor_routing_rule_reloads_total{outcome=\"refused\"}"));
}

TEST_F(RoutingRerouteTest, AnInvalidRuleFileStopsTheStartWithFileAndLine) {
  writeFile(agenciesFile("broken", "pemadam"));  // unknown lead agency on line 11
  try {
    RoutingInstance routing(newRoutingRun(file), "r");
    FAIL() << "routing started with an unknown agency in its rules";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(file + ":11: rule 'road': unknown agency 'pemadam'"));
  }
}

}  // namespace
}  // namespace lapor::integration
