// The producer name in the envelope of every event this service produces.
#pragma once

#include "events/envelope.h"

namespace lapor::intake {

inline constexpr const char* kProducer = events::kIntakeProducer;

}  // namespace lapor::intake
