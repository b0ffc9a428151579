#include "libs/command/command_executor.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/status_macros.h"

namespace ar::command {

v1::LogPosition ToProto(const eventlog::LogPosition& position) {
  v1::LogPosition proto;
  proto.set_topic(position.topic);
  proto.set_partition(position.partition);
  proto.set_offset(position.offset);
  return proto;
}

eventlog::LogPosition FromProto(const v1::LogPosition& position) {
  return {position.topic(), position.partition(), position.offset()};
}

absl::StatusOr<v1::CommandResult> AwaitCommand(const std::function<void(CommandDone)>& start) {
  // Shared with the callback, which may run on another thread after this frame notified.
  struct Result {
    std::mutex mu;
    std::condition_variable ready;
    std::optional<absl::StatusOr<v1::CommandResult>> value;
  };
  auto result = std::make_shared<Result>();
  start([result](absl::StatusOr<v1::CommandResult> value) {
    {
      std::lock_guard lock(result->mu);
      result->value = std::move(value);
    }
    result->ready.notify_one();
  });
  std::unique_lock lock(result->mu);
  result->ready.wait(lock, [&] { return result->value.has_value(); });
  return *std::move(result->value);
}

CommandExecutor::CommandExecutor(eventlog::Producer& producer,
                                 projection::ProjectionRunner& own_projection, Options options)
    : producer_(producer),
      projection_(own_projection),
      options_(std::move(options)),
      watcher_(own_projection) {
  for (int i = 0; i < std::max(1, options_.worker_threads); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

CommandExecutor::~CommandExecutor() {
  // Waiting commands complete now (as timed out), which may queue their accounts' next
  // commands for the workers; the workers finish every task before they end.
  watcher_.Stop();
  {
    std::lock_guard lock(tasks_mu_);
    stopping_ = true;
  }
  tasks_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void CommandExecutor::Defer(std::function<void()> task) {
  {
    std::lock_guard lock(tasks_mu_);
    tasks_.push_back(std::move(task));
  }
  tasks_ready_.notify_one();
}

void CommandExecutor::WorkerLoop() {
  std::unique_lock lock(tasks_mu_);
  while (true) {
    tasks_ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

void CommandExecutor::ExecuteAsync(const std::string& tenant, const std::string& account,
                                   Decide decide, CommandDone done) {
  auto command = std::make_shared<Command>();
  command->key = absl::StrCat(tenant, "/", account);
  command->account = account;
  command->decide = std::move(decide);
  command->done = std::move(done);
  {
    std::lock_guard lock(slots_mu_);
    std::shared_ptr<AccountSlot>& slot = slots_[command->key];
    if (!slot) slot = std::make_shared<AccountSlot>();
    command->slot = slot;
    if (slot->busy) {
      slot->queued.push_back(std::move(command));
      return;
    }
    slot->busy = true;
  }
  Begin(std::move(command));
}

absl::StatusOr<v1::CommandResult> CommandExecutor::Execute(const std::string& tenant,
                                                           const std::string& account,
                                                           const Decide& decide) {
  return AwaitCommand(
      [&](CommandDone done) { ExecuteAsync(tenant, account, decide, std::move(done)); });
}

void CommandExecutor::Begin(std::shared_ptr<Command> command) {
  std::optional<eventlog::LogPosition> last;
  {
    std::lock_guard lock(slots_mu_);
    last = command->slot->last_published;
  }
  if (last && projection_.CommittedOffset({last->topic, last->partition}) > last->offset) {
    last.reset();
  }
  if (!last) {
    {
      std::lock_guard lock(slots_mu_);
      command->slot->last_published.reset();
    }
    DecideAndPublish(std::move(command));
    return;
  }
  const eventlog::LogPosition position = *last;
  watcher_.NotifyWhenApplied(
      position, absl::Now() + options_.catch_up_timeout, [this, command, position](bool applied) {
        if (!applied) {
          Finish(command, absl::UnavailableError(absl::StrCat(
                              "the read model has not caught up with the account's last command (",
                              position.topic, "/", position.partition, "@", position.offset,
                              "); try again")));
          return;
        }
        {
          std::lock_guard lock(slots_mu_);
          command->slot->last_published.reset();
        }
        // Not on the watcher's thread: it completes every other command.
        Defer([this, command] { DecideAndPublish(command); });
      });
}

void CommandExecutor::DecideAndPublish(std::shared_ptr<Command> command) {
  // Ownership is taken before deciding: a decision of an owner that is still catching up
  // could miss the previous owner's last command.
  std::optional<int32_t> owned_partition;
  absl::Status not_owned;
  if (options_.ownership != nullptr) {
    absl::StatusOr<int32_t> partition = options_.ownership->Acquire(command->account);
    if (partition.ok()) {
      owned_partition = *partition;
    } else {
      not_owned = partition.status();
    }
  }
  auto release = [this, owned_partition] {
    if (owned_partition) options_.ownership->Release(*owned_partition);
  };
  absl::StatusOr<Decision> decision = command->decide();
  if (!decision.ok()) {
    release();
    Finish(command, decision.status());
    return;
  }
  if (decision->duplicate_of) {
    release();
    Finish(command, *std::move(decision->duplicate_of));
    return;
  }
  if (decision->events.empty()) {
    release();
    Finish(command, v1::CommandResult());
    return;
  }
  if (!not_owned.ok()) {
    Finish(command, not_owned);
    return;
  }
  v1::EventBatch batch;
  batch.set_command_id(decision->command_id);
  v1::CommandResult result;
  for (v1::Event& event : decision->events) {
    result.add_event_ids(event.event_id());
    *batch.add_events() = std::move(event);
  }
  producer_.Append(
      options_.topic, command->account, batch.SerializeAsString(),
      [this, command, result, release](absl::StatusOr<eventlog::LogPosition> position) mutable {
        // Acknowledged (or failed): a revocation may hand the partition over.
        release();
        if (!position.ok()) {
          Finish(command,
                 absl::UnavailableError(absl::StrCat("the event log did not accept the events: ",
                                                     position.status().message())));
          return;
        }
        *result.mutable_position() = ToProto(*position);
        watcher_.NotifyWhenApplied(
            *position, absl::Now() + options_.catch_up_timeout,
            [this, command, result, position = *position](bool applied) mutable {
              if (!applied) {
                std::lock_guard lock(slots_mu_);
                command->slot->last_published = position;
              }
              Finish(command, std::move(result));
            });
      });
}

void CommandExecutor::Finish(const std::shared_ptr<Command>& command,
                             absl::StatusOr<v1::CommandResult> result) {
  // The result first: the account's next command never completes before this one.
  CommandDone done = std::move(command->done);
  command->decide = nullptr;  // may refer to the caller's objects, which `done` may free
  done(std::move(result));
  std::shared_ptr<Command> next;
  {
    std::lock_guard lock(slots_mu_);
    AccountSlot& slot = *command->slot;
    if (!slot.queued.empty()) {
      next = std::move(slot.queued.front());
      slot.queued.pop_front();
    } else {
      slot.busy = false;
      auto it = slots_.find(command->key);
      if (!slot.last_published && it != slots_.end() && it->second == command->slot) {
        slots_.erase(it);
      }
    }
  }
  if (next) Defer([this, next = std::move(next)] { Begin(next); });
}

absl::Status CommandExecutor::CatchUp(eventlog::EventLog& log,
                                      const std::vector<std::string>& topics,
                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (const std::string& topic : topics) {
    ASSIGN_OR_RETURN(int32_t partitions, log.PartitionCount(topic));
    for (int32_t p = 0; p < partitions; ++p) {
      ASSIGN_OR_RETURN(int64_t end, log.EndOffset({topic, p}));
      if (end == 0) continue;
      if (!projection_.WaitForPosition({topic, p, end - 1}, deadline - absl::Now())) {
        return absl::DeadlineExceededError(absl::StrCat("projection did not catch up with ", topic,
                                                        "/", p, " (end offset ", end, ") in time"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace ar::command
