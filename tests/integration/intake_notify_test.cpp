// Reporter notifications and answers against a real intake, Kafka and Redis, with real
// receivers: e-mail into an aiosmtpd SMTP server, SMS into a local HTTP gateway, and the
// publisher's callback into a receiver that checks the signature. Lifecycle events are written
// to lapor.complaints.v1 as the other services write them.
#include "auth/sha256.h"
#include "events/envelope.h"
#include "intake_fixture.h"
#include "integration_support.h"
#include "lifecycle_events.h"
#include "smtp_sink.h"
#include "redis/redis_client.h"
#include "topic_reader.h"
#include "webhook/webhook_signature.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;
constexpr const char* kCallbackSecret = "callback-test-secret";
constexpr const char* kFailingPhone = "+6281299999999";  // the gateway answers 500 for it

// The SMS gateway and the publisher's callback: records every request; SMS to kFailingPhone
// get 500.
class HttpSink {
 public:
  HttpSink() {
    server_.Post("/sms", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lk(mu_);
      sms_.push_back(req.body);
      res.status = req.body.find(kFailingPhone) != std::string::npos ? 500 : 200;
    });
    server_.Post("/callback", [this](const httplib::Request& req, httplib::Response& res) {
      const auto check = webhook::verifySignature(
          kCallbackSecret, req.get_header_value(webhook::kSignatureHeader), req.body,
          std::time(nullptr));
      std::lock_guard lk(mu_);
      if (check != webhook::SignatureCheck::Valid) {
        res.status = 401;
        ++bad_signatures_;
        return;
      }
      callbacks_.push_back(req.body);
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HttpSink() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> sms(const std::string& with) { return matching(sms_, with); }
  std::vector<std::string> callbacks(const std::string& with) { return matching(callbacks_, with); }
  int badSignatures() {
    std::lock_guard lk(mu_);
    return bad_signatures_;
  }

 private:
  std::vector<std::string> matching(const std::vector<std::string>& all, const std::string& with) {
    std::lock_guard lk(mu_);
    std::vector<std::string> out;
    for (const auto& b : all)
      if (b.find(with) != std::string::npos) out.push_back(b);
    return out;
  }
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> sms_, callbacks_;
  int bad_signatures_ = 0;
};

struct NotifyStack {
  HttpSink http;
  testing::SmtpSink smtp;
  std::string prefix = freshPrefix();
  std::unique_ptr<IntakeProcess> intake;

  NotifyStack() {
    const auto dir = testing::runDir();
    const auto secret_file = dir + "/callback-" + std::to_string(std::random_device{}()) + ".secret";
    std::ofstream(secret_file) << kCallbackSecret << "\n";
    const auto cfg = dir + "/intake-notify-" + std::to_string(std::random_device{}()) + ".yaml";
    const auto base = "http://127.0.0.1:" + std::to_string(http.port());
    std::ofstream out(cfg);
    out << "service: {log_level: info}\n"
        << "kafka: {produce_timeout: 3s}\n"
        << "agencies: {file: " << LAPOR_SOURCE_DIR << "/deploy/config/agencies.yaml}\n"
        << "operators: {file: " << LAPOR_SOURCE_DIR << "/deploy/config/operators.yaml}\n"
        << "publishers:\n"
        << "  - {id: partner, key_sha256: " << auth::sha256Hex(kPartnerKey)
        << ", rate_limit: 10000, callback_url: \"" << base
        << "/callback\", callback_secret_file: " << secret_file << "}\n"
        << "auth: {allow_keyless: true, keyless_rate_limit: 10000, rate_window: 60s}\n"
        << "open311: {enabled: false}\n"
        << "notify: {max_attempts: 3, initial_backoff: 50ms, max_backoff: 200ms, timeout: 2s, "
           "poll_interval: 20ms}\n"
        << "email: {enabled: true, smtp_url: \"smtp://127.0.0.1:" << smtp.port()
        << "\", from: \"LAPOR Test <lapor@test.example>\", tls: \"off\"}\n"
        << "sms: {enabled: true, url: \"" << base << "/sms\"}\n";
    out.close();
    intake = std::make_unique<IntakeProcess>("notify", prefix, std::map<std::string, std::string>{},
                                             cfg);
  }
};

NotifyStack& stack() {
  static NotifyStack s;
  return s;
}

v1::SubmitComplaintResponse submit(v1::SubmitComplaintRequest req, const std::string& key) {
  v1::SubmitComplaintResponse r;
  auto st = stack().intake->stub()->SubmitComplaint(call(key).get(), req, &r);
  if (!st.ok()) throw std::runtime_error("submit: " + st.error_message());
  return r;
}

v1::EventEnvelope event(const std::string& cid, const std::string& producer) {
  return events::makeEnvelope(producer, cid, "", testing::nowMs());
}

void publish(const v1::EventEnvelope& env) {
  ASSERT_TRUE(testing::produceEvent(brokers(), env));
}

// The ReporterNotified events of `cid` on the lifecycle topic, read to its end.
std::vector<v1::ReporterNotified> notified(const std::string& cid) {
  testing::TopicReader reader(brokers(), kafka::kComplaintsTopic);
  if (!reader.readToEnd(30s)) throw std::runtime_error("could not read the lifecycle topic");
  std::vector<v1::ReporterNotified> out;
  for (const auto& e : testing::eventsOf(reader.seen(), cid))
    if (e.has_reporter_notified()) out.push_back(e.reporter_notified());
  return out;
}

std::vector<v1::ReporterNotified> waitNotified(const std::string& cid, size_t n) {
  std::vector<v1::ReporterNotified> last;
  waitFor([&] { return (last = notified(cid)).size() >= n; }, 30s, 300ms);
  return last;
}

v1::SubmitComplaintRequest withReporter(v1::Channel channel, const std::string& email,
                                        const std::string& phone, bool anonymous) {
  auto req = validComplaint(uniqueName("notify"));
  req.set_channel(channel);
  req.mutable_reporter()->set_name("Siti Rahmawati");
  req.mutable_reporter()->set_email(email);
  req.mutable_reporter()->set_phone(phone);
  req.set_anonymous(anonymous);
  return req;
}

TEST(IntakeNotify, ANamedReporterHearsOnEveryChannelOnceAndAReplaySendsNothingTwice) {
  auto& s = stack();
  const auto r = submit(withReporter(v1::CHANNEL_EXTERNAL, "siti@example.org", "+6281234500001",
                                     false),
                        kPartnerKey);
  auto verified = event(r.complaint_id(), "routing");
  verified.mutable_verified()->set_operator_("verifier-ani");
  publish(verified);
  auto told = waitNotified(r.complaint_id(), 3);
  ASSERT_EQ(told.size(), 3u);
  for (const auto& t : told) {
    EXPECT_TRUE(t.delivered()) << t.DebugString();
    EXPECT_EQ(t.notice(), "verified");
    EXPECT_EQ(t.cause(), verified.event_id());
  }
  auto mails = s.smtp.mails(r.tracking_id());
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_NE(mails[0].find("X-Rcpt: siti@example.org"), std::string::npos) << mails[0];
  EXPECT_NE(mails[0].find("verified"), std::string::npos) << mails[0];
  auto sms = s.http.sms("+6281234500001");
  ASSERT_EQ(sms.size(), 1u);
  EXPECT_NE(sms[0].find(r.tracking_id()), std::string::npos) << sms[0];
  auto callbacks = s.http.callbacks(r.tracking_id());
  ASSERT_EQ(callbacks.size(), 1u);
  EXPECT_NE(callbacks[0].find("\"notice\":\"verified\""), std::string::npos) << callbacks[0];
  EXPECT_NE(callbacks[0].find(verified.event_id()), std::string::npos) << callbacks[0];
  for (const auto* contact : {"siti@example.org", "+6281234500001", "Siti", "verifier-ani"})
    EXPECT_EQ(callbacks[0].find(contact), std::string::npos) << contact << " in " << callbacks[0];
  EXPECT_EQ(s.http.badSignatures(), 0);

  // The same event again (a replaying producer), then the agency's answer.
  publish(verified);
  auto responded = event(r.complaint_id(), "notification");
  responded.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_RESPONDED);
  responded.mutable_status_updated()->set_message("Perbaikan dijadwalkan Senin");
  responded.mutable_status_updated()->set_operator_("petugas-budi");
  publish(responded);
  told = waitNotified(r.complaint_id(), 6);
  EXPECT_EQ(told.size(), 6u);
  EXPECT_EQ(s.smtp.mails(r.tracking_id()).size(), 2u) << "one mail per status change";
  EXPECT_EQ(s.http.sms("+6281234500001").size(), 2u);
  callbacks = s.http.callbacks(r.tracking_id());
  ASSERT_EQ(callbacks.size(), 2u);
  EXPECT_NE(callbacks[1].find("Perbaikan dijadwalkan Senin"), std::string::npos) << callbacks[1];
  EXPECT_EQ(callbacks[1].find("petugas-budi"), std::string::npos) << callbacks[1];
}

TEST(IntakeNotify, AnAnonymousReporterHearsOnlyByTheChannelItCameBy) {
  auto& s = stack();
  // Keyless (the public publisher), by SMS, with an e-mail address given as well.
  const auto r =
      submit(withReporter(v1::CHANNEL_SMS, "anon@example.org", "+6281234500002", true), "");
  auto postponed = event(r.complaint_id(), "routing");
  postponed.mutable_postponed()->set_question("Di RT berapa lubangnya?");
  publish(postponed);
  auto told = waitNotified(r.complaint_id(), 1);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].channel(), "sms");
  EXPECT_EQ(told[0].notice(), "postponed");
  auto sms = s.http.sms("+6281234500002");
  ASSERT_EQ(sms.size(), 1u);
  EXPECT_NE(sms[0].find("Di RT berapa lubangnya?"), std::string::npos) << sms[0];
  // Every job of the notice was made with it: once none is pending, none was by e-mail.
  redis::RedisOptions options;
  options.host = testing::requiredEnv("LAPOR_REDIS_HOST");
  options.port = std::stoi(testing::requiredEnv("LAPOR_REDIS_PORT"));
  options.prefix = s.prefix;
  redis::RedisClient redis(options, log::Logger("test"));
  EXPECT_TRUE(waitFor(
      [&] { return redis.command({"ZCARD", redis.key("intake:notify:due")}).integer == 0; }, 20s));
  EXPECT_EQ(notified(r.complaint_id()).size(), 1u);
  EXPECT_TRUE(s.smtp.mails(r.tracking_id()).empty());
}

