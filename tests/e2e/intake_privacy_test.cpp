// Privacy end to end: an anonymous complaint's reporter contact (name, phone, e-mail, device id)
// stays in intake's store. With all four services running, every Lapor topic is read with a raw
// consumer after the complaint reached its agencies, and none of those strings is anywhere in
// a key, a value or a header.
#include "lapor/v1/events.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "stack.h"
#include "topic_reader.h"
#include "wait.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <random>

namespace lapor::testing {
namespace {

using namespace std::chrono_literals;

// Every topic of the broker whose name starts with "lapor.".
std::vector<std::string> laporTopics(const std::string& brokers) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err), rd_kafka_destroy);
  const rd_kafka_metadata_t* md = nullptr;
  std::vector<std::string> out;
  if (!rk || rd_kafka_metadata(rk.get(), 1, nullptr, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const std::string name = md->topics[i].topic;
    if (name.rfind("lapor.", 0) == 0) out.push_back(name);
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

TEST(IntakePrivacyTest, AnonymousReporterContactIsOnNoTopic) {
  Stack stack;
  const auto tag = std::to_string(std::random_device{}());
  const std::vector<std::string> pii{"Budi Rahasia " + tag, "+62812" + tag,
                                     "budi." + tag + "@example.org", "device-" + tag};
  v1::SubmitComplaintRequest req;
  req.set_channel(v1::CHANNEL_APP);
  req.set_category("fire");
  req.set_priority(v1::PRIORITY_EMERGENCY);
  req.set_title("Kebakaran gudang");
  req.set_description("Asap tebal dari gudang di belakang pasar.");
  auto* loc = req.mutable_location();
  loc->set_has_coordinates(true);
  loc->set_lat(0.51);
  loc->set_lon(117.64);
  loc->set_kecamatan("Sangatta Utara");
  req.mutable_reporter()->set_name(pii[0]);
  req.mutable_reporter()->set_phone(pii[1]);
  req.mutable_reporter()->set_email(pii[2]);
  req.mutable_reporter()->set_device_id(pii[3]);
  req.set_anonymous(true);
  auto stub = v1::IntakeService::NewStub(
      grpc::CreateChannel(stack.endpoint("intake").grpc(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);
  v1::SubmitComplaintResponse resp;
  auto st = stub->SubmitComplaint(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();

  // Wait until the complaint has gone all the way to its lead agency's dispatch topic.
  TopicReader dispatch(stack.brokers(), "lapor.dispatch.disdamkar.v1");
  auto item = dispatch.readUntil(
      [&](const kafka::Message& m) { return m.key == resp.complaint_id(); }, 60s);
  ASSERT_TRUE(item.has_value()) << stack.logs();
  v1::EventEnvelope env;
  ASSERT_TRUE(env.ParseFromString(item->value));
  EXPECT_TRUE(env.dispatched().item().complaint().anonymous());
  EXPECT_FALSE(env.dispatched().item().complaint().reporter_ref().empty());

  const auto topics = laporTopics(stack.brokers());
  ASSERT_GE(topics.size(), 3u);  // complaints, dead letters, dispatch topics
  size_t messages = 0;
  bool saw_ours = false;
  for (const auto& topic : topics) {
    TopicReader reader(stack.brokers(), topic);
    ASSERT_TRUE(reader.readToEnd(60s)) << topic;
    for (const auto& m : reader.seen()) {
      ++messages;
      saw_ours = saw_ours || m.key == resp.complaint_id();
      std::string all = m.key + m.value;
      for (const auto& [k, v] : m.headers) all += k + v;
      for (const auto& s : pii)
        EXPECT_EQ(all.find(s), std::string::npos)
            << "'" << s << "' found on " << topic << " offset " << m.offset;
    }
  }
  EXPECT_TRUE(saw_ours);
  EXPECT_GT(messages, 0u);
  EXPECT_EQ(stack.stopAll(), "");
}

}  // namespace
}  // namespace lapor::testing
