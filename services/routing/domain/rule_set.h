// Routing rules: which agency leads and which support, for a complaint. Pure: no I/O, no clock.
#pragma once

#include "agencies/agency_directory.h"
#include "lapor/v1/agency.pb.h"
#include "lapor/v1/complaint.pb.h"

#include <string>
#include <vector>

namespace lapor::routing {

struct RouteTarget {
  std::string agency_id;
  v1::AssignmentRole role = v1::ASSIGNMENT_ROLE_LEAD;
};

struct RouteDecision {
  std::string rule_id;  // "" when triaged
  bool triage = false;
  std::vector<RouteTarget> targets;  // lead first; never empty (triage is a target too)
};

class RuleSet {
 public:
  // Reads the `rules` list of the directory file. Throws agencies::DirectoryError with the
  // file, line and reason (unknown agency, duplicate id, unknown category or priority).
  static RuleSet fromDirectory(const agencies::AgencyDirectory& directory);

  // First rule in file order whose every given condition matches; otherwise triage.
  RouteDecision route(const v1::Complaint& complaint) const;

  const std::string& version() const { return version_; }
  const std::string& source() const { return source_; }
  size_t size() const { return rules_.size(); }

 private:
  struct Rule {
    std::string id;
    std::vector<std::string> categories;   // empty: any
    std::vector<v1::Priority> priorities;  // empty: any
    std::vector<std::string> kecamatan;    // empty: any
    std::string lead;
    std::vector<std::string> support;
  };
  std::vector<Rule> rules_;
  std::string version_;
  std::string source_;
};

// "emergency" -> PRIORITY_EMERGENCY; PRIORITY_UNSPECIFIED when unknown.
v1::Priority priorityFromName(const std::string& name);

}  // namespace lapor::routing
