// A secret kept in a file (a password, an HMAC key): the whole file without its trailing line
// ends ("\n", "\r\n"), as `echo` or an editor leaves them. Every reader of a secret file uses
// this, so the two ends of one key (notification and a webhook receiver) read the same bytes.
#pragma once

#include <optional>
#include <string>

namespace lapor::config {

// nullopt when the file cannot be read; "" when it holds nothing but line ends.
std::optional<std::string> readSecretFile(const std::string& path);

}  // namespace lapor::config
