// SP4N-LAPOR!'s process end to end, every service a separate process on the run's Kafka and
// Redis, verification on for web reports, e-mail to a real SMTP server (aiosmtpd):
// - a web complaint waits unseen by any agency until a verifier passes it, reaches Dinas PU,
//   which delegates it to a work unit; the unit answers, the reporter is e-mailed, and the
//   complaint closes itself when the reporter does not reply;
// - a postponed report goes through the verifiers' question and the reporter's answer;
// - a 112 emergency goes straight through without verification;
// - an archived report ends with the reason visible to the reporter.
#include "lapor/v1/agency_service.grpc.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "lapor/v1/routing_admin.grpc.pb.h"
#include "agency_client.h"
#include "operator_context.h"
#include "smtp_sink.h"
#include "stack.h"
#include "wait.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace lapor::testing {
namespace {

using namespace std::chrono_literals;

SmtpSink* g_smtp = nullptr;
Stack* g_stack = nullptr;

class ProcessEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_smtp = new SmtpSink();
    g_stack = new Stack({
        {"LAPOR_VERIFICATION_CHANNELS", "web,app,sms,open311,external"},
        {"LAPOR_EMAIL_ENABLED", "true"},
        {"LAPOR_EMAIL_SMTP_URL", g_smtp->url()},
        {"LAPOR_EMAIL_TLS", "off"},
        {"LAPOR_NOTIFY_POLL_INTERVAL", "50ms"},
        // A high-priority complaint closes itself 4 s after an answer nobody replies to.
        {"LAPOR_SLA_AUTO_CLOSE_HIGH", "4s"},
        {"LAPOR_SLA_TICK", "100ms"},
    });
  }
  void TearDown() override {
    delete g_stack;
    g_stack = nullptr;
    delete g_smtp;
    g_smtp = nullptr;
  }
};

std::string notification() {
  return g_stack->endpoint("notification").grpc();
}

v1::SubmitComplaintRequest report(v1::Channel channel, const std::string& category,
                                  v1::Priority priority, const std::string& email) {
  v1::SubmitComplaintRequest req;
  req.set_channel(channel);
  req.set_category(category);
  req.set_priority(priority);
  req.set_title("Laporan " + category);
  req.set_description("Laporan warga tentang " + category + " di Sangatta Utara");
  req.mutable_location()->set_kecamatan("Sangatta Utara");
  req.mutable_reporter()->set_name("Warga Uji");
  req.mutable_reporter()->set_email(email);
  return req;
}

