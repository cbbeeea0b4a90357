// Which new reports wait for the verifiers before anything is dispatched (SP4N-LAPOR!'s
// verification stage): reports of the configured channels, except emergencies (the EMERGENCY
// priority, the 112 desk's channel, a category marked emergency) and the categories configured
// to skip it. Pure.
#pragma once

#include "agencies/agency_directory.h"
#include "lapor/v1/complaint.pb.h"

#include <set>
#include <string>

namespace lapor::routing {

class VerificationPolicy {
 public:
  VerificationPolicy() = default;  // verifies nothing
  // `channels` and `skip_categories`: comma-separated names (web, app, sms, open311, external;
  // category codes of the directory). Throws std::invalid_argument naming an unknown one, or the
  // 112 channel (emergencies are never held).
  static VerificationPolicy parse(const std::string& channels, const std::string& skip_categories,
                                  const agencies::AgencyDirectory& directory);

  bool required(const v1::Complaint& c) const;
  const std::set<v1::Channel>& channels() const { return channels_; }

 private:
  std::set<v1::Channel> channels_;
  std::set<std::string> skip_;       // configured
  std::set<std::string> emergency_;  // the directory's emergency categories
};

}  // namespace lapor::routing
