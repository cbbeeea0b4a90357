// Webhooks against a real local HTTP receiver that fails the first N requests: the delivery
// arrives once it recovers, the signature verifies, the retry schedule survives a restart of
// notification, and after the configured attempts the dead-letter path is taken. And the local
// stack's own receiver (lapor-webhook-receiver): it verifies, logs and answers each delivery,
// and refuses what is not signed right.
#include "notification_support.h"

#include "topic_reader.h"
#include "webhook/webhook_signature.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <sys/wait.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSecret = "webhook-secret-for-tests";

// What docs/agencies.md tells a receiver to do: HMAC-SHA256 over "<t>.<body>", compare in
// constant time, refuse timestamps older than 5 minutes.
bool signatureValid(const std::string& header, const std::string& body) {
  auto t_at = header.find("t="), v_at = header.find(",v1=");
  if (t_at != 0 || v_at == std::string::npos) return false;
  const auto t = header.substr(2, v_at - 2);
  const auto sig = header.substr(v_at + 4);
  if (std::llabs(std::time(nullptr) - std::stoll(t)) > 300) return false;
  const auto text = t + "." + body;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret, static_cast<int>(std::strlen(kSecret)),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), md, &len);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex.size() == sig.size() && CRYPTO_memcmp(hex.data(), sig.data(), sig.size()) == 0;
}

// An HTTP receiver that answers 503 to the first `fail_first` requests about `complaint` and
// 200 to the rest: the notification of a test may also deliver items that earlier tests left on
// the broker.
class Receiver {
 public:
  Receiver(int fail_first, std::string complaint)
      : fail_first_(fail_first), complaint_(std::move(complaint)) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lk(mu_);
      requests_.push_back(req);
      const bool ours = req.body.find(complaint_) != std::string::npos;
      res.status = ours && ++failed_ <= fail_first_ ? 503 : 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  size_t count() {
    std::lock_guard lk(mu_);
    return requests_.size();
  }
  std::vector<httplib::Request> requests() {
    std::lock_guard lk(mu_);
    return requests_;
  }

 private:
  int fail_first_;
  std::string complaint_;
  int failed_ = 0;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<httplib::Request> requests_;
};

NotificationOptions withWebhook(const std::string& url, int max_attempts,
                                const std::string& backoff) {
  NotificationOptions o;
  o.tokens = {{"bpbd", "token-bpbd"}};
  o.extra_access_yaml = "  dishub:\n    webhook: {url: \"" + url +
                        "\", secret_env: LAPOR_TEST_WEBHOOK_SECRET, max_attempts: " +
                        std::to_string(max_attempts) + ", initial_backoff: " + backoff +
                        ", max_backoff: 2s, timeout: 2s}\n";
  o.env = {{"LAPOR_TEST_WEBHOOK_SECRET", kSecret}};
  o.delivery = {{"dishub", "{channel: webhook}"}};
  return o;
}

std::vector<httplib::Request> requestsFor(Receiver& r, const std::string& complaint) {
  std::vector<httplib::Request> out;
  for (const auto& q : r.requests())
    if (q.body.find(complaint) != std::string::npos) out.push_back(q);
  return out;
}

TEST(NotificationWebhook, RetriesUntilTheReceiverRecoversEvenAcrossARestart) {
  const auto complaint = uniqueName("hook");
  Receiver receiver(3, complaint);
  // Notification first: it creates the lifecycle topic when this test runs on a new broker.
  NotificationProcess n(withWebhook(receiver.url(), 10, "500ms"));
  TopicReader lifecycle(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), kafka::kComplaintsTopic,
                        TopicReader::From::End);
  auto env = dispatchEnvelope("dishub", complaint, "Lampu lalu lintas mati");
  produceDispatch(env);
  // The first attempt fails; stop notification while the retry is scheduled.
  ASSERT_TRUE(waitFor([&] { return requestsFor(receiver, complaint).size() >= 1; }, 30s))
      << n.logTail();
  n.stop();
  const auto before = requestsFor(receiver, complaint).size();
  ASSERT_LT(before, 4u);
  n.start();
  ASSERT_TRUE(waitFor([&] { return requestsFor(receiver, complaint).size() >= 4; }, 30s))
      << n.logTail();
  auto got = requestsFor(receiver, complaint);
  const auto& ok = got[3];
  EXPECT_TRUE(signatureValid(ok.get_header_value("X-Lapor-Signature"), ok.body));
  EXPECT_FALSE(signatureValid(ok.get_header_value("X-Lapor-Signature"), ok.body + " "));
  EXPECT_EQ(ok.get_header_value("X-Lapor-Event-Id"), env.event_id());
  auto body = nlohmann::json::parse(ok.body);
  EXPECT_EQ(body["eventId"], env.event_id());
  EXPECT_EQ(body["item"]["assignment"]["agencyId"], "dishub");
  EXPECT_EQ(body["item"]["complaint"]["title"], "Lampu lalu lintas mati");

  // Delivered once, by the webhook, after the 2xx; no further requests once it succeeded.
  lifecycle.readUntil(
      [&](const kafka::Message&) {
        for (const auto& e : lifecycleOf(lifecycle, complaint))
          if (e.has_delivered()) return true;
        return false;
      },
      20s);
  auto ev = lifecycleOf(lifecycle, complaint);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].delivered().channel(), "webhook");
  EXPECT_EQ(ev[0].delivered().agency_id(), "dishub");
  lifecycle.readUntil([](const kafka::Message&) { return false; }, 1500ms);
  EXPECT_EQ(requestsFor(receiver, complaint).size(), 4u);
}

