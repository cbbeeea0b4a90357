// The decisions are domain/reporter_notice.cpp's; this file keeps the little state they need
// and carries them out. A job is claimed by moving its due time one lease ahead (atomically,
// only when it is due), so an instance that dies mid-request leaves the job to another.
#include "reporter_notifier.h"

#include "config/secret_file.h"
#include "domain/reporter_notice.h"
#include "events/envelope.h"
#include "producer.h"

#include <filesystem>
#include <random>

namespace lapor::intake {

namespace {
constexpr int64_t kDoneTtlSeconds = 90 * 86400;

// KEYS: job, done, due. ARGV: job id, due at, then field/value pairs of the job.
// Returns 1 made, 0 known already (pending, or its outcome recorded).
constexpr const char* kMakeJob = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
)lua";

const redis::Script kMakeJobScript(kMakeJob);

// KEYS: due. ARGV: job id, now, lease until
constexpr const char* kClaim = R"lua(
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
)lua";

std::map<std::string, std::string> hashOf(const redis::Reply& r) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) out[r.elements[i].str] = r.elements[i + 1].str;
  return out;
}

std::string get(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? "" : it->second;
}
}  // namespace

ReporterNotifyMetrics::ReporterNotifyMetrics(prometheus::Registry& r)
    : attempts(prometheus::BuildCounter()
                   .Name("lapor_intake_reporter_notifications_attempts_total")
                   .Help("Attempts to notify a reporter, by channel and outcome (delivered, failed)")
                   .Register(r)),
      outcomes(prometheus::BuildCounter()
                   .Name("lapor_intake_reporter_notifications_total")
                   .Help("Reporter notifications by channel and final outcome (delivered, "
                         "given_up after the configured attempts)")
                   .Register(r)) {}

NotifySettings notifySettingsFrom(const config::Config& cfg) {
  NotifySettings s;
  s.max_attempts = static_cast<int>(cfg.getInt("notify", "max_attempts", 8, 1, 100));
  s.initial_backoff = cfg.getDuration("notify", "initial_backoff", std::chrono::seconds(2));
  s.max_backoff = cfg.getDuration("notify", "max_backoff", std::chrono::minutes(10));
  s.timeout = cfg.getDuration("notify", "timeout", std::chrono::seconds(10));
  s.poll = cfg.getDuration("notify", "poll_interval", std::chrono::milliseconds(500));
  if (s.initial_backoff < std::chrono::milliseconds(10))
    throw cfg.error("notify", "initial_backoff", "must be at least 10ms");
  if (s.max_backoff < s.initial_backoff)
    throw cfg.error("notify", "max_backoff", "must be at least notify.initial_backoff");
  if (s.timeout < std::chrono::milliseconds(100))
    throw cfg.error("notify", "timeout", "must be at least 100ms");
  if (s.poll < std::chrono::milliseconds(10))
    throw cfg.error("notify", "poll_interval", "must be at least 10ms");
  s.email = emailSettingsFrom(cfg);
  s.sms = smsSettingsFrom(cfg);
  const auto node = cfg.node("publishers");
  if (node && node.IsSequence()) {
    const auto dir = std::filesystem::path(cfg.source()).parent_path();
    for (size_t i = 0; i < node.size(); ++i) {
      const auto& n = node[i];
      if (!n["callback_url"]) continue;
      const auto where = "[" + std::to_string(i) + "]";
      CallbackTarget t;
      std::string secret_file;
      try {
        t.url = n["callback_url"].as<std::string>();
        secret_file = n["callback_secret_file"] ? n["callback_secret_file"].as<std::string>() : "";
      } catch (const YAML::Exception& e) {
        throw cfg.error("publishers", where, e.what());
      }
      if (!t.url.starts_with("http://") && !t.url.starts_with("https://"))
        throw cfg.error("publishers", where + ".callback_url", "must be an http:// or https:// URL");
      if (secret_file.empty())
        throw cfg.error("publishers", where + ".callback_secret_file",
                        "is required with callback_url (the key the callbacks are signed with)");
      std::filesystem::path p(secret_file);
      if (p.is_relative() && !cfg.source().empty()) p = dir / p;
      auto secret = config::readSecretFile(p.string());
      if (!secret || secret->empty())
        throw cfg.error("publishers", where + ".callback_secret_file",
                        "cannot read a secret from " + p.string());
      t.secret = *secret;
      s.callbacks[n["id"] ? n["id"].as<std::string>() : ""] = t;
    }
  }
  return s;
}

