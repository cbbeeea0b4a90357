// The gRPC front door. Follow-up calls (feedback, reopen, the answer to a question) read the
// status from the tracking view, produce their lifecycle events and answer after Kafka's
// acknowledgement.
#include "intake_handler.h"

#include "auth/sha256.h"
#include "domain/tracking_id.h"
#include "domain/validation.h"
#include "events/envelope.h"
#include "google/rpc/error_details.pb.h"
#include "grpc/grpc_server.h"
#include "google/rpc/status.pb.h"
#include "producer.h"

#include <thread>

namespace lapor::intake {

namespace {

std::optional<std::string> metadata(const grpc::ServerContext* ctx, const std::string& key) {
  auto it = ctx->client_metadata().find(key);
  if (it == ctx->client_metadata().end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

grpc::Status withDetails(grpc::StatusCode code, const std::string& message,
                         const google::protobuf::Message& detail) {
  google::rpc::Status st;
  st.set_code(code);
  st.set_message(message);
  st.add_details()->PackFrom(detail);
  return grpc::Status(code, message, st.SerializeAsString());
}

grpc::Status unavailable(const std::string& what) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, what);
}

// Characters (code points) of text already known to be UTF-8.
size_t characters(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

constexpr int64_t kFollowUpTtlSeconds = 90 * 86400;
}  // namespace

grpc::Status invalidArgument(const std::string& message,
                             const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest br;
  for (const auto& v : violations) {
    auto* fv = br.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
  }
  return withDetails(grpc::StatusCode::INVALID_ARGUMENT, message, br);
}

IntakeHandler::IntakeHandler(SubmissionService& submissions, ComplaintViews& views,
                             redis::RedisClient& redis, kafka::MessageSink& events,
                             const time::Clock& clock, log::Logger logger,
                             std::chrono::milliseconds produce_timeout,
                             const PublisherRegistry& publishers,
                             const auth::OperatorAccess& operators)
    : submissions_(submissions),
      views_(views),
      publishers_(publishers),
      operators_(operators),
      redis_(redis),
      events_(events),
      clock_(clock),
      log_(std::move(logger)),
      produce_timeout_(produce_timeout) {}

namespace {
// The status SubmitComplaint answers for `out` (OK for an accepted complaint).
grpc::Status statusOf(const SubmitOutcome& out) {
  using K = SubmitOutcome::Kind;
  switch (out.kind) {
    case K::Accepted:
      return grpc::Status::OK;
    case K::Invalid:
      return invalidArgument(out.message, out.violations);
    case K::Unauthenticated:
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, out.message);
    case K::RateLimited: {
      google::rpc::RetryInfo ri;
      ri.mutable_retry_delay()->set_seconds(out.retry_after.count() / 1000);
      ri.mutable_retry_delay()->set_nanos(static_cast<int>(out.retry_after.count() % 1000) *
                                          1'000'000);
      return withDetails(grpc::StatusCode::RESOURCE_EXHAUSTED, out.message, ri);
    }
    case K::Conflict:
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, out.message);
    case K::Unavailable:
      break;
  }
  return unavailable(out.message);
}
}  // namespace

grpc::Status IntakeHandler::SubmitComplaint(grpc::ServerContext* ctx,
                                            const v1::SubmitComplaintRequest* req,
                                            v1::SubmitComplaintResponse* resp) {
  auto out = submissions_.submit(*req, metadata(ctx, "x-api-key"),
                                 metadata(ctx, "x-trace-id").value_or(""));
  if (out.kind == SubmitOutcome::Kind::Accepted) *resp = out.response;
  return statusOf(out);
}

grpc::Status IntakeHandler::SubmitComplaints(grpc::ServerContext* ctx,
                                             const v1::SubmitComplaintsRequest* req,
                                             v1::SubmitComplaintsResponse* resp) {
  std::vector<const v1::SubmitComplaintRequest*> reqs;
  reqs.reserve(req->complaints_size());
  for (const auto& c : req->complaints()) reqs.push_back(&c);
  auto all = submissions_.submitAll(reqs, metadata(ctx, "x-api-key"),
                                    metadata(ctx, "x-trace-id").value_or(""));
  if (all.refused) return statusOf(*all.refused);
  for (const auto& out : all.items) {
    auto* r = resp->add_results();
    r->set_code(grpcx::statusCodeName(statusOf(out).error_code()));
    if (out.kind == SubmitOutcome::Kind::Accepted) {
      *r->mutable_complaint() = out.response;
      continue;
    }
    r->set_message(out.message);
    for (const auto& v : out.violations) {
      auto* sv = r->add_violations();
      sv->set_field(v.field);
      sv->set_description(v.description);
    }
    if (out.kind == SubmitOutcome::Kind::RateLimited) r->set_retry_after_ms(out.retry_after.count());
  }
  return grpc::Status::OK;
}

