// The three ways a reporter hears back, each one request with a timeout: the publishing
// system's signed HTTP callback, e-mail over SMTP, and an SMS gateway's HTTP API (all through
// libcurl). Each returns "" when the channel took the message, else what went wrong.
#pragma once

#include "config/config.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lapor::intake {

// One message for one reporter, as the notifier hands it to a channel: the notice, the
// complaint's own public facts and, for e-mail and SMS, the reporter's address or number.
struct OutgoingNotice {
  std::string notification_id;  // derived from (cause, channel): the receiver's dedupe key
  std::string cause;            // event id of the status change
  std::string tracking_id;
  std::string external_ref;
  std::string title;
  std::string notice;
  std::string notice_words;
  std::string summary;
  std::string status;
  std::string message;
  int64_t at_ms = 0;
  std::string to;  // e-mail address or phone number; "" for the callback
};

struct CallbackTarget {
  std::string url;
  std::string secret;  // signs the body (X-Lapor-Signature)
};

// The callback's JSON body (docs/reporters.md): never carries a contact.
std::string callbackBody(const OutgoingNotice& n);
std::string sendCallback(const CallbackTarget& target, const OutgoingNotice& n, int64_t now_s,
                         std::chrono::milliseconds timeout);

struct EmailSettings {
  std::string smtp_url;   // smtp://host:port or smtps://host:port
  std::string from;       // an address, or "Name <address>"
  std::string username;   // "" = no login
  std::string password;
  std::string tls = "try";  // try, required, off (STARTTLS on smtp://)
  std::string subject;    // templates with {tracking_id} {title} {notice} {notice_words}
  std::string body;       // {summary} {message} {status}
};
// Section `email`; nullopt when off. Templates are checked at start (unknown placeholders).
std::optional<EmailSettings> emailSettingsFrom(const config::Config& cfg);
std::string sendEmail(const EmailSettings& s, const OutgoingNotice& n,
                      std::chrono::milliseconds timeout);
// The RFC 5322 message sendEmail sends (headers, CRLF line ends).
std::string emailMessage(const EmailSettings& s, const OutgoingNotice& n);

struct SmsSettings {
  std::string url;           // may hold {phone} and {text} (URL-encoded)
  std::string method = "POST";  // POST, PUT or GET
  std::string content_type = "application/json";
  std::string body;          // {phone} {text} {tracking_id}, escaped for the content type
  std::string text;          // the SMS text: {tracking_id} {title} {notice} {summary} ...
  std::string auth_header;   // e.g. Authorization; "" = none
  std::string auth_value;    // from sms.auth_secret_file
};
std::optional<SmsSettings> smsSettingsFrom(const config::Config& cfg);
std::string sendSms(const SmsSettings& s, const OutgoingNotice& n,
                    std::chrono::milliseconds timeout);

// The placeholders every text template may use.
const std::vector<std::string>& noticePlaceholders();
std::map<std::string, std::string> noticeVars(const OutgoingNotice& n);

}  // namespace lapor::intake