ReporterNotifier::ReporterNotifier(redis::RedisClient& redis, redis::RedisClient& send_redis,
                                   kafka::MessageSink& events, const time::Clock& clock,
                                   log::Logger logger, ReporterNotifyMetrics& metrics,
                                   NotifySettings settings)
    : redis_(redis),
      send_redis_(send_redis),
      events_(events),
      clock_(clock),
      log_(std::move(logger)),
      metrics_(metrics),
      settings_(std::move(settings)),
      sender_(settings_.poll, [this] {
        try {
          runDue();
        } catch (const std::exception& e) {
          log_.warn("reporter notification pass failed, retrying", {{"error", e.what()}});
        }
      }) {
  if (!settings_.email)
    log_.info("reporter notifications by e-mail are off", {{"enable_with", "email.enabled"}});
  if (!settings_.sms)
    log_.info("reporter notifications by SMS are off", {{"enable_with", "sms.enabled"}});
  if (settings_.callbacks.empty())
    log_.info("no publisher has a reporter callback",
              {{"enable_with", "publishers[].callback_url"}});
}

ReporterNotifier::~ReporterNotifier() {
  stop();
}

void ReporterNotifier::start() {
  sender_.start();
}

void ReporterNotifier::stop() {
  sender_.stop();
}

kafka::HandleResult ReporterNotifier::handle(const kafka::Message& msg) {
  return handleBatch({msg})[0];
}

