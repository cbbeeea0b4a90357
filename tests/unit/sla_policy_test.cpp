// SLA policy: which obligations each lifecycle event starts or ends, and when they fall due.
#include "domain/sla_policy.h"

#include "events/envelope.h"
#include "time/clock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace lapor::sla {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr int64_t kOccurred = 1'795'917'600'000;  // 2026-11-29T02:00:00Z, Sunday 10:00 WITA
constexpr int64_t kDay = 86'400'000;

const WorkCalendar& cal() {
  static const WorkCalendar c("Asia/Makassar", {"2026-12-25"});
  return c;
}

v1::EventEnvelope event(int64_t at = kOccurred, const std::string& id = {}) {
  return events::makeEnvelope("test", "complaint-1", "trace-1", at, id);
}

v1::EventEnvelope submitted(v1::Priority priority, const std::string& category = "fire") {
  auto env = event(kOccurred, "submitted-1");
  env.mutable_submitted()->mutable_complaint()->set_priority(priority);
  env.mutable_submitted()->mutable_complaint()->set_category(category);
  return env;
}

v1::EventEnvelope routed(v1::Priority priority, const std::vector<std::string>& agencies,
                         bool triage = false, const std::string& reason = "initial") {
  auto env = event(kOccurred, "routed-" + reason);
  auto* r = env.mutable_routed();
  r->set_priority(priority);
  r->set_category("fire");
  r->set_triage(triage);
  r->set_reason(reason);
  bool lead = true;
  for (const auto& agency : agencies) {
    auto* a = r->add_assignments();
    a->set_assignment_id("assignment-" + agency);
    a->set_complaint_id("complaint-1");
    a->set_agency_id(agency);
    a->set_role(lead ? v1::ASSIGNMENT_ROLE_LEAD : v1::ASSIGNMENT_ROLE_SUPPORT);
    lead = false;
  }
  return env;
}

config::Config configOf(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return config::Config::fromString(
      yaml, [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      });
}

std::vector<v1::SlaStage> stagesOf(const Decision& d) {
  std::vector<v1::SlaStage> out;
  for (const auto& s : d.starts) out.push_back(s.stage);
  return out;
}

const ObligationStart* find(const Decision& d, v1::SlaStage stage, const std::string& agency) {
  for (const auto& s : d.starts)
    if (s.stage == stage && s.agency_id == agency) return &s;
  return nullptr;
}

TEST(SlaPolicyTest, SubmissionStartsDisposeInWorkingDaysAndResolutionIn60Days) {
  auto d = decide(submitted(v1::PRIORITY_NORMAL), {}, SlaPolicy::defaults(), cal());
  ASSERT_EQ(stagesOf(d),
            (std::vector<v1::SlaStage>{v1::SLA_STAGE_DISPOSE, v1::SLA_STAGE_RESOLUTION}));
  const auto& dispose = d.starts[0];
  EXPECT_EQ(dispose.agency_id, "triage");
  EXPECT_EQ(dispose.assignment_id, "");
  // Sunday submission: Mon, Tue, Wed -> Thursday 00:00 WITA = Wednesday 16:00 UTC.
  EXPECT_EQ(dispose.due_at_ms, cal().addWorkingDays(kOccurred, 3));
  EXPECT_EQ(lapor::time::formatRfc3339(dispose.due_at_ms), "2026-12-02T16:00:00.000Z");
  EXPECT_EQ(dispose.warn_at_ms, kOccurred + (dispose.due_at_ms - kOccurred) * 8 / 10);
  EXPECT_EQ(d.starts[1].due_at_ms, kOccurred + 60 * kDay);
  ASSERT_TRUE(d.facts);
  EXPECT_EQ(d.facts->priority, v1::PRIORITY_NORMAL);
  EXPECT_EQ(d.facts->category, "fire");
}

