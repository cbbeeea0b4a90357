// The follow-up promise against the real stack, with deadlines of seconds. A random walk
// (fixed seed, printed) over what citizens, agencies, the triage desk and the clock do, on a
// dozen complaints at once; after every step, once the step's events are through:
//   - every open complaint has an owner and an open deadline (GetObligations);
//   - no complaint's status and no assignment's state moved backwards (except where the step
//     sends the complaint back: a rejection, a reopen, a hand-back to triage);
//   - no obligation was escalated twice at one level, beyond its chain, or re-dispatched
//     beyond the bound;
//   - the SLA monitor's own audit finds no complaint without an owner.
// Then an emergency left alone for 20 deadline periods gives the chain and the re-dispatches
// once, and an obligation record deleted by hand is found by the audit.
#include "events/envelope.h"
#include "lapor/v1/agency_service.grpc.pb.h"
#include "lapor/v1/intake.grpc.pb.h"
#include "lapor/v1/routing_admin.grpc.pb.h"
#include "lapor/v1/sla.grpc.pb.h"
#include "agency_client.h"
#include "lifecycle_events.h"
#include "operator_context.h"
#include "redis/redis_client.h"
#include "stack.h"
#include "topic_reader.h"
#include "wait.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

namespace lapor::testing {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kEmergencyAckMs = 1000;
constexpr int kMaxRedispatches = 2;
constexpr int kChainLength = 3;  // ncc-112 or the agency's supervisor, sekda, inspektorat

Stack* g_stack = nullptr;

class StackEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    // The monitor's audit counts every open complaint in its Redis. The services read in
    // consumer groups of their own, placed at the end of every topic before they start: what
    // earlier tests left on the broker (rejections of complaints never submitted, which nobody
    // owns, or submissions routing would act on now) never reaches them, so the audit counts
    // the walk's complaints only.
    const std::string own = "model-" + std::to_string(std::random_device{}()) + "-";
    const std::map<std::string, std::map<std::string, std::string>> groups{
        {"intake",
         {{"LAPOR_KAFKA_VIEW_GROUP", own + "intake-view"},
          {"LAPOR_KAFKA_NOTIFY_GROUP", own + "intake-notify"}}},
        {"routing", {{"LAPOR_KAFKA_GROUP", own + "routing"}}},
        {"notification", {{"LAPOR_KAFKA_GROUP", own + "notification"}}},
        {"sla-monitor", {{"LAPOR_KAFKA_GROUP", own + "sla-monitor"}}}};
    std::vector<std::string> names;
    for (const auto& [service, env] : groups)
      for (const auto& [k, g] : env) names.push_back(g);
    commitGroupsAtEnd(requiredEnv("LAPOR_KAFKA_BROKERS"), names);
    g_stack = new Stack({{"LAPOR_SLA_ACKNOWLEDGE_NORMAL", "3s"},
                         {"LAPOR_SLA_ACKNOWLEDGE_HIGH", "3s"},
                         {"LAPOR_SLA_ACKNOWLEDGE_EMERGENCY", std::to_string(kEmergencyAckMs) + "ms"},
                         {"LAPOR_SLA_DISPOSE_NORMAL", "3s"},
                         {"LAPOR_SLA_FOLLOW_UP_NORMAL", "3s"},
                         {"LAPOR_SLA_ON_SCENE_EMERGENCY", "4s"},
                         {"LAPOR_SLA_AUTO_CLOSE_NORMAL", "5s"},
                         {"LAPOR_SLA_AUTO_CLOSE_EMERGENCY", "5s"},
                         {"LAPOR_SLA_MAX_REDISPATCHES", std::to_string(kMaxRedispatches)},
                         {"LAPOR_SLA_OWNER_CHECK_INTERVAL", "200ms"},
                         {"LAPOR_SLA_TICK", "100ms"}},
                        Stack::ServiceEnv{groups});
  }
  void TearDown() override {
    EXPECT_EQ(g_stack->stopAll(), "");
    delete g_stack;
    g_stack = nullptr;
  }
};

std::unique_ptr<grpc::ClientContext> plain() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + 15s);
  return c;
}

int statusRank(v1::ComplaintStatus s) {
  switch (s) {
    case v1::COMPLAINT_STATUS_SUBMITTED:
      return 0;
    case v1::COMPLAINT_STATUS_TRIAGE:
    case v1::COMPLAINT_STATUS_ROUTED:
    case v1::COMPLAINT_STATUS_REOPENED:
      return 1;
    case v1::COMPLAINT_STATUS_IN_PROGRESS:
      return 2;
    case v1::COMPLAINT_STATUS_RESOLVED:
      return 3;
    case v1::COMPLAINT_STATUS_CLOSED:
      return 4;
    default:
      return -1;
  }
}

