// The answer goes to whoever asked, as recorded when the question was asked: the question's
// record, not the event, says which unit asked.
#include "lifecycle_handler.h"

#include "events/envelope.h"

namespace lapor::notification {

LifecycleHandler::LifecycleHandler(AssignmentStore& store, log::Logger logger)
    : store_(store), log_(std::move(logger)) {}

kafka::HandleResult LifecycleHandler::handle(const kafka::Message& msg) {
  if (events::passBy(msg, {"reporter_answered"})) return kafka::HandleResult::done();
  auto decoded = events::decode(msg.value);
  if (!decoded.envelope) return kafka::HandleResult::deadLetter("undecodable", decoded.error);
  const auto& env = *decoded.envelope;
  if (env.event_case() != v1::EventEnvelope::kReporterAnswered) return kafka::HandleResult::done();
  const auto& answer = env.reporter_answered();
  // The verifiers' postponement is answered to the verifiers, not to an agency.
  if (answer.assignment_id().empty()) return kafka::HandleResult::done();
  try {
    auto q = store_.question(answer.in_reply_to());
    if (!q) {
      log_.warn("answer to a question not asked here, ignored",
                {{"complaint_id", env.complaint_id()},
                 {"trace_id", env.trace_id()},
                 {"in_reply_to", answer.in_reply_to()}});
      return kafka::HandleResult::done();
    }
    auto rec = store_.get(q->assignment_id);
    v1::DispatchItem item;
    item.set_kind(v1::DISPATCH_KIND_REPORTER_ANSWER);
    auto* a = item.mutable_assignment();
    a->set_assignment_id(q->assignment_id);
    a->set_complaint_id(env.complaint_id());
    a->set_agency_id(q->agency);
    a->set_unit_id(q->unit);
    auto* c = item.mutable_complaint();
    c->set_complaint_id(env.complaint_id());
    if (rec) {
      a->set_role(static_cast<v1::AssignmentRole>(rec->role));
      a->set_state(domain::parseState(rec->state));
      a->set_dispatched_at_ms(rec->dispatched_at_ms);
      c->set_tracking_id(rec->tracking_id);
      c->set_category(rec->category);
      c->set_priority(static_cast<v1::Priority>(rec->priority));
      c->set_title(rec->title);
    }
    item.set_note(answer.answer());
    item.set_in_reply_to(answer.in_reply_to());
    item.set_unit_id(q->unit);
    const auto cursor = store_.appendAnswer(env.event_id(), env.trace_id(), *q, item);
    if (cursor.empty()) return kafka::HandleResult::done();  // a repeat
    log_.info("reporter's answer queued for the asker", {{"complaint_id", env.complaint_id()},
                                                         {"trace_id", env.trace_id()},
                                                         {"agency", q->agency},
                                                         {"unit", q->unit},
                                                         {"cursor", cursor}});
    return kafka::HandleResult::done();
  } catch (const redis::RedisError& e) {
    return kafka::HandleResult::retry("redis", e.what());
  }
}

}  // namespace lapor::notification
