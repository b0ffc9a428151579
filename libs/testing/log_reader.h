#pragma once
// Opens a test's event log and reads what a topic holds right now, for tests that check
// what a service published.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ar/v1/events.pb.h"
#include "libs/eventlog/eventlog.h"

namespace ar::testing {

// An embedded log in `data_dir` (created when missing), the backend tests and benchmarks
// run services on.
absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenEmbeddedTestLog(
    const std::string& data_dir);

// Every record of every partition of `topic` up to the end offsets as of the call, in
// partition then offset order.
absl::StatusOr<std::vector<eventlog::Record>> ReadTopic(eventlog::EventLog& log,
                                                        const std::string& topic);

// The events of every EventBatch in `topic` (same order); a record that does not decode
// -> DATA_LOSS.
absl::StatusOr<std::vector<v1::Event>> ReadEvents(eventlog::EventLog& log,
                                                  const std::string& topic);

}  // namespace ar::testing
