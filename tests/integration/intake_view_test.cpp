// The tracking view against real intake processes: lifecycle events produced onto
// lapor.complaints.v1 show up as status, assignments and timeline, a repeated event changes
// nothing, --rebuild-view gives the same view back, WatchComplaint streams the timeline,
// feedback and reopen follow the rules, and listings filter, page and hide confidential ones.
#include "events/envelope.h"
#include "intake_fixture.h"
#include "integration_support.h"
#include "redis/redis_client.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <thread>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

v1::SubmitComplaintResponse submit(v1::SubmitComplaintRequest req) {
  v1::SubmitComplaintResponse r;
  auto st = shared().a.stub()->SubmitComplaint(call(kPartnerKey).get(), req, &r);
  if (!st.ok()) throw std::runtime_error("submit: " + st.error_message());
  return r;
}

std::optional<v1::ComplaintView> get(const std::string& tracking_id) {
  v1::GetComplaintRequest req;
  req.set_tracking_id(tracking_id);
  v1::ComplaintView v;
  if (!shared().b.stub()->GetComplaint(call().get(), req, &v).ok()) return std::nullopt;
  return v;
}

// Waits until the view of `tracking_id` satisfies `pred`; returns the last view read.
v1::ComplaintView waitView(const std::string& tracking_id,
                           const std::function<bool(const v1::ComplaintView&)>& pred) {
  v1::ComplaintView last;
  waitFor(
      [&] {
        auto v = get(tracking_id);
        if (v) last = *v;
        return v && pred(*v);
      },
      20s);
  return last;
}

void publish(const v1::EventEnvelope& env) {
  ASSERT_TRUE(testing::produceRaw(brokers(), kafka::kComplaintsTopic, env.complaint_id(),
                                  env.SerializeAsString()));
}

v1::EventEnvelope event(const std::string& cid, const std::string& producer) {
  return events::makeEnvelope(producer, cid, "", nowMs());
}

std::vector<std::string> kinds(const v1::ComplaintView& v) {
  std::vector<std::string> out;
  for (const auto& t : v.timeline()) out.push_back(t.what());
  return out;
}

const v1::AssignmentView* assignment(const v1::ComplaintView& v, const std::string& agency) {
  for (const auto& a : v.assignments())
    if (a.agency_id() == agency) return &a;
  return nullptr;
}

void resolve(const std::string& cid, const std::string& text) {
  auto e = event(cid, "notification");
  e.mutable_resolved()->set_agency_id("disdamkar");
  e.mutable_resolved()->set_resolution(text);
  publish(e);
}