TEST(NotificationWebhook, AfterMaxAttemptsTheDeliveryIsDeadLetteredAndRecordedUndeliverable) {
  const auto complaint = uniqueName("dead");
  Receiver receiver(1000, complaint);
  // Notification first: it creates the topics when this test runs on a new broker.
  NotificationProcess n(withWebhook(receiver.url(), 3, "100ms"));
  TopicReader lifecycle(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), kafka::kComplaintsTopic,
                        TopicReader::From::End);
  TopicReader deadletters(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), kafka::kDeadLetterTopic,
                          TopicReader::From::End);
  produceDispatch(dispatchEnvelope("dishub", complaint, "tidak terkirim"));
  auto dl = deadletters.readUntil([&](const kafka::Message& m) { return m.key == complaint; }, 30s);
  ASSERT_TRUE(dl) << n.logTail();
  EXPECT_EQ(dl->header("lapor.dlq.reason"), "webhook-undeliverable");
  EXPECT_EQ(dl->header("lapor.dlq.attempts"), "3");
  EXPECT_EQ(requestsFor(receiver, complaint).size(), 3u);
  lifecycle.readUntil(
      [&](const kafka::Message&) { return !lifecycleOf(lifecycle, complaint).empty(); }, 20s);
  auto ev = lifecycleOf(lifecycle, complaint);
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_TRUE(ev[0].has_undeliverable());
  EXPECT_EQ(ev[0].undeliverable().channel(), "webhook");
  EXPECT_EQ(ev[0].undeliverable().attempts(), 3);
  EXPECT_EQ(ev[0].undeliverable().last_error(), "HTTP 503");
  // Counted (older items of the shared topic replayed by this instance may count too).
  EXPECT_TRUE(waitFor(
      [&] {
        return metricValue(n.metricsPort(),
                           "lapor_notification_webhook_undeliverable_total{agency=\"dishub\"}") >= 1;
      },
      10s));
}

// The local stack's receiver, lapor-webhook-receiver, as a process on a free port.
class ReceiverProcess {
 public:
  explicit ReceiverProcess(const std::string& agencies)
      : port_(testing::freePort()),
        process_("webhook-receiver",
                 {LAPOR_BUILD_DIR "/tools/lapor-webhook-receiver", "--port", std::to_string(port_),
                  "--agency", agencies, "--secret-env", "LAPOR_TEST_WEBHOOK_SECRET"},
                 {{"LAPOR_TEST_WEBHOOK_SECRET", kSecret}},
                 testing::runDir() + "/logs/" + uniqueName("webhook-receiver") + ".log") {
    if (!waitFor([&] { return !process_.running() || log().find("receiver listening") !=
                                                          std::string::npos; },
                 20s) ||
        !process_.running())
      throw std::runtime_error("lapor-webhook-receiver did not start\n" + process_.logTail());
  }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::string log() const {
    std::ifstream in(process_.logPath());
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
  }
  // The JSON lines it logged with `msg`.
  std::vector<nlohmann::json> lines(const std::string& msg) const {
    std::vector<nlohmann::json> out;
    std::istringstream in(log());
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("msg", "") == msg) out.push_back(j);
    }
    return out;
  }
  testing::ChildProcess& process() { return process_; }

 private:
  int port_;
  testing::ChildProcess process_;
};