int stateRank(const std::string& s) {
  static const std::map<std::string, int> ranks{
      {"dispatched", 1},  {"delivered", 2}, {"undeliverable", 2}, {"acknowledged", 3},
      {"in_progress", 4}, {"on_scene", 4},  {"responded", 4},     {"resolved", 5},
      {"rejected", 6},    {"withdrawn", 6}};
  auto it = ranks.find(s);
  return it == ranks.end() ? 0 : it->second;
}

struct Tracked {
  std::string tracking_id, complaint_id, secret;
  bool emergency = false;
  v1::ComplaintView last;
  bool may_go_back = false;  // a step since the last snapshot sends it back on purpose
};

// What a step waits for on the complaint it acted on: these event kinds, in this order, on
// its timeline after `from` (each one may be any of "a|b").
struct Expect {
  std::string complaint_id;
  size_t from = 0;
  std::vector<std::string> kinds;
};

class World {
 public:
  explicit World(uint32_t seed) : rng_(seed) {}

  v1::ComplaintView view(const Tracked& t) {
    v1::GetComplaintRequest req;
    req.set_tracking_id(t.tracking_id);
    v1::ComplaintView v;
    grpc::Status s;
    // A read refused now and then (the store busy) is read again; a view never read is a
    // failure of its own, not a status that "went back".
    waitFor([&] { return (s = intake_->GetComplaint(plain().get(), req, &v)).ok(); }, 15s, 100ms);
    if (!s.ok()) ADD_FAILURE() << "GetComplaint " << t.tracking_id << ": " << s.error_message();
    return v;
  }

  std::vector<v1::Obligation> obligations(const std::string& cid) {
    v1::GetObligationsRequest req;
    req.set_complaint_id(cid);
    v1::GetObligationsResponse resp;
    sla_->GetObligations(operatorContext("auditor").get(), req, &resp);
    return {resp.obligations().begin(), resp.obligations().end()};
  }

  // "" when the open complaint has an obligation open (or breached and not yet met) with an
  // owner and a deadline; else what is wrong.
  std::string ownerProblem(const Tracked& t, const v1::ComplaintView& v) {
    if (v.status() == v1::COMPLAINT_STATUS_CLOSED) return "";
    std::string seen;
    for (const auto& o : obligations(t.complaint_id)) {
      const bool running = o.state() == v1::OBLIGATION_STATE_OPEN ||
                           (o.state() == v1::OBLIGATION_STATE_BREACHED && o.ended_at_ms() == 0);
      if (running && !o.agency_id().empty() && o.due_at_ms() > 0) return "";
      seen += " " + v1::SlaStage_Name(o.stage()) + "/" + o.agency_id() + "/" +
              v1::ObligationState_Name(o.state());
    }
    return t.tracking_id + " (" + v1::ComplaintStatus_Name(v.status()) +
           ") has no owner; obligations:" + seen;
  }

  bool expectationMet(const Expect& e, const v1::ComplaintView& v) {
    size_t k = 0;
    for (int i = static_cast<int>(e.from); i < v.timeline_size() && k < e.kinds.size(); ++i) {
      std::stringstream alternatives(e.kinds[k]);
      std::string kind;
      while (std::getline(alternatives, kind, '|'))
        if (v.timeline(i).what() == kind) {
          ++k;
          break;
        }
    }
    return k == e.kinds.size();
  }

