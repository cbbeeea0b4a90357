// Idempotency across instances: the key is claimed in Redis (SET if absent, atomically) before
// anything is produced. The claim holds "pending <ids>" and the exact ComplaintSubmitted event
// (with its event id) about to be produced, for the whole idempotency TTL; a separate lease key,
// set with it, expires after the owner's wait for Kafka. After Kafka's acknowledgement the claim
// becomes "done <ids>"; when Kafka fails or times out, the owner drops only the lease (the
// event may have been written after all), so the next retry completes the same submission.
// A second instance that finds "pending" with a live lease waits for the owner's outcome; once
// the lease has lapsed (the owner crashed between the acknowledgement and "done", or before
// producing), the retry takes the lease and produces the SAME event again, with the same event
// id, complaint id and tracking id. Consumers drop a repeated event id, so a crash can never turn
// one idempotency key into two complaints.
#include "submission.h"

#include "auth/sha256.h"
#include "domain/tracking_id.h"
#include "events/envelope.h"
#include "events/names.h"
#include "producer.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

namespace lapor::intake {

namespace {

// KEYS: the claim, its lease. ARGV: the pending claim, the lease TTL, the claim TTL.
// "" when the caller now owns the key; the value when it is done; "R" + value when the lease
// had lapsed and the caller took it over; "W" + value when the owner still holds the lease.
constexpr const char* kClaimScript = R"lua(
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  return ''
end
if string.sub(v, 1, 5) == 'done ' then return v end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return 'R' .. v end
return 'W' .. v
)lua";

constexpr const char* kReleaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  return redis.call('DEL', KEYS[1])
end
return 0
)lua";

// "<state> <complaint id> <tracking id> <ms> <reporter secret> <fingerprint>": claims written
// before the secret and the fingerprint existed end after <ms>.
std::string encode(const std::string& state, const SubmissionService::Reserved& r) {
  return state + " " + r.complaint_id + " " + r.tracking_id + " " + std::to_string(r.submitted_ms) +
         " " + (r.reporter_secret.empty() ? "-" : r.reporter_secret) + " " +
         (r.fingerprint.empty() ? "-" : r.fingerprint);
}

// What the request asks, whatever key it came with: equal for a true retry.
std::string fingerprintOf(const v1::SubmitComplaintRequest& req) {
  auto copy = req;
  copy.clear_idempotency_key();
  return auth::sha256Hex(copy.SerializeAsString());
}
}  // namespace

