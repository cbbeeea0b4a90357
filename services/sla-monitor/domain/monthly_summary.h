// The monthly summary: what each lifecycle event adds to the per-month counters of the regency
// and of an agency (received, verified, dispatched, ratings), and the stored counters turned
// into a GetMonthlySummaryResponse. Counters live in one hash per month and agency, fields
// `<report type number>|<category>|<figure>`. Pure: no clock, no I/O.
#pragma once

#include "domain/follow_up.h"
#include "domain/work_calendar.h"
#include "lapor/v1/events.pb.h"
#include "lapor/v1/sla.pb.h"

#include <string>
#include <utility>
#include <vector>

namespace lapor::sla {

// Figure names as stored (the last part of a field).
inline constexpr const char* kFigureReceived = "received";
inline constexpr const char* kFigureVerified = "verified";
inline constexpr const char* kFigureDispatched = "dispatched";
inline constexpr const char* kFigureOnTime = "on_time";
inline constexpr const char* kFigureLate = "late";
inline constexpr const char* kFigureRatings = "ratings";
inline constexpr const char* kFigureRatingSum = "rating_sum";

struct SummaryIncrement {
  std::string month;   // YYYY-MM in the regency's zone
  std::string agency;  // "" = the whole regency
  std::string field;   // <type>|<category>|<figure>
  int64_t by = 1;
};

// "YYYY-MM" of the moment in the calendar's zone.
std::string monthOf(int64_t epoch_ms, const WorkCalendar& cal);
// A well-formed YYYY-MM (year 1970..9999, month 01..12).
bool isMonth(const std::string& text);

std::string summaryField(v1::ReportType type, const std::string& category, const char* figure);

// What the event adds, judged by the ledger before it and the step it made. A step that
// changed nothing (a repeat among the ledger's recent events) adds nothing.
std::vector<SummaryIncrement> summaryIncrements(const v1::ComplaintLedger& before,
                                                const Step& step, const v1::EventEnvelope& env,
                                                const WorkCalendar& cal);

// The stored counters of one month and agency (field, value pairs) as the response: rows by
// report type then category, their total, averages = rating sum / ratings.
v1::GetMonthlySummaryResponse summaryFrom(
    const std::string& agency, const std::string& month,
    const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace lapor::sla
