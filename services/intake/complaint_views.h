// Reads the tracking view (see view_handler.h for its layout) for both edges: one complaint,
// its timeline from a position on, and filtered listings paged with a cursor.
#pragma once

#include "domain/response_time.h"
#include "lapor/v1/intake.pb.h"
#include "redis/redis_client.h"

#include <optional>
#include <string>
#include <vector>

namespace lapor::intake {

struct ListFilter {
  v1::ComplaintStatus status = v1::COMPLAINT_STATUS_UNSPECIFIED;
  std::string agency_id;
  std::string category;
  int64_t from_ms = 0;  // submitted at or after; 0: no bound
  int64_t to_ms = 0;    // submitted before; 0: no bound
};

struct ListPage {
  std::vector<v1::ComplaintView> complaints;
  std::string next_cursor;
};

class BadCursor : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The question waiting for the reporter's answer, as the view holds it.
struct OpenQuestionRef {
  std::string event_id;
  std::string text;
  std::string assignment_id;  // "" = the verifiers'
  std::string agency_id;      // "" = the verifiers
};

class ComplaintViews {
 public:
  ComplaintViews(redis::RedisClient& redis, const ResponseTimes& response_times)
      : redis_(redis), response_times_(response_times) {}

  // Every call throws RedisError when the store cannot be reached.
  std::optional<std::string> complaintIdOf(const std::string& tracking_id);
  // The submission may not have reached the view yet: then a SUBMITTED view with the ids only.
  // One consistent snapshot: never one event's timeline with the status before it.
  v1::ComplaintView read(const std::string& complaint_id, const std::string& tracking_id);
  // The view as the public may see it (Open311): nullopt for a confidential report, one not yet
  // in the view, or one the verifiers have not published.
  std::optional<v1::ComplaintView> readPublic(const std::string& complaint_id,
                                              const std::string& tracking_id);
  std::optional<OpenQuestionRef> openQuestion(const std::string& complaint_id);
  std::vector<v1::TimelineEntry> timeline(const std::string& complaint_id, size_t from);
  // Newest first. Confidential and unpublished (unverified) complaints are never listed.
  // Throws BadCursor.
  ListPage list(const ListFilter& filter, size_t page_size, const std::string& cursor);

 private:
  // read(), and the view's verification state when `verification` is not null.
  v1::ComplaintView read(const std::string& complaint_id, const std::string& tracking_id,
                         std::string* verification);

  redis::RedisClient& redis_;
  const ResponseTimes& response_times_;
};

}  // namespace lapor::intake
