// See reporter_notice.h.
#include "domain/reporter_notice.h"

#include "agencies/triage.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace lapor::intake {

namespace {

Notice notice(std::string kind, v1::ComplaintStatus status, std::string message = "") {
  return Notice{std::move(kind), status, std::move(message)};
}

std::string jsonEscaped(const std::string& s) {
  auto quoted = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

std::string formEscaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}
}  // namespace

bool isDispatch(const v1::EventEnvelope& env) {
  if (!env.has_routed()) return false;
  const auto& r = env.routed();
  if (r.triage() || r.reason() == "redispatch") return false;
  for (const auto& a : r.assignments())
    if (a.agency_id() != agencies::kTriageDesk) return true;
  return false;
}

// ReporterNotifier::handle passes by every other event undecoded: a new case here goes in its
// list too.
std::optional<Notice> noticeOf(const v1::EventEnvelope& env, const NoticeContext& ctx) {
  using E = v1::EventEnvelope;
  switch (env.event_case()) {
    case E::kVerified:
      return notice("verified", v1::COMPLAINT_STATUS_SUBMITTED);
    case E::kRouted:
      if (isDispatch(env) && ctx.first_dispatch)
        return notice("dispatched", v1::COMPLAINT_STATUS_ROUTED);
      return std::nullopt;
    case E::kPostponed:
      return notice("postponed", v1::COMPLAINT_STATUS_POSTPONED, env.postponed().question());
    case E::kReporterAsked:
      return notice("question", v1::COMPLAINT_STATUS_IN_PROGRESS, env.reporter_asked().question());
    case E::kStatusUpdated:
      if (env.status_updated().state() != v1::ASSIGNMENT_STATE_RESPONDED) return std::nullopt;
      return notice("responded", v1::COMPLAINT_STATUS_IN_PROGRESS, env.status_updated().message());
    case E::kResolved:
      // A supporting agency finishing its part does not resolve the complaint.
      if (ctx.resolved_role == "support") return std::nullopt;
      return notice("resolved", v1::COMPLAINT_STATUS_RESOLVED, env.resolved().resolution());
    case E::kReopened:
      return notice("reopened", v1::COMPLAINT_STATUS_REOPENED, env.reopened().reason());
    case E::kClosed: {
      const auto& x = env.closed();
      if (x.reason() == "verification" && x.reason_code() == "archived")
        return notice("archived", v1::COMPLAINT_STATUS_CLOSED, x.note());
      std::string message = x.note();
      if (x.reason() == "verification" && x.reason_code() == "not-ours") {
        message = "this is not for the regency to handle; it belongs to " + x.forward_to() +
                  (x.note().empty() ? "" : " (" + x.note() + ")");
      } else if (x.reason() == "triage" && !x.reason_code().empty()) {
        message = x.reason_code() + (x.note().empty() ? "" : ": " + x.note());
      } else if (x.reason() == "auto-close") {
        message = "no reply came after the answer";
      }
      return notice("closed", v1::COMPLAINT_STATUS_CLOSED, message);
    }
    default:
      return std::nullopt;
  }
}

std::string noticeWords(const std::string& kind) {
  if (kind == "verified") return "your report was verified and will be passed on";
  if (kind == "dispatched") return "your report was passed to the agency responsible";
  if (kind == "postponed") return "your report waits for more information from you";
  if (kind == "question") return "the agency handling your report asks you a question";
  if (kind == "responded") return "the agency answered";
  if (kind == "resolved") return "the agency resolved your report";
  if (kind == "archived") return "your report was archived";
  if (kind == "closed") return "your report was closed";
  if (kind == "reopened") return "your report was reopened";
  return kind;
}

std::string noticeSummary(const Notice& n) {
  return noticeWords(n.kind) + (n.message.empty() ? "" : ": " + n.message);
}

std::vector<std::string> channelsFor(const ReporterReach& r) {
  std::vector<std::string> out;
  if (r.anonymous) {
    switch (r.channel) {
      case v1::CHANNEL_SMS:
        if (r.has_phone) out.push_back(kChannelSms);
        break;
      case v1::CHANNEL_OPEN311:
      case v1::CHANNEL_EXTERNAL:
        if (r.publisher_callback) out.push_back(kChannelCallback);
        break;
      case v1::CHANNEL_WEB:
      case v1::CHANNEL_APP:
        if (r.has_email) out.push_back(kChannelEmail);
        break;
      default:
        break;
    }
    return out;
  }
  if (r.publisher_callback) out.push_back(kChannelCallback);
  if (r.has_email) out.push_back(kChannelEmail);
  if (r.has_phone) out.push_back(kChannelSms);
  return out;
}

std::string render(const std::string& tpl, const std::map<std::string, std::string>& vars,
                   Escape escape) {
  std::string out;
  size_t i = 0;
  while (i < tpl.size()) {
    if (tpl[i] == '{') {
      const auto close = tpl.find('}', i + 1);
      if (close != std::string::npos) {
        auto it = vars.find(tpl.substr(i + 1, close - i - 1));
        if (it != vars.end()) {
          out += escape == Escape::Json   ? jsonEscaped(it->second)
                 : escape == Escape::Form ? formEscaped(it->second)
                                          : it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += tpl[i++];
  }
  return out;
}

std::vector<std::string> unknownPlaceholders(const std::string& tpl,
                                             const std::vector<std::string>& allowed) {
  std::vector<std::string> out;
  for (size_t i = tpl.find('{'); i != std::string::npos; i = tpl.find('{', i + 1)) {
    const auto close = tpl.find('}', i + 1);
    if (close == std::string::npos) break;
    const auto name = tpl.substr(i + 1, close - i - 1);
    // Only identifiers are placeholders: JSON's own braces in a body template are text.
    bool ident = !name.empty();
    for (char c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') ident = false;
    if (ident && std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      out.push_back(name);
  }
  return out;
}

std::string statusName(v1::ComplaintStatus s) {
  auto name = v1::ComplaintStatus_Name(s);
  const std::string prefix = "COMPLAINT_STATUS_";
  if (name.starts_with(prefix)) name = name.substr(prefix.size());
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace lapor::intake