TEST(NotificationWebhook, TheStacksReceiverVerifiesLogsAndAnswersSoTheItemIsDelivered) {
  ReceiverProcess receiver("pdam,disdukcapil");
  // As shipped: a url relative to webhook.base_url, which the environment points at the port.
  NotificationOptions o;
  o.tokens = {{"pdam", "token-pdam"}};
  o.extra_access_yaml =
      "  pdam:\n    webhook: {url: /hooks/pdam, secret_env: LAPOR_TEST_WEBHOOK_SECRET}\n";
  o.env = {{"LAPOR_TEST_WEBHOOK_SECRET", kSecret}, {"LAPOR_WEBHOOK_BASE_URL", receiver.baseUrl()}};
  o.delivery = {{"pdam", "{channel: webhook}"}};
  NotificationProcess n(o);
  TopicReader lifecycle(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), kafka::kComplaintsTopic,
                        TopicReader::From::End);
  const auto complaint = uniqueName("air");
  auto env = dispatchEnvelope("pdam", complaint, "Air PDAM mati tiga hari");
  produceDispatch(env);
  lifecycle.readUntil(
      [&](const kafka::Message&) {
        for (const auto& e : lifecycleOf(lifecycle, complaint))
          if (e.has_delivered()) return true;
        return false;
      },
      30s);
  auto ev = lifecycleOf(lifecycle, complaint);
  ASSERT_EQ(ev.size(), 1u) << n.logTail() << receiver.log();
  EXPECT_EQ(ev[0].delivered().channel(), "webhook");
  EXPECT_EQ(ev[0].delivered().agency_id(), "pdam");
  std::vector<nlohmann::json> ours;
  for (const auto& j : receiver.lines("webhook received"))
    if (j.value("complaint_id", "") == complaint) ours.push_back(j);
  ASSERT_EQ(ours.size(), 1u) << receiver.log();
  EXPECT_EQ(ours[0]["agency"], "pdam");
  EXPECT_EQ(ours[0]["tracking_id"], "LPR-TEST-0000-X");
  EXPECT_EQ(ours[0]["kind"], "DISPATCH_KIND_NEW");
  EXPECT_EQ(ours[0]["event_id"], env.event_id());
  EXPECT_EQ(ours[0]["service"], "webhook-receiver");
  // Counted once recorded (the count follows the event).
  EXPECT_TRUE(waitFor(
      [&] {
        return metricValue(n.metricsPort(), "lapor_notification_deliveries_total{agency=\"pdam\","
                                            "channel=\"webhook\"}") == 1;
      },
      10s));

  // What it refuses, and answers so: a forged signature, a replayed old one, another agency's
  // path, a body changed after signing. None of it is logged as received.
  httplib::Client cli("127.0.0.1", receiver.port());
  const std::string body = R"({"eventId":"e-1","item":{"assignment":{"agencyId":"pdam"}}})";
  const auto now = std::time(nullptr);
  auto post = [&](const std::string& path, const std::string& agency, const std::string& sig,
                  const std::string& payload) {
    auto res = cli.Post(path,
                        httplib::Headers{{"X-Lapor-Signature", sig},
                                         {"X-Lapor-Event-Id", "e-1"},
                                         {"X-Lapor-Agency", agency}},
                        payload, "application/json");
    return res ? res->status : -1;
  };
  EXPECT_EQ(
      post("/hooks/pdam", "pdam", webhook::signatureHeader("not-the-secret", now, body), body),
      401);
  EXPECT_EQ(post("/hooks/pdam", "pdam", webhook::signatureHeader(kSecret, now - 3600, body), body),
            401);
  EXPECT_EQ(post("/hooks/pdam", "pdam", webhook::signatureHeader(kSecret, now, body), body + " "),
            401);
  EXPECT_EQ(post("/hooks/dishub", "dishub", webhook::signatureHeader(kSecret, now, body), body),
            404);
  EXPECT_EQ(post("/hooks/disdukcapil", "disdukcapil", webhook::signatureHeader(kSecret, now, body),
                 body),
            400);  // signed, but the item is pdam's
  EXPECT_EQ(post("/hooks/pdam", "pdam", webhook::signatureHeader(kSecret, now, body), body), 200);
  // A repeat of an event id is answered 200 (the sender stops retrying) but not taken twice.
  EXPECT_EQ(post("/hooks/pdam", "pdam", webhook::signatureHeader(kSecret, now, body), body), 200);
  size_t e1 = 0;
  for (const auto& j : receiver.lines("webhook received")) e1 += j.value("event_id", "") == "e-1";
  EXPECT_EQ(e1, 1u) << receiver.log();
  EXPECT_GE(receiver.lines("webhook refused").size(), 5u);
  EXPECT_EQ(receiver.lines("webhook repeat dropped").size(), 1u);

  // SIGTERM: a clean exit.
  auto st = receiver.process().signalAndWait(SIGTERM, 10s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << receiver.log();
}

}  // namespace
}  // namespace lapor::integration
