// Feed cursors (Redis stream ids "<ms>-<seq>") and what a client's cursor may be: pure, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lapor::notification::domain {

struct FeedCursor {
  uint64_t ms = 0;
  uint64_t seq = 0;
  auto operator<=>(const FeedCursor&) const = default;
};

// "<digits>-<digits>"; nullopt for anything else (or a number beyond 64 bits).
std::optional<FeedCursor> parseCursor(const std::string& text);

// True when cursor `a` comes after `b` (both well-formed; a malformed one counts as 0-0).
bool cursorAfter(const std::string& a, const std::string& b);

// A client's cursor names a position in the feed: one after the feed's last entry
// (`last_in_feed`, "0-0" for an empty feed) was never given out and would confirm items that
// do not exist yet. Empty when `cursor` is acceptable, else the reason, naming both cursors.
std::string cursorBeyondFeed(const std::string& field, const std::string& cursor,
                             const std::string& last_in_feed);

}  // namespace lapor::notification::domain
