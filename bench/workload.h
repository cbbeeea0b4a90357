// The complaints the load generator submits: a realistic mix of categories, priorities,
// channels and text sizes drawn from the regency's directory (deploy/config/agencies.yaml),
// each with the agencies the routing rules of the same file send it to.
#pragma once

#include "agencies/agency_directory.h"
#include "domain/rule_set.h"
#include "lapor/v1/intake.pb.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lapor::bench {

struct WorkItem {
  v1::SubmitComplaintRequest request;
  std::vector<std::string> agencies;  // every agency whose stream must receive it
};

class Workload {
 public:
  // Same seed, same sequence of complaints.
  Workload(const agencies::AgencyDirectory& directory, uint64_t seed);

  WorkItem next();
  // Categories in turn instead of by weight, so a warm-up reaches every rule and every
  // agency's dispatch topic (a producer's first message to a topic waits for its metadata).
  void setRoundRobin(bool on) { round_robin_ = on; }
  // Every agency of the directory: each gets one simulated client.
  std::vector<std::string> agencyIds() const;

 private:
  const agencies::AgencyDirectory& directory_;
  routing::RuleSet rules_;
  std::mt19937_64 rng_;
  std::vector<std::string> categories_;
  std::discrete_distribution<size_t> category_pick_;
  std::vector<std::string> kecamatan_;
  uint64_t sequence_ = 0;
  bool round_robin_ = false;
};

}  // namespace lapor::bench
