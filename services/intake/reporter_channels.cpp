// libcurl easy handles, one per request (RAII), with connect and total timeouts; a channel's
// answer is a 2xx HTTP status or the SMTP server's acceptance of the message.
#include "reporter_channels.h"

#include "config/secret_file.h"
#include "domain/reporter_notice.h"
#include "webhook/webhook_signature.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>

namespace lapor::intake {

namespace {
struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using ListPtr = std::unique_ptr<curl_slist, ListDeleter>;

size_t discard(char*, size_t size, size_t n, void*) {
  return size * n;
}

struct Upload {
  const std::string& data;
  size_t pos = 0;
};
size_t readUpload(char* buf, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const size_t len = std::min(size * n, u->data.size() - u->pos);
  std::memcpy(buf, u->data.data() + u->pos, len);
  u->pos += len;
  return len;
}

void append(ListPtr& list, const std::string& line) {
  list.reset(curl_slist_append(list.release(), line.c_str()));
}

void timeouts(CURL* c, std::chrono::milliseconds timeout) {
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
}

// An HTTP request; "" for a 2xx answer.
std::string http(const std::string& method, const std::string& url, const std::string& body,
                 ListPtr headers, std::chrono::milliseconds timeout) {
  CurlPtr c(curl_easy_init());
  if (!c) return "curl_easy_init failed";
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  timeouts(c.get(), timeout);
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, discard);
  if (method == "GET") {
    curl_easy_setopt(c.get(), CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  const auto rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) return curl_easy_strerror(rc);
  long code = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 300) return "HTTP " + std::to_string(code);
  return "";
}

// RFC 2047 encoded word for a header with text beyond ASCII.
std::string headerText(const std::string& s) {
  bool ascii = true;
  for (unsigned char c : s)
    if (c >= 0x80 || c == '\r' || c == '\n') ascii = false;
  if (ascii) return s;
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()),
                                static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return "=?UTF-8?B?" + out + "?=";
}

