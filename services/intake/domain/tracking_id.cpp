// Crockford base32 with its standard mod-37 check symbol.
#include "domain/tracking_id.h"

#include <openssl/rand.h>

#include <cctype>
#include <stdexcept>

namespace lapor::intake {

namespace {
constexpr char kSymbols[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";  // 32 digits + 5 checks

int value(char c) {
  c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (c == 'O') c = '0';
  if (c == 'I' || c == 'L') c = '1';
  for (int i = 0; i < 37; ++i)
    if (kSymbols[i] == c) return i;
  return -1;
}
}  // namespace

std::string TrackingId::fromBits(uint64_t bits) {
  bits &= (uint64_t{1} << 40) - 1;
  std::string digits(8, '0');
  for (int i = 7; i >= 0; --i) {
    digits[static_cast<size_t>(i)] = kSymbols[bits & 31];
    bits >>= 5;
  }
  uint64_t v = 0;
  for (char c : digits) v = v * 32 + static_cast<uint64_t>(value(c));
  return "LPR-" + digits.substr(0, 4) + "-" + digits.substr(4, 4) + "-" + kSymbols[v % 37];
}

std::string TrackingId::generate() {
  unsigned char b[5];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  uint64_t bits = 0;
  for (unsigned char x : b) bits = (bits << 8) | x;
  return fromBits(bits);
}

std::optional<std::string> TrackingId::normalize(const std::string& text) {
  std::string s;
  for (char c : text)
    if (c != '-' && c != ' ') s.push_back(c);
  if (s.size() != 12) return std::nullopt;
  if (std::toupper(static_cast<unsigned char>(s[0])) != 'L' ||
      std::toupper(static_cast<unsigned char>(s[1])) != 'P' ||
      std::toupper(static_cast<unsigned char>(s[2])) != 'R')
    return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 3; i < 11; ++i) {
    int d = value(s[i]);
    if (d < 0 || d >= 32) return std::nullopt;
    v = v * 32 + static_cast<uint64_t>(d);
  }
  int check = value(s[11]);
  if (check < 0 || static_cast<uint64_t>(check) != v % 37) return std::nullopt;
  return fromBits(v);
}

}  // namespace lapor::intake
