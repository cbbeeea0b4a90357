// The signature of Lapor's webhooks, shared by the sender (notification) and a receiver (the
// local stack's lapor-webhook-receiver): header `X-Lapor-Signature: t=<unix seconds>,v1=<hex
// HMAC-SHA256(secret, "<t>.<body>")>`, as docs/agencies.md tells agencies to check it.
#pragma once

#include <cstdint>
#include <string>

namespace lapor::webhook {

inline constexpr const char* kSignatureHeader = "X-Lapor-Signature";

// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>.<body>")>"
std::string signatureHeader(const std::string& secret, int64_t unix_seconds,
                            const std::string& body);

enum class SignatureCheck {
  Valid,
  Malformed,  // missing, or not "t=<digits>,v1=<hex>"
  Expired,    // the timestamp is further than max_age from now (a replay, or a skewed clock)
  Mismatch,   // not signed with this secret over these bytes
};
const char* signatureCheckName(SignatureCheck c);

// Checks `header` against the raw body bytes, in constant time for the comparison.
SignatureCheck verifySignature(const std::string& secret, const std::string& header,
                               const std::string& body, int64_t now_unix_seconds,
                               int64_t max_age_seconds = 300);

}  // namespace lapor::webhook
