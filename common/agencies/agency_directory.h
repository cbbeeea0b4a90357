// The agencies and complaint categories of a regency, read from one YAML file that routing,
// notification, the SLA monitor and intake share (deploy/config/agencies.yaml).
#pragma once

#include "agencies/triage.h"
#include "lapor/v1/complaint.pb.h"

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lapor::agencies {

class DirectoryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AgencyInfo {
  std::string id;
  std::string name;
  std::string kind;
  std::string supervisor;          // id of the next escalation level, or ""
  std::vector<std::string> areas;  // kecamatan it serves; empty: the whole regency
  // How it receives assignments: stream (gRPC AgencyFeed), webhook or kafka (reads its own
  // dispatch topic). Webhook URLs and secrets are in the notification service's config.
  std::string delivery_channel = "stream";
  // The consumer group the agency reads its dispatch topic with (channel kafka only): its
  // committed offsets tell notification what was delivered. Default kafkaGroup(id).
  std::string delivery_group;

  // Its work units (unit kerja, UPTD), by id: see UnitInfo.
  std::vector<std::string> units;

  // True when it serves `kecamatan` ("" = unknown place: every agency serves it).
  bool serves(const std::string& kecamatan) const;
};

// A work unit of an agency (unit kerja, UPTD). Not an agency: routing never routes to it, it
// has no dispatch topic and no supervisor; its agency delegates assignments to it and stays
// accountable for them. Its id is topic-safe like an agency's, unique among units and never
// an agency's id, so one id names one caller.
struct UnitInfo {
  std::string id;
  std::string name;
  std::string agency;              // the agency it belongs to
  std::vector<std::string> areas;  // kecamatan it works in; empty: wherever its agency does
};

struct CategoryInfo {
  std::string code;
  std::string name;
  bool emergency = false;
  // The report type a report of this category is when its submitter gives none
  // (`report_type`: complaint, complaint_light, ...; UNSPECIFIED reads as complaint).
  v1::ReportType report_type = v1::REPORT_TYPE_UNSPECIFIED;
};

class AgencyDirectory {
 public:
  // Throws DirectoryError naming the file, the line and what is wrong.
  static AgencyDirectory loadFile(const std::string& path);
  static AgencyDirectory parse(const std::string& yaml, const std::string& source = "<string>");

  const std::vector<AgencyInfo>& agencies() const { return agencies_; }
  const std::vector<CategoryInfo>& categories() const { return categories_; }
  // The `kecamatan` list of the file (may be empty: then areas are not checked).
  const std::vector<std::string>& kecamatan() const { return kecamatan_; }
  const AgencyInfo* find(const std::string& id) const;
  // The work unit with this id, or nullptr (an agency id is never a unit's).
  const UnitInfo* unit(const std::string& id) const;
  const std::vector<UnitInfo>& units() const { return units_; }
  const CategoryInfo* category(const std::string& code) const;
  const std::string& version() const { return version_; }
  const std::string& source() const { return source_; }
  const YAML::Node& root() const { return root_; }

  // The operator queue that takes every complaint no rule matches.
  static constexpr const char* kTriage = kTriageDesk;

 private:
  static AgencyDirectory parseChecked(const std::string& yaml, const std::string& source);

  std::vector<AgencyInfo> agencies_;
  std::vector<UnitInfo> units_;
  std::map<std::string, size_t> unit_index_;
  std::vector<CategoryInfo> categories_;
  std::vector<std::string> kecamatan_;
  std::map<std::string, size_t> index_;
  std::string version_;
  std::string source_;
  YAML::Node root_;
};

// The default consumer group of a kafka-channel agency: "agency-<id>.dispatch".
std::string defaultDeliveryGroup(const std::string& agency_id);

// "file:LINE: " prefix for errors about a YAML node.
std::string where(const std::string& source, const YAML::Node& node);

}  // namespace lapor::agencies
