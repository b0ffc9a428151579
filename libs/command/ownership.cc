#include "libs/command/ownership.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/ids.h"
#include "libs/core/status_macros.h"

namespace ar::command {

absl::Status OwnershipMoving(std::string_view detail) {
  return absl::UnavailableError(
      absl::StrCat("ownership of this account is moving between replicas (", std::string(detail),
                   "); retry the command, it is idempotent"));
}

uint64_t OwnershipTable::Assign(int32_t partition) {
  std::lock_guard lock(mu_);
  Partition& p = partitions_[partition];
  p.state = State::kCatchingUp;
  p.token = next_token_++;
  changed_.notify_all();
  return p.token;
}

bool OwnershipTable::MarkCaughtUp(int32_t partition, uint64_t token) {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.token != token ||
      it->second.state != State::kCatchingUp) {
    return false;
  }
  it->second.state = State::kOwned;
  changed_.notify_all();
  return true;
}

bool OwnershipTable::Revoke(int32_t partition, absl::Time deadline) {
  std::unique_lock lock(mu_);
  Partition& p = partitions_[partition];
  p.state = State::kNotOwned;
  p.token = next_token_++;
  changed_.notify_all();
  while (p.in_flight > 0) {
    if (changed_.wait_until(lock, absl::ToChronoTime(deadline)) == std::cv_status::timeout) {
      return p.in_flight == 0;
    }
  }
  return true;
}

absl::Status OwnershipTable::Acquire(int32_t partition) {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.state == State::kNotOwned) {
    return OwnershipMoving(absl::StrCat("partition ", partition, " is not owned here"));
  }
  if (it->second.state == State::kCatchingUp) {
    return OwnershipMoving(absl::StrCat("partition ", partition, " is still catching up here"));
  }
  ++it->second.in_flight;
  return absl::OkStatus();
}

void OwnershipTable::Release(int32_t partition) {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.in_flight == 0) return;
  if (--it->second.in_flight == 0) changed_.notify_all();
}

OwnershipTable::State OwnershipTable::state(int32_t partition) const {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? State::kNotOwned : it->second.state;
}

bool OwnershipTable::IsCurrent(int32_t partition, uint64_t token) const {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(partition);
  return it != partitions_.end() && it->second.token == token;
}

int OwnershipTable::in_flight(int32_t partition) const {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? 0 : it->second.in_flight;
}

bool OwnershipTable::Settled() const {
  std::lock_guard lock(mu_);
  for (const auto& [partition, p] : partitions_) {
    if (p.state == State::kCatchingUp) return false;
  }
  return true;
}

bool OwnershipTable::WaitSettled(absl::Time deadline) const {
  std::unique_lock lock(mu_);
  auto settled = [&] {
    for (const auto& [partition, p] : partitions_) {
      if (p.state == State::kCatchingUp) return false;
    }
    return true;
  };
  return changed_.wait_until(lock, absl::ToChronoTime(deadline), settled);
}

std::string CommandOwnership::DirectoryKey(std::string_view service) {
  return absl::StrCat(std::string(service), "__owners");
}

CommandOwnership::CommandOwnership(eventlog::EventLog& log, store::Store& store,
                                   OwnershipOptions options)
    : log_(log), store_(store), options_(std::move(options)), incarnation_(core::NewEventId()) {
  catch_up_thread_ = std::thread([this] { CatchUpLoop(); });
}

CommandOwnership::~CommandOwnership() {
  {
    std::lock_guard lock(tasks_mu_);
    stopping_ = true;
  }
  tasks_ready_.notify_all();
  catch_up_thread_.join();
}

void CommandOwnership::InstallHooks(projection::ProjectionOptions& options) {
  options.on_partitions_assigned = [this](const std::vector<eventlog::TopicPartition>& p) {
    OnAssigned(p);
  };
  options.on_partitions_revoked = [this](const std::vector<eventlog::TopicPartition>& p) {
    OnRevoked(p);
  };
}

