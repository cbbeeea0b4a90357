// Loads and validates the agency directory; ids must be topic-safe and unique.
#include "agencies/agency_directory.h"

#include "events/names.h"

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

namespace lapor::agencies {

std::string where(const std::string& source, const YAML::Node& node) {
  auto mark = node.Mark();
  if (mark.line < 0) return source + ": ";
  return source + ":" + std::to_string(mark.line + 1) + ": ";
}

std::string defaultDeliveryGroup(const std::string& agency_id) {
  return "agency-" + agency_id + ".dispatch";
}

bool AgencyInfo::serves(const std::string& kecamatan) const {
  return areas.empty() || kecamatan.empty() ||
         std::find(areas.begin(), areas.end(), kecamatan) != areas.end();
}

AgencyDirectory AgencyDirectory::loadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DirectoryError(path + ": cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  return parse(buf.str(), path);
}

AgencyDirectory AgencyDirectory::parse(const std::string& yaml, const std::string& source) {
  try {
    return parseChecked(yaml, source);
  } catch (const YAML::Exception& e) {
    // A value of the wrong type (e.g. emergency: maybe) still gets file and line.
    throw DirectoryError(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

AgencyDirectory AgencyDirectory::parseChecked(const std::string& yaml, const std::string& source) {
  AgencyDirectory d;
  d.source_ = source;
  d.root_ = YAML::Load(yaml);
  if (!d.root_.IsMap()) throw DirectoryError(source + ": top level must be a map");
  d.version_ = d.root_["version"] ? d.root_["version"].as<std::string>() : "unversioned";
  const auto agencies = d.root_["agencies"];
  if (!agencies || !agencies.IsSequence() || agencies.size() == 0)
    throw DirectoryError(source + ": 'agencies' must be a non-empty list");
  if (const auto kec = d.root_["kecamatan"]) {
    if (!kec.IsSequence()) throw DirectoryError(where(source, kec) + "'kecamatan' must be a list");
    for (const auto& k : kec) d.kecamatan_.push_back(k.as<std::string>());
  }
  static const std::regex id_re("^[a-z0-9][a-z0-9-]{0,62}$");
  for (const auto& a : agencies) {
    AgencyInfo info;
    if (!a.IsMap() || !a["id"]) throw DirectoryError(where(source, a) + "agency without 'id'");
    info.id = a["id"].as<std::string>();
    if (!std::regex_match(info.id, id_re))
      throw DirectoryError(where(source, a["id"]) + "agency id '" + info.id +
                           "' must be lower-case letters, digits and '-' (it names a topic)");
    if (d.index_.count(info.id))
      throw DirectoryError(where(source, a["id"]) + "duplicate agency id '" + info.id + "'");
    info.name = a["name"] ? a["name"].as<std::string>() : info.id;
    info.kind = a["kind"] ? a["kind"].as<std::string>() : "";
    info.supervisor = a["supervisor"] ? a["supervisor"].as<std::string>() : "";
    if (const auto areas = a["areas"]) {
      if (!areas.IsSequence())
        throw DirectoryError(where(source, areas) + "agency '" + info.id +
                             "': 'areas' must be a list of kecamatan");
      for (const auto& k : areas) {
        auto name = k.as<std::string>();
        if (!d.kecamatan_.empty() &&
            std::find(d.kecamatan_.begin(), d.kecamatan_.end(), name) == d.kecamatan_.end())
          throw DirectoryError(where(source, k) + "agency '" + info.id + "': unknown kecamatan '" +
                               name + "' in 'areas'");
        info.areas.push_back(std::move(name));
      }
    }
    if (const auto delivery = a["delivery"]) {
      if (!delivery.IsMap() || !delivery["channel"])
        throw DirectoryError(where(source, delivery) + "agency '" + info.id +
                             "': 'delivery' must be a map with 'channel'");
      info.delivery_channel = delivery["channel"].as<std::string>();
      if (info.delivery_channel != "stream" && info.delivery_channel != "webhook" &&
          info.delivery_channel != "kafka")
        throw DirectoryError(where(source, delivery["channel"]) + "agency '" + info.id +
                             "': delivery channel '" + info.delivery_channel +
                             "' must be stream, webhook or kafka");
      for (const auto& kv : delivery) {
        const auto key = kv.first.as<std::string>();
        if (key != "channel" && key != "group")
          throw DirectoryError(where(source, kv.first) + "agency '" + info.id +
                               "': unknown key 'delivery." + key + "' (channel, group)");
      }
      if (const auto group = delivery["group"]) {
        if (info.delivery_channel != "kafka")
          throw DirectoryError(where(source, group) + "agency '" + info.id +
                               "': 'delivery.group' is the agency's Kafka consumer group and "
                               "needs channel kafka, not " + info.delivery_channel);
        static const std::regex group_re("^[A-Za-z0-9._-]{1,200}$");
        info.delivery_group = group.as<std::string>();
        if (!std::regex_match(info.delivery_group, group_re))
          throw DirectoryError(where(source, group) + "agency '" + info.id +
                               "': 'delivery.group' '" + info.delivery_group +
                               "' must be 1..200 letters, digits, '.', '_' or '-'");
      }
    }
    if (info.delivery_channel == "kafka" && info.delivery_group.empty())
      info.delivery_group = defaultDeliveryGroup(info.id);
    d.index_[info.id] = d.agencies_.size();
    d.agencies_.push_back(std::move(info));
  }
  // Units after every agency is known: a unit id must not be an agency id further down.
  for (const auto& a : agencies) {
    const auto units = a["units"];
    if (!units) continue;
    const auto agency = a["id"].as<std::string>();
    if (!units.IsSequence())
      throw DirectoryError(where(source, units) + "agency '" + agency +
                           "': 'units' must be a list of {id, name, areas}");
    const auto* owner = d.find(agency);
    for (const auto& u : units) {
      if (!u.IsMap() || !u["id"])
        throw DirectoryError(where(source, u) + "agency '" + agency + "': unit without 'id'");
      UnitInfo unit;
      unit.id = u["id"].as<std::string>();
      unit.agency = agency;
      const auto name = "agency '" + agency + "', unit '" + unit.id + "': ";
      for (const auto& kv : u) {
        const auto key = kv.first.as<std::string>();
        if (key != "id" && key != "name" && key != "areas")
          throw DirectoryError(where(source, kv.first) + name + "unknown key '" + key +
                               "' (id, name, areas)");
      }
      if (!std::regex_match(unit.id, id_re))
        throw DirectoryError(where(source, u["id"]) + name +
                             "the id must be lower-case letters, digits and '-' (it names a "
                             "feed and a caller)");
      if (d.find(unit.id))
        throw DirectoryError(where(source, u["id"]) + name +
                             "the id is an agency's id; a unit needs an id of its own");
      if (d.unit_index_.count(unit.id))
        throw DirectoryError(where(source, u["id"]) + name + "duplicate unit id (also of agency '" +
                             d.units_[d.unit_index_[unit.id]].agency + "')");
      unit.name = u["name"] ? u["name"].as<std::string>() : unit.id;
      if (const auto areas = u["areas"]) {
        if (!areas.IsSequence())
          throw DirectoryError(where(source, areas) + name + "'areas' must be a list of kecamatan");
        for (const auto& k : areas) {
          auto kec = k.as<std::string>();
          if (!d.kecamatan_.empty() &&
              std::find(d.kecamatan_.begin(), d.kecamatan_.end(), kec) == d.kecamatan_.end())
            throw DirectoryError(where(source, k) + name + "unknown kecamatan '" + kec +
                                 "' in 'areas'");
          if (!owner->serves(kec))
            throw DirectoryError(where(source, k) + name + "kecamatan '" + kec +
                                 "' is not among the areas of its agency");
          unit.areas.push_back(std::move(kec));
        }
      }
      d.unit_index_[unit.id] = d.units_.size();
      d.agencies_[d.index_[agency]].units.push_back(unit.id);
      d.units_.push_back(std::move(unit));
    }
  }
  for (const auto& a : agencies) {
    if (a["supervisor"] && !d.find(a["supervisor"].as<std::string>()))
      throw DirectoryError(where(source, a["supervisor"]) + "supervisor '" +
                           a["supervisor"].as<std::string>() + "' is not a known agency");
  }
  if (!d.find(kTriage))
    throw DirectoryError(where(source, agencies) +
                         "an agency with id 'triage' (the operator queue) is required");
  if (const auto cats = d.root_["categories"]) {
    if (!cats.IsSequence())
      throw DirectoryError(where(source, cats) + "'categories' must be a list");
    for (const auto& c : cats) {
      if (!c.IsMap() || !c["code"])
        throw DirectoryError(where(source, c) + "category without 'code'");
      CategoryInfo ci;
      ci.code = c["code"].as<std::string>();
      if (d.category(ci.code))
        throw DirectoryError(where(source, c["code"]) + "duplicate category '" + ci.code + "'");
      ci.name = c["name"] ? c["name"].as<std::string>() : ci.code;
      ci.emergency = c["emergency"] && c["emergency"].as<bool>();
      if (c["report_type"]) {
        auto t = events::reportTypeFromName(c["report_type"].as<std::string>());
        if (!t)
          throw DirectoryError(where(source, c["report_type"]) + "category '" + ci.code +
                               "': unknown report_type '" + c["report_type"].as<std::string>() +
                               "' (complaint, complaint_light, complaint_normative, "
                               "complaint_oversight, aspiration, information_request)");
        ci.report_type = *t;
      }
      d.categories_.push_back(std::move(ci));
    }
  }
  return d;
}

const AgencyInfo* AgencyDirectory::find(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &agencies_[it->second];
}

const UnitInfo* AgencyDirectory::unit(const std::string& id) const {
  auto it = unit_index_.find(id);
  return it == unit_index_.end() ? nullptr : &units_[it->second];
}

const CategoryInfo* AgencyDirectory::category(const std::string& code) const {
  for (const auto& c : categories_)
    if (c.code == code) return &c;
  return nullptr;
}

}  // namespace lapor::agencies
