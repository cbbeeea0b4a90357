// Listings walk view:index newest first in bounded batches; the cursor is the score and id of
// the last complaint returned, so pages stay stable while new complaints arrive.
#include "complaint_views.h"

#include "domain/view_model.h"
#include "text/stored_int.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <tuple>

namespace lapor::intake {

namespace {
std::string str(const std::string* s) {
  return s ? *s : "";
}

// How many index entries one list call may examine: a filter that matches little still
// answers promptly, with a cursor to go on from.
constexpr size_t kScanBudget = 5000;
}  // namespace

std::optional<std::string> ComplaintViews::complaintIdOf(const std::string& tracking_id) {
  auto cid = redis_.command({"GET", redis_.key("intake:tracking:" + tracking_id)});
  if (cid.isNil()) return std::nullopt;
  return cid.str;
}

namespace {
v1::TimelineEntry timelineEntry(const std::string& stored) {
  auto j = nlohmann::json::parse(stored, nullptr, false);
  v1::TimelineEntry t;
  if (!j.is_discarded()) {
    t.set_at_ms(j.value("at_ms", int64_t{0}));
    t.set_what(j.value("what", ""));
    t.set_agency_id(j.value("agency_id", ""));
    t.set_note(j.value("note", ""));
    t.set_event_id(j.value("event_id", ""));
  }
  return t;  // kept even when unreadable, so positions stay aligned
}
}  // namespace

v1::ComplaintView ComplaintViews::read(const std::string& cid, const std::string& tracking_id) {
  return read(cid, tracking_id, nullptr);
}

v1::ComplaintView ComplaintViews::read(const std::string& cid, const std::string& tracking_id,
                                       std::string* verification) {
  v1::ComplaintView v;
  v.set_complaint_id(cid);
  v.set_tracking_id(tracking_id);
  v.set_status(v1::COMPLAINT_STATUS_SUBMITTED);  // until the view has seen the event
  const auto base = redis_.key("view:" + cid);
  // One transaction: the view handler changes the hash, the assignments and the timeline of an
  // event in one script, and a read of the four between two events' scripts would show one
  // event's timeline with the status before it (a timeline that says "reopened" under a
  // status that says closed).
  redis::Pipeline p;
  p.command({"MULTI"});
  p.command({"HGETALL", base});
  p.command({"SMEMBERS", base + ":agencies"});
  p.command({"HGETALL", base + ":assignments"});
  p.command({"LRANGE", base + ":timeline", "0", "-1"});
  p.command({"EXEC"});
  const auto replies = redis_.pipelineOrThrow(p, "view read");
  const auto& exec = replies.back();
  if (exec.type != redis::Reply::Type::Array || exec.elements.size() != 4)
    throw redis::RedisError("redis view read: the transaction was not run");
  const auto& h = exec.elements[0];
  if (auto* s = h.field("status")) v.set_status(static_cast<v1::ComplaintStatus>(text::storedInt(s)));
  if (auto* s = h.field("tracking_id")) v.set_tracking_id(*s);
  v.set_category(str(h.field("category")));
  v.set_priority(static_cast<v1::Priority>(text::storedInt(h.field("priority"))));
  v.set_channel(static_cast<v1::Channel>(text::storedInt(h.field("channel"))));
  v.set_confidential(str(h.field("confidential")) == "1");
  v.set_title(str(h.field("title")));
  v.set_description(str(h.field("description")));
  v.set_status_note(str(h.field("status_note")));
  v.set_media_url(str(h.field("media_url")));
  v.set_submitted_at_ms(text::storedInt(h.field("submitted_at_ms")));
  v.set_updated_at_ms(text::storedInt(h.field("updated_at_ms")));
  auto* loc = v.mutable_location();
  loc->set_has_coordinates(str(h.field("has_coordinates")) == "1");
  if (loc->has_coordinates()) {
    loc->set_lat(std::strtod(str(h.field("lat")).c_str(), nullptr));
    loc->set_lon(std::strtod(str(h.field("lon")).c_str(), nullptr));
  }
  loc->set_kecamatan(str(h.field("kecamatan")));
  loc->set_desa(str(h.field("desa")));
  loc->set_address(str(h.field("address")));
  if (v.submitted_at_ms() > 0)
    v.set_expected_response_by_ms(
        response_times_.expected(v.priority(), v.submitted_at_ms()).by_ms);
  v.set_close_reason(str(h.field("close_reason")));
  v.set_duplicate_of(str(h.field("duplicate_of")));
  v.set_report_type(static_cast<v1::ReportType>(text::storedInt(h.field("report_type"))));
  v.set_forward_to(str(h.field("forward_to")));
  v.set_open_question(str(h.field("open_question")));
  auto agencies = exec.elements[1].elements;
  std::sort(agencies.begin(), agencies.end(),
            [](const auto& a, const auto& b) { return a.str < b.str; });
  for (const auto& a : agencies) v.add_agencies(a.str);
  // Every assignment, in the order the complaint got them (round, dispatch, id).
  std::vector<AssignmentFacts> parts;
  const auto& states = exec.elements[2];
  for (size_t i = 0; i + 1 < states.elements.size(); i += 2)
    if (auto a = AssignmentFacts::unpack(states.elements[i].str, states.elements[i + 1].str))
      parts.push_back(*a);
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) {
    return std::tie(a.round, a.dispatched_at_ms, a.assignment_id) <
           std::tie(b.round, b.dispatched_at_ms, b.assignment_id);
  });
  for (const auto& a : parts) {
    auto* as = v.add_assignments();
    as->set_agency_id(a.agency_id);
    as->set_state(a.state);
    as->set_role(a.role);
    as->set_assignment_id(a.assignment_id.starts_with("agency/") ? "" : a.assignment_id);
    as->set_round(a.round);
  }
  for (const auto& e : exec.elements[3].elements) *v.add_timeline() = timelineEntry(e.str);
  if (verification) *verification = str(h.field("verification"));
  return v;
}

