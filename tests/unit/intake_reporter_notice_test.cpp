// The reporter's notices: which events are news for the reporter, through which channels an
// (anonymous) reporter is reached, and how the templates are written out.
#include "domain/reporter_notice.h"
#include "events/envelope.h"
#include "reporter_channels.h"

#include <gtest/gtest.h>

namespace lapor::intake {
namespace {

v1::EventEnvelope event(const std::string& id) {
  return events::makeEnvelope("test", "c-1", "t", 1000, id);
}

v1::EventEnvelope routed(bool triage, const std::string& reason = "initial") {
  auto e = event("routed");
  e.mutable_routed()->set_triage(triage);
  e.mutable_routed()->set_reason(reason);
  auto* a = e.mutable_routed()->add_assignments();
  a->set_agency_id(triage ? "triage" : "dinas-pu");
  return e;
}

TEST(ReporterNoticeTest, EveryStatusChangeTheReporterShouldKnow) {
  EXPECT_EQ(noticeOf(event("x"), {}), std::nullopt) << "an empty envelope is no news";
  auto verified = event("v");
  verified.mutable_verified()->set_operator_("verifier-ani");
  ASSERT_TRUE(noticeOf(verified, {}));
  EXPECT_EQ(noticeOf(verified, {})->kind, "verified");
  EXPECT_EQ(noticeOf(verified, {})->message, "") << "no operator in a notice";

  EXPECT_EQ(noticeOf(routed(false), {.first_dispatch = true, .resolved_role = ""})->kind, "dispatched");
  EXPECT_FALSE(noticeOf(routed(false), {.first_dispatch = false, .resolved_role = ""})) << "a re-route is no news";
  EXPECT_FALSE(isDispatch(routed(true))) << "the triage desk is no agency dispatch";
  EXPECT_FALSE(isDispatch(routed(false, "redispatch")));

  auto postponed = event("p");
  postponed.mutable_postponed()->set_question("Di RT berapa?");
  postponed.mutable_postponed()->set_operator_("verifier-ani");
  EXPECT_EQ(noticeOf(postponed, {})->kind, "postponed");
  EXPECT_EQ(noticeOf(postponed, {})->message, "Di RT berapa?");
  auto asked = event("q");
  asked.mutable_reporter_asked()->set_question("Lantai berapa?");
  asked.mutable_reporter_asked()->set_operator_("petugas-budi");
  EXPECT_EQ(noticeOf(asked, {})->kind, "question");
  EXPECT_EQ(noticeOf(asked, {})->message, "Lantai berapa?");

  auto progress = event("s");
  progress.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_IN_PROGRESS);
  EXPECT_FALSE(noticeOf(progress, {}));
  auto responded = progress;
  responded.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_RESPONDED);
  responded.mutable_status_updated()->set_message("Perbaikan dijadwalkan Senin");
  EXPECT_EQ(noticeOf(responded, {})->kind, "responded");
  EXPECT_EQ(noticeOf(responded, {})->message, "Perbaikan dijadwalkan Senin");

  auto resolved = event("r");
  resolved.mutable_resolved()->set_resolution("Sudah ditambal");
  EXPECT_EQ(noticeOf(resolved, {.first_dispatch = false, .resolved_role = "lead"})->kind, "resolved");
  EXPECT_FALSE(noticeOf(resolved, {.first_dispatch = false, .resolved_role = "support"}))
      << "a supporting agency's part does not resolve the report";

  auto archived = event("a");
  archived.mutable_closed()->set_reason("verification");
  archived.mutable_closed()->set_reason_code("archived");
  archived.mutable_closed()->set_note("Laporan tidak lengkap");
  EXPECT_EQ(noticeOf(archived, {})->kind, "archived");
  EXPECT_EQ(noticeOf(archived, {})->message, "Laporan tidak lengkap");
  auto not_ours = event("n");
  not_ours.mutable_closed()->set_reason("verification");
  not_ours.mutable_closed()->set_reason_code("not-ours");
  not_ours.mutable_closed()->set_forward_to("Pemerintah Provinsi Kalimantan Timur");
  EXPECT_EQ(noticeOf(not_ours, {})->kind, "closed");
  EXPECT_NE(noticeOf(not_ours, {})->message.find("Pemerintah Provinsi Kalimantan Timur"),
            std::string::npos);
  auto reopened = event("o");
  reopened.mutable_reopened()->set_reason("Lubang muncul lagi");
  EXPECT_EQ(noticeOf(reopened, {})->kind, "reopened");
  EXPECT_EQ(noticeOf(reopened, {})->status, v1::COMPLAINT_STATUS_REOPENED);