TEST(IntakeViewTest, LifecycleEventsBuildTheViewOnceEachAndARebuildGivesItBack) {
  auto req = validComplaint(uniqueName("view"));
  req.set_category("fire");
  req.set_priority(v1::PRIORITY_EMERGENCY);
  const auto s = submit(req);
  const auto cid = s.complaint_id();
  waitView(s.tracking_id(), [](const auto& v) { return v.submitted_at_ms() > 0; });

  auto routed = event(cid, "routing");
  for (auto [agency, role] : {std::pair{"disdamkar", v1::ASSIGNMENT_ROLE_LEAD},
                              std::pair{"rsud-kudungga", v1::ASSIGNMENT_ROLE_SUPPORT},
                              std::pair{"polres-kutim", v1::ASSIGNMENT_ROLE_SUPPORT}}) {
    auto* a = routed.mutable_routed()->add_assignments();
    a->set_agency_id(agency);
    a->set_role(role);
    a->set_state(v1::ASSIGNMENT_STATE_DISPATCHED);
  }
  publish(routed);
  auto ack = event(cid, "notification");
  ack.mutable_acknowledged()->set_agency_id("disdamkar");
  publish(ack);
  auto on_scene = event(cid, "notification");
  on_scene.mutable_status_updated()->set_agency_id("disdamkar");
  on_scene.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_ON_SCENE);
  publish(on_scene);
  auto rejected = event(cid, "notification");
  rejected.mutable_rejected()->set_agency_id("rsud-kudungga");
  rejected.mutable_rejected()->set_reason_code("not-our-authority");
  publish(rejected);
  publish(ack);  // the same event again, as a replaying producer would send it
  // A supporting agency finishing its part does not resolve the complaint.
  auto support_done = event(cid, "notification");
  support_done.mutable_resolved()->set_agency_id("polres-kutim");
  support_done.mutable_resolved()->set_resolution("Lalu lintas diatur");
  publish(support_done);
  auto partial = waitView(s.tracking_id(), [](const auto& v) { return v.timeline_size() == 6; });
  ASSERT_EQ(partial.timeline_size(), 6) << partial.DebugString();
  EXPECT_EQ(partial.status(), v1::COMPLAINT_STATUS_IN_PROGRESS);
  resolve(cid, "Api padam, satu korban dibawa ke RSUD");

  auto v = waitView(s.tracking_id(),
                    [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_RESOLVED; });
  ASSERT_EQ(v.status(), v1::COMPLAINT_STATUS_RESOLVED) << v.DebugString();
  EXPECT_EQ(kinds(v),
            (std::vector<std::string>{"submitted", "routed", "acknowledged", "status_updated",
                                      "rejected", "resolved", "resolved"}));
  ASSERT_NE(assignment(v, "polres-kutim"), nullptr);
  EXPECT_EQ(assignment(v, "polres-kutim")->state(), "resolved");
  ASSERT_NE(assignment(v, "disdamkar"), nullptr);
  EXPECT_EQ(assignment(v, "disdamkar")->role(), "lead");
  EXPECT_EQ(assignment(v, "disdamkar")->state(), "resolved");
  ASSERT_NE(assignment(v, "rsud-kudungga"), nullptr);
  EXPECT_EQ(assignment(v, "rsud-kudungga")->role(), "support");
  EXPECT_EQ(assignment(v, "rsud-kudungga")->state(), "rejected");
  EXPECT_EQ(v.status_note(), "Api padam, satu korban dibawa ke RSUD");
  EXPECT_EQ(v.category(), "fire");

  // Lose the view, then rebuild it from the topic: the same view comes back.
  redis::RedisOptions ro;
  ro.host = testing::requiredEnv("LAPOR_REDIS_HOST");
  ro.port = std::stoi(testing::requiredEnv("LAPOR_REDIS_PORT"));
  ro.prefix = shared().prefix;
  redis::RedisClient redis(ro, log::Logger("test"));
  redis.command({"DEL", redis.key("view:" + cid), redis.key("view:" + cid + ":timeline"),
                 redis.key("view:" + cid + ":assignments")});
  ASSERT_EQ(get(s.tracking_id())->timeline_size(), 0);
  testing::ChildProcess rebuild("intake-rebuild",
                                {LAPOR_BUILD_DIR "/services/intake/lapor-intake", "--rebuild-view",
                                 "--config", testing::runDir() + "/intake-integration.yaml"},
                                {{"LAPOR_KAFKA_BROKERS", brokers()},
                                 {"LAPOR_REDIS_HOST", ro.host},
                                 {"LAPOR_REDIS_PORT", std::to_string(ro.port)},
                                 {"LAPOR_REDIS_PREFIX", ro.prefix}},
                                testing::runDir() + "/logs/it-intake-rebuild.log");
  ASSERT_TRUE(waitFor([&] { return !rebuild.running(); }, 120s)) << rebuild.logTail();
  auto status = rebuild.signalAndWait(0, 1s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << rebuild.logTail();
  auto rebuilt = get(s.tracking_id());
  ASSERT_TRUE(rebuilt.has_value());
  EXPECT_EQ(rebuilt->SerializeAsString(), v.SerializeAsString()) << "before:\n"
                                                                 << v.DebugString() << "after:\n"
                                                                 << rebuilt->DebugString();
}

