// What the reporter is told, and how: which lifecycle events are news for the reporter (a
// notice), through which channels a reporter may be reached, and the templates the messages
// are written with. Pure: the notifier (reporter_notifier.h) carries the decisions out.
#pragma once

#include "lapor/v1/complaint.pb.h"
#include "lapor/v1/events.pb.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lapor::intake {

// One piece of news for the reporter. Never names an operator or anyone else's data: only the
// complaint's own facts and the agencies' or verifiers' word to the reporter.
struct Notice {
  // verified, dispatched, postponed, question, responded, resolved, closed, archived, reopened
  std::string kind;
  v1::ComplaintStatus status = v1::COMPLAINT_STATUS_UNSPECIFIED;  // the report's status now
  std::string message;  // the question, the agency's answer, the reason; "" when none
};

// What the notifier knows besides the event itself.
struct NoticeContext {
  bool first_dispatch = false;  // a `routed` that is the complaint's first to an agency
  std::string resolved_role;    // role (lead, support) of the assignment a `resolved` names
};

// A `routed` that may be the first dispatch to an agency (not the triage desk, not a legacy
// re-dispatch); the caller tells whether it was the first.
bool isDispatch(const v1::EventEnvelope& env);

// The notice an event is, if it is one.
std::optional<Notice> noticeOf(const v1::EventEnvelope& env, const NoticeContext& ctx);

// The notice in words, e.g. "your report was passed to the agency responsible".
std::string noticeWords(const std::string& kind);
// The words and the message: "an agency asks you a question: Lantai berapa?".
std::string noticeSummary(const Notice& n);

// How the reporter came, and what intake knows of how to reach it.
struct ReporterReach {
  v1::Channel channel = v1::CHANNEL_UNSPECIFIED;
  bool anonymous = false;
  bool has_email = false;
  bool has_phone = false;
  bool publisher_callback = false;  // the publishing system has a callback configured
};

inline constexpr const char* kChannelCallback = "callback";
inline constexpr const char* kChannelEmail = "email";
inline constexpr const char* kChannelSms = "sms";

// The channels to notify through. A named reporter: the publisher's callback, e-mail and SMS,
// whichever exist. An anonymous reporter only through the channel it came by: SMS -> SMS,
// Open311 or an external system -> that publisher's callback, web or app -> e-mail.
std::vector<std::string> channelsFor(const ReporterReach& r);

// How a placeholder's value is written into a template.
enum class Escape { None, Json, Form };

// `tpl` with every {name} of `vars` replaced by its value (escaped); other braces stay.
std::string render(const std::string& tpl, const std::map<std::string, std::string>& vars,
                   Escape escape = Escape::None);
// The {names} in `tpl` that are not among `allowed` (a template is checked at start).
std::vector<std::string> unknownPlaceholders(const std::string& tpl,
                                             const std::vector<std::string>& allowed);

// The status as the callback's JSON spells it: "verifying", "routed", "closed", ...
std::string statusName(v1::ComplaintStatus s);

}  // namespace lapor::intake
