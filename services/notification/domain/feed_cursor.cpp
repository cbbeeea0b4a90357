// See feed_cursor.h.
#include "domain/feed_cursor.h"

#include <charconv>

namespace lapor::notification::domain {

namespace {
bool number(const char* first, const char* last, uint64_t& out) {
  if (first == last || last - first > 20) return false;
  auto [p, ec] = std::from_chars(first, last, out);
  return ec == std::errc() && p == last;
}
}  // namespace

std::optional<FeedCursor> parseCursor(const std::string& text) {
  const auto dash = text.find('-');
  if (dash == std::string::npos) return std::nullopt;
  FeedCursor c;
  const char* s = text.data();
  if (!number(s, s + dash, c.ms) || !number(s + dash + 1, s + text.size(), c.seq))
    return std::nullopt;
  return c;
}

bool cursorAfter(const std::string& a, const std::string& b) {
  return parseCursor(a).value_or(FeedCursor{}) > parseCursor(b).value_or(FeedCursor{});
}

std::string cursorBeyondFeed(const std::string& field, const std::string& cursor,
                             const std::string& last_in_feed) {
  if (!cursorAfter(cursor, last_in_feed)) return "";
  return field + ": '" + cursor + "' is after the last entry of the feed ('" + last_in_feed +
         "'); use a cursor this feed gave you, or an empty resume_cursor to start from the "
         "beginning";
}

}  // namespace lapor::notification::domain