IntakeHandler::Found IntakeHandler::find(const std::string& text) {
  auto tid = TrackingId::normalize(text);
  if (!tid)
    return {invalidArgument("tracking_id: not a valid tracking id (check for a typo)",
                            {{"tracking_id", "not a valid tracking id (check for a typo)"}}),
            "", ""};
  auto cid = views_.complaintIdOf(*tid);
  if (!cid)
    return {grpc::Status(grpc::StatusCode::NOT_FOUND, "no complaint with tracking id " + *tid), "",
            ""};
  return {grpc::Status::OK, *cid, *tid};
}

grpc::Status IntakeHandler::GetComplaint(grpc::ServerContext*, const v1::GetComplaintRequest* req,
                                         v1::ComplaintView* resp) {
  try {
    auto f = find(req->tracking_id());
    if (!f.status.ok()) return f.status;
    *resp = views_.read(f.complaint_id, f.tracking_id);
  } catch (const redis::RedisError& e) {
    return unavailable("complaint store unavailable");
  }
  return grpc::Status::OK;
}

grpc::Status IntakeHandler::ListComplaints(grpc::ServerContext* ctx,
                                           const v1::ListComplaintsRequest* req,
                                           v1::ListComplaintsResponse* resp) {
  // An agency's work list is the operators' to see, not the public's.
  if (!req->agency_id().empty())
    if (auto s = operators_.authorize(*ctx, auth::Role::Auditor, "ListComplaints by agency_id");
        !s.ok())
      return s;
  std::vector<FieldViolation> bad;
  if (req->page_size() < 0 || req->page_size() > 500)
    bad.push_back({"page_size", "must be between 1 and 500 (0: the default, 50)"});
  if (req->from_ms() < 0 || req->to_ms() < 0 ||
      (req->to_ms() > 0 && req->from_ms() >= req->to_ms()))
    bad.push_back({"to_ms", "must be after from_ms"});
  if (!v1::ComplaintStatus_IsValid(req->status()))
    bad.push_back({"status", "is not a complaint status"});
  if (!bad.empty()) return invalidArgument("invalid listing request", bad);
  ListFilter f{req->status(), req->agency_id(), req->category(), req->from_ms(), req->to_ms()};
  try {
    auto page = views_.list(f, req->page_size() == 0 ? 50 : static_cast<size_t>(req->page_size()),
                            req->cursor());
    for (auto& c : page.complaints) *resp->add_complaints() = std::move(c);
    resp->set_next_cursor(page.next_cursor);
  } catch (const BadCursor& e) {
    return invalidArgument(e.what(), {{"cursor", "not a cursor this service handed out"}});
  } catch (const redis::RedisError& e) {
    return unavailable("complaint store unavailable");
  }
  return grpc::Status::OK;
}