v1::SubmitComplaintResponse submit(const v1::SubmitComplaintRequest& req) {
  v1::SubmitComplaintResponse resp;
  auto s = g_stack->stub<v1::IntakeService>("intake")->SubmitComplaint(callContext().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

v1::ComplaintView view(const std::string& tracking) {
  v1::GetComplaintRequest req;
  req.set_tracking_id(tracking);
  v1::ComplaintView v;
  auto s = g_stack->stub<v1::IntakeService>("intake")->GetComplaint(callContext().get(), req, &v);
  return s.ok() ? v : v1::ComplaintView{};
}

// Waits until the view's status is `status`; the last view either way.
v1::ComplaintView waitStatus(const std::string& tracking, v1::ComplaintStatus status,
                             std::chrono::milliseconds timeout = 30s) {
  v1::ComplaintView v;
  waitFor([&] { return (v = view(tracking)).status() == status; }, timeout, 100ms);
  return v;
}

bool inTimeline(const v1::ComplaintView& v, const std::string& what) {
  return std::any_of(v.timeline().begin(), v.timeline().end(),
                     [&](const auto& e) { return e.what() == what; });
}

bool queued(const std::string& complaint_id, std::string* answer = nullptr) {
  v1::ListVerificationQueueRequest req;
  req.set_page_size(500);
  v1::ListVerificationQueueResponse resp;
  auto s = g_stack->stub<v1::RoutingAdmin>("routing")->ListVerificationQueue(operatorContext().get(), req,
                                                                     &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (const auto& r : resp.reports())
    if (r.complaint().complaint_id() == complaint_id) {
      if (answer) *answer = r.reporter_answer();
      return true;
    }
  return false;
}

TEST(Process, AWebComplaintIsVerifiedDelegatedAnsweredMailedAndClosesItself) {
  FeedReader pu(notification(), "dinas-pu");
  FeedReader unit(notification(), "dinas-pu-upt-jalan-sangatta");
  const auto sub = submit(report(v1::CHANNEL_WEB, "road-damage", v1::PRIORITY_HIGH,
                                 "warga.satu@example.id"));
  ASSERT_FALSE(sub.tracking_id().empty());
  auto v = waitStatus(sub.tracking_id(), v1::COMPLAINT_STATUS_VERIFYING);
  ASSERT_EQ(v.status(), v1::COMPLAINT_STATUS_VERIFYING);
  EXPECT_EQ(v.report_type(), v1::REPORT_TYPE_COMPLAINT_OVERSIGHT) << "the category's type";
  ASSERT_TRUE(waitFor([&] { return queued(sub.complaint_id()); }, 15s));
  EXPECT_FALSE(pu.waitFor(sub.complaint_id(), 1s)) << "an unverified report reaches nobody";

  // Verifiers only: an agency's token is refused.
  v1::VerifyRequest verify;
  verify.set_complaint_id(sub.complaint_id());
  verify.set_title("Jalan Yos Sudarso berlubang dalam");
  verify.set_report_type(v1::REPORT_TYPE_COMPLAINT_NORMATIVE);
  verify.set_request_id("verify-1");
  v1::VerifyResponse vr;
  EXPECT_FALSE(
      g_stack->stub<v1::RoutingAdmin>("routing")->Verify(agencyContext("dinas-pu").get(), verify, &vr).ok());
  auto s = g_stack->stub<v1::RoutingAdmin>("routing")->Verify(operatorContext().get(), verify, &vr);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // A retry of the same request is answered the same and verifies once.
  s = g_stack->stub<v1::RoutingAdmin>("routing")->Verify(operatorContext().get(), verify, &vr);
  ASSERT_TRUE(s.ok()) << s.error_message();

  auto item = pu.waitFor(sub.complaint_id());
  ASSERT_TRUE(item) << "verified: dispatched to Dinas PU";
  EXPECT_EQ(item->item().complaint().title(), "Jalan Yos Sudarso berlubang dalam");
  EXPECT_EQ(item->item().complaint().report_type(), v1::REPORT_TYPE_COMPLAINT_NORMATIVE);
  const auto assignment = item->item().assignment().assignment_id();
  EXPECT_FALSE(queued(sub.complaint_id()));

  // Dinas PU passes it to its road unit, which takes it up and answers the reporter.
  auto agency = g_stack->stub<v1::AgencyService>("notification");
  v1::DelegateRequest d;
  d.set_agency_id("dinas-pu");
  d.set_assignment_id(assignment);
  d.set_unit_id("dinas-pu-upt-jalan-sangatta");
  d.set_note("Mohon cek lokasi hari ini");
  v1::DelegateResponse dr;
  s = agency->Delegate(agencyContext("dinas-pu").get(), d, &dr);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto delegated = unit.waitForItem(
      [&](const v1::DispatchItem& i) {
        return i.assignment().assignment_id() == assignment &&
               i.kind() == v1::DISPATCH_KIND_DELEGATED;
      },
      30s);
  ASSERT_TRUE(delegated) << "the unit receives it on its own stream";
  EXPECT_EQ(delegated->note(), "Mohon cek lokasi hari ini");

  v1::AcknowledgeRequest ack;
  ack.set_agency_id("dinas-pu-upt-jalan-sangatta");
  ack.set_assignment_id(assignment);
  v1::AcknowledgeResponse ackr;
  s = agency->Acknowledge(agencyContext("dinas-pu-upt-jalan-sangatta").get(), ack, &ackr);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::UpdateStatusRequest answer;
  answer.set_agency_id("dinas-pu-upt-jalan-sangatta");
  answer.set_assignment_id(assignment);
  answer.set_state(v1::ASSIGNMENT_STATE_RESPONDED);
  answer.set_message("Lubang akan ditambal Kamis ini");
  v1::UpdateStatusResponse ur;
  s = agency->UpdateStatus(agencyContext("dinas-pu-upt-jalan-sangatta").get(), answer, &ur);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_TRUE(pu.waitForItem(
      [&](const v1::DispatchItem& i) {
        return i.assignment().assignment_id() == assignment &&
               i.kind() == v1::DISPATCH_KIND_UNIT_PROGRESS;
      },
      30s))
      << "Dinas PU sees its unit's progress";

  // The reporter hears of it by e-mail (the real SMTP server received it).
  ASSERT_TRUE(waitFor(
      [&] {
        for (const auto& m : g_smtp->mails(sub.tracking_id()))
          if (m.find("warga.satu@example.id") != std::string::npos &&
              m.find("Lubang akan ditambal") != std::string::npos)
            return true;
        return false;
      },
      30s, 200ms))
      << "no e-mail with the answer reached the SMTP server";
  for (const auto& m : g_smtp->mails(sub.tracking_id()))
    EXPECT_EQ(m.find("Warga Uji"), std::string::npos) << "no notice repeats a name";

  // Nobody replies: the complaint closes itself after the auto-close time.
  v = waitStatus(sub.tracking_id(), v1::COMPLAINT_STATUS_CLOSED, 40s);
  ASSERT_EQ(v.status(), v1::COMPLAINT_STATUS_CLOSED) << v.ShortDebugString();
  EXPECT_EQ(v.close_reason(), "auto-close");
  EXPECT_TRUE(inTimeline(v, "verified"));
  EXPECT_TRUE(inTimeline(v, "delegated"));
  EXPECT_EQ(std::count_if(v.timeline().begin(), v.timeline().end(),
                          [](const auto& e) { return e.what() == "verified"; }),
            1)
      << "verified once";
}

TEST(Process, APostponedReportResumesWithTheReportersAnswer) {
  const auto sub = submit(report(v1::CHANNEL_WEB, "road-damage", v1::PRIORITY_NORMAL,
                                 "warga.dua@example.id"));
  ASSERT_EQ(waitStatus(sub.tracking_id(), v1::COMPLAINT_STATUS_VERIFYING).status(),
            v1::COMPLAINT_STATUS_VERIFYING);
  v1::PostponeRequest p;
  p.set_complaint_id(sub.complaint_id());
  p.set_question("Di ruas jalan mana tepatnya?");
  v1::PostponeResponse pr;
  auto s = g_stack->stub<v1::RoutingAdmin>("routing")->Postpone(operatorContext().get(), p, &pr);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto v = waitStatus(sub.tracking_id(), v1::COMPLAINT_STATUS_POSTPONED);
  ASSERT_EQ(v.status(), v1::COMPLAINT_STATUS_POSTPONED);
  EXPECT_EQ(v.open_question(), "Di ruas jalan mana tepatnya?");
  EXPECT_TRUE(waitFor(
      [&] {
        for (const auto& m : g_smtp->mails(sub.tracking_id()))
          if (m.find("Di ruas jalan mana") != std::string::npos) return true;
        return false;
      },
      30s, 200ms))
      << "the reporter is asked by e-mail";

  // Only the reporter may answer.
  v1::AnswerAgencyRequest a;
  a.set_tracking_id(sub.tracking_id());
  a.set_answer("Jl. Yos Sudarso km 3, depan pasar");
  v1::AnswerAgencyResponse ar;
  auto intake = g_stack->stub<v1::IntakeService>("intake");
  EXPECT_EQ(intake->AnswerAgency(callContext().get(), a, &ar).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  a.set_reporter_secret(sub.reporter_secret());
  s = intake->AnswerAgency(callContext().get(), a, &ar);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v = waitStatus(sub.tracking_id(), v1::COMPLAINT_STATUS_VERIFYING);
  ASSERT_EQ(v.status(), v1::COMPLAINT_STATUS_VERIFYING);
  std::string seen;
  ASSERT_TRUE(waitFor([&] { return queued(sub.complaint_id(), &seen) && !seen.empty(); }, 15s));
  EXPECT_EQ(seen, "Jl. Yos Sudarso km 3, depan pasar") << "the verifiers see the answer";

  FeedReader pu(notification(), "dinas-pu");
  v1::VerifyRequest verify;
  verify.set_complaint_id(sub.complaint_id());
  v1::VerifyResponse vr;
  s = g_stack->stub<v1::RoutingAdmin>("routing")->Verify(operatorContext().get(), verify, &vr);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(pu.waitFor(sub.complaint_id())) << "dispatched once verified";
  EXPECT_EQ(waitStatus(sub.tracking_id(), v1::COMPLAINT_STATUS_ROUTED).status(),
            v1::COMPLAINT_STATUS_ROUTED);
}

TEST(Process, An112EmergencyGoesStraightThrough) {
  FeedReader fire(notification(), "disdamkar");
  auto req = report(v1::CHANNEL_CALL_CENTRE_112, "fire", v1::PRIORITY_EMERGENCY, "");
  const auto sub = submit(req);
  ASSERT_TRUE(fire.waitFor(sub.complaint_id())) << "no verification for the 112 desk";
  auto v = view(sub.tracking_id());
  waitFor([&] { return (v = view(sub.tracking_id())).status() == v1::COMPLAINT_STATUS_ROUTED; },
          15s);
  EXPECT_FALSE(inTimeline(v, "verification_requested"));
  EXPECT_FALSE(queued(sub.complaint_id()));
}

TEST(Process, AnArchivedReportEndsWithTheReasonTheReporterSees) {
  const auto sub = submit(report(v1::CHANNEL_WEB, "public-service", v1::PRIORITY_NORMAL,
                                 "warga.tiga@example.id"));
  ASSERT_EQ(waitStatus(sub.tracking_id(), v1::COMPLAINT_STATUS_VERIFYING).status(),
            v1::COMPLAINT_STATUS_VERIFYING);
  v1::ArchiveRequest a;
  a.set_complaint_id(sub.complaint_id());
  v1::ArchiveResponse ar;
  auto routing = g_stack->stub<v1::RoutingAdmin>("routing");
  EXPECT_EQ(routing->Archive(operatorContext().get(), a, &ar).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT)
      << "a reason is required";
  a.set_reason("Laporan tidak memuat peristiwa yang dapat ditindaklanjuti");
  auto s = routing->Archive(operatorContext().get(), a, &ar);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto v = waitStatus(sub.tracking_id(), v1::COMPLAINT_STATUS_CLOSED);
  ASSERT_EQ(v.status(), v1::COMPLAINT_STATUS_CLOSED);
  EXPECT_EQ(v.close_reason(), "archived");
  EXPECT_EQ(v.status_note(), "Laporan tidak memuat peristiwa yang dapat ditindaklanjuti");
  EXPECT_FALSE(queued(sub.complaint_id()));
  // A second decision on a closed report is refused.
  v1::VerifyRequest verify;
  verify.set_complaint_id(sub.complaint_id());
  v1::VerifyResponse vr;
  EXPECT_EQ(routing->Verify(operatorContext().get(), verify, &vr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace lapor::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new lapor::testing::ProcessEnvironment);
  return RUN_ALL_TESTS();
}
