// The passes of a batch handler whose messages depend on earlier ones of the same key (a
// complaint's events): each pass takes the earliest unfinished message of every key, so a
// key's messages apply one after another in the order read while different keys share the
// pass's round trips. A key whose message must be retried takes no later message of the
// batch: those are retried too, and the consumer hands them back one at a time, in order.
#pragma once

#include "kafka/message.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lapor::kafka {

class BatchPasses {
 public:
  explicit BatchPasses(size_t size) : keys_(size), results_(size) {}

  // Message `i` is of `key`; a message without a key must be given a result before next().
  void setKey(size_t i, std::string key) { keys_[i] = std::move(key); }
  void finish(size_t i, HandleResult r) { results_[i] = std::move(r); }
  // A retry of `i` also holds back every later message of its key.
  void retry(size_t i, std::string reason, std::string detail);
  bool finished(size_t i) const { return results_[i].has_value(); }

  // The next pass (positions in the order read), empty once every message has a result.
  std::vector<size_t> next();
  // Every result, in the order read; call once next() came back empty.
  std::vector<HandleResult> take();

 private:
  std::vector<std::string> keys_;
  std::vector<std::optional<HandleResult>> results_;
  std::set<std::string> blocked_;
};

}  // namespace lapor::kafka
