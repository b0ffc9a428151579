#pragma once
// The embedded event log: a durable log in a data directory, for one machine running
// many services in one process. SQLite in WAL mode with synchronous=FULL holds topics,
// records and committed group offsets, so an acknowledged record survives a crash.
//
// - One writer thread group-commits every concurrently pending append in one SQLite
//   transaction, then calls the delivery callbacks with their positions.
// - Consumer groups are coordinated in this process: one EventLog per data directory per
//   process (a lock file enforces it, also across processes). Members of a group split
//   each subscribed topic's partitions (range assignment) and rebalance when members
//   join or leave: a member's revocations and assignments run inside its next Poll, and
//   a partition moves to its new owner only after the old owner revoked it. A member
//   that stops polling keeps its partitions (there is no session timeout in-process).
// - Consumers wait on a condition variable for new records: no busy polling.
// - Each consumer reads through its own SQLite connection (WAL readers never block the
//   writer).

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/eventlog/eventlog.h"

namespace ar::eventlog {

struct EmbeddedLogOptions {
  // The directory holding the log (eventlog.db and its WAL, plus a LOCK file).
  std::string data_dir;
  // Create `data_dir` (and missing parents) when it does not exist; otherwise a missing
  // directory is NOT_FOUND. A fresh database is created in an existing, empty directory.
  bool create_if_missing = false;
  // Appends accepted but not yet written; Append blocks (briefly) beyond this.
  size_t max_pending_appends = 1'000'000;
  // How long a connection waits for SQLite's write lock (consumer offset commits and
  // topic creation share it with the writer thread) before giving up with UNAVAILABLE.
  absl::Duration lock_timeout = absl::Seconds(10);
};

// Opens (or creates) the log in `options.data_dir`. Errors, never a crash:
//   NOT_FOUND            the directory is missing and create_if_missing is false
//   FAILED_PRECONDITION  the directory is already open by another EventLog (this process
//                        or another), it is not a directory, or eventlog.db is an SQLite
//                        database that is not an ar-suite event log (or a newer schema)
//   DATA_LOSS            eventlog.db is corrupt or not an SQLite database at all
absl::StatusOr<std::unique_ptr<EventLog>> OpenEmbeddedLog(const EmbeddedLogOptions& options);

// The database file inside a data directory (for tools and tests).
std::string EmbeddedLogDatabasePath(const std::string& data_dir);

}  // namespace ar::eventlog
