// The topics of the system and how they are made: partitions, replication, min.insync.replicas
// and retention from configuration (one place, with production defaults), applied when a
// service starts. New topics are created with them; for existing topics the retention and
// min.insync.replicas are brought in line, and a replication factor or partition count that
// differs is reported (changing those needs a reassignment by an operator).
#pragma once

#include "kafka/client_security.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lapor::kafka {

struct TopicSettings {
  int partitions = 3;  // lifecycle, routing commands, dead letters: how far a group scales out
  // lapor.dispatch.<agency>.v1: one partition each by default. A routing transaction then
  // touches one partition per agency it dispatches to, and notification's fetch lists one per
  // agency, instead of kafka.topic_partitions times that; notification's instances share the
  // agency topics among them topic by topic (round-robin assignment).
  int dispatch_partitions = 1;
  int replication_factor = 3;   // production: three brokers, one may be lost
  int min_insync_replicas = 2;  // with acks=all: an acknowledged event is on two brokers
  // lapor.complaints.v1 is the audit log and the source of every rebuild: kept for ever.
  int64_t complaints_retention_ms = -1;
  int64_t retention_ms = 30LL * 24 * 3600 * 1000;  // dispatch, commands, dead letters

  // "" or what is wrong, naming the config key (kafka.*).
  std::string validate() const;
  // The partition count `topic` is created with, and its config key.
  int partitionsFor(const std::string& topic) const;
  static const char* partitionsKeyFor(const std::string& topic);
  // Topic-level configs (retention.ms, min.insync.replicas) for `topic`.
  std::map<std::string, std::string> configFor(const std::string& topic) const;
  // One-node brokers (tests, tools): one replica, min ISR 1.
  static TopicSettings singleReplica(int partitions);
};

struct TopicReport {
  std::string error;                    // "" on success
  std::vector<std::string> created;     // topics that did not exist
  std::vector<std::string> reconciled;  // existing topics whose configs were changed
  std::vector<std::string> warnings;    // differences left to an operator
};

// Creates the missing topics and reconciles the existing ones (see the file comment).
TopicReport ensureTopics(const std::string& brokers, const ClientSecurity& security,
                         const std::vector<std::string>& topics, const TopicSettings& settings,
                         std::chrono::milliseconds timeout);

// Single-replica topics on an unsecured broker; returns an error text or "" on success. For
// tests and tools against a one-node broker.
std::string ensureTopics(const std::string& brokers, const std::vector<std::string>& topics,
                         int partitions, std::chrono::milliseconds timeout);

}  // namespace lapor::kafka
