// Plane geometry on WGS84 degrees for routing rules: point in polygon, distance on the sphere.
#pragma once

#include <vector>

namespace lapor::routing {

struct GeoPoint {
  double lat = 0;
  double lon = 0;
};

// Even-odd ray casting; a point on an edge or a vertex counts as inside, so a complaint on the
// border of two areas matches the first rule that names either.
bool insidePolygon(const std::vector<GeoPoint>& polygon, GeoPoint p);

// Great-circle (haversine) distance in metres.
double distanceMetres(GeoPoint a, GeoPoint b);

// Twice the signed area in square degrees; 0 for a degenerate polygon (all points on a line).
double doubledArea(const std::vector<GeoPoint>& polygon);

}  // namespace lapor::routing
