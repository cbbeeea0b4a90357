#include "domain/verification.h"

#include "events/names.h"

#include <sstream>
#include <stdexcept>

namespace lapor::routing {

namespace {
std::vector<std::string> splitList(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream in(csv);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}
}  // namespace

VerificationPolicy VerificationPolicy::parse(const std::string& channels,
                                             const std::string& skip_categories,
                                             const agencies::AgencyDirectory& directory) {
  VerificationPolicy p;
  for (const auto& name : splitList(channels)) {
    auto c = events::channelFromName(name);
    if (!c)
      throw std::invalid_argument("verification.channels: unknown channel '" + name +
                                  "' (web, app, sms, open311, external)");
    if (*c == v1::CHANNEL_CALL_CENTRE_112)
      throw std::invalid_argument(
          "verification.channels: call-centre-112 reports are emergencies and never wait");
    p.channels_.insert(*c);
  }
  for (const auto& code : splitList(skip_categories)) {
    if (!directory.category(code))
      throw std::invalid_argument("verification.skip_categories: unknown category '" + code + "'");
    p.skip_.insert(code);
  }
  for (const auto& c : directory.categories())
    if (c.emergency) p.emergency_.insert(c.code);
  return p;
}

bool VerificationPolicy::required(const v1::Complaint& c) const {
  if (c.priority() == v1::PRIORITY_EMERGENCY || c.channel() == v1::CHANNEL_CALL_CENTRE_112)
    return false;
  if (emergency_.count(c.category()) || skip_.count(c.category())) return false;
  return channels_.count(c.channel()) > 0;
}

}  // namespace lapor::routing
