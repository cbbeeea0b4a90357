// Rule loading with line-numbered errors, and first-match routing with a triage fallback.
#include "domain/rule_set.h"

#include <algorithm>
#include <set>

namespace lapor::routing {

using agencies::DirectoryError;
using agencies::where;

v1::Priority priorityFromName(const std::string& name) {
  if (name == "emergency") return v1::PRIORITY_EMERGENCY;
  if (name == "high") return v1::PRIORITY_HIGH;
  if (name == "normal") return v1::PRIORITY_NORMAL;
  if (name == "low") return v1::PRIORITY_LOW;
  return v1::PRIORITY_UNSPECIFIED;
}

namespace {
std::vector<std::string> stringList(const YAML::Node& n, const std::string& source,
                                    const std::string& what) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) return {n.as<std::string>()};
  if (!n.IsSequence()) throw DirectoryError(where(source, n) + what + " must be a list");
  for (const auto& x : n) out.push_back(x.as<std::string>());
  return out;
}
}  // namespace

RuleSet RuleSet::fromDirectory(const agencies::AgencyDirectory& d) {
  RuleSet rs;
  rs.version_ = d.version();
  rs.source_ = d.source();
  const auto& src = d.source();
  const auto rules = d.root()["rules"];
  if (!rules) return rs;  // everything goes to triage
  if (!rules.IsSequence()) throw DirectoryError(where(src, rules) + "'rules' must be a list");
  std::set<std::string> ids;
  try {
    for (const auto& r : rules) {
      if (!r.IsMap() || !r["id"]) throw DirectoryError(where(src, r) + "rule without 'id'");
      Rule rule;
      rule.id = r["id"].as<std::string>();
      if (!ids.insert(rule.id).second)
        throw DirectoryError(where(src, r["id"]) + "duplicate rule id '" + rule.id + "'");
      rule.categories = stringList(r["categories"], src, "categories");
      for (size_t i = 0; i < rule.categories.size(); ++i)
        if (!d.categories().empty() && !d.category(rule.categories[i]))
          throw DirectoryError(where(src, r["categories"]) + "rule '" + rule.id +
                               "': unknown category '" + rule.categories[i] + "'");
      for (const auto& p : stringList(r["priorities"], src, "priorities")) {
        auto prio = priorityFromName(p);
        if (prio == v1::PRIORITY_UNSPECIFIED)
          throw DirectoryError(where(src, r["priorities"]) + "rule '" + rule.id +
                               "': unknown priority '" + p + "'");
        rule.priorities.push_back(prio);
      }
      rule.kecamatan = stringList(r["kecamatan"], src, "kecamatan");
      if (!r["lead"]) throw DirectoryError(where(src, r) + "rule '" + rule.id + "' has no 'lead'");
      rule.lead = r["lead"].as<std::string>();
      if (!d.find(rule.lead))
        throw DirectoryError(where(src, r["lead"]) + "rule '" + rule.id + "': unknown agency '" +
                             rule.lead + "'");
      rule.support = stringList(r["support"], src, "support");
      for (const auto& s : rule.support)
        if (!d.find(s) || s == rule.lead)
          throw DirectoryError(where(src, r["support"]) + "rule '" + rule.id +
                               "': support agency '" + s + "' is unknown or is the lead");
      rs.rules_.push_back(std::move(rule));
    }
  } catch (const YAML::Exception& e) {
    throw DirectoryError(src + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return rs;
}

RouteDecision RuleSet::route(const v1::Complaint& c) const {
  auto any_or = [](const auto& list, const auto& value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
  };
  for (const auto& r : rules_) {
    if (!any_or(r.categories, c.category())) continue;
    if (!any_or(r.priorities, c.priority())) continue;
    if (!any_or(r.kecamatan, c.location().kecamatan())) continue;
    RouteDecision d;
    d.rule_id = r.id;
    d.targets.push_back({r.lead, v1::ASSIGNMENT_ROLE_LEAD});
    for (const auto& s : r.support) d.targets.push_back({s, v1::ASSIGNMENT_ROLE_SUPPORT});
    return d;
  }
  RouteDecision d;
  d.triage = true;
  d.targets.push_back({agencies::AgencyDirectory::kTriage, v1::ASSIGNMENT_ROLE_LEAD});
  return d;
}

}  // namespace lapor::routing