std::string newReporterSecret() {
  static const char* kDigits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  unsigned char b[17] = {};
  if (RAND_bytes(b, 16) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string out;
  int bits = 0, acc = 0;
  for (int i = 0; i < 17 && out.size() < 26; ++i) {
    acc = (acc << 8) | b[i];
    bits += 8;
    while (bits >= 5 && out.size() < 26) {
      out += kDigits[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

std::string reporterSecretKey(const std::string& complaint_id) {
  return "intake:reporter-secret:" + complaint_id;
}

v1::ReportType reportTypeOf(const v1::SubmitComplaintRequest& req,
                            const agencies::AgencyDirectory& directory) {
  if (req.report_type() != v1::REPORT_TYPE_UNSPECIFIED) return req.report_type();
  const auto* cat = directory.category(req.category());
  return events::knownReportType(cat ? cat->report_type : v1::REPORT_TYPE_UNSPECIFIED);
}

std::string priorityName(v1::Priority p) {
  switch (p) {
    case v1::PRIORITY_EMERGENCY:
      return "emergency";
    case v1::PRIORITY_HIGH:
      return "high";
    case v1::PRIORITY_NORMAL:
      return "normal";
    case v1::PRIORITY_LOW:
      return "low";
    default:
      return "unknown";
  }
}

IntakeMetrics::IntakeMetrics(prometheus::Registry& r)
    : submitted(prometheus::BuildCounter()
                    .Name("lapor_intake_complaints_submitted_total")
                    .Help("Complaints accepted (Kafka acknowledged), by channel and priority")
                    .Register(r)),
      rejected(prometheus::BuildCounter()
                   .Name("lapor_intake_submissions_rejected_total")
                   .Help("Submissions refused, by reason")
                   .Register(r)),
      submit_seconds(prometheus::BuildHistogram()
                         .Name("lapor_intake_submit_duration_seconds")
                         .Help("Time to accept a complaint, including the Kafka acknowledgement")
                         .Register(r)),
      view_events(prometheus::BuildCounter()
                      .Name("lapor_intake_view_events_total")
                      .Help("Lifecycle events applied to the tracking view, by type")
                      .Register(r)),
      duplicates(prometheus::BuildCounter()
                     .Name("lapor_intake_duplicate_submissions_total")
                     .Help("Retries answered with the tracking id of an earlier submission")
                     .Register(r)),
      open311_requests(prometheus::BuildCounter()
                           .Name("lapor_intake_open311_requests_total")
                           .Help("Open311 HTTP requests, by resource and status code")
                           .Register(r)) {}

SubmissionService::SubmissionService(const agencies::AgencyDirectory& directory,
                                     redis::RedisClient& redis, kafka::MessageSink& events,
                                     const time::Clock& clock, log::Logger logger,
                                     IntakeMetrics& metrics, const PublisherRegistry& publishers,
                                     const ResponseTimes& response_times,
                                     SubmissionSettings settings)
    : directory_(directory),
      redis_(redis),
      events_(events),
      clock_(clock),
      log_(std::move(logger)),
      metrics_(metrics),
      publishers_(publishers),
      limiter_(redis),
      response_times_(response_times),
      settings_(settings) {}

std::string SubmissionService::reserveTrackingId(const std::string& complaint_id) {
  // 40 random bits: a collision is rare but possible, and SET NX makes it impossible to hand
  // one id out twice, across restarts and instances.
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto id = TrackingId::generate();
    auto r = redis_.command({"SET", redis_.key("intake:tracking:" + id), complaint_id, "NX"});
    if (!r.isNil()) return id;
  }
  throw redis::RedisError("could not reserve a unique tracking id");
}

std::chrono::milliseconds SubmissionService::leaseTtl() const {
  // The lease outlives our own wait for Kafka, so it cannot lapse while we still produce.
  return settings_.produce_timeout + std::chrono::seconds(10);
}

std::vector<std::string> SubmissionService::claimArgs(const std::string& pending) const {
  return {pending, std::to_string(leaseTtl().count()),
          std::to_string(settings_.idempotency_ttl.count())};
}

bool SubmissionService::parseClaim(const std::string& reply, Claim* claim) {
  *claim = Claim{};
  if (reply.empty()) return true;
  std::string value = reply;
  const char mark = value[0];
  if (mark == 'R' || mark == 'W') value.erase(0, 1);
  const auto nl = value.find('\n');
  std::istringstream in(value.substr(0, nl));
  std::string state;
  in >> state >> claim->earlier.complaint_id >> claim->earlier.tracking_id >>
      claim->earlier.submitted_ms >> claim->earlier.reporter_secret >> claim->earlier.fingerprint;
  if (claim->earlier.reporter_secret == "-") claim->earlier.reporter_secret.clear();
  if (claim->earlier.fingerprint == "-") claim->earlier.fingerprint.clear();
  if (state == "done") {
    claim->kind = Claim::Kind::Done;
    return true;
  }
  if (mark == 'R') {
    claim->kind = Claim::Kind::Resume;
    if (nl != std::string::npos) claim->event = value.substr(nl + 1);
    return true;
  }
  return false;  // another instance holds the lease
}

SubmissionService::Claim SubmissionService::claimIdempotencyKey(const std::string& key,
                                                                const std::string& pending) {
  // A lapsed lease is taken over by the next attempt, so waiting a little past it is enough.
  const auto deadline = std::chrono::steady_clock::now() + leaseTtl() + std::chrono::seconds(2);
  while (true) {
    auto r = redis_.eval(kClaimScript, {key, key + ":lease"}, claimArgs(pending));
    Claim claim;
    if (parseClaim(r.str, &claim)) return claim;
    // Another instance holds the lease and is waiting for Kafka: its outcome decides ours.
    if (std::chrono::steady_clock::now() > deadline)
      throw redis::RedisError("an earlier submission with this key is still in progress");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void SubmissionService::release(const std::string& idem_key, const std::string& pending,
                                const Reserved& mine, const std::string& reporter_ref) {
  try {
    if (!idem_key.empty()) redis_.eval(kReleaseScript, {idem_key, idem_key + ":lease"}, {pending});
    std::vector<std::string> del{"DEL", redis_.key(reporterSecretKey(mine.complaint_id))};
    if (!mine.tracking_id.empty()) del.push_back(redis_.key("intake:tracking:" + mine.tracking_id));
    if (!reporter_ref.empty()) del.push_back(redis_.key("intake:reporter:" + reporter_ref));
    redis_.command(del);
  } catch (const redis::RedisError& e) {
    // A claim left behind is resumed by a retry once its lease lapses; an unused tracking id is
    // harmless.
    log_.warn("could not release a failed submission's reservations", {{"error", e.what()}});
  }
}

void SubmissionService::addDone(redis::Pipeline& p, const std::string& idem_key,
                                const Reserved& r) const {
  p.command({"SET", idem_key, encode("done", r), "PX",
             std::to_string(settings_.idempotency_ttl.count())});
  p.command({"DEL", idem_key + ":lease"});
}

void SubmissionService::markDone(const std::string& idem_key, const Reserved& r,
                                 const log::Logger& logger) {
  if (idem_key.empty()) return;
  try {
    redis::Pipeline p;
    addDone(p, idem_key, r);
    redis_.pipelineOrThrow(p, "idempotency key");
  } catch (const redis::RedisError& e) {
    // Accepted all the same: Kafka has it, and the pending claim still holds the event, so a
    // retry produces that same event again (same event id) rather than a second complaint.
    logger.warn("could not mark the idempotency key done", {{"error", e.what()}});
  }
}

void SubmissionService::produceLane(const v1::EventEnvelope& env) {
  if (env.submitted().complaint().priority() != v1::PRIORITY_EMERGENCY) return;
  // Only once the record on the lifecycle topic is acknowledged, so routing never decides a
  // submission that has no record (an instance that died between the two writes, a caller
  // that never retried); not waited for: a lane copy that is lost only leaves routing the
  // ordinary way.
  (void)events_.produce(events::toMessage(kafka::kEmergencySubmittedTopic, env));
}

SubmitOutcome SubmissionService::resume(const std::string& idem_key, const Claim& claim,
                                        v1::Priority priority) {
  SubmitOutcome out;
  auto logger = log_.with({{"complaint_id", claim.earlier.complaint_id}});
  v1::EventEnvelope env;
  if (!env.ParseFromString(claim.event) || !env.has_submitted() ||
      env.submitted().complaint().complaint_id() != claim.earlier.complaint_id) {
    logger.error("an interrupted submission's claim holds no usable event");
    out.message = "an earlier submission with this key cannot be completed; retry later";
    return out;
  }
  // The owner of this claim stopped before marking it done (it may or may not have reached
  // Kafka): produce its very event again; a repeated event id is dropped by every consumer.
  auto report = events_.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env),
                                       settings_.produce_timeout);
  if (report.ok) produceLane(env);
  if (!report.ok) {
    try {
      redis_.command({"DEL", idem_key + ":lease"});  // the next retry may try again at once
    } catch (const redis::RedisError&) {
      // The lease lapses by itself.
    }
    metrics_.rejected.Add({{"reason", "event-log-unavailable"}}).Increment();
    logger.error("interrupted submission not completed: event log did not acknowledge",
                 {{"error", report.error}});
    out.message = "event log unavailable (" + report.error + "); retry later";
    return out;
  }
  markDone(idem_key, claim.earlier, logger);
  metrics_.duplicates.Add({}).Increment();
  logger.info("interrupted submission completed with its original event",
              {{"event_id", env.event_id()}, {"tracking_id", claim.earlier.tracking_id}});
  return accepted(claim.earlier, priority, true);
}

std::optional<SubmitOutcome> SubmissionService::conflict(
    const Reserved& earlier, const Reserved& mine, const v1::SubmitComplaintRequest& req) const {
  if (earlier.fingerprint.empty() || earlier.fingerprint == mine.fingerprint) return std::nullopt;
  metrics_.rejected.Add({{"reason", "idempotency-conflict"}}).Increment();
  SubmitOutcome out;
  out.kind = SubmitOutcome::Kind::Conflict;
  const auto what = !req.idempotency_key().empty()
                        ? "idempotency_key '" + req.idempotency_key() + "'"
                        : "external_ref '" + req.external_ref() + "'";
  out.message = what + " was already used for a different complaint (" + earlier.tracking_id +
                "); nothing was recorded: send a new key for a new complaint, or the same "
                "request to retry it";
  return out;
}

SubmitOutcome SubmissionService::accepted(const Reserved& r, v1::Priority priority,
                                          bool duplicate) const {
  SubmitOutcome out;
  out.kind = SubmitOutcome::Kind::Accepted;
  out.response.set_tracking_id(r.tracking_id);
  out.response.set_complaint_id(r.complaint_id);
  out.response.set_duplicate(duplicate);
  out.response.set_reporter_secret(r.reporter_secret);
  const auto expected = response_times_.expected(priority, r.submitted_ms);
  out.response.set_expected_response_seconds(expected.seconds);
  out.response.set_expected_response(expected.words);
  out.response.set_expected_response_by_ms(expected.by_ms);
  return out;
}

std::string SubmissionService::idempotencyKeyOf(const v1::SubmitComplaintRequest& req,
                                                const Publisher& publisher) const {
  if (!req.idempotency_key().empty())
    return redis_.key("intake:idem:" + publisher.id +
                      ":key:" + auth::sha256Hex(req.idempotency_key()));
  if (!req.external_ref().empty())
    return redis_.key("intake:idem:" + publisher.id + ":ref:" + auth::sha256Hex(req.external_ref()));
  return "";
}

v1::EventEnvelope SubmissionService::submittedEvent(const v1::SubmitComplaintRequest& req,
                                                    const Reserved& mine,
                                                    const std::string& reporter_ref,
                                                    const Publisher& publisher,
                                                    const std::string& trace_id) const {
  auto env = events::makeEnvelope(kProducer, mine.complaint_id, trace_id, mine.submitted_ms);
  auto* c = env.mutable_submitted()->mutable_complaint();
  c->set_complaint_id(mine.complaint_id);
  c->set_tracking_id(mine.tracking_id);
  c->set_channel(req.channel());
  c->set_category(req.category());
  c->set_priority(req.priority());
  c->set_report_type(reportTypeOf(req, directory_));
  c->set_title(req.title());
  c->set_description(req.description());
  const auto& l = req.location();
  auto* loc = c->mutable_location();
  loc->set_has_coordinates(l.has_coordinates());
  loc->set_lat(l.lat());
  loc->set_lon(l.lon());
  loc->set_kecamatan(l.kecamatan());
  loc->set_desa(l.desa());
  loc->set_address(l.address());
  c->set_reporter_ref(reporter_ref);
  c->set_anonymous(req.anonymous());
  c->set_confidential(req.confidential());
  for (const auto& a : req.attachments()) {
    auto* att = c->add_attachments();
    att->set_url(a.url());
    att->set_content_type(a.content_type());
  }
  c->set_external_ref(req.external_ref());
  c->set_publisher(publisher.id);
  c->set_submitted_at_ms(mine.submitted_ms);
  return env;
}

SubmitOutcome SubmissionService::submit(const v1::SubmitComplaintRequest& req,
                                        const std::optional<std::string>& api_key,
                                        const std::string& trace_id) {
  auto all = submitAll({&req}, api_key, trace_id);
  return all.refused ? std::move(*all.refused) : std::move(all.items.front());
}

namespace {
SubmitOutcome unavailableOutcome(std::string message) {
  SubmitOutcome out;
  out.kind = SubmitOutcome::Kind::Unavailable;
  out.message = std::move(message);
  return out;
}

SubmitOutcome invalidOutcome(std::vector<FieldViolation> violations,
                             std::string heading = "invalid complaint:") {
  SubmitOutcome out;
  out.kind = SubmitOutcome::Kind::Invalid;
  out.violations = std::move(violations);
  out.message = std::move(heading);
  for (const auto& v : out.violations) out.message += " " + v.field + ": " + v.description + ";";
  return out;
}
}  // namespace

// Each step runs for every complaint still undecided, in one Redis round trip (or one wait for
// Kafka) for all of them; a complaint's outcome is the one submit() alone gives it.
SubmissionBatchOutcome SubmissionService::submitAll(
    const std::vector<const v1::SubmitComplaintRequest*>& reqs,
    const std::optional<std::string>& api_key, const std::string& trace_id) {
  const auto started = std::chrono::steady_clock::now();
  SubmissionBatchOutcome batch;
  auto auth = publishers_.authenticate(api_key);
  if (!auth.publisher) {
    metrics_.rejected.Add({{"reason", "unauthenticated"}}).Increment();
    SubmitOutcome out;
    out.kind = SubmitOutcome::Kind::Unauthenticated;
    out.message = auth.error;
    batch.refused = std::move(out);
    return batch;
  }
  const Publisher& publisher = *auth.publisher;

  // The list itself: one key per complaint, so no two claims in one call wait for each other.
  struct Item {
    const v1::SubmitComplaintRequest* req = nullptr;
    std::string idem_key;
    Reserved mine;
    std::string reporter_ref;
    v1::EventEnvelope env;
    std::string pending;  // the claim written for idem_key
    bool open = false;    // still to be decided
  };
  std::vector<Item> items(reqs.size());
  {
    std::vector<FieldViolation> list;
    if (reqs.empty()) list.push_back({"complaints", "at least one complaint is required"});
    if (reqs.size() > kMaxBatch)
      list.push_back({"complaints", std::to_string(reqs.size()) + " given, at most " +
                                        std::to_string(kMaxBatch) + " per call"});
    std::map<std::string, size_t> first;
    for (size_t i = 0; i < reqs.size() && reqs.size() <= kMaxBatch; ++i) {
      items[i].req = reqs[i];
      items[i].idem_key = idempotencyKeyOf(*reqs[i], publisher);
      if (items[i].idem_key.empty()) continue;
      auto [at, fresh] = first.emplace(items[i].idem_key, i);
      if (fresh) continue;
      const auto field = reqs[i]->idempotency_key().empty() ? "external_ref" : "idempotency_key";
      list.push_back({"complaints[" + std::to_string(i) + "]." + field,
                      std::string("the same ") + field + " as complaints[" +
                          std::to_string(at->second) + "]; each complaint needs its own"});
    }
    if (!list.empty()) {
      metrics_.rejected.Add({{"reason", "invalid"}}).Increment(static_cast<double>(reqs.size()));
      batch.refused =
          invalidOutcome(std::move(list), "invalid list of complaints, nothing was recorded:");
      return batch;
    }
  }
  // Drops what of the complaint's reservations was written, and answers it so.
  auto store_unavailable = [&](Item& it, const std::string& error) {
    release("", "", it.mine, it.reporter_ref);
    metrics_.rejected.Add({{"reason", "store-unavailable"}}).Increment();
    batch.items[&it - items.data()] = unavailableOutcome(
        "complaint store unavailable (" + error + "); nothing was recorded, retry later");
    it.open = false;
  };

  // Every complaint of the call counts against the publisher's limit, as one call each would.
  RateLimiter::Taken taken;
  try {
    taken = limiter_.take(publisher, publishers_.window(), static_cast<int64_t>(reqs.size()));
  } catch (const redis::RedisError& e) {
    metrics_.rejected.Add({{"reason", "store-unavailable"}}).Increment(static_cast<double>(reqs.size()));
    log_.error("intake store unavailable", {{"error", e.what()}});
    batch.refused = unavailableOutcome("complaint store unavailable; nothing was recorded, retry later");
    return batch;
  }
  batch.items.resize(reqs.size());
  const auto now = clock_.nowMs();
  for (size_t i = 0; i < items.size(); ++i) {
    auto& it = items[i];
    if (static_cast<int64_t>(i) >= taken.allowed) {
      const auto wait = taken.retry_after.value_or(publishers_.window());
      metrics_.rejected.Add({{"reason", "rate-limited"}}).Increment();
      auto& out = batch.items[i];
      out.kind = SubmitOutcome::Kind::RateLimited;
      out.retry_after = wait;
      out.message = "publisher '" + publisher.id + "' is over its limit of " +
                    std::to_string(publisher.rate_limit) + " submissions per " +
                    std::to_string(publishers_.window().count() / 1000) + " s; retry in " +
                    std::to_string((wait.count() + 999) / 1000) + " s";
      continue;
    }
    auto violations = validateSubmission(*it.req, directory_, settings_.limits, now);
    if (!violations.empty()) {
      metrics_.rejected.Add({{"reason", "invalid"}}).Increment();
      log_.info("submission rejected", {{"violations", violations.size()},
                                        {"first_field", violations.front().field},
                                        {"publisher", publisher.id}});
      batch.items[i] = invalidOutcome(std::move(violations));
      continue;
    }
    it.open = true;
  }

  // One round trip: each complaint's reporter records and its tracking id (SET NX; again alone
  // on the rare collision).
  {
    redis::Pipeline records;
    std::vector<std::pair<Item*, size_t>> tracking;  // the item, the reply of its SET NX
    for (auto& it : items) {
      if (!it.open) continue;
      it.mine = Reserved{events::newUuid(), TrackingId::generate(), now, newReporterSecret(),
                         fingerprintOf(*it.req)};
      // Only the reporter gets the secret; intake keeps its hash, as for every key it checks.
      records.command({"SET", redis_.key(reporterSecretKey(it.mine.complaint_id)),
                       auth::sha256Hex(it.mine.reporter_secret)});
      const auto& rep = it.req->reporter();
      if (!rep.name().empty() || !rep.phone().empty() || !rep.email().empty() ||
          !rep.device_id().empty()) {
        // Personal data stays here, in intake's own store; events carry only the opaque ref.
        it.reporter_ref = events::newUuid();
        records.command({"HSET", redis_.key("intake:reporter:" + it.reporter_ref), "name",
                         rep.name(), "phone", rep.phone(), "email", rep.email(), "device_id",
                         rep.device_id(), "complaint_id", it.mine.complaint_id});
      }
      tracking.emplace_back(&it, records.size());
      records.command({"SET", redis_.key("intake:tracking:" + it.mine.tracking_id),
                       it.mine.complaint_id, "NX"});
    }
    if (!records.empty()) {
      try {
        const auto replies = redis_.pipelineOrThrow(records, "submission records");
        for (auto [it, at] : tracking) {
          if (!replies[at].isNil()) continue;
          it->mine.tracking_id.clear();
          try {
            it->mine.tracking_id = reserveTrackingId(it->mine.complaint_id);
          } catch (const redis::RedisError& e) {
            log_.error("intake store unavailable", {{"error", e.what()}});
            store_unavailable(*it, e.what());
          }
        }
      } catch (const redis::RedisError& e) {
        log_.error("intake store unavailable", {{"error", e.what()}});
        for (auto [it, at] : tracking) store_unavailable(*it, e.what());
      }
    }
  }

  for (auto& it : items) {
    if (!it.open) continue;
    it.env = submittedEvent(*it.req, it.mine, it.reporter_ref, publisher, trace_id);
    // The claim carries the exact event, so whoever resumes it produces the same event id.
    if (!it.idem_key.empty())
      it.pending = encode("pending", it.mine) + "\n" + it.env.SerializeAsString();
  }

  // One round trip claims every key; a key whose owner still waits for Kafka is claimed alone.
  {
    redis::Pipeline claims;
    std::vector<Item*> claimed;
    for (auto& it : items) {
      if (!it.open || it.idem_key.empty()) continue;
      claims.eval(kClaimScript, {it.idem_key, it.idem_key + ":lease"}, claimArgs(it.pending));
      claimed.push_back(&it);
    }
    std::vector<redis::Reply> replies;
    if (!claims.empty()) {
      try {
        replies = redis_.pipelineOrThrow(claims, "idempotency keys");
      } catch (const redis::RedisError& e) {
        log_.error("intake store unavailable", {{"error", e.what()}});
        for (auto* it : claimed) store_unavailable(*it, e.what());
        claimed.clear();
      }
    }
    for (size_t k = 0; k < claimed.size(); ++k) {
      auto& it = *claimed[k];
      Claim claim;
      if (!parseClaim(replies[k].str, &claim)) {
        try {
          claim = claimIdempotencyKey(it.idem_key, it.pending);
        } catch (const redis::RedisError& e) {
          log_.error("intake store unavailable", {{"error", e.what()}});
          store_unavailable(it, e.what());
          continue;
        }
      }
      if (claim.kind == Claim::Kind::Mine) continue;
      // The earlier submission's ids answer this retry; ours were never used.
      it.open = false;
      auto& out = batch.items[&it - items.data()];
      release("", "", it.mine, it.reporter_ref);
      if (auto refused = conflict(claim.earlier, it.mine, *it.req)) {
        out = std::move(*refused);
      } else if (claim.kind == Claim::Kind::Resume) {
        out = resume(it.idem_key, claim, it.req->priority());
      } else {
        metrics_.duplicates.Add({}).Increment();
        log_.info("duplicate submission answered with the earlier tracking id",
                  {{"complaint_id", claim.earlier.complaint_id}, {"publisher", publisher.id}});
        out = accepted(claim.earlier, it.req->priority(), true);
      }
    }
  }

  // Every event in flight at once, then one wait for all the acknowledgements.
  std::vector<Item*> produced;
  std::vector<std::future<kafka::DeliveryReport>> inflight;
  for (auto& it : items) {
    if (!it.open) continue;
    produced.push_back(&it);
    inflight.push_back(events_.produce(events::toMessage(kafka::kComplaintsTopic, it.env)));
  }
  const auto reports = kafka::awaitReports(inflight, settings_.produce_timeout);
  redis::Pipeline done, leases;
  std::vector<std::pair<Item*, const kafka::DeliveryReport*>> acknowledged;
  for (size_t k = 0; k < produced.size(); ++k) {
    auto& it = *produced[k];
    const auto& report = reports[k];
    auto& out = batch.items[&it - items.data()];
    if (report.ok) {
      acknowledged.emplace_back(&it, &report);
      if (!it.idem_key.empty()) addDone(done, it.idem_key, it.mine);
      produceLane(it.env);
      continue;
    }
    it.open = false;
    metrics_.rejected.Add({{"reason", "event-log-unavailable"}}).Increment();
    log_.error("complaint not accepted: event log did not acknowledge",
               {{"complaint_id", it.mine.complaint_id},
                {"trace_id", it.env.trace_id()},
                {"error", report.error}});
    if (it.idem_key.empty()) {
      release("", "", it.mine, it.reporter_ref);
      out = unavailableOutcome("event log unavailable (" + report.error +
                               "); nothing was recorded, retry later");
      continue;
    }
    // A timeout while the event was in flight may still have written it. Keep the claim with
    // its event (and the tracking id and reporter record it names) and drop only the lease: a
    // retry with the same key then completes this very complaint, same ids, instead of making
    // a second one.
    leases.command({"DEL", it.idem_key + ":lease"});
    out = unavailableOutcome("event log unavailable (" + report.error +
                             "); retry later with the same idempotency key to complete this "
                             "submission");
  }
  if (!leases.empty()) {
    try {
      redis_.pipeline(leases);
    } catch (const redis::RedisError&) {
      // The leases lapse by themselves.
    }
  }
  if (!acknowledged.empty() && settings_.fault_exit_after_ack) {
    // Fault injection for tests: die exactly where a crash would leave a pending claim behind.
    log_.error("fault injection: exiting after the Kafka acknowledgement");
    std::_Exit(70);
  }
  if (!done.empty()) {
    try {
      redis_.pipelineOrThrow(done, "idempotency keys");
    } catch (const redis::RedisError& e) {
      // Accepted all the same: Kafka has them, and each pending claim still holds its event,
      // so a retry produces that same event again (same event id), not a second complaint.
      log_.warn("could not mark the idempotency keys done",
                {{"error", e.what()}, {"complaints", acknowledged.size()}});
    }
  }
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto& histogram = metrics_.submit_seconds.Add(
      {}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                  5, 10});
  for (auto [item, report] : acknowledged) {
    auto& it = *item;
    const auto& req = *it.req;
    metrics_.submitted
        .Add({{"channel", events::channelName(req.channel())},
              {"priority", priorityName(req.priority())}})
        .Increment();
    histogram.Observe(seconds);
    log_.debug("complaint accepted", {{"complaint_id", it.mine.complaint_id},
                                      {"trace_id", it.env.trace_id()},
                                      {"tracking_id", it.mine.tracking_id},
                                      {"category", req.category()},
                                      {"publisher", publisher.id},
                                      {"partition", report->partition},
                                      {"offset", report->offset}});
    batch.items[&it - items.data()] = accepted(it.mine, req.priority(), false);
  }
  return batch;
}

}  // namespace lapor::intake
