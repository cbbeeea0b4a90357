// The integer a stored text field holds (a Redis hash field, a stored deadline): 0 when the
// field is missing, empty or not a number, so an unreadable value reads as "not set".
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace lapor::text {

inline int64_t storedInt(std::string_view s) {
  int64_t v = 0;
  if (std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc{}) return 0;
  return v;
}

inline int64_t storedInt(const std::string* s) {
  return s ? storedInt(std::string_view(*s)) : 0;
}

}  // namespace lapor::text
