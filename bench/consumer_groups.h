// Whether Kafka consumer groups have settled: a run with more instances is measured only once
// every group is Stable with its new members, not while partitions are being handed over.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace lapor::bench {

// True when every group in `groups` is Stable with exactly `members` members.
bool groupsStable(const std::string& brokers, const std::vector<std::string>& groups,
                  size_t members, std::chrono::milliseconds timeout);

}  // namespace lapor::bench
