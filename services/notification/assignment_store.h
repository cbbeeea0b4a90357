// Assignment state, agency feeds, delivery markers and the event outbox, all in Redis.
//
// Every state change is written together with the event that records it (one Lua script: new
// state + outbox entry), and the event is produced afterwards; an outbox entry that outlives a
// crash or a broker outage is produced again (same event id, so consumers drop a repeat).
#pragma once

#include "domain/assignment_rules.h"
#include "kafka/message.h"
#include "lapor/v1/events.pb.h"
#include "log/logger.h"
#include "redis/redis_client.h"
#include "time/clock.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace lapor::notification {

struct AssignmentRecord {
  std::string assignment_id;
  std::string agency;
  std::string complaint_id;
  std::string trace_id;
  std::string state;    // domain::stateName
  std::string pending;  // event id still in the outbox, if any
  std::string tracking_id, category, title;
  int priority = 0;
  int role = 0;
  int64_t dispatched_at_ms = 0;
  // An escalation is a supervisor's own item about another agency's breach.
  domain::WorkKind kind = domain::WorkKind::Assignment;
  std::string escalated_assignment_id, escalated_agency;  // escalations only
  int level = 0;                                          // escalations only
  std::string unit;    // the work unit it is delegated to now ("" = the agency itself)
  std::string cursor;  // the agency's feed entry of its first item (with the complaint)
};

// An item appended to a feed (of an agency or a work unit) together with a change.
struct FeedAppend {
  std::string owner;  // agency or unit id
  std::string event_id;
  v1::DispatchItem item;
};

// A change of an assignment's state and work unit, with the events that record it (produced
// in order) and the feed items that tell of it, written at once.
struct AssignmentChange {
  std::string next_state;  // domain::stateName; the current one when only the unit changes
  std::string next_unit;   // "" = the agency itself
  bool close = false;      // leaves the open work of the agency and of its unit
  std::vector<v1::EventEnvelope> events;
  std::vector<FeedAppend> items;  // at most two
};

// Who asked a question of the reporter (AskReporter), kept for the answer.
struct QuestionRecord {
  std::string assignment_id;
  std::string agency;
  std::string unit;  // "" = the agency itself
};

// What an escalation record's move to `state` is recorded as: an EscalationUpdated naming the
// escalation, its supervisor and what it escalates (message and operator left for the caller).
v1::EscalationUpdated escalationUpdate(const AssignmentRecord& escalation,
                                       v1::AssignmentState state);

// Where a dispatch item is on its agency's dispatch topic.
struct TopicPosition {
  int32_t partition = 0;
  int64_t offset = 0;
};

class AssignmentStore {
 public:
  AssignmentStore(redis::RedisClient& redis, kafka::MessageSink& events, const time::Clock& clock,
                  log::Logger logger, std::chrono::milliseconds produce_timeout);

  // Queues into `p` the append of a dispatch item to the agency's feed, once per event id, and
  // the update of the assignment (created on NEW, closed on WITHDRAWN; an ESCALATION creates
  // the supervisor's escalation record); schedules a webhook job when `webhook`; remembers the
  // item's place on the dispatch topic when given `kafka` (an agency that reads the topic with
  // its own consumer group). Its reply: the feed cursor, or "" for a repeat. run() sends a
  // pipeline (error replies are returned, not thrown).
  void addAppendDispatch(redis::Pipeline& p, const std::string& event_id,
                         const std::string& trace_id, const std::string& complaint_id,
                         const v1::DispatchItem& item, bool webhook,
                         const std::optional<TopicPosition>& kafka = {}) const;
  std::vector<redis::Reply> run(const redis::Pipeline& p);

  // Kafka-channel agencies: up to `limit` assignments whose first item lies below
  // `next_offset` on `partition` of the agency's dispatch topic (consumed by its group), and
  // forgetting them once recorded delivered.
  std::vector<std::string> consumedBelow(const std::string& agency, int32_t partition,
                                         int64_t next_offset, int limit);
  void forgetConsumed(const std::string& agency, int32_t partition,
                      const std::vector<std::string>& assignment_ids);

  std::optional<AssignmentRecord> get(const std::string& assignment_id);
  // The records of several assignments in one round trip, in the order asked.
  std::vector<std::optional<AssignmentRecord>> getAll(const std::vector<std::string>& ids);
  // The record in an HGETALL reply of its hash (none when the hash is empty).
  static std::optional<AssignmentRecord> recordOf(const std::string& assignment_id,
                                                  const redis::Reply& h);

  // Moves the assignment from `expected` to `next` and stores `env` in the outbox, atomically;
  // Conflict when the state changed meanwhile (decide again). Then produces it: Pending when
  // the broker did not confirm it, or its outbox entry could not be marked (the outbox pass
  // produces it again).
  // Repeated: what the call records was recorded before (a retried request; `ask` only).
  enum class Commit { Conflict, Published, Pending, Repeated };
  Commit transition(const AssignmentRecord& a, const std::string& next, bool close,
                    const v1::EventEnvelope& env);
  // `transition` for several assignments: the moves in one round trip, their events produced
  // together (one wait for all of them), the outbox marked in one more; a Commit each, in order.
  struct Move {
    const AssignmentRecord* record = nullptr;
    std::string next;
    bool close = false;
    const v1::EventEnvelope* event = nullptr;
  };
  std::vector<Commit> transitionAll(const std::vector<Move>& moves);
  // The general form of `transition`: state and unit move together with their events and feed
  // items; Conflict when state or unit changed meanwhile.
  Commit change(const AssignmentRecord& a, const AssignmentChange& c);
  // Records a question to the reporter (event in the outbox, who asked) while the assignment
  // is still in `a`'s state and unit, with an optional feed item; Conflict otherwise.
  Commit ask(const AssignmentRecord& a, const v1::EventEnvelope& asked,
             const std::optional<FeedAppend>& item);
  std::optional<QuestionRecord> question(const std::string& question_id);
  // Appends the reporter's answer (event `event_id`) to the asker's feed, and to its unit's
  // when the unit asked and still holds the assignment; once per event id. The agency feed's
  // cursor, or "" for a repeat.
  std::string appendAnswer(const std::string& event_id, const std::string& trace_id,
                           const QuestionRecord& q, const v1::DispatchItem& item);
  // The item of an agency's feed at `cursor`, if it is there and readable.
  std::optional<v1::DispatchItem> feedItem(const std::string& owner, const std::string& cursor);