TEST(SlaPolicyTest, RoutingEndsDisposeAndStartsAcknowledgePerAssignment) {
  auto d = decide(routed(v1::PRIORITY_EMERGENCY, {"disdamkar", "rsud-kudungga", "polres-kutim"}),
                  {}, SlaPolicy::defaults(), cal());
  ASSERT_EQ(d.ends.size(), 1u);
  EXPECT_EQ(d.ends[0].stage, v1::SLA_STAGE_DISPOSE);
  EXPECT_EQ(d.ends[0].outcome, EndOutcome::Met);
  EXPECT_EQ(d.lead_agency, "disdamkar");
  std::set<std::string> ids;
  for (const auto& agency : {"disdamkar", "rsud-kudungga", "polres-kutim"}) {
    const auto* ack = find(d, v1::SLA_STAGE_ACKNOWLEDGE, agency);
    ASSERT_TRUE(ack) << agency;
    EXPECT_EQ(ack->due_at_ms - kOccurred, 60'000);
    EXPECT_EQ(ack->warn_at_ms - kOccurred, 48'000);
    EXPECT_EQ(ack->assignment_id, std::string("assignment-") + agency);
    ids.insert(ack->obligation_id);
  }
  EXPECT_EQ(ids.size(), 3u);
  // Only the lead's units must be on scene in 15 minutes.
  const auto* scene = find(d, v1::SLA_STAGE_ON_SCENE, "disdamkar");
  ASSERT_TRUE(scene);
  EXPECT_EQ(scene->due_at_ms - kOccurred, 15 * 60'000);
  EXPECT_FALSE(find(d, v1::SLA_STAGE_ON_SCENE, "rsud-kudungga"));
}

TEST(SlaPolicyTest, NonEmergencyHasNoOnSceneClock) {
  auto d = decide(routed(v1::PRIORITY_NORMAL, {"dinas-pu"}), {}, SlaPolicy::defaults(), cal());
  EXPECT_EQ(stagesOf(d), (std::vector<v1::SlaStage>{v1::SLA_STAGE_ACKNOWLEDGE}));
  EXPECT_EQ(d.starts[0].due_at_ms - kOccurred, 5 * kDay);
}

TEST(SlaPolicyTest, TriageRouteLeavesDisposeRunning) {
  auto d = decide(routed(v1::PRIORITY_NORMAL, {"triage"}, true), {}, SlaPolicy::defaults(),
                  cal());
  EXPECT_TRUE(d.ends.empty());
  EXPECT_TRUE(d.starts.empty());
}

TEST(SlaPolicyTest, DeliveryStartsFollowUpInWorkingDaysFromTheDeliveryTime) {
  auto env = event(kOccurred + 1000, "delivered-1");
  env.mutable_delivered()->set_assignment_id("a-1");
  env.mutable_delivered()->set_agency_id("dinas-pu");
  // Tuesday 22 Dec 2026 21:00 WITA: Wed, Thu, (Fri 25 Natal), Mon, Tue, Wed -> end of Wed 30.
  const int64_t delivered = 1'797'944'400'000;  // 2026-12-22T13:00:00Z
  env.mutable_delivered()->set_delivered_at_ms(delivered);
  auto d = decide(env, {v1::PRIORITY_NORMAL, "road"}, SlaPolicy::defaults(), cal());
  ASSERT_EQ(stagesOf(d), (std::vector<v1::SlaStage>{v1::SLA_STAGE_FOLLOW_UP}));
  EXPECT_EQ(d.starts[0].started_at_ms, delivered);
  EXPECT_EQ(lapor::time::formatRfc3339(d.starts[0].due_at_ms), "2026-12-30T16:00:00.000Z");
  EXPECT_EQ(d.starts[0].category, "road");
  // An emergency has no follow-up stage by default.
  EXPECT_TRUE(decide(env, {v1::PRIORITY_EMERGENCY, "fire"}, SlaPolicy::defaults(), cal())
                  .starts.empty());
}

TEST(SlaPolicyTest, AgencyActionsEndTheirClocks) {
  auto ack = event();
  ack.mutable_acknowledged()->set_assignment_id("a-1");
  auto d = decide(ack, {}, SlaPolicy::defaults(), cal());
  ASSERT_EQ(d.ends.size(), 1u);
  EXPECT_EQ(d.ends[0].stage, v1::SLA_STAGE_ACKNOWLEDGE);
  EXPECT_EQ(d.ends[0].assignment_id, "a-1");

  auto scene = event();
  scene.mutable_status_updated()->set_assignment_id("a-1");
  scene.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_ON_SCENE);
  d = decide(scene, {}, SlaPolicy::defaults(), cal());
  std::set<v1::SlaStage> ended;
  for (const auto& e : d.ends) ended.insert(e.stage);
  EXPECT_EQ(ended, (std::set<v1::SlaStage>{v1::SLA_STAGE_ACKNOWLEDGE, v1::SLA_STAGE_ON_SCENE}));

  auto responded = event(kOccurred, "responded-1");
  responded.mutable_status_updated()->set_assignment_id("a-1");
  responded.mutable_status_updated()->set_agency_id("dinas-pu");
  responded.mutable_status_updated()->set_state(v1::ASSIGNMENT_STATE_RESPONDED);
  d = decide(responded, {v1::PRIORITY_NORMAL, ""}, SlaPolicy::defaults(), cal());
  ended.clear();
  for (const auto& e : d.ends) ended.insert(e.stage);
  EXPECT_TRUE(ended.count(v1::SLA_STAGE_FOLLOW_UP));
  ASSERT_EQ(stagesOf(d), (std::vector<v1::SlaStage>{v1::SLA_STAGE_AUTO_CLOSE}));
  EXPECT_EQ(d.starts[0].warn_at_ms, 0) << "auto-close warns nobody";
  EXPECT_EQ(d.starts[0].due_at_ms, cal().addWorkingDays(kOccurred, 10));
}

TEST(SlaPolicyTest, ResolutionEndsResolutionAndStartsAutoClose) {
  auto env = event(kOccurred, "resolved-1");
  env.mutable_resolved()->set_assignment_id("a-1");
  env.mutable_resolved()->set_agency_id("dinas-pu");
  auto d = decide(env, {v1::PRIORITY_NORMAL, ""}, SlaPolicy::defaults(), cal());
  bool resolution = false;
  for (const auto& e : d.ends)
    if (e.stage == v1::SLA_STAGE_RESOLUTION && e.outcome == EndOutcome::Met) resolution = true;
  EXPECT_TRUE(resolution);
  EXPECT_EQ(stagesOf(d), (std::vector<v1::SlaStage>{v1::SLA_STAGE_AUTO_CLOSE}));
}

TEST(SlaPolicyTest, RejectionWithdrawalFeedbackAndCloseCancel) {
  auto rejected = event();
  rejected.mutable_rejected()->set_assignment_id("a-1");
  auto d = decide(rejected, {}, SlaPolicy::defaults(), cal());
  ASSERT_EQ(d.ends.size(), 1u);
  EXPECT_EQ(d.ends[0].stage, v1::SLA_STAGE_UNSPECIFIED);
  EXPECT_EQ(d.ends[0].assignment_id, "a-1");
  EXPECT_EQ(d.ends[0].outcome, EndOutcome::Cancelled);

  auto feedback = event();
  feedback.mutable_feedback()->set_rating(2);
  d = decide(feedback, {}, SlaPolicy::defaults(), cal());
  ASSERT_EQ(d.ends.size(), 1u);
  EXPECT_EQ(d.ends[0].stage, v1::SLA_STAGE_AUTO_CLOSE);

  auto closed = event();
  closed.mutable_closed()->set_reason("operator");
  d = decide(closed, {}, SlaPolicy::defaults(), cal());
  ASSERT_EQ(d.ends.size(), 1u);
  EXPECT_EQ(d.ends[0].stage, v1::SLA_STAGE_UNSPECIFIED);
  EXPECT_EQ(d.ends[0].assignment_id, "");
}

TEST(SlaPolicyTest, ReopenStartsNewClocksAndRedispatchANewAcknowledge) {
  auto reopened = event(kOccurred + kDay, "reopened-1");
  reopened.mutable_reopened()->set_by("reporter");
  auto d = decide(reopened, {v1::PRIORITY_NORMAL, ""}, SlaPolicy::defaults(), cal());
  EXPECT_EQ(stagesOf(d),
            (std::vector<v1::SlaStage>{v1::SLA_STAGE_DISPOSE, v1::SLA_STAGE_RESOLUTION}));
  auto first = decide(submitted(v1::PRIORITY_NORMAL), {}, SlaPolicy::defaults(), cal());
  EXPECT_NE(d.starts[0].obligation_id, first.starts[0].obligation_id);

  auto initial = decide(routed(v1::PRIORITY_EMERGENCY, {"disdamkar"}), {},
                        SlaPolicy::defaults(), cal());
  auto again = decide(routed(v1::PRIORITY_EMERGENCY, {"disdamkar"}, false, "redispatch"), {},
                      SlaPolicy::defaults(), cal());
  EXPECT_NE(initial.starts[0].obligation_id, again.starts[0].obligation_id);
  // The same event replayed starts the same obligations.
  auto replay = decide(routed(v1::PRIORITY_EMERGENCY, {"disdamkar"}), {},
                       SlaPolicy::defaults(), cal());
  EXPECT_EQ(initial.starts[0].obligation_id, replay.starts[0].obligation_id);
}

TEST(SlaPolicyTest, FactsOfEarlierEventsDecideTheDeadline) {
  auto env = event();
  env.mutable_delivered()->set_assignment_id("a-1");
  env.mutable_delivered()->set_agency_id("dinas-pu");
  auto high = decide(env, {v1::PRIORITY_HIGH, ""}, SlaPolicy::defaults(), cal());
  ASSERT_EQ(high.starts.size(), 1u);
  EXPECT_EQ(high.starts[0].priority, v1::PRIORITY_HIGH);
  auto unknown = decide(env, {}, SlaPolicy::defaults(), cal());
  ASSERT_EQ(unknown.starts.size(), 1u);
  EXPECT_EQ(unknown.starts[0].priority, v1::PRIORITY_NORMAL) << "unknown priority: normal";
}

TEST(SlaPolicyTest, ConfigSetsDeadlinesPerPriorityAgencyAndCategory) {
  auto policy = SlaPolicy::fromConfig(configOf(
      "sla:\n"
      "  acknowledge_emergency: 90s\n"
      "  dispose_normal: 2wd\n"
      "  warn_percent: 50\n"
      "  overrides:\n"
      "    - {stage: follow_up, agency: disdukcapil, deadline: 3wd}\n"
      "    - {stage: follow_up, category: road, deadline: 7wd}\n"
      "    - {stage: follow_up, agency: disdukcapil, category: road, deadline: 1wd}\n"
      "    - {stage: on_scene, category: flood, priority: emergency, deadline: 30m}\n"));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_ACKNOWLEDGE, v1::PRIORITY_EMERGENCY, "", ""),
            Deadline::wall(90s));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_DISPOSE, v1::PRIORITY_NORMAL, "", ""),
            Deadline::workingDays(2));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_DISPOSE, v1::PRIORITY_HIGH, "", ""),
            Deadline::workingDays(3));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "x", "disdukcapil"),
            Deadline::workingDays(3));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "road", "dlh"),
            Deadline::workingDays(7));
  EXPECT_EQ(
      policy.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "road", "disdukcapil"),
      Deadline::workingDays(1));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_ON_SCENE, v1::PRIORITY_EMERGENCY, "flood", "bpbd"),
            Deadline::wall(30min));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_ON_SCENE, v1::PRIORITY_EMERGENCY, "fire", "bpbd"),
            Deadline::wall(15min));
  EXPECT_DOUBLE_EQ(policy.warn_fraction, 0.5);
}