  int64_t orphanGauge() {
    httplib::Client http("127.0.0.1", g_stack->endpoint("sla-monitor").metrics_port);
    auto res = http.Get("/metrics");
    if (!res || res->status != 200) return -1;
    std::istringstream in(res->body);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("lapor_sla_monitor_complaints_without_owner ", 0) == 0)
        return std::llround(std::stod(line.substr(line.find(' ') + 1)));
    return -1;
  }

  // Waits until the step's events are through and every complaint has an owner; then checks
  // that nothing moved backwards. "" or the first problem.
  std::string settle(const std::optional<Expect>& expect) {
    std::string problem;
    std::map<std::string, v1::ComplaintView> now;
    const bool ok = waitFor(
        [&] {
          now.clear();
          problem.clear();
          for (auto& t : tracked_) {
            auto v = view(t);
            if (expect && expect->complaint_id == t.complaint_id && !expectationMet(*expect, v)) {
              problem = "the step's events did not reach " + t.tracking_id;
              return false;
            }
            problem = ownerProblem(t, v);
            if (!problem.empty()) return false;
            now[t.complaint_id] = std::move(v);
          }
          return true;
        },
        30s, 100ms);
    if (!ok) return problem;
    for (auto& t : tracked_) {
      const auto& v = now[t.complaint_id];
      if (!t.may_go_back && statusRank(v.status()) < statusRank(t.last.status()))
        return t.tracking_id + ": status went back from " +
               v1::ComplaintStatus_Name(t.last.status()) + " to " +
               v1::ComplaintStatus_Name(v.status());
      std::map<std::string, std::string> before;
      for (const auto& a : t.last.assignments())
        if (!a.assignment_id().empty()) before[a.assignment_id()] = a.state();
      for (const auto& a : v.assignments()) {
        auto it = before.find(a.assignment_id());
        if (it != before.end() && stateRank(a.state()) < stateRank(it->second))
          return t.tracking_id + ": " + a.agency_id() + "'s assignment went back from " +
                 it->second + " to " + a.state();
      }
      t.last = v;
      t.may_go_back = false;
    }
    if (auto orphans = orphanGauge(); orphans != 0)
      return "the SLA monitor counts " + std::to_string(orphans) + " complaint(s) without owner";
    return "";
  }

  // One random step; returns what it waits for (nothing for a step that did nothing).
  std::optional<Expect> step(std::string* what) {
    std::uniform_int_distribution<int> pick(0, 99);
    const int roll = pick(rng_);
    if (tracked_.size() < 4 || (roll < 8 && tracked_.size() < 14)) return submit(what);
    auto& t = tracked_[std::uniform_int_distribution<size_t>(0, tracked_.size() - 1)(rng_)];
    const auto v = view(t);
    Expect e{t.complaint_id, static_cast<size_t>(v.timeline_size()), {}};
    if (roll < 14) {  // the clock runs: wait until one of the deadlines passed
      *what = "clock";
      waitForADeadline();
      return std::nullopt;
    }
    // With the desk: in triage, or reopened and back with the desk (nobody had answered it).
    bool desk = v.status() == v1::COMPLAINT_STATUS_TRIAGE;
    if (v.status() == v1::COMPLAINT_STATUS_REOPENED && v.assignments_size() > 0) {
      const auto round = v.assignments(v.assignments_size() - 1).round();
      desk = true;
      for (const auto& a : v.assignments())
        if (a.round() == round && a.agency_id() != "triage") desk = false;
    }
    if (desk) return triage(t, e, roll, what);
    switch (v.status()) {
      case v1::COMPLAINT_STATUS_RESOLVED:
        if (roll < 50) return feedback(t, e, roll % 2 == 0, what);
        if (roll < 65) return reopen(t, e, what);
        break;
      case v1::COMPLAINT_STATUS_CLOSED:
        if (roll < 45) return reopen(t, e, what);
        *what = "closed, left closed";
        return std::nullopt;
      default:
        break;
    }
    if (roll < 20 && v.status() != v1::COMPLAINT_STATUS_SUBMITTED) return handBack(t, e, what);
    if (t.emergency && roll > 90) {
      *what = "an emergency left alone";
      return std::nullopt;
    }
    return agencyAct(t, v, e, pick(rng_), what);
  }

  std::optional<Expect> submit(std::string* what) {
    static const std::vector<std::tuple<std::string, v1::Priority, v1::Channel>> kinds{
        {"road-damage", v1::PRIORITY_NORMAL, v1::CHANNEL_WEB},
        {"garbage", v1::PRIORITY_NORMAL, v1::CHANNEL_APP},
        {"public-service", v1::PRIORITY_NORMAL, v1::CHANNEL_WEB},
        {"other", v1::PRIORITY_NORMAL, v1::CHANNEL_SMS},
        {"fire", v1::PRIORITY_EMERGENCY, v1::CHANNEL_CALL_CENTRE_112},
        {"crime", v1::PRIORITY_EMERGENCY, v1::CHANNEL_CALL_CENTRE_112}};
    const auto& [category, priority, channel] =
        kinds[std::uniform_int_distribution<size_t>(0, kinds.size() - 1)(rng_)];
    v1::SubmitComplaintRequest req;
    req.set_channel(channel);
    req.set_category(category);
    req.set_priority(priority);
    req.set_title("Uji model " + category);
    req.set_description("Laporan uji model untuk kategori " + category);
    auto* loc = req.mutable_location();
    loc->set_has_coordinates(true);
    loc->set_lat(0.5108);
    loc->set_lon(117.6422);
    loc->set_kecamatan("Sangatta Utara");
    v1::SubmitComplaintResponse resp;
    auto s = intake_->SubmitComplaint(plain().get(), req, &resp);
    if (!s.ok()) {
      *what = "submit refused: " + s.error_message();
      return std::nullopt;
    }
    Tracked t;
    t.tracking_id = resp.tracking_id();
    t.complaint_id = resp.complaint_id();
    t.secret = resp.reporter_secret();
    t.emergency = priority == v1::PRIORITY_EMERGENCY;
    tracked_.push_back(t);
    *what = "submit " + category + " " + t.tracking_id;
    return Expect{t.complaint_id, 0, {"submitted", "routed"}};
  }

  std::optional<Expect> triage(Tracked& t, Expect e, int roll, std::string* what) {
    if (roll < 55) {
      v1::AssignRequest req;
      req.set_complaint_id(t.complaint_id);
      req.set_agency_id(roll % 2 ? "dinas-pu" : "dlh");
      req.set_note("diteruskan oleh meja triase");
      req.set_request_id("assign-" + std::to_string(roll) + "-" + t.complaint_id);
      v1::AssignResponse resp;
      auto s = admin_->Assign(operatorContext("operator").get(), req, &resp);
      *what = "triage assigns " + t.tracking_id + " to " + req.agency_id() + ": " +
              (s.ok() ? "ok" : s.error_message());
      if (!s.ok()) return std::nullopt;
      e.kinds = {"routed"};
      return e;
    }
    v1::CloseComplaintRequest req;
    req.set_complaint_id(t.complaint_id);
    const bool duplicate = roll % 2 == 0 && tracked_.size() > 1;
    req.set_reason_code(duplicate ? "duplicate" : "spam");
    if (duplicate) req.set_duplicate_of(tracked_.front().tracking_id);
    req.set_note("ditutup oleh meja triase");
    v1::CloseComplaintResponse resp;
    auto s = admin_->CloseComplaint(operatorContext("operator").get(), req, &resp);
    *what = "triage closes " + t.tracking_id + " (" + req.reason_code() + "): " +
            (s.ok() ? "ok" : s.error_message());
    if (!s.ok()) return std::nullopt;
    e.kinds = {"closed"};
    return e;
  }

  std::optional<Expect> feedback(Tracked& t, Expect e, bool solved, std::string* what) {
    v1::AddFeedbackRequest req;
    req.set_tracking_id(t.tracking_id);
    req.set_rating(solved ? 5 : 2);
    req.set_comment(solved ? "terima kasih" : "belum beres");
    req.set_solved(solved);
    req.set_reporter_secret(t.secret);
    req.set_request_id("feedback-" + std::to_string(e.from) + "-" + t.complaint_id);
    v1::AddFeedbackResponse resp;
    auto s = intake_->AddFeedback(plain().get(), req, &resp);
    *what = std::string("feedback ") + (solved ? "solved " : "not solved ") + t.tracking_id +
            ": " + (s.ok() ? "ok" : s.error_message());
    if (!s.ok()) return std::nullopt;
    if (!solved) t.may_go_back = true;
    e.kinds = solved ? std::vector<std::string>{"feedback", "closed"}
                     : std::vector<std::string>{"feedback", "reopened", "routed"};
    return e;
  }

  std::optional<Expect> reopen(Tracked& t, Expect e, std::string* what) {
    v1::ReopenComplaintRequest req;
    req.set_tracking_id(t.tracking_id);
    req.set_reason("masih belum beres");
    req.set_reporter_secret(t.secret);
    req.set_request_id("reopen-" + std::to_string(e.from) + "-" + t.complaint_id);
    v1::ReopenComplaintResponse resp;
    auto s = intake_->ReopenComplaint(plain().get(), req, &resp);
    *what = "reopen " + t.tracking_id + ": " + (s.ok() ? "ok" : s.error_message());
    if (!s.ok()) return std::nullopt;
    t.may_go_back = true;
    e.kinds = {"reopened", "routed"};
    return e;
  }

  std::optional<Expect> handBack(Tracked& t, Expect e, std::string* what) {
    v1::ReturnToTriageRequest req;
    req.set_complaint_id(t.complaint_id);
    req.set_note("perlu diperiksa ulang oleh meja triase");
    v1::ReturnToTriageResponse resp;
    auto s = admin_->ReturnToTriage(operatorContext("supervisor").get(), req, &resp);
    *what = "supervisor returns " + t.tracking_id + " to triage: " +
            (s.ok() ? "ok" : s.error_message());
    if (!s.ok()) return std::nullopt;
    t.may_go_back = true;
    e.kinds = {"routed"};
    return e;
  }

  std::optional<Expect> agencyAct(Tracked& t, const v1::ComplaintView& v, Expect e, int roll,
                                  std::string* what) {
    std::vector<const v1::AssignmentView*> live;
    for (const auto& a : v.assignments())
      if (!a.assignment_id().empty() && a.agency_id() != "triage" && stateRank(a.state()) < 5 &&
          a.round() == v.assignments(v.assignments_size() - 1).round())
        live.push_back(&a);
    if (live.empty()) {
      *what = "nothing for an agency to do on " + t.tracking_id + " (" +
              v1::ComplaintStatus_Name(v.status()) + ")";
      return std::nullopt;
    }
    const auto& a = *live[std::uniform_int_distribution<size_t>(0, live.size() - 1)(rng_)];
    const auto& agency = a.agency_id();
    auto ctx = agencyContext(agency);
    grpc::Status s;
    std::string action;
    const bool acknowledged = stateRank(a.state()) >= 3;
    if (!acknowledged && roll < 75) {
      v1::AcknowledgeRequest req;
      req.set_agency_id(agency);
      req.set_assignment_id(a.assignment_id());
      v1::AcknowledgeResponse resp;
      s = agency_->Acknowledge(ctx.get(), req, &resp);
      action = "acknowledges";
      e.kinds = {"acknowledged"};
    } else if ((!acknowledged && roll < 90) || (acknowledged && roll < 10)) {
      v1::RejectRequest req;
      req.set_agency_id(agency);
      req.set_assignment_id(a.assignment_id());
      req.set_reason_code("not-our-authority");
      if (roll % 2) req.set_note("bukan wewenang kami");
      v1::RejectResponse resp;
      s = agency_->Reject(ctx.get(), req, &resp);
      action = roll % 2 ? "rejects with a note" : "rejects";
      t.may_go_back = true;
      e.kinds = {"rejected", "routed"};
    } else if (acknowledged && roll < 40) {
      v1::UpdateStatusRequest req;
      req.set_agency_id(agency);
      req.set_assignment_id(a.assignment_id());
      const bool respond = a.role() == "lead" && roll % 3 == 0;
      req.set_state(respond ? v1::ASSIGNMENT_STATE_RESPONDED
                            : (t.emergency ? v1::ASSIGNMENT_STATE_ON_SCENE
                                           : v1::ASSIGNMENT_STATE_IN_PROGRESS));
      req.set_message("sedang ditangani");
      v1::UpdateStatusResponse resp;
      s = agency_->UpdateStatus(ctx.get(), req, &resp);
      action = respond ? "responds" : "reports progress";
      // The same progress twice is a repeat: no new event.
      const bool repeat = !respond && a.state() == (t.emergency ? "on_scene" : "in_progress");
      e.kinds = repeat ? std::vector<std::string>{} : std::vector<std::string>{"status_updated"};
    } else if (acknowledged && roll < 85) {
      v1::ResolveRequest req;
      req.set_agency_id(agency);
      req.set_assignment_id(a.assignment_id());
      req.set_resolution("sudah selesai ditangani");
      v1::UpdateStatusResponse resp;
      s = agency_->Resolve(ctx.get(), req, &resp);
      action = "resolves";
      e.kinds = {"resolved"};
    } else {
      *what = agency + " waits on " + t.tracking_id;
      return std::nullopt;
    }
    *what = agency + " " + action + " " + t.tracking_id + ": " + (s.ok() ? "ok" : s.error_message());
    if (!s.ok()) {
      t.may_go_back = false;
      return std::nullopt;  // the state changed under the step (a re-route): nothing was done
    }
    // A reject of the last live assignment with no other agency left goes to triage; either
    // way a route follows.
    return e;
  }

  // Until the soonest open deadline of the tracked complaints passed and was marked breached.
  void waitForADeadline() {
    int64_t soonest = INT64_MAX;
    std::string cid;
    for (const auto& t : tracked_)
      for (const auto& o : obligations(t.complaint_id))
        if (o.state() == v1::OBLIGATION_STATE_OPEN && o.due_at_ms() < soonest &&
            o.stage() != v1::SLA_STAGE_RESOLUTION) {
          soonest = o.due_at_ms();
          cid = t.complaint_id;
        }
    if (cid.empty()) return;
    waitFor(
        [&] {
          for (const auto& o : obligations(cid))
            if (o.due_at_ms() == soonest && o.state() == v1::OBLIGATION_STATE_OPEN) return false;
          return true;
        },
        15s, 100ms);
  }

  std::vector<Tracked>& tracked() { return tracked_; }

 private:
  std::mt19937 rng_;
  std::vector<Tracked> tracked_;
  std::unique_ptr<v1::IntakeService::Stub> intake_ = g_stack->stub<v1::IntakeService>("intake");
  std::unique_ptr<v1::SlaService::Stub> sla_ = g_stack->stub<v1::SlaService>("sla-monitor");
  std::unique_ptr<v1::RoutingAdmin::Stub> admin_ = g_stack->stub<v1::RoutingAdmin>("routing");
  std::unique_ptr<v1::AgencyService::Stub> agency_ = g_stack->stub<v1::AgencyService>("notification");
};

