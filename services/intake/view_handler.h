// Builds intake's tracking view from lapor.complaints.v1, idempotent per event id, so a replay
// of the topic gives the same view. Redis layout (under the configured prefix):
//   view:<cid>              hash: status, tracking_id, category, priority, title, ... updated_at_ms
//                           (and the model: version, triage, round, closed, close_reason,
//                           verification, postponed, open_question, question_event, ...), and
//                           e:<event id> = 1 for each applied event (events_kept = 1 says so)
//   view:<cid>:timeline     list of JSON entries {at_ms, what, agency_id, note, event_id}
//   view:<cid>:events       set of applied event ids, of a view written before events_kept
//   view:<cid>:agencies     set of agencies ever assigned
//   view:<cid>:assignments  hash assignment id -> AssignmentFacts::pack() (agency, role,
//                           state, when and by which event it was reported, round)
//   view:index              sorted set of complaint ids by submission time (listings)
#pragma once

#include "domain/view_model.h"
#include "events/envelope.h"
#include "intake_metrics.h"
#include "kafka/message.h"
#include "log/logger.h"
#include "redis/redis_client.h"

#include <list>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace lapor::intake {

class ViewHandler {
 public:
  ViewHandler(redis::RedisClient& redis, log::Logger logger, IntakeMetrics& metrics);
  kafka::HandleResult handle(const kafka::Message& msg);
  // What one poll returned (kafka::BatchHandler): two Redis round trips per pass, reading the
  // views and then updating them, one event of each complaint per pass; the read is left out
  // for the complaints whose view this handler wrote last (see kCachedViews). Called from one
  // thread at a time.
  std::vector<kafka::HandleResult> handleBatch(const std::vector<kafka::Message>& batch);

  // How many complaints' models the handler keeps after writing them, most recent first: the
  // next event of such a complaint is decided on the kept model and written on the condition
  // that the view's version is still the one it wrote, so a view changed by anyone else (a
  // rebuild, another instance after a rebalance) is read again instead of overwritten.
  static constexpr size_t kCachedViews = 4096;

 private:
  // The complaint's model as stored, and the view's version it was read at.
  struct Loaded {
    ViewModel model;
    std::string version;
    std::map<std::string, std::string> stored;  // the model's fields as read
  };
  std::vector<std::string> loadCommand(const std::string& complaint_id) const;
  // From the replies of loadCommand and HGETALL view:<cid>:assignments.
  static Loaded parseLoaded(const redis::Reply& view, const redis::Reply& assignments);
  // The SET of the tracking id (a submission only) and the update script, into `p`; returns
  // what the view holds once the script applied.
  Loaded addUpdate(redis::Pipeline& p, const v1::EventEnvelope& env, const Loaded& loaded);
  const Loaded* cached(const std::string& complaint_id);
  void remember(const std::string& complaint_id, Loaded loaded);
  void forget(const std::string& complaint_id);

  redis::RedisClient& redis_;
  log::Logger log_;
  IntakeMetrics& metrics_;
  struct Kept {
    Loaded loaded;
    std::list<std::string>::iterator recency;
  };
  std::unordered_map<std::string, Kept> kept_;
  std::list<std::string> recency_;  // complaint ids, the most recently written first
};

}  // namespace lapor::intake
