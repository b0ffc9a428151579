#pragma once
// How a service turns a command into events, safely:
//
//  1. Commands about one account run one at a time in this process, in the order they
//     arrived (a queue per account).
//  2. Before deciding, the service's own read model must have applied every batch this
//     executor published for that account, so the decision sees its own earlier writes.
//  3. `decide` reads the read model, runs the pure domain rules and returns the events;
//     they are published as ONE record (an EventBatch), so they land together or not at
//     all, and the command returns the record's log position.
//  4. The command completes once its own read model has applied that record (bounded by
//     catch_up_timeout): a client that reads the same service right after sees its write.
//     If the read model lags beyond that, the command still succeeds (its events are in
//     the log) and the next command for the account waits for the position first.
//
// ExecuteAsync does all of this without parking a thread: the log's delivery callback and
// a PositionWatcher on the read model carry the command on, and a command that had to wait
// for its turn or for an earlier position decides on the executor's own worker threads.
// Execute is ExecuteAsync plus a wait, for callers that have a thread to spend (reactors,
// feeds); both share the same per-account queue.
//
// After a restart the executor knows no earlier positions: the service reports ready only
// once its projection has caught up with the end of its topics (see CatchUp).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"
#include "libs/command/ownership.h"
#include "libs/command/position_watcher.h"
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
// A command's result, delivered exactly once. Runs on the caller's thread (an error found
// at once, a repeat), the log's delivery thread, the executor's watcher or one of its
// workers: it must not block, and must not call Execute (it may call ExecuteAsync).
using CommandDone = std::function<void(absl::StatusOr<v1::CommandResult>)>;

// The synchronous form of an asynchronous command: calls `start` with a CommandDone and
// waits for it. One place for every `X` that wraps an `XAsync`.
absl::StatusOr<v1::CommandResult> AwaitCommand(const std::function<void(CommandDone)>& start);

class CommandExecutor {
 public:
  struct Options {
    std::string topic;  // the service's own events topic
    // How long a command may wait for the read model to catch up before failing with
    // UNAVAILABLE (the log or the store is lagging or down).
    absl::Duration catch_up_timeout = absl::Seconds(10);
    // Threads that run the decisions of commands that had to wait (for an earlier command
    // of their account, or for the read model); a command that can start at once decides
    // on its caller's thread.
    int worker_threads = 2;
    // With replicas: asked before each decision whether this replica owns the account
    // (libs/command/ownership.h). A command that would publish for an account not owned
    // here fails with UNAVAILABLE; one that publishes nothing (a repeat) still answers.
    // Null: this process owns every account (one replica, the embedded log).
    OwnershipGate* ownership = nullptr;
  };

  CommandExecutor(eventlog::Producer& producer, projection::ProjectionRunner& own_projection,
                  Options options);
  // Commands still queued or running complete first (their read-model waits as timed out).
  ~CommandExecutor();
  CommandExecutor(const CommandExecutor&) = delete;
  CommandExecutor& operator=(const CommandExecutor&) = delete;

  // Runs `decide` for `account` (tenant-scoped) when the account's earlier commands are
  // done and the read model has caught up with them, publishes what it returns, and
  // calls `done` once with the result. Decide's errors come back as they are
  // (INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS...); a repeat (duplicate_of)
  // comes back as the original result and publishes nothing. Never blocks on the log or
  // the read model. `decide` is called at most once, and may be called on another thread
  // after ExecuteAsync returned: whatever it refers to must live until `done` runs.
  void ExecuteAsync(const std::string& tenant, const std::string& account, Decide decide,
                    CommandDone done);

  // ExecuteAsync, waiting for the result. Never call it from a CommandDone or a Decide.
  absl::StatusOr<v1::CommandResult> Execute(const std::string& tenant, const std::string& account,
                                            const Decide& decide);

  // Runs `task` on the executor's worker threads: for a continuation that would otherwise
  // run a decision on a delivery or watcher thread.
  void Defer(std::function<void()> task);

  // Waits until the projection has applied everything in `topics` up to their end
  // offsets as of now. Call at start, before reporting ready.
  absl::Status CatchUp(eventlog::EventLog& log, const std::vector<std::string>& topics,
                       absl::Duration timeout);

 private:
  struct Command;

  struct AccountSlot {
    bool busy = false;  // a command of the account is running
    std::deque<std::shared_ptr<Command>> queued;
    // The account's last record when the read model had not applied it in time.
    std::optional<eventlog::LogPosition> last_published;
  };

  struct Command {
    std::string key;  // tenant/account
    std::string account;
    Decide decide;
    CommandDone done;
    std::shared_ptr<AccountSlot> slot;
  };

  // The command holds its account's slot: wait for the account's last position if needed.
  void Begin(std::shared_ptr<Command> command);
  void DecideAndPublish(std::shared_ptr<Command> command);
  // Delivers the result, then hands the slot to the account's next command.
  void Finish(const std::shared_ptr<Command>& command, absl::StatusOr<v1::CommandResult> result);
  void WorkerLoop();

  eventlog::Producer& producer_;
  projection::ProjectionRunner& projection_;
  Options options_;
  PositionWatcher watcher_;

  std::mutex slots_mu_;
  // Slots live while a command uses them or the position they remember is not yet
  // applied; a finished slot whose position was applied is dropped on release.
  std::map<std::string, std::shared_ptr<AccountSlot>> slots_;

  std::mutex tasks_mu_;
  std::condition_variable tasks_ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

v1::LogPosition ToProto(const eventlog::LogPosition& position);
eventlog::LogPosition FromProto(const v1::LogPosition& position);

}  // namespace ar::command
