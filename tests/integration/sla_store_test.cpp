// The obligation store against a real Redis: a timer's claim and an obligation's completion
// are atomic, so a breach is never claimed for an obligation met at the same moment; claims
// by two monitors never overlap; a dead claimer's timers come back after the lease.
#include "integration_support.h"
#include "log/logger.h"
#include "obligation_store.h"
#include "redis/packed_value.h"
#include "redis_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;
using sla::EndOutcome;
using sla::ObligationEnd;
using sla::ObligationStart;
using sla::ObligationStore;

class SlaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = serviceEnv("LAPOR_REDIS_HOST");
    ASSERT_TRUE(host) << missingEnvMessage("LAPOR_REDIS_HOST");
    auto port = serviceEnv("LAPOR_REDIS_PORT");
    ASSERT_TRUE(port) << missingEnvMessage("LAPOR_REDIS_PORT");
    opt_.host = *host;
    opt_.port = std::stoi(*port);
    opt_.prefix = uniqueName("lapor-sla-it") + ":";
    a_ = std::make_unique<redis::RedisClient>(opt_, log::Logger("sla-it", log::Level::Error));
    b_ = std::make_unique<redis::RedisClient>(opt_, log::Logger("sla-it", log::Level::Error));
  }

  ObligationStart obligation(const std::string& n, int64_t due, int64_t warn = 0) {
    ObligationStart o;
    o.obligation_id = "ob-" + n;
    o.complaint_id = "c-" + n;
    o.assignment_id = "a-" + n;
    o.agency_id = "dinas-pu";
    o.stage = v1::SLA_STAGE_ACKNOWLEDGE;
    o.priority = v1::PRIORITY_NORMAL;
    o.deadline = "1000ms";
    o.started_at_ms = due - 1000;
    o.due_at_ms = due;
    o.warn_at_ms = warn;
    return o;
  }

  redis::RedisOptions opt_;
  std::unique_ptr<redis::RedisClient> a_, b_;
};

constexpr int64_t kNow = 1'795'917'600'000;

TEST_F(SlaStoreTest, MetAndBreachedNeverBothWhenTheyRace) {
  ObligationStore store_a(*a_, 1h), store_b(*b_, 1h);
  constexpr int kCount = 300;
  for (int i = 0; i < kCount; ++i)
    ASSERT_TRUE(store_a.start(obligation(std::to_string(i), kNow), ""));
  std::set<std::string> breached;
  std::set<std::string> met;
  std::atomic<bool> go{false};
  std::thread claimer([&] {
    while (!go) std::this_thread::yield();
    for (int pass = 0; pass < 50; ++pass)
      for (const auto& m : store_b.claimDue(kNow, 60s, 7))
        breached.insert(sla::TimerMember::parse(m).obligation_id);
  });
  go = true;
  for (int i = 0; i < kCount; ++i)
    for (const auto& e : store_a.end("c-" + std::to_string(i),
                                     {v1::SLA_STAGE_ACKNOWLEDGE, "", EndOutcome::Met}, kNow))
      if (e.result == "met") met.insert(e.obligation_id);
  claimer.join();
  for (const auto& m : store_b.claimDue(kNow, 60s, kCount))
    breached.insert(sla::TimerMember::parse(m).obligation_id);
  for (int i = 0; i < kCount; ++i) {
    const auto id = "ob-" + std::to_string(i);
    EXPECT_NE(met.count(id) == 1, breached.count(id) == 1) << id << ": met xor breached";
    auto ob = store_a.get(id);
    ASSERT_TRUE(ob);
    EXPECT_EQ(ob->state(), met.count(id) ? v1::OBLIGATION_STATE_MET
                                         : v1::OBLIGATION_STATE_BREACHED);
  }
  // Both sides did some of the work, so the race was real.
  EXPECT_GT(met.size(), 0u);
  EXPECT_GT(breached.size(), 0u);
}

