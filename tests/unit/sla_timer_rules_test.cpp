// What fired timers produce, driven the way the scheduler drives them (claim what is due,
// fire, start the escalation obligation, arm the next re-dispatch), over an in-memory copy of
// the store's rules: an obligation left alone produces a bounded number of events, however
// long it is left.
#include "domain/escalation.h"
#include "domain/follow_up.h"
#include "domain/timer_rules.h"
#include "events/envelope.h"

#include <gtest/gtest.h>

#include <map>

namespace lapor::sla {
namespace {

constexpr int64_t kStart = 1'795'917'600'000;
constexpr int64_t kDeadline = 2000;

const agencies::AgencyDirectory& shipped() {
  static const auto dir = agencies::AgencyDirectory::loadFile(std::string(LAPOR_SOURCE_DIR) +
                                                              "/deploy/config/agencies.yaml");
  return dir;
}

const WorkCalendar& cal() {
  static const WorkCalendar c("Asia/Makassar", {});
  return c;
}

// The store's timer rules in memory: breach claims an open obligation, redispatch a breached
// unmet one, withdraw any; a completion arms the next re-dispatch while it is still breached.
struct Sim {
  std::map<std::string, ObligationRecord> obligations;
  std::multimap<int64_t, std::string> timers;
  std::vector<std::pair<std::string, v1::EventEnvelope>> produced;
  TimerSettings settings;

  void start(const ObligationStart& o) {
    if (obligations.count(o.obligation_id)) return;
    ObligationRecord r;
    auto& ob = r.obligation;
    ob.set_obligation_id(o.obligation_id);
    ob.set_complaint_id(o.complaint_id);
    ob.set_assignment_id(o.assignment_id);
    ob.set_agency_id(o.agency_id);
    ob.set_stage(o.stage);
    ob.set_priority(o.priority);
    ob.set_category(o.category);
    ob.set_started_at_ms(o.started_at_ms);
    ob.set_due_at_ms(o.due_at_ms);
    ob.set_state(v1::OBLIGATION_STATE_OPEN);
    ob.set_escalates_obligation_id(o.escalates);
    ob.set_escalation_level(o.level);
    r.deadline = o.deadline;
    obligations[o.obligation_id] = r;
    if (o.warn_at_ms) timers.emplace(o.warn_at_ms, o.obligation_id + "|warn");
    timers.emplace(o.due_at_ms, o.obligation_id + "|breach");
  }

  bool claim(const TimerMember& t, int64_t now) {
    auto it = obligations.find(t.obligation_id);
    if (it == obligations.end()) return false;
    auto& ob = it->second.obligation;
    if (t.kind == "warn" || t.kind == "breach") {
      if (ob.state() != v1::OBLIGATION_STATE_OPEN) return false;
      if (t.kind == "breach") {
        ob.set_state(v1::OBLIGATION_STATE_BREACHED);
        ob.set_breached_at_ms(now);
      }
      return true;
    }
    if (t.kind == "redispatch")
      return ob.state() == v1::OBLIGATION_STATE_BREACHED && ob.ended_at_ms() == 0;
    return t.kind == "withdraw";
  }

  void runUntil(int64_t end) {
    while (!timers.empty() && timers.begin()->first <= end) {
      const auto [due, member] = *timers.begin();
      timers.erase(timers.begin());
      const auto t = TimerMember::parse(member);
      if (!claim(t, due)) continue;
      const auto& rec = obligations.at(t.obligation_id);
      std::optional<ObligationRecord> escalated;
      if (!rec.obligation.escalates_obligation_id().empty())
        escalated = obligations.at(rec.obligation.escalates_obligation_id());
      v1::Complaint complaint;
      complaint.set_complaint_id("c-1");
      complaint.set_tracking_id("LPR-TEST-0001-X");
      complaint.set_title("Kebakaran rumah");
      complaint.mutable_location()->set_kecamatan("Sangatta Utara");
      auto f = fireTimer(t, rec, escalated, complaint, shipped(), cal(), settings, due);
      for (auto& o : f.out) produced.push_back(std::move(o));
      if (f.escalation) start(*f.escalation);
      if (!f.done.next_member.empty() &&
          obligations.at(t.obligation_id).obligation.state() == v1::OBLIGATION_STATE_BREACHED)
        timers.emplace(f.done.next_due_ms, f.done.next_member);
    }
  }

