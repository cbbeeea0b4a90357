// Rule loading with line-numbered errors, and first-match routing with a triage fallback.
#include "domain/rule_set.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
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

std::string digestHex(const std::string& bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> stringList(const YAML::Node& n, const std::string& source,
                                    const std::string& what) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) return {n.as<std::string>()};
  if (!n.IsSequence()) throw DirectoryError(where(source, n) + what + " must be a list");
  for (const auto& x : n) out.push_back(x.as<std::string>());
  return out;
}

GeoPoint point(const YAML::Node& n, const std::string& src, const std::string& rule) {
  GeoPoint p;
  if (n.IsSequence() && n.size() == 2) {
    p = {n[0].as<double>(), n[1].as<double>()};
  } else if (n.IsMap() && n["lat"] && n["lon"]) {
    p = {n["lat"].as<double>(), n["lon"].as<double>()};
  } else {
    throw DirectoryError(where(src, n) + "rule '" + rule +
                         "': a point is [lat, lon] or {lat: .., lon: ..}");
  }
  if (p.lat < -90 || p.lat > 90 || p.lon < -180 || p.lon > 180)
    throw DirectoryError(where(src, n) + "rule '" + rule + "': point out of range (lat -90..90, " +
                         "lon -180..180)");
  return p;
}

}  // namespace