// Escalations at most once per (obligation, level) and within the chain; re-dispatches at
// most the bound per assignment. "" or the first problem.
std::string boundsProblem(const std::vector<kafka::Message>& messages) {
  std::map<std::pair<std::string, int>, std::set<std::string>> escalations;
  std::map<std::string, std::set<int>> redispatches;
  std::set<std::string> seen_ids;
  for (const auto& m : messages) {
    auto d = events::decode(m.value);
    if (!d.envelope || !seen_ids.insert(d.envelope->event_id()).second) continue;
    const auto& e = *d.envelope;
    if (e.has_escalated()) {
      const auto& x = e.escalated();
      if (x.level() < 1 || x.level() > kChainLength)
        return "escalated to level " + std::to_string(x.level());
      auto& ids = escalations[{x.obligation_id(), x.level()}];
      ids.insert(e.event_id());
      if (ids.size() > 1)
        return "obligation " + x.obligation_id() + " escalated twice at level " +
               std::to_string(x.level());
    }
    if (e.has_redispatch_requested()) {
      const auto& r = e.redispatch_requested();
      if (r.attempt() < 1 || r.attempt() > kMaxRedispatches ||
          !redispatches[r.assignment_id()].insert(r.attempt()).second)
        return "assignment " + r.assignment_id() + " re-dispatched beyond the bound (attempt " +
               std::to_string(r.attempt()) + ")";
    }
  }
  return "";
}