TEST_F(SlaStoreTest, CompletionAfterTheBreachIsLateAndStopsTheRedispatches) {
  ObligationStore store(*a_, 1h);
  ASSERT_TRUE(store.start(obligation("late", kNow), ""));
  auto claimed = store.claimDue(kNow, 60s, 10);
  ASSERT_EQ(claimed, std::vector<std::string>{"ob-late|breach"});
  const sla::Completion done{1, 1, "ob-late|redispatch|2", kNow + 1000};
  ASSERT_TRUE(store.complete(claimed[0], done));
  EXPECT_FALSE(store.complete(claimed[0], done)) << "done once";
  auto ended = store.end("c-late", {v1::SLA_STAGE_ACKNOWLEDGE, "", EndOutcome::Met}, kNow + 10);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].result, "late");
  EXPECT_TRUE(store.claimDue(kNow + 5000, 60s, 10).empty()) << "no re-dispatch after completion";
  auto ob = store.get("ob-late");
  EXPECT_EQ(ob->state(), v1::OBLIGATION_STATE_BREACHED);
  EXPECT_EQ(ob->escalation_level(), 1);
  EXPECT_EQ(ob->redispatches(), 1);
  EXPECT_EQ(ob->ended_at_ms(), kNow + 10);
}

TEST_F(SlaStoreTest, RedispatchesAreArmedOneAfterAnother) {
  ObligationStore store(*a_, 1h);
  ASSERT_TRUE(store.start(obligation("esc", kNow, kNow - 200), ""));
  auto first = store.claimDue(kNow, 60s, 10);
  EXPECT_EQ(first, (std::vector<std::string>{"ob-esc|warn", "ob-esc|breach"}));
  for (const auto& m : first)
    store.complete(m, m.ends_with("breach") ? sla::Completion{1, 1, "ob-esc|redispatch|2",
                                                               kNow + 1000}
                                            : sla::Completion{});
  EXPECT_TRUE(store.claimDue(kNow + 999, 60s, 10).empty());
  EXPECT_EQ(store.claimDue(kNow + 1000, 60s, 10),
            std::vector<std::string>{"ob-esc|redispatch|2"});
}

// Ending the breached obligation ends its escalation (the supervisor's own obligation) and
// takes the supervisor's item back; the escalation's timers go with it.
TEST_F(SlaStoreTest, EndingAnObligationEndsItsEscalations) {
  ObligationStore store(*a_, 1h);
  ASSERT_TRUE(store.start(obligation("base", kNow), ""));
  ASSERT_EQ(store.claimDue(kNow, 60s, 10).size(), 1u);
  ASSERT_TRUE(store.complete("ob-base|breach", {1, 0, "", 0}));
  auto esc = obligation("base-esc", kNow + 5000);
  esc.complaint_id = "c-base";
  esc.stage = v1::SLA_STAGE_ESCALATION;
  esc.agency_id = "sekda";
  esc.escalates = "ob-base";
  esc.level = 1;
  ASSERT_TRUE(store.start(esc, ""));
  auto ended = store.end("c-base", std::vector<sla::ObligationStop>{{"ob-base", v1::SLA_STAGE_ACKNOWLEDGE, "a-base", "dinas-pu", EndOutcome::Met}}, kNow + 100);
  ASSERT_EQ(ended.size(), 2u);
  EXPECT_EQ(ended[0].result, "late");
  EXPECT_EQ(ended[1].obligation_id, "ob-base-esc");
  EXPECT_EQ(ended[1].result, "cancelled");
  EXPECT_EQ(store.claimDue(kNow + 100, 60s, 10), std::vector<std::string>{"ob-base-esc|withdraw"})
      << "the escalation's breach is gone, its withdrawal due at once";
  EXPECT_EQ(store.get("ob-base-esc")->state(), v1::OBLIGATION_STATE_CANCELLED);
  EXPECT_EQ(store.get("ob-base-esc")->escalates_obligation_id(), "ob-base");
}

