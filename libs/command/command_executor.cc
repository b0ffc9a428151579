#include "libs/command/command_executor.h"

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

CommandExecutor::CommandExecutor(eventlog::Producer& producer,
                                 projection::ProjectionRunner& own_projection, Options options)
    : producer_(producer), projection_(own_projection), options_(std::move(options)) {}

std::shared_ptr<CommandExecutor::AccountSlot> CommandExecutor::Acquire(const std::string& key) {
  std::lock_guard lock(slots_mu_);
  std::shared_ptr<AccountSlot>& slot = slots_[key];
  if (!slot) slot = std::make_shared<AccountSlot>();
  ++slot->users;
  return slot;
}

void CommandExecutor::Release(const std::string& key) {
  std::lock_guard lock(slots_mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  if (--it->second->users > 0) return;
  // Nobody else can reach the slot without slots_mu_, so its lock is free.
  std::lock_guard slot_lock(it->second->mu);
  if (!it->second->last_published) slots_.erase(it);
}

absl::StatusOr<v1::CommandResult> CommandExecutor::Execute(const std::string& tenant,
                                                           const std::string& account,
                                                           const Decide& decide) {
  const std::string key = absl::StrCat(tenant, "/", account);
  std::shared_ptr<AccountSlot> slot = Acquire(key);
  absl::StatusOr<v1::CommandResult> result = [&]() -> absl::StatusOr<v1::CommandResult> {
    std::lock_guard account_lock(slot->mu);
    if (slot->last_published) {
      if (!projection_.WaitForPosition(*slot->last_published, options_.catch_up_timeout)) {
        return absl::UnavailableError(
            absl::StrCat("the read model has not caught up with the account's last command (",
                         slot->last_published->topic, "/", slot->last_published->partition, "@",
                         slot->last_published->offset, "); try again"));
      }
      slot->last_published.reset();
    }
    ASSIGN_OR_RETURN(Decision decision, decide());
    if (decision.duplicate_of) return *decision.duplicate_of;
    if (decision.events.empty()) return v1::CommandResult();

    v1::EventBatch batch;
    batch.set_command_id(decision.command_id);
    v1::CommandResult result;
    for (v1::Event& event : decision.events) {
      result.add_event_ids(event.event_id());
      *batch.add_events() = std::move(event);
    }
    absl::StatusOr<eventlog::LogPosition> position =
        producer_.AppendAndWait(options_.topic, account, batch.SerializeAsString());
    if (!position.ok()) {
      return absl::UnavailableError(
          absl::StrCat("the event log did not accept the events: ", position.status().message()));
    }
    *result.mutable_position() = ToProto(*position);
    if (!projection_.WaitForPosition(*position, options_.catch_up_timeout)) {
      slot->last_published = *position;
    }
    return result;
  }();
  Release(key);
  return result;
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
