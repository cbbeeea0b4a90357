// librdkafka configuration helpers shared by the producer, the consumer and topic creation.
#pragma once

#include "kafka/message.h"
#include "log/logger.h"

#include <librdkafka/rdkafka.h>

#include <string>

namespace lapor::kafka::detail {

// Sets one property; on a bad key or value destroys `conf` and throws std::invalid_argument
// naming the property.
void setOrThrow(rd_kafka_conf_t* conf, const std::string& key, const std::string& value);

// Routes librdkafka's own log lines through `logger` (which must outlive the handle) instead
// of raw stderr. Uses the handle's opaque pointer.
void routeLogs(rd_kafka_conf_t* conf, const log::Logger* logger);

// A consumed librdkafka message as our own Message (key, value, headers, timestamp).
Message toMessage(const rd_kafka_message_t* m);

}  // namespace lapor::kafka::detail