uint32_t seed() {
  if (const char* s = std::getenv("LAPOR_MODEL_SEED")) return static_cast<uint32_t>(std::stoul(s));
  return 20261201;
}

int steps() {
  if (const char* s = std::getenv("LAPOR_MODEL_STEPS")) return std::stoi(s);
  return 300;
}

TEST(FollowUpModel, RandomWalksKeepEveryComplaintOwnedAndEveryStateMovingForward) {
  const auto s = seed();
  std::cout << "model seed " << s << " (LAPOR_MODEL_SEED to repeat), " << steps() << " steps"
            << std::endl;
  TopicReader lifecycle(g_stack->brokers(), kafka::kComplaintsTopic, TopicReader::From::End);
  World world(s);
  std::map<std::string, int> done;
  for (int i = 0; i < steps(); ++i) {
    std::string what;
    auto expect = world.step(&what);
    ++done[what.substr(0, what.find(' '))];
    if (std::getenv("LAPOR_MODEL_VERBOSE")) std::cout << "step " << i << ": " << what << std::endl;
    const auto problem = world.settle(expect);
    ASSERT_EQ(problem, "") << "seed " << s << ", step " << i << ": " << what << "\n"
                           << g_stack->logs();
  }
  ASSERT_TRUE(lifecycle.readToEnd(30s));
  EXPECT_EQ(boundsProblem(lifecycle.seen()), "") << "seed " << s;
  // The walk did what it is meant to exercise.
  std::set<std::string> kinds;
  for (const auto& m : lifecycle.seen())
    if (auto d = events::decode(m.value); d.envelope) kinds.insert(events::eventKind(*d.envelope));
  for (const char* k : {"submitted", "routed", "acknowledged", "rejected", "resolved",
                        "status_updated", "feedback", "reopened", "closed", "sla_breached",
                        "escalated", "redispatch_requested", "withdrawn"})
    EXPECT_TRUE(kinds.count(k)) << "the walk never produced " << k << " (seed " << s << ")";
  std::cout << "complaints: " << world.tracked().size() << "; steps:";
  for (const auto& [k, n] : done) std::cout << " " << k << " " << n;
  std::cout << std::endl;
}