void CommandOwnership::Bind(projection::ProjectionRunner& own_projection) {
  projection_ = &own_projection;
}

void CommandOwnership::OnAssigned(const std::vector<eventlog::TopicPartition>& partitions) {
  std::vector<CatchUpTask> tasks;
  for (const eventlog::TopicPartition& tp : partitions) {
    if (tp.topic != options_.topic) continue;
    tasks.push_back({tp.partition, table_.Assign(tp.partition)});
  }
  if (tasks.empty()) return;
  {
    std::lock_guard lock(tasks_mu_);
    tasks_.insert(tasks_.end(), tasks.begin(), tasks.end());
  }
  tasks_ready_.notify_one();
}

void CommandOwnership::OnRevoked(const std::vector<eventlog::TopicPartition>& partitions) {
  const absl::Time deadline = absl::Now() + options_.revoke_drain_timeout;
  for (const eventlog::TopicPartition& tp : partitions) {
    if (tp.topic != options_.topic) continue;
    // The directory entry stays: the next owner overwrites it, and until then a forwarded
    // call finds this replica no longer owning and answers UNAVAILABLE.
    table_.Revoke(tp.partition, deadline);
  }
}

void CommandOwnership::CatchUpLoop() {
  std::unique_lock lock(tasks_mu_);
  while (true) {
    tasks_ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (stopping_) return;
    CatchUpTask task = tasks_.front();
    tasks_.pop_front();
    lock.unlock();
    const bool done = CatchUp(task);
    lock.lock();
    if (!done && table_.IsCurrent(task.partition, task.token)) {
      tasks_.push_back(task);
      tasks_ready_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; });
    }
  }
}

bool CommandOwnership::CatchUp(const CatchUpTask& task) {
  if (!table_.IsCurrent(task.partition, task.token)) return true;  // revoked meanwhile
  auto end = log_.EndOffset({options_.topic, task.partition});
  if (!end.ok() || projection_ == nullptr) return false;
  if (*end > 0) {
    const absl::Time deadline = absl::Now() + options_.catch_up_timeout;
    // In slices, so that a partition revoked meanwhile does not hold up the others.
    while (!projection_->WaitForPosition({options_.topic, task.partition, *end - 1},
                                         absl::Milliseconds(200))) {
      if (!table_.IsCurrent(task.partition, task.token)) return true;
      if (absl::Now() > deadline) return false;
      std::lock_guard lock(tasks_mu_);
      if (stopping_) return true;
    }
  }
  store::WriteBatch claim;
  claim.HSet(DirectoryKey(options_.service), absl::StrCat(task.partition),
             absl::StrCat(options_.advertise_address, " ", incarnation_, ":", task.token));
  if (!store_.Apply(claim).ok()) return false;
  table_.MarkCaughtUp(task.partition, task.token);
  return true;
}

absl::StatusOr<int32_t> CommandOwnership::PartitionOf(std::string_view account) {
  int32_t count = partition_count_.load(std::memory_order_relaxed);
  if (count == 0) {
    ASSIGN_OR_RETURN(count, log_.PartitionCount(options_.topic));
    partition_count_.store(count, std::memory_order_relaxed);
  }
  return eventlog::PartitionForKey(account, count);
}

absl::StatusOr<int32_t> CommandOwnership::Acquire(std::string_view account) {
  ASSIGN_OR_RETURN(int32_t partition, PartitionOf(account));
  RETURN_IF_ERROR(table_.Acquire(partition));
  return partition;
}

void CommandOwnership::Release(int32_t partition) { table_.Release(partition); }

absl::StatusOr<std::optional<std::string>> CommandOwnership::OwnerAddress(int32_t partition) {
  ASSIGN_OR_RETURN(std::optional<std::string> entry,
                   store_.HGet(DirectoryKey(options_.service), absl::StrCat(partition)));
  if (!entry) return std::nullopt;
  return entry->substr(0, entry->find(' '));
}

}  // namespace ar::command