RuleSet RuleSet::fromDirectory(const agencies::AgencyDirectory& d) {
  RuleSet rs;
  rs.source_ = d.source();
  rs.agencies_ = d.agencies();
  // The digest covers the whole document, so an edit without a new `version:` still shows.
  rs.version_ = d.version() + "+" + digestHex(YAML::Dump(d.root()));
  const auto& src = d.source();
  const auto rules = d.root()["rules"];
  if (!rules) return rs;  // everything goes to triage
  if (!rules.IsSequence()) throw DirectoryError(where(src, rules) + "'rules' must be a list");
  std::set<std::string> ids;
  auto agencyList = [&](const YAML::Node& n, const Rule& rule, const char* what) {
    auto list = stringList(n, src, what);
    for (const auto& s : list)
      if (!d.find(s) || s == rule.lead)
        throw DirectoryError(where(src, n) + "rule '" + rule.id + "': " + what + " agency '" + s +
                             "' is unknown or is the lead");
    return list;
  };
  try {
    for (const auto& r : rules) {
      if (!r.IsMap() || !r["id"]) throw DirectoryError(where(src, r) + "rule without 'id'");
      Rule rule;
      rule.id = r["id"].as<std::string>();
      if (!ids.insert(rule.id).second)
        throw DirectoryError(where(src, r["id"]) + "duplicate rule id '" + rule.id + "'");
      static const std::set<std::string> known{"id",   "categories", "priorities",  "kecamatan",
                                               "desa", "polygon",    "radius",      "keywords",
                                               "lead", "support",    "alternatives"};
      for (const auto& kv : r)
        if (!known.count(kv.first.as<std::string>()))
          throw DirectoryError(where(src, kv.first) + "rule '" + rule.id + "': unknown key '" +
                               kv.first.as<std::string>() + "'");
      rule.categories = stringList(r["categories"], src, "categories");
      for (const auto& c : rule.categories)
        if (!d.categories().empty() && !d.category(c))
          throw DirectoryError(where(src, r["categories"]) + "rule '" + rule.id +
                               "': unknown category '" + c + "'");
      for (const auto& p : stringList(r["priorities"], src, "priorities")) {
        auto prio = priorityFromName(p);
        if (prio == v1::PRIORITY_UNSPECIFIED)
          throw DirectoryError(where(src, r["priorities"]) + "rule '" + rule.id +
                               "': unknown priority '" + p + "'");
        rule.priorities.push_back(prio);
      }
      rule.kecamatan = stringList(r["kecamatan"], src, "kecamatan");
      for (const auto& k : rule.kecamatan)
        if (!d.kecamatan().empty() &&
            std::find(d.kecamatan().begin(), d.kecamatan().end(), k) == d.kecamatan().end())
          throw DirectoryError(where(src, r["kecamatan"]) + "rule '" + rule.id +
                               "': unknown kecamatan '" + k + "'");
      rule.desa = stringList(r["desa"], src, "desa");
      if (const auto poly = r["polygon"]) {
        if (!poly.IsSequence() || poly.size() < 3)
          throw DirectoryError(where(src, poly) + "rule '" + rule.id +
                               "': a polygon needs at least 3 [lat, lon] vertices");
        for (const auto& v : poly) rule.polygon.push_back(point(v, src, rule.id));
        if (std::abs(doubledArea(rule.polygon)) < 1e-12)
          throw DirectoryError(where(src, poly) + "rule '" + rule.id +
                               "': the polygon has no area (its vertices lie on one line)");
      }
      if (const auto rad = r["radius"]) {
        if (!rad.IsMap() || !rad["center"] || !rad["metres"])
          throw DirectoryError(where(src, rad) + "rule '" + rule.id +
                               "': radius needs 'center' [lat, lon] and 'metres'");
        Radius radius{point(rad["center"], src, rule.id), rad["metres"].as<double>()};
        if (!(radius.metres > 0))
          throw DirectoryError(where(src, rad["metres"]) + "rule '" + rule.id +
                               "': radius metres must be above 0");
        rule.radius = radius;
      }
      for (auto k : stringList(r["keywords"], src, "keywords")) {
        if (k.find_first_not_of(" \t") == std::string::npos)
          throw DirectoryError(where(src, r["keywords"]) + "rule '" + rule.id + "': empty keyword");
        rule.keywords.push_back(lower(k));
      }
      if (!r["lead"]) throw DirectoryError(where(src, r) + "rule '" + rule.id + "' has no 'lead'");
      rule.lead = r["lead"].as<std::string>();
      if (!d.find(rule.lead))
        throw DirectoryError(where(src, r["lead"]) + "rule '" + rule.id + "': unknown agency '" +
                             rule.lead + "'");
      rule.support = agencyList(r["support"], rule, "support");
      rule.alternatives = agencyList(r["alternatives"], rule, "alternative");
      rs.rules_.push_back(std::move(rule));
    }
  } catch (const YAML::Exception& e) {
    throw DirectoryError(src + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return rs;
}

bool RuleSet::knows(const std::string& agency_id) const {
  return std::any_of(agencies_.begin(), agencies_.end(),
                     [&](const agencies::AgencyInfo& a) { return a.id == agency_id; });
}

bool RuleSet::serves(const std::string& agency, const v1::Complaint& c) const {
  for (const auto& a : agencies_)
    if (a.id == agency) return a.serves(c.location().kecamatan());
  return false;
}

bool RuleSet::matches(const Rule& r, const v1::Complaint& c, const std::string& text) const {
  auto any_or = [](const auto& list, const auto& value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
  };
  if (!any_or(r.categories, c.category())) return false;
  if (!any_or(r.priorities, c.priority())) return false;
  if (!any_or(r.kecamatan, c.location().kecamatan())) return false;
  if (!any_or(r.desa, c.location().desa())) return false;
  const GeoPoint at{c.location().lat(), c.location().lon()};
  if (!r.polygon.empty() && (!c.location().has_coordinates() || !insidePolygon(r.polygon, at)))
    return false;
  if (r.radius &&
      (!c.location().has_coordinates() || distanceMetres(r.radius->center, at) > r.radius->metres))
    return false;
  if (!r.keywords.empty() &&
      std::none_of(r.keywords.begin(), r.keywords.end(),
                   [&](const std::string& k) { return text.find(k) != std::string::npos; }))
    return false;
  return serves(r.lead, c);
}

RouteDecision RuleSet::route(const v1::Complaint& c) const {
  const auto text = lower(c.title() + "\n" + c.description());
  for (const auto& r : rules_) {
    if (!matches(r, c, text)) continue;
    RouteDecision d;
    d.rule_id = r.id;
    d.targets.push_back({r.lead, v1::ASSIGNMENT_ROLE_LEAD});
    for (const auto& s : r.support)
      if (serves(s, c)) d.targets.push_back({s, v1::ASSIGNMENT_ROLE_SUPPORT});
    return d;
  }
  RouteDecision d;
  d.triage = true;
  d.targets.push_back({agencies::AgencyDirectory::kTriage, v1::ASSIGNMENT_ROLE_LEAD});
  return d;
}

std::vector<std::string> RuleSet::candidates(const v1::Complaint& c) const {
  const auto text = lower(c.title() + "\n" + c.description());
  std::vector<std::string> out;
  auto add = [&](const std::string& a) {
    if (a != agencies::AgencyDirectory::kTriage && serves(a, c) &&
        std::find(out.begin(), out.end(), a) == out.end())
      out.push_back(a);
  };
  for (const auto& r : rules_) {
    if (!matches(r, c, text)) continue;
    add(r.lead);
    for (const auto& s : r.support) add(s);
    for (const auto& s : r.alternatives) add(s);
  }
  return out;
}

}  // namespace lapor::routing
