// The response a reporter can expect, from the SLA defaults per priority: emergencies count
// wall-clock time, everything else working days (Monday-Friday in the regency's time zone).
#pragma once

#include "lapor/v1/complaint.pb.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace lapor::intake {

struct ResponseTarget {
  std::chrono::milliseconds within{0};
  bool working_days = false;  // `within` is whole days of Monday-Friday
};

struct ExpectedResponse {
  int64_t seconds = 0;  // the nominal duration
  std::string words;    // "within 60 seconds", "within 3 working days"
  int64_t by_ms = 0;    // deadline from the submission time
};

class ResponseTimes {
 public:
  ResponseTimes(std::map<v1::Priority, ResponseTarget> targets, int utc_offset_minutes);
  ExpectedResponse expected(v1::Priority priority, int64_t submitted_ms) const;

 private:
  std::map<v1::Priority, ResponseTarget> targets_;
  int utc_offset_minutes_;
};

}  // namespace lapor::intake
