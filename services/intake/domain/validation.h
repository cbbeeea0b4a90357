// Field-level validation of a submission; pure, so every rule is unit-tested without I/O.
#pragma once

#include "agencies/agency_directory.h"
#include "lapor/v1/intake.pb.h"

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
};

std::vector<FieldViolation> validateSubmission(const v1::SubmitComplaintRequest& req,
                                               const agencies::AgencyDirectory& directory,
                                               const ValidationLimits& limits = {});

// True when `s` is well-formed UTF-8.
bool isUtf8(const std::string& s);

}  // namespace lapor::intake