// An obligation ended before its breach was never escalated (an escalation starts from a
// breach): ending it reads no other obligation of the complaint, and a normal complaint's
// obligation is not looked for among the open emergencies. After a breach the complaint's
// obligations are read for the escalations to withdraw (EndingAnObligationEndsItsEscalations).
TEST_F(SlaStoreTest, EndingAnObligationBeforeItsBreachReadsNoOtherObligation) {
  ObligationStore store(*a_, 1h);
  for (auto stage : {v1::SLA_STAGE_ACKNOWLEDGE, v1::SLA_STAGE_FOLLOW_UP, v1::SLA_STAGE_RESOLUTION}) {
    auto o = obligation("few", kNow + 60'000);
    o.obligation_id = "ob-few-" + std::to_string(stage);
    o.stage = stage;
    ASSERT_TRUE(store.start(o, ""));
  }
  const auto members = commandCalls(*a_, "smembers");
  const auto reads = commandCalls(*a_, "hmget");
  const auto zrems = commandCalls(*a_, "zrem");
  const auto stop = sla::ObligationStop{"ob-few-" + std::to_string(v1::SLA_STAGE_ACKNOWLEDGE),
                                        v1::SLA_STAGE_ACKNOWLEDGE, "a-few", "dinas-pu",
                                        EndOutcome::Met};
  auto ended = store.end("c-few", std::vector<sla::ObligationStop>{stop}, kNow);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].result, "met");
  EXPECT_EQ(commandCalls(*a_, "smembers") - members, 0) << "the complaint's obligations listed";
  EXPECT_EQ(commandCalls(*a_, "hmget") - reads, 1) << "only the ended obligation is read";
  EXPECT_EQ(commandCalls(*a_, "zrem") - zrems, 1) << "only its timers are taken off";
  EXPECT_EQ(store.get(stop.obligation_id)->state(), v1::OBLIGATION_STATE_MET);
  EXPECT_EQ(store.forComplaint("c-few").size(), 3u);
}