TEST(SlaPolicyTest, EnvironmentBeatsTheConfigFile) {
  auto policy = SlaPolicy::fromConfig(
      configOf("sla:\n  acknowledge_normal: 5d\n", {{"LAPOR_SLA_ACKNOWLEDGE_NORMAL", "4s"},
                                                    {"LAPOR_SLA_FOLLOW_UP_NORMAL", "off"}}));
  EXPECT_EQ(policy.deadlineFor(v1::SLA_STAGE_ACKNOWLEDGE, v1::PRIORITY_NORMAL, "", ""),
            Deadline::wall(4s));
  EXPECT_FALSE(policy.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "", "").enabled());
}

TEST(SlaPolicyTest, ShippedConfigMatchesTheDefaults) {
  std::ifstream in(std::string(LAPOR_SOURCE_DIR) + "/deploy/config/sla-monitor.yaml");
  ASSERT_TRUE(in) << "deploy/config/sla-monitor.yaml";
  std::stringstream text;
  text << in.rdbuf();
  auto policy = SlaPolicy::fromConfig(configOf(text.str()));
  EXPECT_EQ(policy.deadlines, SlaPolicy::defaults().deadlines);
  EXPECT_DOUBLE_EQ(policy.warn_fraction, SlaPolicy::defaults().warn_fraction);
  // SLA.md's numbers.
  const auto& d = SlaPolicy::defaults();
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_DISPOSE, v1::PRIORITY_NORMAL, "", ""),
            Deadline::workingDays(3));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_FOLLOW_UP, v1::PRIORITY_NORMAL, "", ""),
            Deadline::workingDays(5));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_RESOLUTION, v1::PRIORITY_LOW, "", ""),
            Deadline::wall(std::chrono::hours(24 * 60)));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_AUTO_CLOSE, v1::PRIORITY_NORMAL, "", ""),
            Deadline::workingDays(10));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_ACKNOWLEDGE, v1::PRIORITY_EMERGENCY, "", ""),
            Deadline::wall(60s));
  EXPECT_EQ(d.deadlineFor(v1::SLA_STAGE_ON_SCENE, v1::PRIORITY_EMERGENCY, "", ""),
            Deadline::wall(15min));
}

