// Whether Kafka consumer groups have settled: a run with more instances is measured only once
// every group is Stable with its new members, not while partitions are being handed over.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lapor::bench {

// True when every group in `groups` is Stable with exactly `members` members.
bool groupsStable(const std::string& brokers, const std::vector<std::string>& groups,
                  size_t members, std::chrono::milliseconds timeout);

// How many messages of `topic` each group has not committed yet: the partitions' ends minus the
// group's committed offsets (a partition it never committed counts from its start). -1 for a
// group whose offsets could not be read in `timeout`.
std::map<std::string, int64_t> groupLags(const std::string& brokers,
                                         const std::vector<std::string>& groups,
                                         const std::string& topic,
                                         std::chrono::milliseconds timeout);

}  // namespace lapor::bench
