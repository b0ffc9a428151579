#pragma once
// Per-account command ownership across replicas of one service.
//
// Records are keyed by account, so an account's partition of the service's own topic is
// computable (eventlog::PartitionForKey). The replica whose read-model projection (group
// mode) is assigned that partition decides the account's commands; every other replica
// forwards them (CommandRouter). This is the Kafka Streams interactive-queries / cluster
// sharding pattern, with the consumer group as the membership protocol:
//
//  - Assigned: the partition is not decided on until this replica's read model has
//    applied the partition up to its end as it is now. The previous owner drained its
//    commands before its revocation returned and the group hands a partition over only
//    after every member revoked, so "now" includes the previous owner's last command.
//    Then the owner directory (hash `<service>__owners`: partition -> "address epoch")
//    names this replica.
//  - Revoked: new commands for the partition are refused (UNAVAILABLE, retryable) and the
//    revocation waits, bounded, for the commands already deciding or appending to be
//    acknowledged by the log.
//  - A replica that does not own an account may still conclude that a command publishes
//    nothing (a repeat, nothing to do); it never publishes for it.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"

namespace ar::command {

// The bookkeeping alone (no I/O): which partitions are owned, which are still catching
// up, and how many commands of each are between deciding and the log's acknowledgement.
// Thread-safe.
class OwnershipTable {
 public:
  enum class State { kNotOwned, kCatchingUp, kOwned };

  // Starts an assignment of `partition`: refused until MarkCaughtUp with the returned
  // token. A later Assign or Revoke makes the token stale.
  uint64_t Assign(int32_t partition);
  // True when `token` is still the partition's current assignment (it is now owned).
  bool MarkCaughtUp(int32_t partition, uint64_t token);
  // Refuses new commands for `partition`, then waits until its commands in flight are
  // released or `deadline`; false when some were still in flight.
  bool Revoke(int32_t partition, absl::Time deadline);

  // Counts a command of an owned partition in flight; UNAVAILABLE otherwise.
  absl::Status Acquire(int32_t partition);
  void Release(int32_t partition);

  State state(int32_t partition) const;
  bool IsCurrent(int32_t partition, uint64_t token) const;
  int in_flight(int32_t partition) const;
  // True when no partition is catching up.
  bool Settled() const;
  // Waits until Settled() or `deadline`.
  bool WaitSettled(absl::Time deadline) const;

 private:
  struct Partition {
    State state = State::kNotOwned;
    uint64_t token = 0;
    int in_flight = 0;
  };
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<int32_t, Partition> partitions_;
  uint64_t next_token_ = 1;
};

// What the CommandExecutor asks before a command decides (see command_executor.h).
class OwnershipGate {
 public:
  virtual ~OwnershipGate() = default;
  // OK and the partition counted in flight, or UNAVAILABLE when this replica does not
  // (yet, or any more) own the account's partition.
  virtual absl::StatusOr<int32_t> Acquire(std::string_view account) = 0;
  // The command of `partition` was acknowledged by the log, or publishes nothing.
  virtual void Release(int32_t partition) = 0;
};

struct OwnershipOptions {
  std::string service;            // names the owner directory: `<service>__owners`
  std::string topic;              // the service's own events topic
  std::string advertise_address;  // where other replicas reach this one's gRPC server
  // How long a revocation waits for the partition's commands in flight.
  absl::Duration revoke_drain_timeout = absl::Seconds(5);
  // How long a new assignment may take to catch up before it is tried again.
  absl::Duration catch_up_timeout = absl::Minutes(2);
};

// Ownership following a projection runner's assignment of the service's own topic.
// Create it, InstallHooks into the runner's options before creating the runner, then
// Bind the runner before starting it.
class CommandOwnership final : public OwnershipGate {
 public:
  CommandOwnership(eventlog::EventLog& log, store::Store& store, OwnershipOptions options);
  ~CommandOwnership() override;
  CommandOwnership(const CommandOwnership&) = delete;
  CommandOwnership& operator=(const CommandOwnership&) = delete;

  void InstallHooks(projection::ProjectionOptions& options);
  void Bind(projection::ProjectionRunner& own_projection);

  absl::StatusOr<int32_t> Acquire(std::string_view account) override;
  void Release(int32_t partition) override;

  absl::StatusOr<int32_t> PartitionOf(std::string_view account);
  bool Owns(int32_t partition) const {
    return table_.state(partition) == OwnershipTable::State::kOwned;
  }
  // The owner directory's address for `partition`; nullopt when none is known.
  absl::StatusOr<std::optional<std::string>> OwnerAddress(int32_t partition);
  const std::string& advertise_address() const { return options_.advertise_address; }
  // Waits until every assigned partition has caught up (call at start, before ready).
  bool WaitSettled(absl::Duration timeout) const {
    return table_.WaitSettled(absl::Now() + timeout);
  }
  const OwnershipTable& table() const { return table_; }

  static std::string DirectoryKey(std::string_view service);

 private:
  struct CatchUpTask {
    int32_t partition;
    uint64_t token;
  };
  void OnAssigned(const std::vector<eventlog::TopicPartition>& partitions);
  void OnRevoked(const std::vector<eventlog::TopicPartition>& partitions);
  void CatchUpLoop();
  // Catches `task` up and claims it in the directory; false when it must be tried again.
  bool CatchUp(const CatchUpTask& task);

  eventlog::EventLog& log_;
  store::Store& store_;
  OwnershipOptions options_;
  projection::ProjectionRunner* projection_ = nullptr;
  std::string incarnation_;  // tells this process's directory entries from earlier ones
  OwnershipTable table_;
  std::atomic<int32_t> partition_count_{0};

  std::mutex tasks_mu_;
  std::condition_variable tasks_ready_;
  std::deque<CatchUpTask> tasks_;
  bool stopping_ = false;
  std::thread catch_up_thread_;
};

// The UNAVAILABLE answer while an account's ownership moves between replicas.
absl::Status OwnershipMoving(std::string_view detail);

}  // namespace ar::command
