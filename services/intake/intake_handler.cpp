// The gRPC front door. Follow-up calls (feedback, reopen) read the status from the tracking
// view, produce their lifecycle events and answer after Kafka's acknowledgement.
#include "intake_handler.h"

#include "domain/tracking_id.h"
#include "domain/validation.h"
#include "events/envelope.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

#include <thread>

namespace lapor::intake {

namespace {
constexpr const char* kProducer = "intake";

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
                             std::chrono::milliseconds produce_timeout)
    : submissions_(submissions),
      views_(views),
      redis_(redis),
      events_(events),
      clock_(clock),
      log_(std::move(logger)),
      produce_timeout_(produce_timeout) {}

grpc::Status IntakeHandler::SubmitComplaint(grpc::ServerContext* ctx,
                                            const v1::SubmitComplaintRequest* req,
                                            v1::SubmitComplaintResponse* resp) {
  auto out = submissions_.submit(*req, metadata(ctx, "x-api-key"),
                                 metadata(ctx, "x-trace-id").value_or(""));
  using K = SubmitOutcome::Kind;
  switch (out.kind) {
    case K::Accepted:
      *resp = out.response;
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
    case K::Unavailable:
      break;
  }
  return unavailable(out.message);
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

grpc::Status IntakeHandler::ListComplaints(grpc::ServerContext*,
                                           const v1::ListComplaintsRequest* req,
                                           v1::ListComplaintsResponse* resp) {
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
  for (auto& r : reports) {
    auto report = kafka::awaitReport(r, produce_timeout_);
    if (!report.ok) return unavailable("event log unavailable (" + report.error + "); retry later");
  }
  return grpc::Status::OK;
}

std::optional<std::string> IntakeHandler::claimFollowUp(const v1::ComplaintView& view) {
  // One follow-up per answer: keyed by the answer (the latest resolved or closed event), so a
  // double click or two instances racing cannot reopen or close the same resolution twice, even
  // while the view has seen the first follow-up's feedback event but not yet its reopen.
  std::string answer = "none";
  for (const auto& t : view.timeline())
    if (t.what() == "resolved" || t.what() == "closed") answer = t.event_id();
  auto key = redis_.key("intake:followup:" + view.complaint_id() + ":" + answer);
  auto r = redis_.command({"SET", key, "1", "NX", "EX", std::to_string(90 * 86400)});
  if (r.isNil()) return std::nullopt;
  return key;
}

grpc::Status IntakeHandler::AddFeedback(grpc::ServerContext* ctx, const v1::AddFeedbackRequest* req,
                                        v1::AddFeedbackResponse* resp) {
  std::vector<FieldViolation> bad;
  if (req->rating() < 1 || req->rating() > 5) bad.push_back({"rating", "must be 1 to 5"});
  if (!isUtf8(req->comment()) || req->comment().size() > 4000)
    bad.push_back({"comment", "must be UTF-8 text of at most 4000 bytes"});
  try {
    auto f = find(req->tracking_id());
    if (!f.status.ok()) return f.status;
    if (!bad.empty()) return invalidArgument("invalid feedback", bad);
    auto view = views_.read(f.complaint_id, f.tracking_id);
    if (view.status() != v1::COMPLAINT_STATUS_RESOLVED)
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "feedback is taken once the complaint is resolved");
    auto claim = claimFollowUp(view);
    if (!claim)
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "this answer already has the reporter's feedback");
    const auto now = clock_.nowMs();
    const auto trace = metadata(ctx, "x-trace-id").value_or("");
    std::vector<v1::EventEnvelope> envs;
    auto fb = events::makeEnvelope(kProducer, f.complaint_id, trace, now);
    fb.mutable_feedback()->set_rating(req->rating());
    fb.mutable_feedback()->set_comment(req->comment());
    fb.mutable_feedback()->set_solved(req->solved());
    envs.push_back(fb);
    auto next = events::makeEnvelope(kProducer, f.complaint_id, trace, now);
    if (req->solved()) {
      next.mutable_closed()->set_reason("feedback");
      resp->set_status(v1::COMPLAINT_STATUS_CLOSED);
    } else {
      next.mutable_reopened()->set_reason("not solved: " + req->comment());
      next.mutable_reopened()->set_by("reporter");
      resp->set_status(v1::COMPLAINT_STATUS_REOPENED);
    }
    envs.push_back(next);
    auto st = produce(envs);
    if (!st.ok()) redis_.command({"DEL", *claim});  // nothing recorded: a retry may go ahead
    if (st.ok())
      log_.info(
          "feedback recorded",
          {{"complaint_id", f.complaint_id}, {"rating", req->rating()}, {"solved", req->solved()}});
    return st;
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
    auto view = views_.read(f.complaint_id, f.tracking_id);
    if (view.status() != v1::COMPLAINT_STATUS_RESOLVED &&
        view.status() != v1::COMPLAINT_STATUS_CLOSED)
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "only a resolved or closed complaint can be reopened");
    auto claim = claimFollowUp(view);
    if (!claim)
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "this answer was already followed up by the reporter");
    auto env = events::makeEnvelope(kProducer, f.complaint_id,
                                    metadata(ctx, "x-trace-id").value_or(""), clock_.nowMs());
    env.mutable_reopened()->set_reason(req->reason());
    env.mutable_reopened()->set_by("reporter");
    auto st = produce({env});
    if (!st.ok()) {
      redis_.command({"DEL", *claim});
      return st;
    }
    resp->set_status(v1::COMPLAINT_STATUS_REOPENED);
    log_.info("complaint reopened", {{"complaint_id", f.complaint_id}});
    return grpc::Status::OK;
  } catch (const redis::RedisError& e) {
    return unavailable("complaint store unavailable");
  }
}

}  // namespace lapor::intake