TEST(IntakeNotify, AFailingGatewayIsRetriedUpToTheBoundThenGivenUp) {
  auto& s = stack();
  const auto r = submit(withReporter(v1::CHANNEL_SMS, "", kFailingPhone, false), "");
  auto reopened = event(r.complaint_id(), "intake");
  reopened.mutable_reopened()->set_reason("Lubang muncul lagi");
  publish(reopened);
  auto told = waitNotified(r.complaint_id(), 1);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_FALSE(told[0].delivered());
  EXPECT_EQ(told[0].attempts(), 3) << "notify.max_attempts";
  EXPECT_EQ(s.http.sms(r.tracking_id()).size(), 3u) << "three attempts, not one more";
}

grpc::Status answer(const std::string& tracking_id, const std::string& text,
                    const std::string& secret, const std::string& request_id,
                    v1::AnswerAgencyResponse* resp) {
  v1::AnswerAgencyRequest req;
  req.set_tracking_id(tracking_id);
  req.set_answer(text);
  req.set_reporter_secret(secret);
  req.set_request_id(request_id);
  return stack().intake->stub()->AnswerAgency(call().get(), req, resp);
}

v1::ComplaintView waitView(const std::string& tracking_id,
                           const std::function<bool(const v1::ComplaintView&)>& pred) {
  v1::ComplaintView last;
  waitFor(
      [&] {
        v1::GetComplaintRequest req;
        req.set_tracking_id(tracking_id);
        return stack().intake->stub()->GetComplaint(call().get(), req, &last).ok() && pred(last);
      },
      20s);
  return last;
}

