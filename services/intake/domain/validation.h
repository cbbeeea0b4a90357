// Field-level validation of a submission; pure, so every rule is unit-tested without I/O.
#pragma once

#include "agencies/agency_directory.h"
#include "lapor/v1/intake.pb.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lapor::intake {

struct FieldViolation {
  std::string field;        // proto field path, e.g. location.lat
  std::string description;  // what is wrong, in words a caller can act on
};

struct ValidationLimits {
  size_t title_max = 200;
  size_t description_max = 4000;  // as in Open311 GeoReport v2
  size_t attachments_max = 10;
  int64_t clock_skew_ms = 5 * 60 * 1000;  // observed_at_ms may be this far ahead of our clock
};

inline constexpr int64_t kEarliestObservedMs = 946'684'800'000;  // 2000-01-01T00:00:00Z

// `now_ms` (0: unknown) bounds observed_at_ms from above.
std::vector<FieldViolation> validateSubmission(const v1::SubmitComplaintRequest& req,
                                               const agencies::AgencyDirectory& directory,
                                               const ValidationLimits& limits = {},
                                               int64_t now_ms = 0);

// True when `s` is well-formed UTF-8.
bool isUtf8(const std::string& s);

}  // namespace lapor::intake
