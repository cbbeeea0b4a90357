// The producer name in the envelope of every event this service produces.
#pragma once

#include "events/envelope.h"

namespace lapor::routing {

inline constexpr const char* kProducer = events::kRoutingProducer;

}  // namespace lapor::routing
