// Routing rules: which agency leads and which support, for a complaint, and who comes next
// when one of them says "bukan wewenang". Pure: no I/O, no clock.
#pragma once

#include "agencies/agency_directory.h"
#include "domain/geo.h"
#include "lapor/v1/agency.pb.h"
#include "lapor/v1/complaint.pb.h"

#include <optional>
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
  // file, line and reason (unknown agency, duplicate id, unknown category or priority, bad
  // polygon or radius, empty keyword).
  static RuleSet fromDirectory(const agencies::AgencyDirectory& directory);

  // First rule in file order whose every given condition matches and whose lead serves the
  // complaint's kecamatan; otherwise triage. Support agencies that do not serve it are left out.
  RouteDecision route(const v1::Complaint& complaint) const;

  // Re-routing order: the lead, support and alternative agencies of the first matching rule,
  // then those of every later matching rule, each agency once, without triage and without
  // agencies whose areas leave the complaint's kecamatan out.
  std::vector<std::string> candidates(const v1::Complaint& complaint) const;

  // File version plus a digest of the file, so two different files never share a version.
  const std::string& version() const { return version_; }
  const std::string& source() const { return source_; }
  bool knows(const std::string& agency_id) const;
  size_t size() const { return rules_.size(); }

 private:
  struct Radius {
    GeoPoint center;
    double metres = 0;
  };
  struct Rule {
    std::string id;
    std::vector<std::string> categories;   // empty: any
    std::vector<v1::Priority> priorities;  // empty: any
    std::vector<std::string> kecamatan;    // empty: any
    std::vector<std::string> desa;         // empty: any
    std::vector<GeoPoint> polygon;         // empty: anywhere
    std::optional<Radius> radius;
    std::vector<std::string> keywords;  // lower case; any one in title or description
    std::string lead;
    std::vector<std::string> support;
    std::vector<std::string> alternatives;  // re-route candidates after lead and support
  };
  bool matches(const Rule& r, const v1::Complaint& c, const std::string& text) const;
  bool serves(const std::string& agency, const v1::Complaint& c) const;

  std::vector<Rule> rules_;
  std::vector<agencies::AgencyInfo> agencies_;
  std::string version_;
  std::string source_;
};

// "emergency" -> PRIORITY_EMERGENCY; PRIORITY_UNSPECIFIED when unknown.
v1::Priority priorityFromName(const std::string& name);

// A stable 64-bit FNV-1a digest, as 16 hex digits.
std::string digestHex(const std::string& bytes);

}  // namespace lapor::routing