TEST(IntakeViewTest, WatchStreamsTheTimelineAndFeedbackReopensOrCloses) {
  const auto s = submit(validComplaint(uniqueName("watch")));
  const auto cid = s.complaint_id();
  waitView(s.tracking_id(), [](const auto& v) { return v.submitted_at_ms() > 0; });

  // Feedback and reopening wait for an answer from the agency.
  v1::AddFeedbackRequest fb;
  fb.set_tracking_id(s.tracking_id());
  fb.set_rating(2);
  fb.set_comment("Lubangnya masih ada");
  fb.set_solved(false);
  fb.set_reporter_secret(s.reporter_secret());
  v1::AddFeedbackResponse fr;
  EXPECT_EQ(shared().a.stub()->AddFeedback(call().get(), fb, &fr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::ReopenComplaintRequest rr;
  rr.set_tracking_id(s.tracking_id());
  rr.set_reason("belum diperbaiki");
  rr.set_reporter_secret(s.reporter_secret());
  v1::ReopenComplaintResponse rresp;
  EXPECT_EQ(shared().a.stub()->ReopenComplaint(call().get(), rr, &rresp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  v1::WatchComplaintRequest wr;
  wr.set_tracking_id(s.tracking_id());
  auto stream = shared().b.stub()->WatchComplaint(&watch_ctx, wr);
  v1::TimelineEntry entry;
  ASSERT_TRUE(stream->Read(&entry));
  EXPECT_EQ(entry.what(), "submitted");  // what happened so far comes first

  resolve(cid, "Lubang sudah ditambal");
  ASSERT_TRUE(stream->Read(&entry));
  EXPECT_EQ(entry.what(), "resolved");
  EXPECT_EQ(entry.note(), "Lubang sudah ditambal");
  waitView(s.tracking_id(),
           [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_RESOLVED; });

  fb.set_rating(9);
  auto st = shared().a.stub()->AddFeedback(call().get(), fb, &fr);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(badRequestOf(st).has_value());
  EXPECT_EQ(badRequestOf(st)->field_violations(0).field(), "rating");

  fb.set_rating(2);
  st = shared().a.stub()->AddFeedback(call().get(), fb, &fr);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(fr.status(), v1::COMPLAINT_STATUS_REOPENED);
  // A second click on the same answer, on the other instance, reopens nothing more.
  EXPECT_EQ(shared().b.stub()->AddFeedback(call().get(), fb, &fr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(stream->Read(&entry));
  EXPECT_EQ(entry.what(), "feedback");
  ASSERT_TRUE(stream->Read(&entry));
  EXPECT_EQ(entry.what(), "reopened");
  waitView(s.tracking_id(),
           [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_REOPENED; });

  // Resolved again; this time the reporter reopens it directly, then is satisfied.
  resolve(cid, "Ditambal ulang");
  waitView(s.tracking_id(),
           [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_RESOLVED; });
  ASSERT_TRUE(shared().a.stub()->ReopenComplaint(call().get(), rr, &rresp).ok());
  EXPECT_EQ(rresp.status(), v1::COMPLAINT_STATUS_REOPENED);
  waitView(s.tracking_id(),
           [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_REOPENED; });
  resolve(cid, "Diaspal");
  waitView(s.tracking_id(),
           [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_RESOLVED; });
  fb.set_rating(5);
  fb.set_solved(true);
  ASSERT_TRUE(shared().a.stub()->AddFeedback(call().get(), fb, &fr).ok());
  EXPECT_EQ(fr.status(), v1::COMPLAINT_STATUS_CLOSED);
  auto v = waitView(s.tracking_id(),
                    [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_CLOSED; });
  EXPECT_EQ(v.status(), v1::COMPLAINT_STATUS_CLOSED);
  watch_ctx.TryCancel();
}

// Only the reporter may rate or reopen: with the secret only it got, or through the publisher
// that submitted the complaint. The tracking id, which listings publish, is not enough. A
// retried call with its request id records one event.
TEST(IntakeViewTest, OnlyTheReporterFollowsUpAndARetryRecordsOnce) {
  const auto s = submit(validComplaint(uniqueName("secret")));
  ASSERT_EQ(s.reporter_secret().size(), 26u);
  const auto cid = s.complaint_id();
  waitView(s.tracking_id(), [](const auto& v) { return v.submitted_at_ms() > 0; });
  resolve(cid, "Sudah ditambal");
  waitView(s.tracking_id(),
           [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_RESOLVED; });
  v1::AddFeedbackRequest fb;
  fb.set_tracking_id(s.tracking_id());
  fb.set_rating(5);
  fb.set_solved(true);
  v1::AddFeedbackResponse fr;
  EXPECT_EQ(shared().a.stub()->AddFeedback(call().get(), fb, &fr).error_code(),
            grpc::StatusCode::UNAUTHENTICATED)
      << "the tracking id alone";
  fb.set_reporter_secret("0000000000000000000000000Z");
  EXPECT_EQ(shared().a.stub()->AddFeedback(call().get(), fb, &fr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  fb.clear_reporter_secret();
  EXPECT_EQ(shared().a.stub()->AddFeedback(call(kLimitedKey).get(), fb, &fr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED)
      << "another publisher";
  EXPECT_EQ(shared().a.stub()->AddFeedback(call("no-such-key").get(), fb, &fr).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Nothing of those reached the complaint.
  EXPECT_EQ(get(s.tracking_id())->status(), v1::COMPLAINT_STATUS_RESOLVED);

  // The publisher that submitted it acts for its reporter; the retry gives the same answer.
  fb.set_request_id("rate-" + cid);
  ASSERT_TRUE(shared().a.stub()->AddFeedback(call(kPartnerKey).get(), fb, &fr).ok());
  EXPECT_EQ(fr.status(), v1::COMPLAINT_STATUS_CLOSED);
  auto closed = waitView(s.tracking_id(),
                         [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_CLOSED; });
  auto retry = shared().b.stub()->AddFeedback(call(kPartnerKey).get(), fb, &fr);
  ASSERT_TRUE(retry.ok()) << retry.error_message();
  EXPECT_EQ(fr.status(), v1::COMPLAINT_STATUS_CLOSED);
  // The retry's events carry the first call's ids: the timeline has each once.
  auto after = waitView(s.tracking_id(), [&](const auto& v) {
    return v.timeline_size() >= closed.timeline_size();
  });
  int feedbacks = 0;
  for (const auto& t : after.timeline()) feedbacks += t.what() == "feedback";
  EXPECT_EQ(feedbacks, 1);

  // Reopen with the reporter's own secret.
  v1::ReopenComplaintRequest rr;
  rr.set_tracking_id(s.tracking_id());
  rr.set_reason("rusak lagi");
  v1::ReopenComplaintResponse rresp;
  EXPECT_EQ(shared().a.stub()->ReopenComplaint(call().get(), rr, &rresp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  rr.set_reporter_secret(s.reporter_secret());
  ASSERT_TRUE(shared().a.stub()->ReopenComplaint(call().get(), rr, &rresp).ok());
  EXPECT_EQ(rresp.status(), v1::COMPLAINT_STATUS_REOPENED);
}

TEST(IntakeViewTest, ListingByAgencyIsForOperators) {
  v1::ListComplaintsRequest req;
  req.set_agency_id("dinas-pu");
  v1::ListComplaintsResponse resp;
  EXPECT_EQ(shared().a.stub()->ListComplaints(call().get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto ctx = call();
  ctx->AddMetadata("authorization", "Bearer lapor-demo-auditor");
  EXPECT_TRUE(shared().a.stub()->ListComplaints(ctx.get(), req, &resp).ok());
  v1::ListComplaintsRequest everyone;
  EXPECT_TRUE(shared().a.stub()->ListComplaints(call().get(), everyone, &resp).ok())
      << "the public listing needs no credential";
}

TEST(IntakeViewTest, UnknownOrMistypedTrackingIds) {
  const auto s = submit(validComplaint(uniqueName("typo")));
  auto typo = s.tracking_id();
  typo[5] = typo[5] == '7' ? '8' : '7';  // one wrong character: the check symbol catches it
  v1::GetComplaintRequest req;
  req.set_tracking_id(typo);
  v1::ComplaintView v;
  auto st = shared().a.stub()->GetComplaint(call().get(), req, &v);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(badRequestOf(st).has_value());
  req.set_tracking_id(absentTrackingId());
  EXPECT_EQ(shared().a.stub()->GetComplaint(call().get(), req, &v).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Lower case, spaces and O for 0 as read over the phone still find it.
  std::string spoken;
  for (char c : s.tracking_id()) spoken += c == '-' ? ' ' : static_cast<char>(std::tolower(c));
  req.set_tracking_id(spoken);
  EXPECT_TRUE(shared().a.stub()->GetComplaint(call().get(), req, &v).ok());
  EXPECT_EQ(v.tracking_id(), s.tracking_id());
}

TEST(IntakeViewTest, ListingsFilterPageAndNeverShowConfidentialComplaints) {
  const auto start = nowMs();
  std::vector<std::string> visible;
  std::string confidential_id;
  for (int i = 0; i < 4; ++i) {
    auto req = validComplaint(uniqueName("list"));
    req.set_category("garbage");
    req.set_confidential(i == 2);
    auto s = submit(req);
    waitView(s.tracking_id(), [](const auto& v) { return v.submitted_at_ms() > 0; });
    if (i == 2)
      confidential_id = s.tracking_id();
    else
      visible.insert(visible.begin(), s.tracking_id());  // newest first
    if (i == 0) {
      auto routed = event(s.complaint_id(), "routing");
      auto* a = routed.mutable_routed()->add_assignments();
      a->set_agency_id("dlh");
      a->set_role(v1::ASSIGNMENT_ROLE_LEAD);
      publish(routed);
      waitView(s.tracking_id(),
               [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_ROUTED; });
    }
  }
  auto list = [&](v1::ListComplaintsRequest req) {
    std::vector<std::string> ids;
    req.set_category("garbage");
    if (req.from_ms() == 0) req.set_from_ms(start);
    for (int page = 0; page < 20; ++page) {
      v1::ListComplaintsResponse resp;
      auto ctx = call();
      ctx->AddMetadata("authorization", "Bearer lapor-demo-auditor");  // for agency_id
      auto st = shared().a.stub()->ListComplaints(ctx.get(), req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      for (const auto& c : resp.complaints()) ids.push_back(c.tracking_id());
      if (resp.next_cursor().empty()) break;
      req.set_cursor(resp.next_cursor());
    }
    return ids;
  };
  v1::ListComplaintsRequest all;
  all.set_page_size(1);
  EXPECT_EQ(list(all), visible);
  v1::ListComplaintsRequest by_agency;
  by_agency.set_agency_id("dlh");
  EXPECT_EQ(list(by_agency), std::vector<std::string>{visible.back()});
  v1::ListComplaintsRequest by_status;
  by_status.set_status(v1::COMPLAINT_STATUS_SUBMITTED);
  EXPECT_EQ(list(by_status), (std::vector<std::string>{visible[0], visible[1]}));
  v1::ListComplaintsRequest none;
  none.set_from_ms(nowMs() + 3'600'000);
  EXPECT_TRUE(list(none).empty());

  v1::ListComplaintsRequest bad;
  bad.set_cursor("not-a-cursor");
  v1::ListComplaintsResponse resp;
  EXPECT_EQ(shared().a.stub()->ListComplaints(call().get(), bad, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // The reporter, who holds the tracking id, still sees a confidential complaint.
  EXPECT_TRUE(get(confidential_id).has_value());
}

}  // namespace
}  // namespace lapor::integration
