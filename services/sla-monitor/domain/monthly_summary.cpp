// See monthly_summary.h. The answered figures (follow-up and resolution obligations met on
// time, or breached) are counted by the obligation store's scripts where an obligation's state
// changes, so they count once however often the event or the timer is seen again.
#include "domain/monthly_summary.h"

#include "events/names.h"

#include <absl/time/civil_time.h>

#include <charconv>
#include <cstdio>
#include <map>

namespace lapor::sla {

namespace {

int64_t toInt(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() ? v : 0;
}

void add(v1::SummaryFigures& f, const std::string& figure, int64_t v) {
  if (figure == kFigureReceived) f.set_received(f.received() + v);
  else if (figure == kFigureVerified) f.set_verified(f.verified() + v);
  else if (figure == kFigureDispatched) f.set_dispatched(f.dispatched() + v);
  else if (figure == kFigureOnTime) f.set_answered_on_time(f.answered_on_time() + v);
  else if (figure == kFigureLate) f.set_answered_late(f.answered_late() + v);
  else if (figure == kFigureRatings) f.set_ratings(f.ratings() + v);
  else if (figure == kFigureRatingSum) f.set_rating_sum(f.rating_sum() + v);
}

void sum(v1::SummaryFigures& into, const v1::SummaryFigures& f) {
  into.set_received(into.received() + f.received());
  into.set_verified(into.verified() + f.verified());
  into.set_dispatched(into.dispatched() + f.dispatched());
  into.set_answered_on_time(into.answered_on_time() + f.answered_on_time());
  into.set_answered_late(into.answered_late() + f.answered_late());
  into.set_ratings(into.ratings() + f.ratings());
  into.set_rating_sum(into.rating_sum() + f.rating_sum());
}

void average(v1::SummaryFigures& f) {
  f.set_average_rating(f.ratings() > 0 ? static_cast<double>(f.rating_sum()) /
                                             static_cast<double>(f.ratings())
                                       : 0.0);
}

bool known(const v1::ComplaintLedger& l, const std::string& assignment_id) {
  for (const auto& a : l.assignments())
    if (a.assignment_id() == assignment_id) return true;
  return false;
}

}  // namespace

std::string monthOf(int64_t epoch_ms, const WorkCalendar& cal) {
  const auto day = cal.localDay(epoch_ms);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", static_cast<int>(day.year()), day.month());
  return buf;
}

bool isMonth(const std::string& t) {
  if (t.size() != 7 || t[4] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6})
    if (t[i] < '0' || t[i] > '9') return false;
  const auto year = std::stoi(t.substr(0, 4));
  const auto month = std::stoi(t.substr(5, 2));
  return year >= 1970 && month >= 1 && month <= 12;
}

std::string summaryField(v1::ReportType type, const std::string& category, const char* figure) {
  return std::to_string(static_cast<int>(events::knownReportType(type))) + "|" + category + "|" +
         figure;
}

std::vector<SummaryIncrement> summaryIncrements(const v1::ComplaintLedger& before,
                                                const Step& s, const v1::EventEnvelope& env,
                                                const WorkCalendar& cal) {
  std::vector<SummaryIncrement> out;
  if (!s.changed) return out;
  const auto& l = s.ledger;
  const auto month = monthOf(env.occurred_at_ms(), cal);
  auto put = [&](const std::string& agency, const char* figure, int64_t by = 1) {
    out.push_back({month, agency, summaryField(l.report_type(), l.category(), figure), by});
  };
  switch (env.event_case()) {
    case v1::EventEnvelope::kSubmitted:
      put("", kFigureReceived);
      break;
    case v1::EventEnvelope::kVerified:
      put("", kFigureVerified);
      break;
    case v1::EventEnvelope::kRouted: {
      const auto& r = env.routed();
      if (r.reason() == "redispatch" || r.triage()) break;
      for (const auto& a : r.assignments()) {
        // An assignment the ledger had already is a repeat of its dispatch, not a new one.
        if (known(before, a.assignment_id()) || a.agency_id() == kTriageDesk) continue;
        put(a.agency_id(), kFigureReceived);
        put(a.agency_id(), kFigureDispatched);
        put("", kFigureDispatched);
      }
      break;
    }
    case v1::EventEnvelope::kFeedback: {
      const auto rating = env.feedback().rating();
      if (rating < 1 || rating > 5) break;  // not a rating: nothing to average
      put("", kFigureRatings);
      put("", kFigureRatingSum, rating);
      if (!l.answer_agency().empty() && l.answer_agency() != kTriageDesk) {
        put(l.answer_agency(), kFigureRatings);
        put(l.answer_agency(), kFigureRatingSum, rating);
      }
      break;
    }
    default:
      break;
  }
  return out;
}

v1::GetMonthlySummaryResponse summaryFrom(
    const std::string& agency, const std::string& month,
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::map<std::pair<int, std::string>, v1::SummaryFigures> rows;
  for (const auto& [field, value] : fields) {
    const auto first = field.find('|');
    const auto last = field.rfind('|');
    if (first == std::string::npos || last == first) continue;  // not a counter of ours
    const auto type = static_cast<int>(toInt(field.substr(0, first)));
    add(rows[{type, field.substr(first + 1, last - first - 1)}], field.substr(last + 1),
        toInt(value));
  }
  v1::GetMonthlySummaryResponse r;
  r.set_agency_id(agency);
  r.set_month(month);
  auto* total = r.mutable_total();
  for (auto& [key, figures] : rows) {
    sum(*total, figures);
    average(figures);
    auto* row = r.add_rows();
    row->set_report_type(static_cast<v1::ReportType>(key.first));
    row->set_category(key.second);
    *row->mutable_figures() = figures;
  }
  average(*total);
  return r;
}

}  // namespace lapor::sla
