// Idempotent Kafka producer (acks=all) whose delivery reports come back as futures.
#pragma once

#include "kafka/client_security.h"
#include "kafka/message.h"
#include "log/logger.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

struct rd_kafka_s;

namespace lapor::kafka {

struct ProducerOptions {
  std::string brokers;
  ClientSecurity security;
  std::string client_id = "lapor";
  int linger_ms = 5;
  int message_timeout_ms = 30'000;  // how long librdkafka keeps retrying before failing a message
  std::map<std::string, std::string> extra;  // any other librdkafka property
};

class Producer : public MessageSink {
 public:
  Producer(const ProducerOptions& options, log::Logger logger);
  ~Producer() override;  // flushes what is queued, then stops the poll thread
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  std::future<DeliveryReport> produce(OutMessage msg) override;
  // True when nothing is left in flight.
  bool flush(std::chrono::milliseconds timeout);

 private:
  struct Deleter {
    void operator()(rd_kafka_s* rk) const;
  };
  log::Logger log_;  // before rk_: librdkafka may log while it is destroyed
  std::unique_ptr<rd_kafka_s, Deleter> rk_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

}  // namespace lapor::kafka