std::vector<kafka::HandleResult> ReporterNotifier::handleBatch(
    const std::vector<kafka::Message>& batch) {
  // Three round trips for the whole batch, whatever it holds. The first carries every event's
  // writes and reads in the order read, so each event sees what the ones before it left, as
  // one at a time would: the facts of a notice are read right after its own event's writes.
  struct Step {
    v1::EventEnvelope env;
    NoticeContext ctx;
    size_t first_dispatch_reply = SIZE_MAX;  // GET of the first dispatch's id
    size_t role_reply = SIZE_MAX;            // HGET of the resolved assignment's role
    size_t facts_reply = SIZE_MAX;           // HGETALL of the complaint's facts
    size_t contact_reply = SIZE_MAX;         // HMGET of the reporter's contact (second trip)
    std::optional<Notice> notice;
    std::map<std::string, std::string> facts;
  };
  std::vector<Step> steps;
  redis::Pipeline first;
  for (const auto& msg : batch) {
    // What noticeOf() answers, and the two events that record who to tell and how.
    if (events::passBy(msg, {"submitted", "verified", "routed", "postponed", "reporter_asked",
                             "status_updated", "resolved", "reopened", "closed"}))
      continue;
    // The view's consumer dead-letters what cannot be read; one copy there is enough.
    auto decoded = events::decode(msg.value);
    if (!decoded.envelope) continue;
    Step st;
    st.env = std::move(*decoded.envelope);
    const auto& env = st.env;
    const auto& cid = env.complaint_id();
    const auto ckey = redis_.key("intake:notify:c:" + cid);
    if (env.has_submitted()) {
      const auto& c = env.submitted().complaint();
      first.command({"HSET", ckey, "tracking_id", c.tracking_id(), "title", c.title(), "channel",
                     std::to_string(c.channel()), "anonymous", c.anonymous() ? "1" : "0",
                     "publisher", c.publisher(), "reporter_ref", c.reporter_ref(),
                     "external_ref", c.external_ref()});
      continue;
    }
    if (env.has_verified()) {
      const auto& v = env.verified();
      std::vector<std::string> cmd{"HSET", ckey, "anonymous", v.anonymous() ? "1" : "0"};
      if (!v.title().empty()) cmd.insert(cmd.end(), {"title", v.title()});
      first.command(std::move(cmd));
    }
    if (env.has_routed()) {
      std::vector<std::string> roles{"HSET", redis_.key("intake:notify:roles:" + cid)};
      for (const auto& a : env.routed().assignments())
        if (!a.assignment_id().empty())
          roles.insert(roles.end(), {a.assignment_id(), a.role() == v1::ASSIGNMENT_ROLE_SUPPORT
                                                            ? "support"
                                                            : "lead"});
      if (roles.size() > 2) first.command(std::move(roles));
      if (isDispatch(env)) {
        // The first dispatch is the one whose id was stored first; a replay of it is still it.
        const auto key = redis_.key("intake:notify:dispatched:" + cid);
        first.command({"SET", key, env.event_id(), "NX"});
        st.first_dispatch_reply = first.size();
        first.command({"GET", key});
      }
    }
    if (env.has_resolved() && !env.resolved().assignment_id().empty()) {
      st.role_reply = first.size();
      first.command(
          {"HGET", redis_.key("intake:notify:roles:" + cid), env.resolved().assignment_id()});
    }
    st.facts_reply = first.size();
    first.command({"HGETALL", ckey});
    steps.push_back(std::move(st));
  }
  const auto replies =
      first.empty() ? std::vector<redis::Reply>{} : redis_.pipelineOrThrow(first, "notify facts");

  redis::Pipeline second;
  for (auto& st : steps) {
    const auto& env = st.env;
    if (st.first_dispatch_reply != SIZE_MAX)
      st.ctx.first_dispatch = replies[st.first_dispatch_reply].str == env.event_id();
    if (st.role_reply != SIZE_MAX && !replies[st.role_reply].isNil())
      st.ctx.resolved_role = replies[st.role_reply].str;
    st.notice = noticeOf(env, st.ctx);
    if (!st.notice) continue;
    st.facts = hashOf(replies[st.facts_reply]);
    if (st.facts.empty()) {
      // The submission was not seen (a group that started after it): nothing says who to tell.
      log_.warn("reporter not notified: the complaint's submission was not seen",
                {{"complaint_id", env.complaint_id()}, {"notice", st.notice->kind}});
      st.notice.reset();
      continue;
    }
    if (const auto ref = get(st.facts, "reporter_ref"); !ref.empty()) {
      st.contact_reply = second.size();
      second.command({"HMGET", redis_.key("intake:reporter:" + ref), "email", "phone"});
    }
  }
  const auto contacts = second.empty() ? std::vector<redis::Reply>{}
                                       : redis_.pipelineOrThrow(second, "reporter contacts");

  redis::Pipeline third;
  std::vector<std::tuple<const Step*, std::string>> made;  // per job: its event, its channel
  for (const auto& st : steps) {
    if (!st.notice) continue;
    const auto& env = st.env;
    const auto& cid = env.complaint_id();
    const auto& facts = st.facts;
    ReporterReach reach;
    reach.channel = static_cast<v1::Channel>(std::atoi(get(facts, "channel").c_str()));
    reach.anonymous = get(facts, "anonymous") == "1";
    const auto ref = get(facts, "reporter_ref");
    if (st.contact_reply != SIZE_MAX) {
      const auto& contact = contacts[st.contact_reply];
      if (contact.elements.size() == 2) {
        reach.has_email = !contact.elements[0].str.empty() && settings_.email;
        reach.has_phone = !contact.elements[1].str.empty() && settings_.sms;
      }
    }
    reach.publisher_callback = settings_.callbacks.count(get(facts, "publisher")) > 0;
    for (const auto& channel : channelsFor(reach)) {
      const auto job_id = events::nameUuid("reporter-notice/" + env.event_id() + "/" + channel);
      third.eval(
          kMakeJobScript,
          {redis_.key("intake:notify:job:" + job_id), redis_.key("intake:notify:done:" + job_id),
           redis_.key("intake:notify:due")},
          {job_id, std::to_string(clock_.nowMs()), "complaint_id", cid, "channel", channel,
           "notice", st.notice->kind, "status", statusName(st.notice->status), "message",
           st.notice->message, "summary", noticeSummary(*st.notice), "tracking_id",
           get(facts, "tracking_id"), "title", get(facts, "title"), "external_ref",
           get(facts, "external_ref"), "publisher", get(facts, "publisher"), "reporter_ref", ref,
           "cause", env.event_id(), "at_ms", std::to_string(env.occurred_at_ms()), "trace_id",
           env.trace_id(), "attempts", "0"});
      made.emplace_back(&st, channel);
    }
  }
  if (!third.empty()) {
    const auto jobs = redis_.pipelineOrThrow(third, "notify jobs");
    for (size_t j = 0; j < made.size(); ++j)
      if (jobs[j].integer == 1) {
        const auto& [st, channel] = made[j];
        log_.debug("reporter notification queued",
                   {{"complaint_id", st->env.complaint_id()}, {"notice", st->notice->kind},
                    {"channel", channel}, {"trace_id", st->env.trace_id()}});
      }
  }
  return std::vector<kafka::HandleResult>(batch.size(), kafka::HandleResult::done());
}

