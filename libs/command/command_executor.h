#pragma once
// How a service turns a command into events, safely:
//
//  1. Commands about one account run one at a time in this process (a lock per account).
//  2. Before deciding, the service's own read model must have applied every batch this
//     executor published for that account, so the decision sees its own earlier writes.
//  3. `decide` reads the read model, runs the pure domain rules and returns the events;
//     they are published as ONE record (an EventBatch), so they land together or not at
//     all, and the command returns the record's log position.
//  4. The command returns once its own read model has applied that record (bounded by
//     catch_up_timeout): a client that reads the same service right after sees its write.
//     If the read model lags beyond that, the command still succeeds (its events are in
//     the log) and the next command for the account waits for the position first.
//
// After a restart the executor knows no earlier positions: the service reports ready only
// once its projection has caught up with the end of its topics (see CatchUp).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"

namespace ar::command {

// What a command decided.
struct Decision {
  // Events to publish together; empty with `duplicate_of` set for an idempotent repeat.
  std::vector<v1::Event> events;
  std::optional<v1::CommandResult> duplicate_of;
  // The idempotency key of the command (EventBatch.command_id).
  std::string command_id;
};

using Decide = std::function<absl::StatusOr<Decision>()>;

class CommandExecutor {
 public:
  struct Options {
    std::string topic;  // the service's own events topic
    // How long a command may wait for the read model to catch up before failing with
    // UNAVAILABLE (the log or the store is lagging or down).
    absl::Duration catch_up_timeout = absl::Seconds(10);
  };

  CommandExecutor(eventlog::Producer& producer, projection::ProjectionRunner& own_projection,
                  Options options);

  // Runs `decide` for `account` (tenant-scoped) under the account's lock once the read
  // model is caught up, and publishes what it returns. Decide's errors come back as they
  // are (INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS...).
  absl::StatusOr<v1::CommandResult> Execute(const std::string& tenant, const std::string& account,
                                            const Decide& decide);

  // Waits until the projection has applied everything in `topics` up to their end
  // offsets as of now. Call at start, before reporting ready.
  absl::Status CatchUp(eventlog::EventLog& log, const std::vector<std::string>& topics,
                       absl::Duration timeout);

 private:
  struct AccountSlot {
    std::mutex mu;
    std::optional<eventlog::LogPosition> last_published;
    int users = 0;  // commands holding or waiting for this slot
  };

  std::shared_ptr<AccountSlot> Acquire(const std::string& key);
  void Release(const std::string& key);

  eventlog::Producer& producer_;
  projection::ProjectionRunner& projection_;
  Options options_;

  std::mutex slots_mu_;
  // Slots live while a command uses them or the position they remember is not yet
  // applied; a finished slot whose position was applied is dropped on release.
  std::map<std::string, std::shared_ptr<AccountSlot>> slots_;
};

v1::LogPosition ToProto(const eventlog::LogPosition& position);
eventlog::LogPosition FromProto(const v1::LogPosition& position);

}  // namespace ar::command
