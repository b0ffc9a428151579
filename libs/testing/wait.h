#pragma once
// Tests wait on conditions with a deadline, never with a fixed sleep.

#include <functional>

#include "absl/time/time.h"

namespace ar::testing {

// Polls `condition` (with a short backoff) until it holds or `timeout` passes; returns
// whether it held.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(30));

}  // namespace ar::testing