// An emergency nobody acknowledges: each of its assignments breaches once, goes to the 112
// desk, is re-dispatched the configured number of times and climbs the chain one level per
// level deadline the supervisor lets pass, and then nothing more, however long it waits.
TEST(FollowUpModel, AnEmergencyLeftAloneProducesABoundedNumberOfEvents) {
  TopicReader lifecycle(g_stack->brokers(), kafka::kComplaintsTopic, TopicReader::From::End);
  v1::SubmitComplaintRequest req;
  req.set_channel(v1::CHANNEL_CALL_CENTRE_112);
  req.set_category("fire");
  req.set_priority(v1::PRIORITY_EMERGENCY);
  req.set_title("Kebakaran rumah, tidak ada yang menanggapi");
  req.set_description("Rumah terbakar di dekat pasar, penghuni masih di dalam");
  req.mutable_location()->set_kecamatan("Sangatta Utara");
  v1::SubmitComplaintResponse resp;
  ASSERT_TRUE(g_stack->stub<v1::IntakeService>("intake")->SubmitComplaint(plain().get(), req, &resp).ok());
  const auto cid = resp.complaint_id();
  // Left alone for 20 deadline periods.
  const auto until = std::chrono::steady_clock::now() + 20 * std::chrono::milliseconds(kEmergencyAckMs);
  waitFor([&] { return std::chrono::steady_clock::now() >= until; }, 60s, 200ms);
  ASSERT_TRUE(lifecycle.readToEnd(30s));
  // Distinct event ids per kind and assignment, for what the acknowledge clocks produce.
  auto count = [&] {
    std::map<std::string, std::map<std::string, std::set<std::string>>> per;
    for (const auto& e : eventsOf(lifecycle.seen(), cid)) {
      std::string key;
      if (e.has_sla_warning() && e.sla_warning().stage() == v1::SLA_STAGE_ACKNOWLEDGE)
        key = e.sla_warning().assignment_id();
      else if (e.has_sla_breached() && e.sla_breached().stage() == v1::SLA_STAGE_ACKNOWLEDGE)
        key = e.sla_breached().assignment_id();
      else if (e.has_redispatch_requested())
        key = e.redispatch_requested().assignment_id();
      else if (e.has_escalated() && e.escalated().stage() == v1::SLA_STAGE_ACKNOWLEDGE)
        key = e.escalated().assignment_id();
      else if (e.has_dispatched() &&
               e.dispatched().item().assignment().role() != v1::ASSIGNMENT_ROLE_SUPERVISOR)
        key = e.dispatched().item().assignment().assignment_id();
      else if (!e.has_routed())
        continue;
      per[events::eventKind(e)][key].insert(e.event_id());
    }
    return per;
  };
  auto per = count();
  // Three agencies (disdamkar, rsud-kudungga, polres-kutim), none acknowledging.
  ASSERT_EQ(per["sla_breached"].size(), 3u) << "one breach per acknowledge clock";
  for (const auto& [assignment, ids] : per["sla_breached"]) {
    EXPECT_EQ(ids.size(), 1u) << assignment;
    EXPECT_EQ(per["sla_warning"][assignment].size(), 1u) << assignment;
    EXPECT_EQ(per["redispatch_requested"][assignment].size(), size_t{kMaxRedispatches})
        << assignment;
    EXPECT_EQ(per["escalated"][assignment].size(), size_t{kChainLength})
        << assignment << ": the 112 desk, sekda, the inspectorate";
    // The routed copy of the new assignment, then its re-dispatches.
    EXPECT_EQ(per["dispatched"][assignment].size(), size_t{1 + kMaxRedispatches}) << assignment;
  }
  EXPECT_EQ(per["routed"][""].size(), 1u) << "a re-dispatch is not a new route";
  // Ten periods more: not one of these more.
  const auto later =
      std::chrono::steady_clock::now() + 10 * std::chrono::milliseconds(kEmergencyAckMs);
  waitFor([&] { return std::chrono::steady_clock::now() >= later; }, 60s, 200ms);
  ASSERT_TRUE(lifecycle.readToEnd(30s));
  EXPECT_EQ(count(), per);
  // The 112 desk holds one escalation item per agency, not one per period.
  v1::ListAssignmentsRequest list;
  list.set_agency_id("ncc-112");
  list.set_page_size(500);
  v1::ListAssignmentsResponse open;
  ASSERT_TRUE(g_stack->stub<v1::AgencyService>("notification")
                  ->ListAssignments(agencyContext("ncc-112").get(), list, &open)
                  .ok());
  int desk_items = 0;
  for (const auto& a : open.assignments()) desk_items += a.assignment().complaint_id() == cid;
  EXPECT_EQ(desk_items, 3);
  for (const auto& a : open.assignments())
    if (a.assignment().complaint_id() == cid) {
      EXPECT_EQ(a.tracking_id(), resp.tracking_id()) << "the supervisor sees which complaint";
      EXPECT_EQ(a.title(), req.title());
    }
}

