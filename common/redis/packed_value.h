// Large values stored in Redis, compressed. Every byte a service writes to Redis is written
// again to its append-only file and copied by each of its rewrites, so a record that repeats
// text (routing's stored outputs carry the same complaint in every event they hold) is kept
// as a zstd frame. A value written before, or one too small to gain, is stored as it is, and
// the frame's magic number tells the two apart: every value packed here is a protobuf message
// whose field 1 (an id, or the outputs' items) is always set, so it starts with that field's
// tag, 0x0A, never with the magic's 0x28.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lapor::redis {

// The value as stored: a zstd frame when that is smaller, else the value itself. Values
// shorter than kPackFrom bytes are never compressed.
inline constexpr size_t kPackFrom = 256;
std::string packValue(std::string_view value);

// The value a stored one holds: a zstd frame decompressed, anything else as it is. nullopt for
// a frame that does not decompress (a damaged record: the caller's parse failure).
std::optional<std::string> unpackValue(std::string_view stored);

// Parses a stored value into a protobuf message (anything with ParseFromString): false when it
// is a damaged frame or does not parse.
template <class Message>
bool parsePacked(Message& message, std::string_view stored) {
  const auto bytes = unpackValue(stored);
  return bytes && message.ParseFromString(*bytes);
}

// Whether a stored value is a compressed frame (for tests and tools).
bool isPacked(std::string_view stored);

}  // namespace lapor::redis