grpc::Status IntakeHandler::WatchComplaint(grpc::ServerContext* ctx,
                                           const v1::WatchComplaintRequest* req,
                                           grpc::ServerWriter<v1::TimelineEntry>* writer) {
  try {
    auto f = find(req->tracking_id());
    if (!f.status.ok()) return f.status;
    size_t sent = 0;
    // The timeline is an append-only Redis list: poll it from the last position sent.
    while (!ctx->IsCancelled() && !stopping_) {
      for (const auto& t : views_.timeline(f.complaint_id, sent)) {
        if (!writer->Write(t)) return grpc::Status::CANCELLED;
        ++sent;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  } catch (const redis::RedisError& e) {
    return unavailable("complaint store unavailable");
  }
  return grpc::Status::OK;
}

grpc::Status IntakeHandler::produce(const std::vector<v1::EventEnvelope>& envs) {
  std::vector<std::future<kafka::DeliveryReport>> reports;
  for (const auto& env : envs)
    reports.push_back(events_.produce(events::toMessage(kafka::kComplaintsTopic, env)));
  for (const auto& report : kafka::awaitReports(reports, produce_timeout_))
    if (!report.ok) return unavailable("event log unavailable (" + report.error + "); retry later");
  return grpc::Status::OK;
}

grpc::Status IntakeHandler::authorizeReporter(const grpc::ServerContext& ctx,
                                              const std::string& complaint_id,
                                              const std::string& secret) {
  if (!secret.empty()) {
    auto stored = redis_.command({"GET", redis_.key(reporterSecretKey(complaint_id))});
    if (!stored.isNil() && stored.str == auth::sha256Hex(secret))
      return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "reporter_secret: not this complaint's reporter secret");
  }
  // The publisher that submitted the complaint may act for its reporter.
  if (auto key = metadata(&ctx, "x-api-key")) {
    auto auth = publishers_.authenticate(key);
    if (!auth.publisher) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, auth.error);
    auto publisher = redis_.command({"HGET", redis_.key("view:" + complaint_id), "publisher"});
    if (!publisher.isNil() && publisher.str == auth.publisher->id) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "publisher '" + auth.publisher->id +
                            "' did not submit this complaint; only its reporter (reporter_secret) "
                            "or its publisher may");
  }
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      "reporter_secret: required (it came with SubmitComplaintResponse), or the "
                      "x-api-key of the publisher that submitted the complaint");
}

IntakeHandler::FollowUpClaim IntakeHandler::claimFollowUp(const v1::ComplaintView& view,
                                                          const std::string& request_id) {
  // One follow-up per answer: keyed by the answer (the latest resolved or closed event), so a
  // double click or two instances racing cannot reopen or close the same resolution twice, even
  // while the view has seen the first follow-up's feedback event but not yet its reopen.
  std::string answer = "none";
  for (const auto& t : view.timeline())
    if (t.what() == "resolved" || t.what() == "closed") answer = t.event_id();
  auto key = redis_.key("intake:followup:" + view.complaint_id() + ":" + answer);
  auto r = redis_.command({"SET", key, request_id.empty() ? "-" : request_id, "NX", "EX",
                           std::to_string(90 * 86400)});
  if (r.isNil()) return {FollowUpClaim::Kind::Taken, key};
  return {FollowUpClaim::Kind::Mine, key};
}

std::string IntakeHandler::requestKey(const std::string& complaint_id,
                                      const std::string& request_id) const {
  return redis_.key("intake:followup-request:" + complaint_id + ":" +
                    auth::sha256Hex(request_id));
}

v1::EventEnvelope IntakeHandler::followUpEvent(const std::string& complaint_id,
                                               const std::string& trace, const std::string& name,
                                               const std::string& request_id) const {
  // A request id makes the event id: a retried call produces the same event, dropped as a
  // repeat by every consumer.
  return events::makeEnvelope(
      kProducer, complaint_id, trace, clock_.nowMs(),
      request_id.empty() ? events::newUuid()
                         : events::nameUuid(name + "/" + complaint_id + "/" + request_id));
}

grpc::Status IntakeHandler::followUp(const Found& f, const std::string& request_id,
                                     const std::function<bool(const v1::ComplaintView&)>& allowed,
                                     const std::string& not_allowed,
                                     const std::vector<v1::EventEnvelope>& envs,
                                     v1::ComplaintStatus status) {
  // A retry of a request already recorded: the same events again (repeats downstream).
  const auto rkey = request_id.empty() ? std::string() : requestKey(f.complaint_id, request_id);
  if (!rkey.empty() && !redis_.command({"GET", rkey}).isNil()) return produce(envs);
  auto view = views_.read(f.complaint_id, f.tracking_id);
  if (!allowed(view)) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, not_allowed);
  auto claim = claimFollowUp(view, request_id);
  if (claim.kind == FollowUpClaim::Kind::Taken)
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this answer was already followed up by the reporter");
  if (!rkey.empty())
    redis_.command({"SET", rkey, std::to_string(static_cast<int>(status)), "EX",
                    std::to_string(90 * 86400)});
  auto st = produce(envs);
  if (!st.ok()) {
    // Nothing recorded: a retry may go ahead.
    std::vector<std::string> del{"DEL", claim.key};
    if (!rkey.empty()) del.push_back(rkey);
    redis_.command(del);
  }
  return st;
}