int ReporterNotifier::runDue() {
  auto due = send_redis_.command({"ZRANGEBYSCORE", send_redis_.key("intake:notify:due"), "-inf",
                             std::to_string(clock_.nowMs()), "LIMIT", "0", "20"});
  int n = 0;
  for (const auto& e : due.elements) {
    if (sender_.stopping()) break;
    attempt(e.str);
    ++n;
  }
  return n;
}

void ReporterNotifier::attempt(const std::string& job_id) {
  const auto due_key = send_redis_.key("intake:notify:due");
  const auto job_key = send_redis_.key("intake:notify:job:" + job_id);
  const auto now = clock_.nowMs();
  // Longer than one request can take.
  const auto lease = settings_.timeout * 3 + std::chrono::seconds(1);
  if (send_redis_.eval(kClaim, {due_key}, {job_id, std::to_string(now), std::to_string(now + lease.count())})
          .integer != 1)
    return;  // another instance has it
  const auto job = hashOf(send_redis_.command({"HGETALL", job_key}));
  if (job.empty()) {
    send_redis_.command({"ZREM", due_key, job_id});
    return;
  }
  const auto channel = get(job, "channel");
  const int attempts = 1 + std::atoi(get(job, "attempts").c_str());
  if (get(job, "final") == "1") {
    // The message went out (or was given up) but its record did not: record it again.
    giveUpOrDone(job_id, job, get(job, "delivered") == "1", attempts - 1, get(job, "last_error"));
    return;
  }
  OutgoingNotice n;
  n.notification_id = job_id;
  n.cause = get(job, "cause");
  n.tracking_id = get(job, "tracking_id");
  n.external_ref = get(job, "external_ref");
  n.title = get(job, "title");
  n.notice = get(job, "notice");
  n.notice_words = noticeWords(n.notice);
  n.summary = get(job, "summary");
  n.status = get(job, "status");
  n.message = get(job, "message");
  n.at_ms = std::atoll(get(job, "at_ms").c_str());
  std::string error;
  // The contact is read when sending, from the one place intake keeps it.
  auto contact = [&](const char* field) {
    const auto ref = get(job, "reporter_ref");
    if (ref.empty()) return std::string();
    auto r = send_redis_.command({"HGET", send_redis_.key("intake:reporter:" + ref), field});
    return r.isNil() ? std::string() : r.str;
  };
  if (channel == kChannelCallback) {
    auto it = settings_.callbacks.find(get(job, "publisher"));
    error = it == settings_.callbacks.end()
                ? "the publisher has no callback_url any more"
                : sendCallback(it->second, n, now / 1000, settings_.timeout);
  } else if (channel == kChannelEmail) {
    n.to = contact("email");
    error = settings_.email ? sendEmail(*settings_.email, n, settings_.timeout)
                            : "e-mail is off (email.enabled)";
  } else if (channel == kChannelSms) {
    n.to = contact("phone");
    error = settings_.sms ? sendSms(*settings_.sms, n, settings_.timeout)
                          : "SMS is off (sms.enabled)";
  } else {
    error = "unknown channel " + channel;
  }
  metrics_.attempts.Add({{"channel", channel}, {"outcome", error.empty() ? "delivered" : "failed"}})
      .Increment();
  if (error.empty() || attempts >= settings_.max_attempts) {
    send_redis_.command({"HSET", job_key, "final", "1", "delivered", error.empty() ? "1" : "0",
                    "attempts", std::to_string(attempts), "last_error", error});
    giveUpOrDone(job_id, job, error.empty(), attempts, error);
    return;
  }
  // Exponential backoff with jitter: a random point in the upper half of the interval.
  auto base = settings_.initial_backoff.count() << std::min(attempts - 1, 20);
  base = std::min<int64_t>(base, settings_.max_backoff.count());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto delay = base / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(base / 2 + 1));
  send_redis_.command({"HSET", job_key, "attempts", std::to_string(attempts), "last_error", error});
  send_redis_.command({"ZADD", due_key, std::to_string(clock_.nowMs() + delay), job_id});
  log_.warn("reporter notification failed, will retry",
            {{"complaint_id", get(job, "complaint_id")}, {"channel", channel},
             {"attempt", attempts}, {"error", error}, {"retry_in_ms", delay}});
}