TEST(SlaPolicyTest, InvalidConfigNamesTheKey) {
  auto error = [](const std::string& yaml) -> std::string {
    try {
      SlaPolicy::fromConfig(configOf(yaml));
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted: " << yaml;
    return {};
  };
  EXPECT_THAT(error("sla:\n  acknowledge_high: soon\n"), HasSubstr("sla.acknowledge_high"));
  EXPECT_THAT(error("sla:\n  acknowledge_low: 0s\n"), HasSubstr("sla.acknowledge_low"));
  EXPECT_THAT(error("sla:\n  dispose_low: 0wd\n"), HasSubstr("sla.dispose_low"));
  EXPECT_THAT(error("sla:\n  follow_up_low: xwd\n"), HasSubstr("sla.follow_up_low"));
  EXPECT_THAT(error("sla:\n  warn_percent: 100\n"), HasSubstr("sla.warn_percent"));
  EXPECT_THAT(error("sla:\n  overrides:\n    - {stage: nap, agency: x, deadline: 1d}\n"),
              HasSubstr("overrides[0].stage"));
  EXPECT_THAT(error("sla:\n  overrides:\n    - {stage: dispose, deadline: 1d}\n"),
              HasSubstr("overrides[0]"));
  EXPECT_THAT(error("sla:\n  overrides:\n    - {stage: dispose, agency: x, deadline: never}\n"),
              HasSubstr("overrides[0].deadline"));
}

TEST(SlaPolicyTest, OtherEventsStartAndEndNothing) {
  for (auto make : std::vector<std::function<void(v1::EventEnvelope&)>>{
           [](auto& e) { e.mutable_dispatched(); }, [](auto& e) { e.mutable_undeliverable(); },
           [](auto& e) { e.mutable_sla_breached(); }, [](auto& e) { e.mutable_escalated(); },
           [](auto& e) { e.mutable_redispatch_requested(); }, [](auto& e) { e.clear_event(); }}) {
    auto env = event();
    make(env);
    auto d = decide(env, {}, SlaPolicy::defaults(), cal());
    EXPECT_TRUE(d.starts.empty() && d.ends.empty()) << events::eventKind(env);
  }
}

// A supervisor's work on an escalation is not the breaching agency's: its acknowledgement
// meets no acknowledge clock, its resolution neither the complaint's resolution clock nor
// starts the auto-close; nor does the delivery of the escalation start a follow-up clock.
TEST(SlaPolicyTest, ASupervisorsWorkOnAnEscalationStartsAndEndsNothing) {
  for (auto state : {v1::ASSIGNMENT_STATE_DELIVERED, v1::ASSIGNMENT_STATE_ACKNOWLEDGED,
                     v1::ASSIGNMENT_STATE_IN_PROGRESS, v1::ASSIGNMENT_STATE_RESPONDED,
                     v1::ASSIGNMENT_STATE_RESOLVED}) {
    auto env = event();
    auto* u = env.mutable_escalation_updated();
    u->set_escalation_id("esc-1");
    u->set_agency_id("sekda");
    u->set_escalated_assignment_id("a-dinas-pu");
    u->set_escalated_agency_id("dinas-pu");
    u->set_level(1);
    u->set_state(state);
    u->set_message("Segera ditindaklanjuti");
    auto d = decide(env, {v1::PRIORITY_NORMAL, "road-damage"}, SlaPolicy::defaults(), cal());
    EXPECT_TRUE(d.starts.empty() && d.ends.empty()) << v1::AssignmentState_Name(state);
    EXPECT_EQ(d.lead_agency, "");
  }
}

}  // namespace
}  // namespace lapor::sla
