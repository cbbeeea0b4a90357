#include "kafka/batch_passes.h"

namespace lapor::kafka {

void BatchPasses::retry(size_t i, std::string reason, std::string detail) {
  results_[i] = HandleResult::retry(std::move(reason), std::move(detail));
  blocked_.insert(keys_[i]);
}

std::vector<size_t> BatchPasses::next() {
  std::vector<size_t> pass;
  std::set<std::string> taken = blocked_;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (results_[i]) continue;
    if (blocked_.count(keys_[i])) {
      results_[i] = HandleResult::retry("order", "an earlier message of " + keys_[i] +
                                                     " is retried first");
      continue;
    }
    if (taken.insert(keys_[i]).second) pass.push_back(i);
  }
  return pass;
}

std::vector<HandleResult> BatchPasses::take() {
  std::vector<HandleResult> out;
  out.reserve(results_.size());
  for (auto& r : results_) out.push_back(r ? std::move(*r) : HandleResult::retry("batch", "no result"));
  return out;
}

}  // namespace lapor::kafka