  // Produces the event still pending for this assignment, if any; true when nothing is left.
  bool republishPending(const AssignmentRecord& a);

  // Records AssignmentDelivered once per assignment and agency (for an escalation an
  // EscalationUpdated, state DELIVERED); true when this call did.
  bool recordDelivered(const std::string& assignment_id, const std::string& agency,
                       const std::string& channel);
  // The same for several assignments, their events produced together (one wait for all of
  // them, not one each); returns how many this call recorded.
  int recordDelivered(const std::vector<std::string>& assignment_ids, const std::string& agency,
                      const std::string& channel);
  // A key set to a value once the deliveries of a call are recorded (an agency's confirmed
  // mark), in the same round trip and never before them.
  struct Mark {
    std::string key, value;
  };
  // The same with the assignments' records read already (HGETALL replies, in their order), and
  // a mark to move with them (nullptr = none).
  int recordDelivered(const std::vector<std::string>& assignment_ids,
                      const std::vector<redis::Reply>& records, const std::string& agency,
                      const std::string& channel, const Mark* mark);

  // A page of an owner's feed: the entries after `after` up to `up_to` (at most `count`; 0 reads
  // none), with the record of each entry's assignment, in one call; with `confirmation`, an
  // entry added to the feed's confirmations first (a ConfirmDelivery call's).
  struct Confirmation {
    std::string key, stream_id, cursor;
  };
  struct FeedPage {
    std::string last;    // the id of the page's last entry ("" when it has none)
    size_t entries = 0;  // with and without an assignment
    std::vector<std::string> assignments;
    std::vector<redis::Reply> records;  // of `assignments`
  };
  FeedPage feedPage(const std::string& owner, const std::string& after, const std::string& up_to,
                    size_t count, const Confirmation* confirmation);

  // Open work of an agency, oldest first (by dispatch time, then id): up to `count` entries
  // after the position `after` of an earlier page (empty: from the start). Work closed in the
  // meantime does not shift what comes next.
  struct OpenPosition {
    std::string assignment_id;
    std::string score;  // dispatch time in ms, as Redis wrote it
  };
  std::vector<OpenPosition> openAssignments(const std::string& agency,
                                            const std::optional<OpenPosition>& after, int count);

  // Produces outbox entries older than `age`; returns how many were published.
  int flushOutbox(std::chrono::milliseconds age);

  // From now on, the events this store's recordDelivered and transitionAll produced leave the
  // outbox together: their marks are collected and written in one call `interval` after the
  // first of them was collected, by a thread of the store's own; a call that finds
  // `max_pending` marks waiting writes them itself. Produced events stay in the outbox until
  // then: a crash before the write sends them again from there, under the same event ids,
  // which every reader drops. Without this call every such call marks its own. Once per store.
  void deferMarks(std::chrono::milliseconds interval, size_t max_pending);
  // Writes the collected marks now (the thread's work, and at destruction).
  void flushMarks();
  ~AssignmentStore();

  std::string feedKey(const std::string& agency) const { return redis_.key("notif:feed:" + agency); }
  redis::RedisClient& redis() { return redis_; }

 private:
  redis::ScriptCall appendDispatchCall(const std::string& event_id, const std::string& trace_id,
                                       const std::string& complaint_id,
                                       const v1::DispatchItem& item, bool webhook,
                                       const std::optional<TopicPosition>& kafka) const;
  std::string kafkaKey(const std::string& agency, int32_t partition) const;
  bool publish(const std::string& event_id, const std::string& bytes,
               const std::string& assignment_key);
  // Takes a produced event out of the outbox (and off the assignment's pending mark).
  void markPublished(const std::string& event_id, const std::string& assignment_key);
  // The same for several produced events in one call (a call per 500 of them).
  struct Published {
    std::string event_id;
    std::string assignment_key;  // "" for none
  };
  void addMarkPublished(redis::Pipeline& p, const std::vector<Published>& events);
  // Marks produced events, now or (deferMarks) with the next collected ones.
  void marksFor(std::vector<Published> events);
  void markNow(const std::vector<Published>& events);
  // Whether the event was produced and its mark is waiting (deferMarks).
  bool markDeferred(const std::string& event_id);
  void markLoop();

  struct DeferredMarks {
    std::chrono::milliseconds interval{0};
    size_t max_pending = 0;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Published> pending;
    std::chrono::steady_clock::time_point first;  // when the oldest pending mark came
    bool stopping = false;
    std::thread thread;
  };
  std::unique_ptr<DeferredMarks> deferred_;

  redis::RedisClient& redis_;
  kafka::MessageSink& events_;
  const time::Clock& clock_;
  log::Logger log_;
  std::chrono::milliseconds produce_timeout_;
};

}  // namespace lapor::notification
