// The triage desk's agency id: it owns a complaint no rule routes, and re-routes it.
#pragma once

namespace lapor::agencies {

inline constexpr const char* kTriageDesk = "triage";

}  // namespace lapor::agencies
