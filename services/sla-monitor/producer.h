// The producer name in the envelope of every event this service produces.
#pragma once

#include "events/envelope.h"

namespace lapor::sla {

inline constexpr const char* kProducer = events::kSlaMonitorProducer;

}  // namespace lapor::sla
