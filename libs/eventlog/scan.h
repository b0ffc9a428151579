#pragma once
// Reading topics from their beginning up to where they end now, outside any consumer group:
// for answers that replay history (an aging report as of a past date) and for tests.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/eventlog/eventlog.h"

namespace ar::eventlog {

// Calls `visit` for every record of `topics` from offset 0 up to the partitions' end
// offsets as of the call (records appended meanwhile are left out). Records of one
// partition come in offset order; partitions interleave. A missing topic is NOT_FOUND;
// `visit` returning an error stops the scan with it; DEADLINE_EXCEEDED after `timeout`.
absl::Status ScanToEnd(EventLog& log, const std::vector<std::string>& topics,
                       absl::Duration timeout,
                       const std::function<absl::Status(const Record&)>& visit);

}  // namespace ar::eventlog