// Header values never carry a line break (a template or a title cannot add headers).
std::string oneLine(std::string s) {
  for (auto& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

std::string crlf(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

// The address inside "Name <address>", or the whole text.
std::string addressOf(const std::string& from) {
  const auto open = from.find('<');
  const auto close = from.find('>', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return from;
  return from.substr(open + 1, close - open - 1);
}

bool usableAddress(const std::string& a) {
  if (a.empty() || a.find('@') == std::string::npos) return false;
  for (char c : a)
    if (c == '\r' || c == '\n' || c == '<' || c == '>' || c == ' ' || c == ',') return false;
  return true;
}

void checkTemplate(const config::Config& cfg, const std::string& section, const std::string& key,
                   const std::string& tpl, const std::vector<std::string>& allowed) {
  auto unknown = unknownPlaceholders(tpl, allowed);
  if (unknown.empty()) return;
  std::string names;
  for (const auto& a : allowed) names += (names.empty() ? "{" : ", {") + a + "}";
  throw cfg.error(section, key, "unknown placeholder {" + unknown[0] + "} (known: " + names + ")");
}

std::string secretFrom(const config::Config& cfg, const std::string& section,
                       const std::string& key) {
  if (cfg.getString(section, key, "").empty()) return "";
  const auto path = cfg.getPath(section, key);
  auto secret = config::readSecretFile(path);
  if (!secret || secret->empty())
    throw cfg.error(section, key, "cannot read a secret from " + path);
  return *secret;
}
}  // namespace

const std::vector<std::string>& noticePlaceholders() {
  static const std::vector<std::string> names{"tracking_id", "title",   "notice", "notice_words",
                                              "summary",     "message", "status"};
  return names;
}

std::map<std::string, std::string> noticeVars(const OutgoingNotice& n) {
  return {{"tracking_id", n.tracking_id}, {"title", n.title},     {"notice", n.notice},
          {"notice_words", n.notice_words}, {"summary", n.summary}, {"message", n.message},
          {"status", n.status}};
}

std::string callbackBody(const OutgoingNotice& n) {
  nlohmann::json j = {{"notification_id", n.notification_id},
                      {"event_id", n.cause},
                      {"tracking_id", n.tracking_id},
                      {"external_ref", n.external_ref},
                      {"notice", n.notice},
                      {"status", n.status},
                      {"message", n.message},
                      {"summary", n.summary},
                      {"at_ms", n.at_ms}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string sendCallback(const CallbackTarget& target, const OutgoingNotice& n, int64_t now_s,
                         std::chrono::milliseconds timeout) {
  const auto body = callbackBody(n);
  ListPtr headers;
  append(headers, "Content-Type: application/json");
  append(headers, std::string(webhook::kSignatureHeader) + ": " +
                      webhook::signatureHeader(target.secret, now_s, body));
  append(headers, "X-Lapor-Notification-Id: " + n.notification_id);
  return http("POST", target.url, body, std::move(headers), timeout);
}

std::optional<EmailSettings> emailSettingsFrom(const config::Config& cfg) {
  if (!cfg.getBool("email", "enabled", false)) return std::nullopt;
  EmailSettings s;
  s.smtp_url = cfg.getString("email", "smtp_url", "smtp://127.0.0.1:25");
  if (!s.smtp_url.starts_with("smtp://") && !s.smtp_url.starts_with("smtps://"))
    throw cfg.error("email", "smtp_url", "must be smtp://host:port or smtps://host:port");
  s.from = cfg.getString("email", "from");
  if (!usableAddress(addressOf(s.from)))
    throw cfg.error("email", "from", "must be an address, or \"Name <address>\"");
  s.username = cfg.getString("email", "username", "");
  s.password = secretFrom(cfg, "email", "password_file");
  s.tls = cfg.getString("email", "tls", "try");
  if (s.tls != "try" && s.tls != "required" && s.tls != "off")
    throw cfg.error("email", "tls", "must be try, required or off");
  s.subject = cfg.getString("email", "subject", "[LAPOR] {tracking_id}: {notice_words}");
  s.body = cfg.getString("email", "body",
                         "Report {tracking_id} ({title}):\n{summary}\n\nStatus: {status}\n");
  checkTemplate(cfg, "email", "subject", s.subject, noticePlaceholders());
  checkTemplate(cfg, "email", "body", s.body, noticePlaceholders());
  return s;
}

std::string emailMessage(const EmailSettings& s, const OutgoingNotice& n) {
  const auto vars = noticeVars(n);
  char date[64];
  const std::time_t t = static_cast<std::time_t>(n.at_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string m;
  m += "Date: " + std::string(date) + "\r\n";
  m += "From: " + oneLine(s.from) + "\r\n";
  m += "To: <" + n.to + ">\r\n";
  m += "Subject: " + headerText(oneLine(render(s.subject, vars))) + "\r\n";
  m += "Message-ID: <" + n.notification_id + "@lapor>\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\n\r\n";
  m += crlf(render(s.body, vars));
  if (!m.ends_with("\r\n")) m += "\r\n";
  return m;
}

std::string sendEmail(const EmailSettings& s, const OutgoingNotice& n,
                      std::chrono::milliseconds timeout) {
  if (!usableAddress(n.to)) return "the reporter's e-mail address is not usable";
  const auto message = emailMessage(s, n);
  CurlPtr c(curl_easy_init());
  if (!c) return "curl_easy_init failed";
  curl_easy_setopt(c.get(), CURLOPT_URL, s.smtp_url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  timeouts(c.get(), timeout);
  curl_easy_setopt(c.get(), CURLOPT_USE_SSL,
                   s.tls == "required" ? CURLUSESSL_ALL
                   : s.tls == "try"    ? CURLUSESSL_TRY
                                       : CURLUSESSL_NONE);
  if (!s.username.empty()) {
    curl_easy_setopt(c.get(), CURLOPT_USERNAME, s.username.c_str());
    curl_easy_setopt(c.get(), CURLOPT_PASSWORD, s.password.c_str());
  }
  const auto from = "<" + addressOf(s.from) + ">";
  curl_easy_setopt(c.get(), CURLOPT_MAIL_FROM, from.c_str());
  ListPtr rcpt;
  append(rcpt, "<" + n.to + ">");
  curl_easy_setopt(c.get(), CURLOPT_MAIL_RCPT, rcpt.get());
  Upload up{message};
  curl_easy_setopt(c.get(), CURLOPT_READFUNCTION, readUpload);
  curl_easy_setopt(c.get(), CURLOPT_READDATA, &up);
  curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
  const auto rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) return curl_easy_strerror(rc);
  return "";
}

std::optional<SmsSettings> smsSettingsFrom(const config::Config& cfg) {
  if (!cfg.getBool("sms", "enabled", false)) return std::nullopt;
  SmsSettings s;
  s.url = cfg.getString("sms", "url");
  if (!s.url.starts_with("http://") && !s.url.starts_with("https://"))
    throw cfg.error("sms", "url", "must be an http:// or https:// URL");
  s.method = cfg.getString("sms", "method", "POST");
  if (s.method != "POST" && s.method != "PUT" && s.method != "GET")
    throw cfg.error("sms", "method", "must be POST, PUT or GET");
  s.content_type = cfg.getString("sms", "content_type", "application/json");
  s.body = cfg.getString("sms", "body", R"({"to":"{phone}","text":"{text}"})");
  s.text = cfg.getString("sms", "text", "LAPOR {tracking_id}: {summary}");
  s.auth_header = cfg.getString("sms", "auth_header", "");
  s.auth_value = secretFrom(cfg, "sms", "auth_secret_file");
  if (!s.auth_header.empty() && s.auth_value.empty())
    throw cfg.error("sms", "auth_secret_file", "is required when sms.auth_header is set");
  for (char c : s.auth_header + s.auth_value)
    if (c == '\r' || c == '\n')
      throw cfg.error("sms", "auth_header", "the header and its secret must be one line");
  const std::vector<std::string> gateway{"phone", "text", "tracking_id"};
  checkTemplate(cfg, "sms", "url", s.url, gateway);
  checkTemplate(cfg, "sms", "body", s.body, gateway);
  checkTemplate(cfg, "sms", "text", s.text, noticePlaceholders());
  return s;
}

std::string sendSms(const SmsSettings& s, const OutgoingNotice& n,
                    std::chrono::milliseconds timeout) {
  if (n.to.empty()) return "the reporter's phone number is empty";
  const std::map<std::string, std::string> vars{
      {"phone", n.to}, {"text", render(s.text, noticeVars(n))}, {"tracking_id", n.tracking_id}};
  const auto escape = s.content_type.find("json") != std::string::npos ? Escape::Json
                      : s.content_type.find("x-www-form-urlencoded") != std::string::npos
                          ? Escape::Form
                          : Escape::None;
  ListPtr headers;
  if (s.method != "GET") append(headers, "Content-Type: " + s.content_type);
  if (!s.auth_header.empty()) append(headers, s.auth_header + ": " + s.auth_value);
  append(headers, "X-Lapor-Notification-Id: " + n.notification_id);
  return http(s.method, render(s.url, vars, Escape::Form),
              s.method == "GET" ? "" : render(s.body, vars, escape), std::move(headers), timeout);
}

}  // namespace lapor::intake