  std::map<std::string, int> counts() const {
    std::map<std::string, int> out;
    for (const auto& [topic, env] : produced)
      ++out[events::eventKind(env) + (topic == kafka::kComplaintsTopic ? "" : "@" + topic)];
    return out;
  }
};

ObligationStart emergencyAcknowledge() {
  ObligationStart o;
  o.obligation_id = obligationId("a-polres", v1::SLA_STAGE_ACKNOWLEDGE, "");
  o.complaint_id = "c-1";
  o.assignment_id = "a-polres";
  o.agency_id = "polres-kutim";
  o.stage = v1::SLA_STAGE_ACKNOWLEDGE;
  o.priority = v1::PRIORITY_EMERGENCY;
  o.category = "fire";
  o.deadline = Deadline::wall(std::chrono::milliseconds(kDeadline)).text();
  o.started_at_ms = kStart;
  o.warn_at_ms = kStart + kDeadline * 8 / 10;
  o.due_at_ms = kStart + kDeadline;
  return o;
}

// The escalation flood of earlier versions: an emergency nobody acknowledged was re-dispatched
// and escalated once per deadline period without end. Left alone for 20 periods it now gives
// one warning, one breach, the configured re-dispatches and one escalation per level of its
// chain (the 112 desk, sekda, the inspectorate), and nothing after.
TEST(TimerRulesTest, AnEmergencyLeftAloneProducesTheChainAndTheRedispatchesOnce) {
  Sim sim;
  sim.start(emergencyAcknowledge());
  sim.runUntil(kStart + 20 * kDeadline);
  const auto c = sim.counts();
  EXPECT_EQ(c.at("sla_warning"), 1);
  EXPECT_EQ(c.at("sla_breached"), 1);
  EXPECT_EQ(c.at("redispatch_requested"), 2);
  EXPECT_EQ(c.at("escalated"), 3);
  EXPECT_EQ(c.at("dispatched@lapor.dispatch.ncc-112.v1"), 1);
  EXPECT_EQ(c.at("dispatched@lapor.dispatch.sekda.v1"), 1);
  EXPECT_EQ(c.at("dispatched@lapor.dispatch.inspektorat.v1"), 1);
  int total = 0;
  for (const auto& [kind, n] : c) total += n;
  EXPECT_EQ(total, 1 + 1 + 2 + 3 + 3);
  // Twice as long: not one event more.
  const auto before = sim.produced.size();
  sim.runUntil(kStart + 40 * kDeadline);
  EXPECT_EQ(sim.produced.size(), before);
  EXPECT_TRUE(sim.timers.empty()) << sim.timers.begin()->second;
}

TEST(TimerRulesTest, TheRedispatchBoundIsConfigured) {
  for (int max : {0, 1, 4}) {
    Sim sim;
    sim.settings.max_redispatches = max;
    sim.start(emergencyAcknowledge());
    sim.runUntil(kStart + 20 * kDeadline);
    const auto c = sim.counts();
    EXPECT_EQ(c.count("redispatch_requested") ? c.at("redispatch_requested") : 0, max);
    int attempt = 0;
    for (const auto& [topic, env] : sim.produced) {
      if (env.has_redispatch_requested()) {
        EXPECT_EQ(env.redispatch_requested().attempt(), ++attempt);
      }
    }
  }
}

// A level climbs only when that level's own deadline passes without the supervisor acting.
TEST(TimerRulesTest, ASupervisorWhoActsStopsTheClimb) {
  Sim sim;
  sim.start(emergencyAcknowledge());
  sim.runUntil(kStart + kDeadline);  // breached: the 112 desk holds level 1
  ASSERT_EQ(sim.counts().at("escalated"), 1);
  for (auto& [id, rec] : sim.obligations)
    if (rec.obligation.stage() == v1::SLA_STAGE_ESCALATION) {
      EXPECT_EQ(rec.obligation.agency_id(), "ncc-112");
      EXPECT_EQ(rec.obligation.escalation_level(), 1);
      EXPECT_EQ(rec.obligation.due_at_ms(), kStart + 2 * kDeadline) << "its own deadline";
      rec.obligation.set_state(v1::OBLIGATION_STATE_MET);  // the desk acknowledged its item
    }
  sim.runUntil(kStart + 20 * kDeadline);
  EXPECT_EQ(sim.counts().at("escalated"), 1) << "nobody above the desk hears of it";
  EXPECT_EQ(sim.counts().at("redispatch_requested"), 2) << "the re-dispatches still go";
}

TEST(TimerRulesTest, TheSupervisorsItemSaysWhatItNeedsToAct) {
  Sim sim;
  sim.start(emergencyAcknowledge());
  sim.runUntil(kStart + kDeadline + 500);
  std::optional<v1::DispatchItem> item;
  std::optional<v1::Escalated> escalated;
  for (const auto& [topic, env] : sim.produced) {
    if (topic == kafka::dispatchTopic("ncc-112")) item = env.dispatched().item();
    if (env.has_escalated()) escalated = env.escalated();
  }
  ASSERT_TRUE(item && escalated);
  EXPECT_EQ(item->complaint().tracking_id(), "LPR-TEST-0001-X");
  EXPECT_EQ(item->complaint().title(), "Kebakaran rumah");
  EXPECT_EQ(item->complaint().location().kecamatan(), "Sangatta Utara");
  EXPECT_EQ(item->complaint().category(), "fire");
  EXPECT_EQ(item->complaint().priority(), v1::PRIORITY_EMERGENCY);
  EXPECT_EQ(item->escalated_agency_id(), "polres-kutim");
  EXPECT_EQ(item->escalated_stage(), "acknowledge");
  EXPECT_EQ(item->escalated_due_at_ms(), kStart + kDeadline);
  EXPECT_EQ(item->late_ms(), 0);
  EXPECT_EQ(item->act_by_ms(), kStart + 2 * kDeadline);
  EXPECT_EQ(escalated->escalation_id(), item->assignment().assignment_id());
  EXPECT_EQ(escalated->stage(), v1::SLA_STAGE_ACKNOWLEDGE);
  EXPECT_EQ(escalated->escalation_due_at_ms(), kStart + 2 * kDeadline);
}

// Re-fired after a crash, a timer produces the same event ids (consumers drop the repeat).
TEST(TimerRulesTest, ARefiredTimerProducesTheSameEvents) {
  const auto o = emergencyAcknowledge();
  ObligationRecord rec;
  rec.obligation.set_obligation_id(o.obligation_id);
  rec.obligation.set_complaint_id("c-1");
  rec.obligation.set_assignment_id("a-polres");
  rec.obligation.set_agency_id("polres-kutim");
  rec.obligation.set_stage(v1::SLA_STAGE_ACKNOWLEDGE);
  rec.obligation.set_priority(v1::PRIORITY_EMERGENCY);
  rec.obligation.set_due_at_ms(o.due_at_ms);
  rec.deadline = o.deadline;
  const auto t = TimerMember::parse(o.obligation_id + "|breach");
  auto a = fireTimer(t, rec, std::nullopt, {}, shipped(), cal(), {}, o.due_at_ms);
  auto b = fireTimer(t, rec, std::nullopt, {}, shipped(), cal(), {}, o.due_at_ms + 9000);
  ASSERT_EQ(a.out.size(), b.out.size());
  for (size_t i = 0; i < a.out.size(); ++i)
    EXPECT_EQ(a.out[i].second.event_id(), b.out[i].second.event_id());
  ASSERT_TRUE(a.escalation && b.escalation);
  EXPECT_EQ(a.escalation->obligation_id, b.escalation->obligation_id);
}

TEST(TimerRulesTest, AWithdrawTakesTheSupervisorsItemBack) {
  ObligationRecord e;
  e.obligation.set_obligation_id("esc-ob");
  e.obligation.set_complaint_id("c-1");
  e.obligation.set_assignment_id("esc-item");
  e.obligation.set_agency_id("sekda");
  e.obligation.set_stage(v1::SLA_STAGE_ESCALATION);
  e.obligation.set_escalation_level(1);
  ObligationRecord o;
  o.obligation.set_obligation_id("ob");
  o.obligation.set_assignment_id("a-pu");
  o.obligation.set_agency_id("dinas-pu");
  o.obligation.set_stage(v1::SLA_STAGE_ACKNOWLEDGE);
  auto f = fireTimer(TimerMember::parse("esc-ob|withdraw"), e, o, {}, shipped(), cal(), {}, 5);
  EXPECT_EQ(f.what, FiredTimer::What::Withdrawn);
  ASSERT_EQ(f.out.size(), 2u);
  EXPECT_EQ(f.out[0].first, kafka::dispatchTopic("sekda"));
  const auto& item = f.out[0].second.dispatched().item();
  EXPECT_EQ(item.kind(), v1::DISPATCH_KIND_WITHDRAWN);
  EXPECT_EQ(item.assignment().assignment_id(), "esc-item");
  EXPECT_EQ(item.assignment().agency_id(), "sekda");
  EXPECT_EQ(item.assignment().role(), v1::ASSIGNMENT_ROLE_SUPERVISOR);
  EXPECT_EQ(item.escalated_agency_id(), "dinas-pu");
  EXPECT_EQ(f.out[1].first, kafka::kComplaintsTopic);
}

TEST(TimerRulesTest, TimerMembersParse) {
  auto r = TimerMember::parse(TimerMember::redispatch("abc", 2));
  EXPECT_EQ(r.obligation_id, "abc");
  EXPECT_EQ(r.kind, "redispatch");
  EXPECT_EQ(r.level, 2);
  EXPECT_EQ(TimerMember::parse("abc|withdraw").kind, "withdraw");
  EXPECT_EQ(TimerMember::parse("abc|breach").level, 1);
}

}  // namespace
}  // namespace lapor::sla