// Starting an obligation writes its warning's and its deadline's timers in one command, and a
// month's counters key gets its time to live when a count creates it (the month's length plus
// the counters' retention), not again with every count.
TEST_F(SlaStoreTest, TimersInOneCommandAndEachCountersKeyExpiresOnce) {
  sla::SummaryOptions summary;
  summary.retention = std::chrono::hours(24);
  ObligationStore store(*a_, 1h, summary);
  const auto zadds = commandCalls(*a_, "zadd");
  ASSERT_TRUE(store.start(obligation("timers", kNow + 60'000, kNow + 30'000), ""));
  EXPECT_EQ(commandCalls(*a_, "zadd") - zadds, 1);
  EXPECT_EQ(store.claimDue(kNow + 30'000, 60s, 10), std::vector<std::string>{"ob-timers|warn"});
  EXPECT_EQ(store.claimDue(kNow + 60'000, 60s, 10),
            std::vector<std::string>{"ob-timers|breach"});

  v1::ComplaintLedger ledger;
  ledger.set_complaint_id("c-counted");
  const std::vector<sla::SummaryIncrement> counts{{"2026-12", "bpbd", "1|flood|received", 1},
                                                  {"2026-12", "bpbd", "1|flood|dispatched", 1},
                                                  {"2026-12", "", "1|flood|dispatched", 1},
                                                  {"2026-12", "bpbd", "1|flood|dispatched", 1}};
  const auto expires = commandCalls(*a_, "expire");
  store.saveLedger(ledger, counts);
  EXPECT_EQ(commandCalls(*a_, "expire") - expires, 2) << "two keys: the agency's and the regency's";
  const auto figures = store.summary("2026-12", "bpbd");
  EXPECT_EQ(figures, (std::vector<std::pair<std::string, std::string>>{
                         {"1|flood|received", "1"}, {"1|flood|dispatched", "2"}}));
  for (const auto* agency : {"bpbd", ""}) {
    const auto ttl = a_->command({"TTL", a_->key(std::string("sla:summary:2026-12:") + agency)});
    EXPECT_GT(ttl.integer, 31 * 86400) << "'" << agency << "': a month past its last count";
    EXPECT_LE(ttl.integer, 32 * 86400) << "'" << agency << "'";
  }
  // The next event counts in the same keys: no EXPIRE. A figure the month had not counted yet,
  // in a key that exists, neither needs one; the first count of the next month's key does.
  const auto again = commandCalls(*a_, "expire");
  store.saveLedger(ledger, {{"2026-12", "bpbd", "1|flood|dispatched", 1},
                            {"2026-12", "", "1|flood|closed", 1}});
  EXPECT_EQ(commandCalls(*a_, "expire") - again, 1) << "the regency's new figure only";
  EXPECT_EQ(store.summary("2026-12", "bpbd")[1].second, "3");
  store.saveLedger(ledger, {{"2027-01", "bpbd", "1|flood|received", 1}});
  EXPECT_EQ(commandCalls(*a_, "expire") - again, 2) << "the new month's key";
  EXPECT_GT(a_->command({"TTL", a_->key("sla:summary:2027-01:bpbd")}).integer, 31 * 86400);
}

// A decision's compliance counters: the day's key gets its time to live when the day's first
// decision creates it (a day plus the obligations' retention), not with every decision.
TEST_F(SlaStoreTest, ADaysComplianceCountersExpireFromTheirFirstDecision) {
  ObligationStore store(*a_, 1h);
  for (const auto* n : {"d1", "d2", "d3"}) ASSERT_TRUE(store.start(obligation(n, kNow + 60'000), ""));
  const auto expires = commandCalls(*a_, "expire");
  ASSERT_EQ(store.end("c-d1", {v1::SLA_STAGE_ACKNOWLEDGE, "", EndOutcome::Met}, kNow).size(), 1u);
  // The obligation's own record (its retention) and the day's new key.
  EXPECT_EQ(commandCalls(*a_, "expire") - expires, 2) << "the record, and the day's new key";
  const auto after_first = commandCalls(*a_, "expire");
  ASSERT_EQ(store.end("c-d2", {v1::SLA_STAGE_ACKNOWLEDGE, "", EndOutcome::Met}, kNow + 1).size(), 1u);
  ASSERT_EQ(store.end("c-d3", {v1::SLA_STAGE_ACKNOWLEDGE, "", EndOutcome::Met}, kNow + 2).size(), 1u);
  EXPECT_EQ(commandCalls(*a_, "expire") - after_first, 2) << "the two records only";
  const auto day = std::to_string(kNow / 86'400'000);
  const auto ttl = a_->command({"TTL", a_->key("sla:compliance:" + day)}).integer;
  EXPECT_GT(ttl, 86400) << "a day past the decision, plus the hour's retention";
  EXPECT_LE(ttl, 86400 + 3600);
  const auto counts = store.complianceSince(kNow, kNow);
  const auto& pu = counts.at({std::string("dinas-pu"), std::string("acknowledge")});
  EXPECT_EQ(pu.met_on_time, 3);
  EXPECT_EQ(pu.due, 3);
}

// The complaint as submitted is written once, beside the ledger, and not again with every
// event's ledger: the ledger keeps its id and tracking id; the complaint lives as long as the
// ledger. A ledger stored whole before (its complaint inside) still gives the complaint, and its
// next save writes the complaint apart.
TEST_F(SlaStoreTest, TheComplaintIsWrittenOnceBesideItsLedger) {
  ObligationStore store(*a_, 1h);
  v1::ComplaintLedger l;
  l.set_complaint_id("c-apart");
  auto* c = l.mutable_complaint();
  c->set_complaint_id("c-apart");
  c->set_tracking_id("LPR-APART");
  c->set_title("Jalan rusak di depan pasar");
  c->set_description(std::string(1500, 'x'));
  l.set_category("roads");
  store.saveLedger(l);
  const auto complaint_key = a_->key("sla:ledger:c-apart:complaint");
  const auto stored = a_->command({"GET", a_->key("sla:ledger:c-apart")});
  EXPECT_LT(stored.str.size(), 200u) << "the ledger without the complaint's text";
  auto back = store.ledger("c-apart");
  EXPECT_EQ(back.complaint().tracking_id(), "LPR-APART");
  EXPECT_EQ(back.complaint().complaint_id(), "c-apart");
  EXPECT_TRUE(back.complaint().description().empty());
  EXPECT_EQ(back.category(), "roads");
  EXPECT_EQ(store.complaint("c-apart").description(), std::string(1500, 'x'));
  EXPECT_EQ(store.complaint("c-apart").title(), "Jalan rusak di depan pasar");
  // Its text is stored compressed.
  const auto stored_complaint = a_->command({"GET", complaint_key}).str;
  EXPECT_TRUE(redis::isPacked(stored_complaint));
  EXPECT_LT(stored_complaint.size(), 200u);

  // The next event's save writes the ledger only, and keeps the complaint as long as it.
  a_->command({"PEXPIRE", complaint_key, "1000"});
  const auto sets = commandCalls(*a_, "set");
  back.set_round(1);
  store.saveLedger(back);
  EXPECT_EQ(commandCalls(*a_, "set") - sets, 1) << "the ledger's SET only";
  EXPECT_GT(a_->command({"PTTL", complaint_key}).integer, 3'000'000) << "the ledger's hour";
  EXPECT_EQ(store.complaint("c-apart").description(), std::string(1500, 'x'));

  // Stored whole, as before the complaint was kept apart.
  v1::ComplaintLedger old = l;
  old.set_complaint_id("c-whole");
  old.mutable_complaint()->set_complaint_id("c-whole");
  a_->command({"SET", a_->key("sla:ledger:c-whole"), old.SerializeAsString()});
  EXPECT_EQ(store.complaint("c-whole").description(), std::string(1500, 'x'));
  auto loaded = store.ledger("c-whole");
  EXPECT_TRUE(ObligationStore::keepsComplaintApart(loaded));
  store.saveLedger(loaded);
  EXPECT_LT(a_->command({"GET", a_->key("sla:ledger:c-whole")}).str.size(), 200u);
  EXPECT_EQ(store.complaint("c-whole").description(), std::string(1500, 'x'));
  EXPECT_FALSE(ObligationStore::keepsComplaintApart(store.ledger("c-whole")));
}

// With redis.pack_values off (an upgrade's first step) the complaint is written as before; a
// compressed one, as a monitor of this version writes it, is still read.
TEST_F(SlaStoreTest, WithPackValuesOffTheComplaintIsWrittenAsBeforeAndStillRead) {
  auto options = opt_;
  options.pack_values = false;
  redis::RedisClient plain_redis(options, log::Logger("sla-it", log::Level::Error));
  ObligationStore plain(plain_redis, 1h), packing(*a_, 1h);
  v1::ComplaintLedger l;
  l.set_complaint_id("c-plain");
  l.mutable_complaint()->set_complaint_id("c-plain");
  l.mutable_complaint()->set_description(std::string(1500, 'y'));
  plain.saveLedger(l);
  const auto key = a_->key("sla:ledger:c-plain:complaint");
  EXPECT_FALSE(redis::isPacked(a_->command({"GET", key}).str));
  l.set_complaint_id("c-packed");
  l.mutable_complaint()->set_complaint_id("c-packed");
  packing.saveLedger(l);
  EXPECT_TRUE(redis::isPacked(a_->command({"GET", a_->key("sla:ledger:c-packed:complaint")}).str));
  EXPECT_EQ(plain.complaint("c-packed").description(), std::string(1500, 'y'));
  EXPECT_EQ(packing.complaint("c-plain").description(), std::string(1500, 'y'));
}

TEST_F(SlaStoreTest, TwoMonitorsNeverClaimTheSameTimer) {
  ObligationStore store_a(*a_, 1h), store_b(*b_, 1h);
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i)
    ASSERT_TRUE(store_a.start(obligation("two-" + std::to_string(i), kNow, kNow - 10), ""));
  std::vector<std::string> got_a, got_b;
  std::thread ta([&] {
    for (int pass = 0; pass < 40; ++pass)
      for (auto& m : store_a.claimDue(kNow, 60s, 5)) got_a.push_back(m);
  });
  std::thread tb([&] {
    for (int pass = 0; pass < 40; ++pass)
      for (auto& m : store_b.claimDue(kNow, 60s, 5)) got_b.push_back(m);
  });
  ta.join();
  tb.join();
  for (auto& m : store_a.claimDue(kNow, 60s, 2 * kCount)) got_a.push_back(m);
  std::multiset<std::string> all(got_a.begin(), got_a.end());
  all.insert(got_b.begin(), got_b.end());
  EXPECT_EQ(all.size(), 2u * kCount) << "every warning and breach exactly once";
  for (const auto& m : all) EXPECT_EQ(all.count(m), 1u) << m;
}

TEST_F(SlaStoreTest, ADeadClaimersTimersComeBackAfterTheLease) {
  ObligationStore store(*a_, 1h);
  ASSERT_TRUE(store.start(obligation("lease", kNow), ""));
  ASSERT_EQ(store.claimDue(kNow, 5s, 10).size(), 1u);  // claimed, never completed
  EXPECT_TRUE(store.claimDue(kNow + 4000, 5s, 10).empty()) << "lease still running";
  EXPECT_EQ(store.claimDue(kNow + 5001, 5s, 10), std::vector<std::string>{"ob-lease|breach"});
}

TEST_F(SlaStoreTest, AnUndeliverableAssignmentBreachesAtOnce) {
  ObligationStore store(*a_, 1h);
  ASSERT_TRUE(store.start(obligation("undeliverable", kNow + 3'600'000, kNow + 1'800'000), ""));
  EXPECT_TRUE(store.expedite("c-undeliverable", "a-undeliverable", v1::SLA_STAGE_ACKNOWLEDGE,
                             "undeliverable: webhook gave up after 8 attempts", kNow));
  EXPECT_EQ(store.claimDue(kNow, 60s, 10),
            std::vector<std::string>{"ob-undeliverable|breach"});
  EXPECT_EQ(store.record("ob-undeliverable")->expedite_reason,
            "undeliverable: webhook gave up after 8 attempts");
  EXPECT_FALSE(store.expedite("c-undeliverable", "a-undeliverable", v1::SLA_STAGE_ACKNOWLEDGE,
                              "again", kNow))
      << "only an open obligation is brought forward";
}

// The owner audit reads the obligations themselves: an open complaint whose records are gone
// (deleted by hand) has no owner; one with an open or an overdue obligation has.
TEST_F(SlaStoreTest, TheOwnerAuditFindsAnOpenComplaintWithoutObligations) {
  ObligationStore store(*a_, 1h);
  for (const auto* n : {"owned", "overdue", "orphan"}) {
    ASSERT_TRUE(store.start(obligation(n, kNow + 60'000), ""));
    v1::ComplaintLedger l;
    l.set_complaint_id(std::string("c-") + n);
    l.set_resolution_cause("submitted");
    store.saveLedger(l);
  }
  store.expedite("c-overdue", "a-overdue", v1::SLA_STAGE_ACKNOWLEDGE, "test", kNow);
  ASSERT_EQ(store.claimDue(kNow, 60s, 10).size(), 1u);  // breached: overdue, still owned
  auto audit = store.auditOwners();
  EXPECT_EQ(audit.open_complaints, 3);
  EXPECT_TRUE(audit.without_owner.empty());
  a_->command({"DEL", a_->key("sla:ob:ob-orphan")});
  audit = store.auditOwners();
  EXPECT_EQ(audit.without_owner, std::vector<std::string>{"c-orphan"});
  // A closed complaint is not audited.
  v1::ComplaintLedger closed;
  closed.set_complaint_id("c-orphan");
  closed.set_resolution_cause("submitted");
  closed.set_closed(true);
  store.saveLedger(closed);
  audit = store.auditOwners();
  EXPECT_EQ(audit.open_complaints, 2);
  EXPECT_TRUE(audit.without_owner.empty());
}

// The audit's list is written when a complaint opens or closes, not with every save of a ledger
// that stays as it was; without the ledger before (`was_open` unknown) it is written as before.
TEST_F(SlaStoreTest, TheAuditsListIsWrittenWhenAComplaintOpensOrCloses) {
  ObligationStore store(*a_, 1h);
  const auto listed = [&](const std::string& id) {
    return a_->command({"SISMEMBER", a_->key("sla:complaints:open"), id}).integer == 1;
  };
  v1::ComplaintLedger l;
  l.set_complaint_id("c-list");
  l.set_resolution_cause("submitted");
  auto sadds = commandCalls(*a_, "sadd");
  store.saveLedger(l, {}, false);  // the submission: it opens
  EXPECT_EQ(commandCalls(*a_, "sadd") - sadds, 1);
  EXPECT_TRUE(listed("c-list"));
  sadds = commandCalls(*a_, "sadd");
  const auto srems = commandCalls(*a_, "srem");
  for (int round = 1; round <= 3; ++round) {  // later events: it stays open
    l.set_round(round);
    store.saveLedger(l, {}, true);
  }
  EXPECT_EQ(commandCalls(*a_, "sadd") - sadds, 0) << "still open: the list is left as it is";
  EXPECT_EQ(commandCalls(*a_, "srem") - srems, 0);
  EXPECT_TRUE(listed("c-list"));
  l.set_closed(true);
  store.saveLedger(l, {}, true);  // it closes
  EXPECT_EQ(commandCalls(*a_, "srem") - srems, 1);
  EXPECT_FALSE(listed("c-list"));
  store.saveLedger(l, {}, false);  // a late event of the closed complaint
  EXPECT_EQ(commandCalls(*a_, "srem") - srems, 1);
  l.set_closed(false);
  store.saveLedger(l, {}, false);  // reopened
  EXPECT_TRUE(listed("c-list"));
  a_->command({"SREM", a_->key("sla:complaints:open"), "c-list"});
  store.saveLedger(l);  // the ledger before unknown: written as the ledger says
  EXPECT_TRUE(listed("c-list"));
}

// One owner check reads a bounded part of a long list of open complaints and the next reads on
// from where it stopped: its cost does not grow with the list, and a round through it still
// finds every complaint without an owner.
TEST_F(SlaStoreTest, TheOwnerAuditReadsALongListInBoundedPasses) {
  ObligationStore store(*a_, 1h);
  std::vector<std::string> add{"SADD", a_->key("sla:complaints:open")};
  std::set<std::string> all;
  for (int i = 0; i < 1500; ++i) {
    add.push_back("c-long-" + std::to_string(i));  // none has an obligation: none has an owner
    all.insert(add.back());
  }
  a_->command(add);
  std::string cursor = "0";
  std::set<std::string> found;
  int passes = 0;
  do {
    const auto before = commandCalls(*a_, "evalsha");
    auto audit = store.auditOwners(cursor, 300);
    ++passes;
    EXPECT_EQ(audit.open_complaints, 1500);
    // Whole pages of about 200 each: at least 300 examined, never the whole list at once.
    EXPECT_LT(audit.without_owner.size(), 1000u) << "pass " << passes;
    EXPECT_LE(commandCalls(*a_, "evalsha") - before, 5) << "pass " << passes;
    found.insert(audit.without_owner.begin(), audit.without_owner.end());
  } while (cursor != "0" && passes < 100);
  EXPECT_EQ(cursor, "0");
  EXPECT_GE(passes, 3);
  EXPECT_EQ(found, all);
  EXPECT_EQ(store.auditOwners().without_owner.size(), 1500u) << "the whole list at once";
}

TEST_F(SlaStoreTest, CancelledObligationsFireNothingAndAreNotCompliance) {
  ObligationStore store(*a_, 1h);
  ASSERT_TRUE(store.start(obligation("gone", kNow + 100, kNow + 50), ""));
  EXPECT_FALSE(store.start(obligation("gone", kNow + 100, kNow + 50), "")) << "replay";
  auto ended = store.end("c-gone", {v1::SLA_STAGE_UNSPECIFIED, "a-gone", EndOutcome::Cancelled},
                         kNow);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].result, "cancelled");
  EXPECT_TRUE(store.claimDue(kNow + 1000, 5s, 10).empty());
  EXPECT_TRUE(store.decidedSince(0).empty());
  for (const auto& c : store.openCounts()) EXPECT_EQ(c.count, 0) << c.agency << c.stage;
  EXPECT_EQ(a_->command({"TTL", a_->key("sla:complaint:c-gone")}).integer, -1)
      << "an assignment's cancellation keeps the complaint's index";
  store.end("c-gone", {v1::SLA_STAGE_UNSPECIFIED, "", EndOutcome::Cancelled}, kNow);
  EXPECT_GT(a_->command({"TTL", a_->key("sla:complaint:c-gone")}).integer, 0)
      << "closing the complaint lets its index expire";
}

// The compliance gauge's counters: each decision counted once, in the day it was decided, by
// the agency and stage it was decided for; a replay, a late answer after the breach and a
// cancellation add nothing, and days before the window are left out.
TEST_F(SlaStoreTest, ComplianceCountsEachDecisionOnceInItsDay) {
  constexpr int64_t kDay = 86'400'000;
  ObligationStore store(*a_, 1h);
  ASSERT_TRUE(store.start(obligation("met", kNow + 100'000), ""));
  ASSERT_TRUE(store.start(obligation("late", kNow), ""));
  ASSERT_TRUE(store.start(obligation("gone", kNow + 100'000), ""));
  auto other = obligation("fire", kNow + 100'000);
  other.agency_id = "damkar";
  other.stage = v1::SLA_STAGE_ON_SCENE;
  ASSERT_TRUE(store.start(other, ""));
  auto old = obligation("old", kNow - 40 * kDay);
  ASSERT_TRUE(store.start(old, ""));
  ASSERT_EQ(store.claimDue(kNow - 40 * kDay, 60s, 10), std::vector<std::string>{"ob-old|breach"});
  ASSERT_TRUE(store.complete("ob-old|breach"));

  ASSERT_EQ(store.end("c-met", {v1::SLA_STAGE_ACKNOWLEDGE, "", EndOutcome::Met}, kNow).size(), 1u);
  EXPECT_TRUE(store.end("c-met", {v1::SLA_STAGE_ACKNOWLEDGE, "", EndOutcome::Met}, kNow).empty())
      << "replay";
  ASSERT_EQ(store.claimDue(kNow, 60s, 10), std::vector<std::string>{"ob-late|breach"});
  store.end("c-late", {v1::SLA_STAGE_ACKNOWLEDGE, "", EndOutcome::Met}, kNow + 10);  // late
  store.end("c-gone", {v1::SLA_STAGE_UNSPECIFIED, "", EndOutcome::Cancelled}, kNow);
  store.end("c-fire", {v1::SLA_STAGE_ON_SCENE, "", EndOutcome::Met}, kNow + kDay);

  auto counts = store.complianceSince(kNow - 30 * kDay, kNow + kDay);
  ASSERT_EQ(counts.size(), 2u);
  const auto& pu = counts[{std::string("dinas-pu"), std::string("acknowledge")}];
  EXPECT_EQ(pu.met_on_time, 1);
  EXPECT_EQ(pu.due, 2) << "met on time and breached; the 40-day-old breach is outside";
  const auto& fire = counts[{std::string("damkar"), std::string("on_scene")}];
  EXPECT_EQ(fire.met_on_time, 1);
  EXPECT_EQ(fire.due, 1);
  auto wider = store.complianceSince(kNow - 50 * kDay, kNow + kDay);
  EXPECT_EQ(wider[std::make_pair(std::string("dinas-pu"), std::string("acknowledge"))].due, 3);
  EXPECT_TRUE(store.complianceSince(kNow - 30 * kDay, kNow - kDay).empty());
}

}  // namespace
}  // namespace lapor::integration
