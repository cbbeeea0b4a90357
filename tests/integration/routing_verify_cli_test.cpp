// The verifiers' lapor-cli commands against routing as a process with verification on: a web
// report waits in `verify-queue`; `verify` (with a new report type), `postpone`, `not-ours` and
// `archive` each produce their lifecycle event; a refused call exits 1 with the status and
// message, a bad report type is a usage error naming --type.
#include "events/envelope.h"
#include "integration_support.h"
#include "kafka/producer.h"
#include "log/logger.h"
#include "routing_support.h"
#include "topic_reader.h"

#include <gtest/gtest.h>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

class RoutingVerifyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto run = newRoutingRun(shippedAgencies());
    run.extra_env["LAPOR_VERIFICATION_CHANNELS"] = "web";
    routing_ = std::make_unique<RoutingInstance>(run, "verify-cli");
    name_ = run.group;
    // Routing has created the topic by now; only what follows is read.
    reader_ = std::make_unique<testing::TopicReader>(brokers_, kafka::kComplaintsTopic,
                                                     testing::TopicReader::From::End);
  }

  CliRun cli(std::vector<std::string> args) {
    args.push_back("--routing");
    args.push_back(routing_->address());
    return runCli(args, {{"LAPOR_OPERATOR_TOKEN", "lapor-demo-operator"}});
  }

  // A web report routing holds for verification, once it is in the queue.
  std::string queued() {
    auto env = submittedEnvelope("road-damage", "Sangatta Utara", "Jalan berlubang");
    env.mutable_submitted()->mutable_complaint()->set_channel(v1::CHANNEL_WEB);
    EXPECT_TRUE(producer_
                    .produceAndWait(events::toMessage(kafka::kComplaintsTopic, env), 10s)
                    .ok);
    const auto id = env.complaint_id();
    CliRun last;
    EXPECT_TRUE(waitFor(
        [&] {
          last = cli({"verify-queue", "--page-size", "500"});
          return last.exit_code == 0 && last.output.find(id) != std::string::npos;
        },
        60s))
        << last.output << routing_->process().logTail();
    return id;
  }

  std::optional<v1::EventEnvelope> awaitEvent(const std::string& complaint,
                                              v1::EventEnvelope::EventCase kind) {
    auto m = reader_->readUntil(
        [&](const kafka::Message& msg) {
          if (msg.key != complaint) return false;
          auto d = events::decode(msg.value);
          return d.envelope && d.envelope->event_case() == kind;
        },
        30s);
    if (!m) return std::nullopt;
    return events::decode(m->value).envelope;
  }

  std::string brokers_ = testing::requiredEnv("LAPOR_KAFKA_BROKERS");
  kafka::Producer producer_{inputProducer(brokers_), log::Logger("test")};
  std::unique_ptr<testing::TopicReader> reader_;
  std::unique_ptr<RoutingInstance> routing_;
  std::string name_;
};

TEST_F(RoutingVerifyCliTest, VerifierCommandsProduceTheirEvents) {
  const auto verified_id = queued();
  auto v = cli({"verify", verified_id, "--type", "aspiration", "--title", "Jalan rusak",
                "--note", "lengkap"});
  ASSERT_EQ(v.exit_code, 0) << v.output;
  auto verified = awaitEvent(verified_id, v1::EventEnvelope::kVerified);
  ASSERT_TRUE(verified) << routing_->process().logTail();
  EXPECT_EQ(verified->verified().report_type(), v1::REPORT_TYPE_ASPIRATION);
  EXPECT_EQ(verified->verified().title(), "Jalan rusak");

  const auto postponed_id = queued();
  auto p = cli({"postpone", postponed_id, "--question", "Di RT berapa?"});
  ASSERT_EQ(p.exit_code, 0) << p.output;
  auto postponed = awaitEvent(postponed_id, v1::EventEnvelope::kPostponed);
  ASSERT_TRUE(postponed);
  EXPECT_EQ(postponed->postponed().question(), "Di RT berapa?");

  const auto foreign_id = queued();
  auto n = cli({"not-ours", foreign_id, "--forward-to", "Pemerintah Provinsi Kalimantan Timur"});
  ASSERT_EQ(n.exit_code, 0) << n.output;
  auto closed = awaitEvent(foreign_id, v1::EventEnvelope::kClosed);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->closed().forward_to(), "Pemerintah Provinsi Kalimantan Timur");

  const auto archived_id = queued();
  auto a = cli({"archive", archived_id, "--reason", "laporan ganda"});
  ASSERT_EQ(a.exit_code, 0) << a.output;
  auto archived = awaitEvent(archived_id, v1::EventEnvelope::kClosed);
  ASSERT_TRUE(archived);
  EXPECT_EQ(archived->closed().note(), "laporan ganda");
}

TEST_F(RoutingVerifyCliTest, RefusedCallsExitOneAndBadTypeIsAUsageError) {
  auto refused = cli({"postpone", "no-such-complaint", "--question", ""});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("postpone: "), std::string::npos) << refused.output;
  auto bad_type = cli({"verify", "some-complaint", "--type", "pengaduan"});
  EXPECT_EQ(bad_type.exit_code, 2) << bad_type.output;
  EXPECT_NE(bad_type.output.find("--type"), std::string::npos) << bad_type.output;
  auto half_flags = cli({"verify", "some-complaint", "--confidential"});
  EXPECT_EQ(half_flags.exit_code, 2) << half_flags.output;
}

}  // namespace
}  // namespace lapor::integration
