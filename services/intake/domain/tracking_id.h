// Tracking ids: short, read over the phone, random (not guessable from the previous one), with a
// check character that catches a single mistyped character or a swap of neighbours.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace lapor::intake {

// Format: LPR-XXXX-XXXX-C, Crockford base32 (no I, L, O, U) for 40 random bits, then
// a mod-37 check symbol over the 40-bit value.
class TrackingId {
 public:
  static std::string fromBits(uint64_t bits40);
  // Random, from the system CSPRNG.
  static std::string generate();
  // Normalises (case, hyphens, O->0, I/L->1) and verifies the check symbol; nullopt if wrong.
  static std::optional<std::string> normalize(const std::string& text);
};

}  // namespace lapor::intake