// A reopened complaint reaches the agency that answered it: a REOPENED item on its feed with
// the reporter's reason, a fresh clock, and the agency can act on it (earlier versions sent it
// to nobody: the agency's only assignment was resolved, and Assign refused it).
TEST(FollowUpModel, AReopenedComplaintGoesBackToTheAgencyThatAnswered) {
  World world(2);
  auto intake = g_stack->stub<v1::IntakeService>("intake");
  auto agency = g_stack->stub<v1::AgencyService>("notification");
  v1::SubmitComplaintRequest req;
  req.set_channel(v1::CHANNEL_WEB);
  req.set_category("road-damage");
  req.set_priority(v1::PRIORITY_NORMAL);
  req.set_title("Jalan berlubang di depan sekolah");
  req.set_description("Lubang dalam di jalan depan SD 001");
  req.mutable_location()->set_kecamatan("Bengalon");
  v1::SubmitComplaintResponse submitted;
  ASSERT_TRUE(intake->SubmitComplaint(plain().get(), req, &submitted).ok());
  FeedReader feed(g_stack->endpoint("notification").grpc(), "dinas-pu");
  auto first = feed.waitForItem(
      [&](const v1::DispatchItem& i) {
        return i.complaint().complaint_id() == submitted.complaint_id();
      },
      30s);
  ASSERT_TRUE(first) << g_stack->logs();
  const auto assignment = first->assignment().assignment_id();
  v1::AcknowledgeRequest ack;
  ack.set_agency_id("dinas-pu");
  ack.set_assignment_id(assignment);
  v1::AcknowledgeResponse ack_resp;
  ASSERT_TRUE(agency->Acknowledge(agencyContext("dinas-pu").get(), ack, &ack_resp).ok());
  v1::ResolveRequest resolve;
  resolve.set_agency_id("dinas-pu");
  resolve.set_assignment_id(assignment);
  resolve.set_resolution("Lubang sudah ditambal");
  v1::UpdateStatusResponse resolved;
  ASSERT_TRUE(agency->Resolve(agencyContext("dinas-pu").get(), resolve, &resolved).ok());
  Tracked t;
  t.tracking_id = submitted.tracking_id();
  t.complaint_id = submitted.complaint_id();
  ASSERT_TRUE(waitFor(
      [&] { return world.view(t).status() == v1::COMPLAINT_STATUS_RESOLVED; }, 20s));

  v1::ReopenComplaintRequest reopen;
  reopen.set_tracking_id(submitted.tracking_id());
  reopen.set_reason("Lubangnya muncul lagi setelah hujan");
  reopen.set_reporter_secret(submitted.reporter_secret());
  v1::ReopenComplaintResponse reopened;
  ASSERT_TRUE(intake->ReopenComplaint(plain().get(), reopen, &reopened).ok());
  auto item = feed.waitForItem(
      [&](const v1::DispatchItem& i) {
        return i.complaint().complaint_id() == submitted.complaint_id() &&
               i.kind() == v1::DISPATCH_KIND_REOPENED;
      },
      30s);
  ASSERT_TRUE(item) << "dinas-pu got no REOPENED item\n" << g_stack->logs();
  EXPECT_NE(item->note().find("Lubangnya muncul lagi"), std::string::npos) << item->note();
  EXPECT_NE(item->assignment().assignment_id(), assignment) << "a new piece of work";
  EXPECT_EQ(world.view(t).status(), v1::COMPLAINT_STATUS_REOPENED) << "until someone acts";
  // A fresh acknowledge clock for the new assignment, owed by dinas-pu.
  ASSERT_TRUE(waitFor(
      [&] {
        for (const auto& o : world.obligations(submitted.complaint_id()))
          if (o.assignment_id() == item->assignment().assignment_id() &&
              o.stage() == v1::SLA_STAGE_ACKNOWLEDGE && o.state() == v1::OBLIGATION_STATE_OPEN)
            return true;
        return false;
      },
      20s));
  ack.set_assignment_id(item->assignment().assignment_id());
  ASSERT_TRUE(agency->Acknowledge(agencyContext("dinas-pu").get(), ack, &ack_resp).ok());
  EXPECT_TRUE(waitFor(
      [&] { return world.view(t).status() == v1::COMPLAINT_STATUS_IN_PROGRESS; }, 20s));
}

