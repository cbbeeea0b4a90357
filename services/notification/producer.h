// The producer name in the envelope of every event this service produces.
#pragma once

#include "events/envelope.h"

namespace lapor::notification {

inline constexpr const char* kProducer = events::kNotificationProducer;

}  // namespace lapor::notification
