// Weights follow what a regency's complaint desk sees: roads, garbage, water and documents
// dominate; emergencies are a minority but fan out to several agencies.
#include "workload.h"

#include <array>
#include <map>

namespace lapor::bench {

namespace {

// Relative frequency by category code; a category added to the directory later gets the
// default weight, so the mix always covers the whole file.
double categoryWeight(const std::string& code) {
  static const std::map<std::string, double> weights{{"road-damage", 18},
                                                     {"garbage", 14},
                                                     {"water", 12},
                                                     {"population-documents", 12},
                                                     {"public-service", 10},
                                                     {"other", 6},
                                                     {"flood", 6},
                                                     {"traffic-accident", 6},
                                                     {"crime", 5},
                                                     {"medical-emergency", 5},
                                                     {"fire", 4},
                                                     {"landslide", 2}};
  auto it = weights.find(code);
  return it == weights.end() ? 3 : it->second;
}

// Filler text in the language complaints are written in; cut to the drawn length.
const std::string& prose() {
  static const std::string text = [] {
    const std::string sentence =
        "Warga melaporkan kondisi yang sudah berlangsung beberapa hari di lingkungan RT kami "
        "dan belum ada tindak lanjut dari petugas, mohon segera ditangani. ";
    std::string s;
    while (s.size() < 4000) s += sentence;
    return s.substr(0, 4000);
  }();
  return text;
}

}  // namespace

Workload::Workload(const agencies::AgencyDirectory& directory, uint64_t seed)
    : directory_(directory), rules_(routing::RuleSet::fromDirectory(directory)), rng_(seed) {
  std::vector<double> weights;
  for (const auto& c : directory.categories()) {
    categories_.push_back(c.code);
    weights.push_back(categoryWeight(c.code));
  }
  category_pick_ = std::discrete_distribution<size_t>(weights.begin(), weights.end());
  if (const auto& k = directory.root()["kecamatan"]; k && k.IsSequence())
    for (const auto& name : k) kecamatan_.push_back(name.as<std::string>());
  if (kecamatan_.empty()) kecamatan_.push_back("Sangatta Utara");
}

std::vector<std::string> Workload::agencyIds() const {
  std::vector<std::string> ids;
  for (const auto& a : directory_.agencies()) ids.push_back(a.id);
  return ids;
}

WorkItem Workload::next() {
  auto uniform = [this](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  };
  auto chance = [&](double p) { return uniform(0, 1) < p; };
  WorkItem item;
  auto& req = item.request;
  const auto& category = round_robin_ ? categories_[sequence_ % categories_.size()]
                                      : categories_[category_pick_(rng_)];
  const bool emergency = directory_.category(category)->emergency;
  req.set_category(category);

  if (emergency) {
    req.set_priority(chance(0.8) ? v1::PRIORITY_EMERGENCY : v1::PRIORITY_HIGH);
    req.set_channel(chance(0.7) ? v1::CHANNEL_CALL_CENTRE_112 : v1::CHANNEL_APP);
  } else {
    const double p = uniform(0, 1);
    req.set_priority(p < 0.15 ? v1::PRIORITY_HIGH
                              : (p < 0.85 ? v1::PRIORITY_NORMAL : v1::PRIORITY_LOW));
    static constexpr std::array<v1::Channel, 5> channels{v1::CHANNEL_WEB, v1::CHANNEL_APP,
                                                         v1::CHANNEL_SMS, v1::CHANNEL_OPEN311,
                                                         v1::CHANNEL_EXTERNAL};
    static const std::array<double, 5> channel_weights{35, 40, 12, 8, 5};
    req.set_channel(channels[std::discrete_distribution<size_t>(channel_weights.begin(),
                                                                channel_weights.end())(rng_)]);
  }

  // Description sizes: most are a few sentences, some a page, a few near the 4,000 limit.
  const double size_class = uniform(0, 1);
  const auto length = static_cast<size_t>(size_class < 0.6   ? uniform(80, 400)
                                          : size_class < 0.9 ? uniform(400, 1500)
                                                             : uniform(1500, 3990));
  req.set_title("Laporan " + directory_.category(category)->name + " #" +
                std::to_string(++sequence_));
  req.set_description(prose().substr(0, length));

  auto* loc = req.mutable_location();
  loc->set_kecamatan(
      kecamatan_[std::uniform_int_distribution<size_t>(0, kecamatan_.size() - 1)(rng_)]);
  if (chance(0.7)) {
    // Kutai Timur lies around 0.5 N, 117.5 E.
    loc->set_has_coordinates(true);
    loc->set_lat(uniform(0.2, 1.4));
    loc->set_lon(uniform(116.5, 118.9));
  }
  if (chance(0.5))
    loc->set_address("Jl. Poros Sangatta - Bengalon km " + std::to_string(sequence_ % 90));

  if (chance(0.2)) {
    req.set_anonymous(true);
  } else {
    auto* who = req.mutable_reporter();
    who->set_name("Pelapor " + std::to_string(sequence_));
    who->set_phone("+62812" + std::to_string(10'000'000 + sequence_ % 89'999'999));
  }
  const int attachments = chance(0.3) ? std::uniform_int_distribution<int>(1, 3)(rng_) : 0;
  for (int i = 0; i < attachments; ++i) {
    auto* a = req.add_attachments();
    a->set_url("https://media.example.go.id/lapor/" + std::to_string(sequence_) + "/" +
               std::to_string(i) + ".jpg");
    a->set_content_type("image/jpeg");
  }

  // The agencies routing will dispatch it to, by the very rules routing runs.
  v1::Complaint as_routed;
  as_routed.set_category(req.category());
  as_routed.set_priority(req.priority());
  // The request's free-text fields are bytes (intake checks their UTF-8); same field numbers.
  as_routed.mutable_location()->ParseFromString(req.location().SerializeAsString());
  for (const auto& target : rules_.route(as_routed).targets)
    item.agencies.push_back(target.agency_id);
  return item;
}

}  // namespace lapor::bench