void ReporterNotifier::giveUpOrDone(const std::string& job_id,
                                    const std::map<std::string, std::string>& job, bool delivered,
                                    int attempts, const std::string& error) {
  const auto due_key = send_redis_.key("intake:notify:due");
  const auto cid = get(job, "complaint_id");
  const auto channel = get(job, "channel");
  auto env = events::makeEnvelope(kProducer, cid, get(job, "trace_id"), clock_.nowMs(),
                                  events::nameUuid("reporter-notified/" + job_id));
  auto* r = env.mutable_reporter_notified();
  r->set_notice(get(job, "notice"));
  r->set_channel(channel);
  r->set_delivered(delivered);
  r->set_attempts(attempts);
  r->set_cause(get(job, "cause"));
  if (!events_.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env),
                              settings_.produce_timeout)
           .ok) {
    send_redis_.command({"ZADD", due_key, std::to_string(clock_.nowMs() + 1000), job_id});
    return;  // record it once the broker answers
  }
  send_redis_.command({"SET", send_redis_.key("intake:notify:done:" + job_id), delivered ? "delivered" : "given_up",
                  "EX", std::to_string(kDoneTtlSeconds)});
  send_redis_.command({"DEL", send_redis_.key("intake:notify:job:" + job_id)});
  send_redis_.command({"ZREM", due_key, job_id});
  metrics_.outcomes.Add({{"channel", channel}, {"outcome", delivered ? "delivered" : "given_up"}})
      .Increment();
  if (delivered)
    log_.debug("reporter notified", {{"complaint_id", cid}, {"channel", channel},
                                    {"notice", get(job, "notice")}, {"attempts", attempts}});
  else
    log_.error("reporter notification given up",
               {{"complaint_id", cid}, {"channel", channel}, {"notice", get(job, "notice")},
                {"attempts", attempts}, {"error", error}});
}

}  // namespace lapor::intake