TEST(IntakeAnswer, TheReporterAnswersThePostponementOncePerRequestIdAndOnlyWithTheSecret) {
  const auto r = submit(validComplaint(uniqueName("answer")), "");
  const auto cid = r.complaint_id();
  auto requested = event(cid, "routing");
  requested.mutable_verification_requested()->set_desk("triage");
  publish(requested);
  auto postponed = event(cid, "routing");
  postponed.mutable_postponed()->set_question("Tiang nomor berapa?");
  publish(postponed);
  auto view = waitView(r.tracking_id(), [](const auto& v) {
    return v.status() == v1::COMPLAINT_STATUS_POSTPONED;
  });
  ASSERT_EQ(view.status(), v1::COMPLAINT_STATUS_POSTPONED);
  EXPECT_EQ(view.open_question(), "Tiang nomor berapa?");
  // Not published while it waits for the verifiers.
  v1::ListComplaintsRequest list;
  list.set_category("road-damage");
  list.set_page_size(500);
  v1::ListComplaintsResponse page;
  ASSERT_TRUE(stack().intake->stub()->ListComplaints(call().get(), list, &page).ok());
  for (const auto& c : page.complaints()) EXPECT_NE(c.complaint_id(), cid);

  v1::AnswerAgencyResponse resp;
  EXPECT_EQ(answer(r.tracking_id(), "Tiang 17", "", "a-1", &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(answer(r.tracking_id(), "Tiang 17", "WRONGSECRET", "a-1", &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  auto bad = answer(r.tracking_id(), "", r.reporter_secret(), "a-1", &resp);
  ASSERT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(badRequestOf(bad));
  EXPECT_EQ(badRequestOf(bad)->field_violations(0).field(), "answer");

  auto ok = answer(r.tracking_id(), "Tiang 17", r.reporter_secret(), "a-1", &resp);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(resp.in_reply_to(), postponed.event_id());
  v1::AnswerAgencyResponse again;
  ASSERT_TRUE(answer(r.tracking_id(), "Tiang 17", r.reporter_secret(), "a-1", &again).ok());
  EXPECT_EQ(again.in_reply_to(), postponed.event_id());
  EXPECT_EQ(answer(r.tracking_id(), "Tiang 18", r.reporter_secret(), "a-1", &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION)
      << "the same request id with another answer";
  EXPECT_EQ(answer(r.tracking_id(), "Tiang 18", r.reporter_secret(), "a-2", &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION)
      << "the question was answered already";

  view = waitView(r.tracking_id(), [](const auto& v) {
    return v.status() == v1::COMPLAINT_STATUS_VERIFYING;
  });
  EXPECT_EQ(view.status(), v1::COMPLAINT_STATUS_VERIFYING) << "back with the verifiers";
  EXPECT_EQ(view.open_question(), "");
  testing::TopicReader reader(brokers(), kafka::kComplaintsTopic);
  ASSERT_TRUE(reader.readToEnd(30s));
  int answers = 0;
  for (const auto& e : testing::eventsOf(reader.seen(), cid))
    if (e.has_reporter_answered()) {
      ++answers;
      EXPECT_EQ(e.reporter_answered().answer(), "Tiang 17");
      EXPECT_EQ(e.reporter_answered().in_reply_to(), postponed.event_id());
      EXPECT_EQ(e.reporter_answered().agency_id(), "");
    }
  EXPECT_EQ(answers, 1);
}

}  // namespace
}  // namespace lapor::integration