grpc::Status IntakeHandler::AddFeedback(grpc::ServerContext* ctx, const v1::AddFeedbackRequest* req,
                                        v1::AddFeedbackResponse* resp) {
  std::vector<FieldViolation> bad;
  if (req->rating() < 1 || req->rating() > 5) bad.push_back({"rating", "must be 1 to 5"});
  if (!isUtf8(req->comment()) || req->comment().size() > 4000)
    bad.push_back({"comment", "must be UTF-8 text of at most 4000 bytes"});
  if (req->request_id().size() > 200) bad.push_back({"request_id", "at most 200 bytes"});
  try {
    auto f = find(req->tracking_id());
    if (!f.status.ok()) return f.status;
    if (!bad.empty()) return invalidArgument("invalid feedback", bad);
    if (auto s = authorizeReporter(*ctx, f.complaint_id, req->reporter_secret()); !s.ok())
      return s;
    const auto trace = metadata(ctx, "x-trace-id").value_or("");
    auto fb = followUpEvent(f.complaint_id, trace, "feedback", req->request_id());
    fb.mutable_feedback()->set_rating(req->rating());
    fb.mutable_feedback()->set_comment(req->comment());
    fb.mutable_feedback()->set_solved(req->solved());
    auto next = followUpEvent(f.complaint_id, trace, "feedback-outcome", req->request_id());
    if (req->solved()) {
      next.mutable_closed()->set_reason("feedback");
    } else {
      next.mutable_reopened()->set_reason("not solved: " + req->comment());
      next.mutable_reopened()->set_by("reporter");
    }
    const auto status =
        req->solved() ? v1::COMPLAINT_STATUS_CLOSED : v1::COMPLAINT_STATUS_REOPENED;
    auto st = followUp(
        f, req->request_id(),
        [](const auto& v) { return v.status() == v1::COMPLAINT_STATUS_RESOLVED; },
        "feedback is taken once the complaint is resolved", {fb, next}, status);
    if (!st.ok()) return st;
    resp->set_status(status);
    log_.info("feedback recorded",
              {{"complaint_id", f.complaint_id}, {"rating", req->rating()}, {"solved", req->solved()}});
    return grpc::Status::OK;
  } catch (const redis::RedisError& e) {
    return unavailable("complaint store unavailable");
  }
}

grpc::Status IntakeHandler::ReopenComplaint(grpc::ServerContext* ctx,
                                            const v1::ReopenComplaintRequest* req,
                                            v1::ReopenComplaintResponse* resp) {
  try {
    auto f = find(req->tracking_id());
    if (!f.status.ok()) return f.status;
    if (req->reason().empty() || !isUtf8(req->reason()) || req->reason().size() > 4000)
      return invalidArgument("invalid reopen request",
                             {{"reason", "is required: UTF-8 text of at most 4000 bytes"}});
    if (req->request_id().size() > 200)
      return invalidArgument("invalid reopen request", {{"request_id", "at most 200 bytes"}});
    if (auto s = authorizeReporter(*ctx, f.complaint_id, req->reporter_secret()); !s.ok())
      return s;
    auto env = followUpEvent(f.complaint_id, metadata(ctx, "x-trace-id").value_or(""), "reopen",
                             req->request_id());
    env.mutable_reopened()->set_reason(req->reason());
    env.mutable_reopened()->set_by("reporter");
    auto st = followUp(
        f, req->request_id(),
        [](const auto& v) {
          return v.status() == v1::COMPLAINT_STATUS_RESOLVED ||
                 v.status() == v1::COMPLAINT_STATUS_CLOSED;
        },
        "only a resolved or closed complaint can be reopened", {env},
        v1::COMPLAINT_STATUS_REOPENED);
    if (!st.ok()) return st;
    resp->set_status(v1::COMPLAINT_STATUS_REOPENED);
    log_.info("complaint reopened", {{"complaint_id", f.complaint_id}});
    return grpc::Status::OK;
  } catch (const redis::RedisError& e) {
    return unavailable("complaint store unavailable");
  }
}

