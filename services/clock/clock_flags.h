#pragma once
// The clock's command-line settings (--regions, --wall_clock, --wall_clock_starts_regions),
// defined once for every binary that hosts the clock (ar-clock, ar-suite).

#include "absl/status/statusor.h"
#include "services/clock/clock_service.h"

namespace ar::clock {

// ClockOptions from the flags (or their AR_* environment variables); bad regions ->
// INVALID_ARGUMENT naming --regions.
absl::StatusOr<ClockOptions> ClockOptionsFromFlags();

}  // namespace ar::clock
