// The one SHA-256 helper: every key, token and secret Lapor checks is kept as this hex digest.
#pragma once

#include <string>

namespace lapor::auth {

// Lower-case hex SHA-256 of `data` (printf '%s' DATA | sha256sum).
std::string sha256Hex(const std::string& data);

}  // namespace lapor::auth
