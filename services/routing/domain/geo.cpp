// See geo.h. Kutai Timur is far from the antimeridian and the poles, so planar tests on
// degrees are exact enough for area boundaries drawn by hand.
#include "domain/geo.h"

#include <algorithm>
#include <cmath>

namespace lapor::routing {

namespace {
constexpr double kEps = 1e-12;

bool onSegment(GeoPoint a, GeoPoint b, GeoPoint p) {
  const double cross = (b.lon - a.lon) * (p.lat - a.lat) - (b.lat - a.lat) * (p.lon - a.lon);
  if (std::abs(cross) > kEps) return false;
  return p.lon >= std::min(a.lon, b.lon) - kEps && p.lon <= std::max(a.lon, b.lon) + kEps &&
         p.lat >= std::min(a.lat, b.lat) - kEps && p.lat <= std::max(a.lat, b.lat) + kEps;
}
}  // namespace

bool insidePolygon(const std::vector<GeoPoint>& poly, GeoPoint p) {
  const size_t n = poly.size();
  if (n < 3) return false;
  bool inside = false;
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    const auto& a = poly[i];
    const auto& b = poly[j];
    if (onSegment(a, b, p)) return true;
    // Does the edge cross the horizontal ray to the east of p (half-open in lat)?
    if ((a.lat > p.lat) != (b.lat > p.lat)) {
      const double lon_at = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
      if (p.lon < lon_at) inside = !inside;
    }
  }
  return inside;
}

double distanceMetres(GeoPoint a, GeoPoint b) {
  constexpr double kEarthRadius = 6'371'008.8;
  constexpr double kRad = M_PI / 180.0;
  const double dlat = (b.lat - a.lat) * kRad;
  const double dlon = (b.lon - a.lon) * kRad;
  const double h =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(a.lat * kRad) * std::cos(b.lat * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadius * std::asin(std::min(1.0, std::sqrt(h)));
}

double doubledArea(const std::vector<GeoPoint>& poly) {
  double s = 0;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++)
    s += poly[j].lon * poly[i].lat - poly[i].lon * poly[j].lat;
  return s;
}

}  // namespace lapor::routing