  auto answered = event("ans");
  answered.mutable_reporter_answered()->set_answer("RT 05");
  EXPECT_FALSE(noticeOf(answered, {})) << "the reporter's own answer";
  auto told = event("told");
  told.mutable_reporter_notified()->set_notice("verified");
  EXPECT_FALSE(noticeOf(told, {})) << "a notification is never news itself";
}

TEST(ReporterNoticeTest, AnAnonymousReporterOnlyThroughTheChannelItCameBy) {
  using V = std::vector<std::string>;
  ReporterReach all{v1::CHANNEL_WEB, false, true, true, true};
  EXPECT_EQ(channelsFor(all), (V{"callback", "email", "sms"}));
  auto anon = all;
  anon.anonymous = true;
  EXPECT_EQ(channelsFor(anon), (V{"email"}));
  anon.channel = v1::CHANNEL_APP;
  EXPECT_EQ(channelsFor(anon), (V{"email"}));
  anon.channel = v1::CHANNEL_SMS;
  EXPECT_EQ(channelsFor(anon), (V{"sms"}));
  anon.channel = v1::CHANNEL_OPEN311;
  EXPECT_EQ(channelsFor(anon), (V{"callback"}));
  anon.channel = v1::CHANNEL_EXTERNAL;
  EXPECT_EQ(channelsFor(anon), (V{"callback"}));
  anon.channel = v1::CHANNEL_CALL_CENTRE_112;
  EXPECT_EQ(channelsFor(anon), V{});
  anon.channel = v1::CHANNEL_SMS;
  anon.has_phone = false;
  EXPECT_EQ(channelsFor(anon), V{}) << "no number, no SMS; and no other channel instead";
  ReporterReach nothing{v1::CHANNEL_WEB, false, false, false, false};
  EXPECT_EQ(channelsFor(nothing), V{});
}

TEST(ReporterNoticeTest, TemplatesAreWrittenOutAndChecked) {
  const std::map<std::string, std::string> vars{{"phone", "+62811"}, {"text", "a \"b\" & c"}};
  EXPECT_EQ(render(R"({"to":"{phone}","text":"{text}"})", vars, Escape::Json),
            R"({"to":"+62811","text":"a \"b\" & c"})");
  EXPECT_EQ(render("to={phone}&text={text}", vars, Escape::Form),
            "to=%2B62811&text=a%20%22b%22%20%26%20c");
  EXPECT_EQ(render("{unknown} {phone}", vars), "{unknown} +62811");
  EXPECT_EQ(unknownPlaceholders(R"({"to":"{phone}","x":"{nme}"})", {"phone", "text"}),
            std::vector<std::string>{"nme"});
  EXPECT_TRUE(unknownPlaceholders(R"({"to":"{phone}"})", {"phone"}).empty());
  EXPECT_EQ(statusName(v1::COMPLAINT_STATUS_IN_PROGRESS), "in_progress");

  OutgoingNotice n;
  n.notification_id = "n-1";
  n.cause = "e-1";
  n.tracking_id = "LPR-TFG0-STBB-E";
  n.title = "Jalan berlubang\r\nBcc: x@example.org";
  n.notice = "resolved";
  n.notice_words = noticeWords("resolved");
  n.summary = "the agency resolved your report: Sudah ditambal";
  n.status = "resolved";
  n.to = "warga@example.org";
  n.at_ms = 1'700'000'000'000;
  EmailSettings s;
  s.from = "LAPOR Kutai Timur <lapor@example.org>";
  s.subject = "[LAPOR] {tracking_id}: {title}";
  s.body = "{summary}\nStatus: {status}\n";
  const auto mail = emailMessage(s, n);
  EXPECT_NE(mail.find("Subject: [LAPOR] LPR-TFG0-STBB-E: Jalan berlubang  Bcc: x@example.org\r\n"),
            std::string::npos)
      << "a title cannot add a header\n" << mail;
  EXPECT_NE(mail.find("\r\n\r\nthe agency resolved your report: Sudah ditambal\r\nStatus: resolved\r\n"),
            std::string::npos) << mail;
  EXPECT_NE(mail.find("Message-ID: <n-1@lapor>"), std::string::npos);
  // The callback's body: the notice and the complaint's public facts, never a contact.
  const auto body = callbackBody(n);
  EXPECT_NE(body.find("\"tracking_id\":\"LPR-TFG0-STBB-E\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"event_id\":\"e-1\""), std::string::npos) << body;
  EXPECT_EQ(body.find("warga@example.org"), std::string::npos) << body;
}

}  // namespace
}  // namespace lapor::intake