// The audit reads the obligations themselves: one deleted by hand leaves its complaint
// without an owner, and the gauge says so.
TEST(FollowUpModel, TheAuditFindsAComplaintWhoseObligationsWereDeleted) {
  World world(1);
  std::string what;
  auto expect = world.submit(&what);
  ASSERT_TRUE(expect);
  ASSERT_EQ(world.settle(expect), "");
  ASSERT_EQ(world.orphanGauge(), 0);
  const auto& cid = world.tracked().front().complaint_id;
  redis::RedisOptions ro;
  ro.host = requiredEnv("LAPOR_REDIS_HOST");
  ro.port = std::stoi(requiredEnv("LAPOR_REDIS_PORT"));
  ro.prefix = g_stack->redisPrefix();
  redis::RedisClient redis(ro, log::Logger("test", log::Level::Error));
  for (const auto& id : redis.command({"SMEMBERS", redis.key("sla:complaint:" + cid)}).elements)
    redis.command({"DEL", redis.key("sla:ob:" + id.str)});
  EXPECT_TRUE(waitFor([&] { return world.orphanGauge() >= 1; }, 15s))
      << "the audit did not notice";
  EXPECT_TRUE(waitFor(
      [&] {
        return g_stack->logs().find(world.tracked().front().tracking_id) != std::string::npos;
      },
      15s))
      << "the orphan is logged with its tracking id";
}

}  // namespace
}  // namespace lapor::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new lapor::testing::StackEnvironment);
  return RUN_ALL_TESTS();
}