grpc::Status IntakeHandler::AnswerAgency(grpc::ServerContext* ctx,
                                         const v1::AnswerAgencyRequest* req,
                                         v1::AnswerAgencyResponse* resp) {
  std::vector<FieldViolation> bad;
  if (!isUtf8(req->answer()) || req->answer().empty() || characters(req->answer()) > 4000)
    bad.push_back({"answer", "is required: UTF-8 text of 1 to 4000 characters"});
  if (req->request_id().size() > 200) bad.push_back({"request_id", "at most 200 bytes"});
  try {
    auto f = find(req->tracking_id());
    if (!f.status.ok()) return f.status;
    if (!bad.empty()) return invalidArgument("invalid answer", bad);
    if (auto s = authorizeReporter(*ctx, f.complaint_id, req->reporter_secret()); !s.ok())
      return s;
    const auto trace = metadata(ctx, "x-trace-id").value_or("");
    const auto answer_hash = auth::sha256Hex(req->answer());
    auto answered = [&](const OpenQuestionRef& q) {
      auto env = followUpEvent(f.complaint_id, trace, "answer", req->request_id());
      auto* a = env.mutable_reporter_answered();
      a->set_answer(req->answer());
      a->set_in_reply_to(q.event_id);
      a->set_assignment_id(q.assignment_id);
      a->set_agency_id(q.agency_id);
      return env;
    };
    // A retry of a request already recorded gets the same reply and produces nothing new,
    // unless the request id now comes with another answer.
    const auto rkey = req->request_id().empty()
                          ? std::string()
                          : redis_.key("intake:answer-request:" + f.complaint_id + ":" +
                                       auth::sha256Hex(req->request_id()));
    if (!rkey.empty()) {
      auto earlier = redis_.command({"HGETALL", rkey});
      if (const auto* h = earlier.field("answer_sha256")) {
        if (*h != answer_hash)
          return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              "request_id '" + req->request_id() +
                                  "' was already used for a different answer");
        auto stored = [&](const char* name) {
          const auto* v = earlier.field(name);
          return v ? *v : std::string();
        };
        OpenQuestionRef q{stored("in_reply_to"), "", stored("assignment_id"), stored("agency_id")};
        // Produced already: the same answer again. Not known to be (the call that recorded it
        // ended before Kafka answered): the same event, dropped downstream if it was.
        if (stored("produced") != "1") {
          if (auto st = produce({answered(q)}); !st.ok()) return st;
          redis_.command({"HSET", rkey, "produced", "1"});
        }
        resp->set_in_reply_to(q.event_id);
        return grpc::Status::OK;
      }
    }
    auto q = views_.openQuestion(f.complaint_id);
    if (!q)
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "no question is waiting for the reporter's answer");
    // One answer per question, also when two calls (or two instances) race.
    const auto claim = redis_.key("intake:answered:" + f.complaint_id + ":" + q->event_id);
    if (redis_
            .command({"SET", claim, req->request_id().empty() ? "-" : req->request_id(), "NX",
                      "EX", std::to_string(kFollowUpTtlSeconds)})
            .isNil())
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "this question was already answered");
    if (!rkey.empty()) {
      redis_.command({"HSET", rkey, "answer_sha256", answer_hash, "in_reply_to", q->event_id,
                      "assignment_id", q->assignment_id, "agency_id", q->agency_id});
      redis_.command({"EXPIRE", rkey, std::to_string(kFollowUpTtlSeconds)});
    }
    if (auto st = produce({answered(*q)}); !st.ok()) {
      // Nothing recorded: a retry may go ahead.
      std::vector<std::string> del{"DEL", claim};
      if (!rkey.empty()) del.push_back(rkey);
      redis_.command(del);
      return st;
    }
    if (!rkey.empty()) redis_.command({"HSET", rkey, "produced", "1"});
    resp->set_in_reply_to(q->event_id);
    log_.info("reporter answered",
              {{"complaint_id", f.complaint_id}, {"in_reply_to", q->event_id},
               {"agency_id", q->agency_id}});
    return grpc::Status::OK;
  } catch (const redis::RedisError& e) {
    return unavailable("complaint store unavailable");
  }
}

}  // namespace lapor::intake