std::optional<v1::ComplaintView> ComplaintViews::readPublic(const std::string& cid,
                                                            const std::string& tracking_id) {
  std::string verification;
  auto v = read(cid, tracking_id, &verification);
  if (v.confidential() || v.submitted_at_ms() == 0) return std::nullopt;
  if (!published(verification)) return std::nullopt;
  return v;
}

std::optional<OpenQuestionRef> ComplaintViews::openQuestion(const std::string& cid) {
  auto h = redis_.command({"HMGET", redis_.key("view:" + cid), "question_event", "open_question",
                           "question_assignment", "question_agency"});
  if (h.elements.size() != 4 || h.elements[0].str.empty()) return std::nullopt;
  return OpenQuestionRef{h.elements[0].str, h.elements[1].str, h.elements[2].str,
                         h.elements[3].str};
}

std::vector<v1::TimelineEntry> ComplaintViews::timeline(const std::string& cid, size_t from) {
  std::vector<v1::TimelineEntry> out;
  auto list = redis_.command(
      {"LRANGE", redis_.key("view:" + cid + ":timeline"), std::to_string(from), "-1"});
  for (const auto& e : list.elements) out.push_back(timelineEntry(e.str));
  return out;
}

ListPage ComplaintViews::list(const ListFilter& f, size_t page_size, const std::string& cursor) {
  // The cursor: "<score>/<complaint id>" of the last complaint already returned.
  int64_t max_score = f.to_ms > 0 ? f.to_ms - 1 : INT64_MAX;
  std::string after_id;
  bool after_set = false;
  if (!cursor.empty()) {
    const auto slash = cursor.find('/');
    int64_t score = 0;
    if (slash == std::string::npos ||
        std::from_chars(cursor.data(), cursor.data() + slash, score).ptr != cursor.data() + slash ||
        slash + 1 >= cursor.size())
      throw BadCursor("cursor: not a cursor this service handed out");
    max_score = std::min(max_score, score);
    after_id = cursor.substr(slash + 1);
    after_set = true;
  }
  const std::string min = f.from_ms > 0 ? std::to_string(f.from_ms) : "-inf";
  ListPage page;
  size_t examined = 0;
  int64_t last_score = 0;
  std::string last_id;
  std::string max = std::to_string(max_score);
  size_t offset = 0;
  while (page.complaints.size() < page_size && examined < kScanBudget) {
    auto batch = redis_.command({"ZREVRANGEBYSCORE", redis_.key("view:index"), max, min,
                                 "WITHSCORES", "LIMIT", std::to_string(offset), "200"});
    if (batch.elements.empty()) return page;  // the end: no cursor
    offset += batch.elements.size() / 2;
    for (size_t i = 0; i + 1 < batch.elements.size(); i += 2) {
      const auto& cid = batch.elements[i].str;
      const int64_t score = text::storedInt(&batch.elements[i + 1].str);
      // Same score as the cursor: members come in reverse lexical order; skip those returned.
      if (after_set && score == max_score && cid >= after_id) continue;
      ++examined;
      last_score = score;
      last_id = cid;
      const auto base = redis_.key("view:" + cid);
      auto h =
          redis_.command({"HMGET", base, "confidential", "status", "category", "verification"});
      if (h.elements.size() != 4 || h.elements[0].str == "1" || !published(h.elements[3].str))
        continue;
      if (f.status != v1::COMPLAINT_STATUS_UNSPECIFIED &&
          text::storedInt(&h.elements[1].str) != static_cast<int64_t>(f.status))
        continue;
      if (!f.category.empty() && h.elements[2].str != f.category) continue;
      if (!f.agency_id.empty() &&
          redis_.command({"SISMEMBER", base + ":agencies", f.agency_id}).integer != 1)
        continue;
      page.complaints.push_back(read(cid, ""));
      if (page.complaints.size() == page_size) break;
    }
  }
  page.next_cursor = std::to_string(last_score) + "/" + last_id;
  return page;
}

}  // namespace lapor::intake
