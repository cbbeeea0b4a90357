// HMAC-SHA256 with OpenSSL; the comparison uses CRYPTO_memcmp so timing tells nothing.
#include "webhook/webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstdlib>
#include <regex>

namespace lapor::webhook {

namespace {
std::string hmacHex(const std::string& secret, const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), md, &len);
  std::string out(len * 2, '0');
  for (unsigned i = 0; i < len; ++i) std::snprintf(&out[i * 2], 3, "%02x", md[i]);
  return out;
}
}  // namespace

std::string signatureHeader(const std::string& secret, int64_t unix_seconds,
                            const std::string& body) {
  const auto ts = std::to_string(unix_seconds);
  return "t=" + ts + ",v1=" + hmacHex(secret, ts + "." + body);
}

const char* signatureCheckName(SignatureCheck c) {
  switch (c) {
    case SignatureCheck::Valid: return "valid";
    case SignatureCheck::Malformed: return "malformed";
    case SignatureCheck::Expired: return "expired";
    case SignatureCheck::Mismatch: return "mismatch";
  }
  return "malformed";
}

SignatureCheck verifySignature(const std::string& secret, const std::string& header,
                               const std::string& body, int64_t now_unix_seconds,
                               int64_t max_age_seconds) {
  static const std::regex re("^t=([0-9]{1,12}),v1=([0-9a-f]{64})$");
  std::smatch m;
  if (!std::regex_match(header, m, re)) return SignatureCheck::Malformed;
  const auto t = m[1].str();
  if (std::llabs(now_unix_seconds - std::stoll(t)) > max_age_seconds)
    return SignatureCheck::Expired;
  const auto expected = hmacHex(secret, t + "." + body);
  const auto given = m[2].str();
  return CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0
             ? SignatureCheck::Valid
             : SignatureCheck::Mismatch;
}

}  // namespace lapor::webhook
