#pragma once
// The projection loop: consume -> decode the EventBatch -> apply each event through a
// handler that adds writes to a store batch -> Commit(batch, checkpoints) atomically.
//
// Exactly-once effect: the read model and the consumer position (checkpoint) change in
// one atomic store commit, and on every (re)assignment the consumer seeks to the
// checkpoint kept in the store, never to the log's own committed offset. A crash between
// apply and commit loses the uncommitted writes and the position together, so the
// records are applied again, once. A replica that lost its partitions and still holds a
// batch is fenced by the checkpoint's expected offset (the store answers ABORTED).
//
// Bad input never stops the loop and is never dropped silently: an undecodable record, or
// one whose events the handler rejects, goes whole to the dead-letter topic with the
// reason and its source topic/partition/offset. Event bodies this build does not know
// (a newer producer) are counted and skipped.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ar/v1/events.pb.h"
#include "google/protobuf/arena.h"
#include "libs/eventlog/eventlog.h"
#include "libs/store/store.h"

namespace ar::projection {

// Turns events into read-model writes. Called only from the projection's poll thread.
class Handler {
 public:
  virtual ~Handler() = default;

  // Adds the writes for `event` to `batch`; `event` lives only during the call (it is
  // decoded on an arena reset after each batch). A non-OK status rejects the whole record the
  // event came in (its writes are dropped and it goes to the dead-letter topic with the
  // status message as the reason), except UNAVAILABLE: something the handler depends on
  // is not ready yet, so the record's writes are dropped, the records before it are
  // committed, and the record is applied again after the retry backoff.
  virtual absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                             store::WriteBatch& batch) = 0;

  // True (the default): when Apply rejects an event (or answers UNAVAILABLE), the handler
  // has already taken back whatever the record's earlier events changed in its own cached
  // state (StateCache::UndoRecord). False: it has not (it changes cached states in place
  // and keeps no copy to undo with); the runner then calls Discard() and applies the
  // batch's earlier records again, which costs a rejection more and every record less.
  virtual bool UndoesRejectedRecords() const { return true; }

  // Called once per batch right before the store commit, after the last Apply: a handler
  // that defers writes (a state changed by several events of the batch, serialized once,
  // see StateCache::Flush) adds them to `batch` here.
  virtual void BeforeCommit(store::WriteBatch& batch) { (void)batch; }

  // The writes handed out since the last Committed() were not committed and never will
  // be: a handler that caches state derived from them must forget it. Also called when
  // the runner's partitions change (assigned or revoked), when another writer may have
  // changed the read model's keys: cached committed state must go too.
  virtual void Discard() {}
  // The writes handed out so far are committed.
  virtual void Committed() {}
};

// Records decoded once for several runners of one process that consume the same records
// of the same log (the invoicing and payments read models both read both topics): the
// first runner to apply a record decodes it, the others take that decoding. Each record
// is forgotten once `readers` runners have taken it, or, for records some runner never
// asks for (a revoked partition), when more than `max_records` are held. Thread-safe.
// Records are told apart by topic, partition and offset: never share one between logs.
class SharedDecodes {
 public:
  explicit SharedDecodes(int readers, size_t max_records = 20'000);
  ~SharedDecodes();
  SharedDecodes(const SharedDecodes&) = delete;
  SharedDecodes& operator=(const SharedDecodes&) = delete;

  // The decoded record; nullptr when its value is not an ar.v1.EventBatch.
  std::shared_ptr<const v1::EventBatch> Decode(const eventlog::Record& record);

  // Records decoded so far (by whichever runner), for tests.
  int64_t decoded() const;

 private:
  // An arena that decodes many records, kept with its first block for reuse: an arena
  // per record cost more than the decoding it saved.
  struct Slab;
  struct Entry {
    std::shared_ptr<const v1::EventBatch> batch;
    int taken = 0;
  };
  using RecordId = std::tuple<int, int32_t, int64_t>;  // topic number, partition, offset

  // The slab to decode a record of `value_size` bytes on; one it stops using goes to
  // `released`, to let go of once mu_ is free. mu_ held.
  std::shared_ptr<Slab> SlabFor(size_t value_size,
                                std::vector<std::shared_ptr<const void>>& released);
  void Recycle(Slab* slab);
  int TopicNumber(const std::string& topic);  // mu_ held

  const int readers_;
  const size_t max_records_;
  mutable std::mutex mu_;  // guards the members below
  // Declared before every member holding slabs: Recycle, which their release calls, uses it.
  std::vector<std::unique_ptr<Slab>> free_slabs_;
  std::vector<std::string> topics_;
  std::shared_ptr<Slab> current_;
  std::map<RecordId, Entry> entries_;
  std::deque<RecordId> order_;  // insertion order, for max_records_
  int64_t decoded_ = 0;
};

struct ProjectionOptions {
  // Names the checkpoints in the store and, in group mode, the consumer group.
  std::string name;
  std::vector<std::string> topics;
  // Group mode: replicas share the topics' partitions through the consumer group.
  // Otherwise this runner reads every partition of every topic itself.
  bool use_consumer_group = true;
  std::string deadletter_topic = "ar.deadletter";
  // Larger batches cost Redis more per event (its Lua commit checks every key first).
  int max_records_per_batch = 500;
  absl::Duration poll_timeout = absl::Milliseconds(100);
  // Wait after a failed commit (store unreachable) before trying again.
  absl::Duration retry_backoff = absl::Milliseconds(200);
  // Called right before each store commit; crash tests use it to die at that point.
  std::function<void()> before_commit_hook;
  // Optional, shared with the other runners of the process reading the same log.
  std::shared_ptr<SharedDecodes> shared_decodes;
  // Told, on the poll thread, which partitions this runner gains (after their checkpoints
  // were read) and loses (before they go): command ownership follows the runner's share
  // of the service's own topic (libs/command/ownership.h). A revocation hook may block,
  // bounded: the partitions move to another replica only once it returns.
  std::function<void(const std::vector<eventlog::TopicPartition>&)> on_partitions_assigned;
  std::function<void(const std::vector<eventlog::TopicPartition>&)> on_partitions_revoked;
};

struct ProjectionStats {
  int64_t records = 0;         // records committed (including dead-lettered ones)
  int64_t events_applied = 0;  // events whose writes were committed
  int64_t unknown_events = 0;  // bodies this build does not know, skipped
  int64_t dead_lettered = 0;   // records sent to the dead-letter topic
  int64_t commits = 0;         // successful store commits
  int64_t failed_commits = 0;  // commits that failed (store down, fenced) and were retried
};

class ProjectionRunner {
 public:
  ProjectionRunner(eventlog::EventLog& log, store::Store& store, Handler& handler,
                   ProjectionOptions options);
  ~ProjectionRunner();
  ProjectionRunner(const ProjectionRunner&) = delete;
  ProjectionRunner& operator=(const ProjectionRunner&) = delete;

  // Creates the consumer and the dead-letter producer and starts the poll thread.
  absl::Status Start();
  // Stops the poll thread after its current batch, closes the consumer, flushes the
  // producer. Idempotent.
  void Stop();

  // Runs one poll -> apply -> commit step on the calling thread (instead of Start()).
  // Returns the number of records committed.
  absl::StatusOr<int> RunOnce();
  // Prepares the consumer without starting a thread, for RunOnce() callers.
  absl::Status Open();
  // The apply step of RunOnce on records already polled: decode, apply, commit. Public
  // so a benchmark can measure it without the log in the way.
  absl::StatusOr<int> ApplyAndCommit(const std::vector<eventlog::Record>& records);

  // Waits until the records up to and including `position` are committed to the store by
  // this runner; false on timeout. Read-your-writes for a client that just appended.
  bool WaitForPosition(const eventlog::LogPosition& position, absl::Duration timeout);
  // The next offset of `partition` this runner has committed (or found committed in the
  // store); 0 when it knows of none.
  int64_t CommittedOffset(const eventlog::TopicPartition& partition) const;

  ProjectionStats stats() const;
  // The last fatal error of the poll thread (OK while healthy).
  absl::Status health() const;

 private:
  struct PartitionProgress {
    int64_t stored = 0;  // the checkpoint in the store (0 when none)
    int64_t next = 0;    // next offset to apply (>= stored while a batch is pending)
    bool known = false;  // false until the checkpoint has been read from the store
  };

  void OnAssigned(std::vector<eventlog::TopicPartitionOffset>& assigned);
  void OnRevoked(const std::vector<eventlog::TopicPartition>& revoked);
  absl::Status AssignAllPartitions();
  // OK also for a dead-lettered record; UNAVAILABLE when the handler asks for a retry.
  // `rejected`: the handler rejected the record (dead-lettered).
  absl::Status ProcessRecord(const eventlog::Record& record, store::WriteBatch& batch,
                             std::vector<v1::DeadLetter>& dead_letters, int64_t& events,
                             int64_t& unknown, bool& rejected);
  // For a handler that does not undo: Discard(), then `records` again into an empty batch.
  absl::Status ReapplyRecords(const std::vector<const eventlog::Record*>& records,
                              store::WriteBatch& batch, int64_t& events, int64_t& unknown);
  // After a failed or abandoned commit: back to the store's checkpoints, or, if they cannot
  // be read, unknown positions that the next RunOnce reads first.
  void RewindOrForgetPositions();
  absl::Status CommitApplied(store::WriteBatch& batch,
                             const std::vector<v1::DeadLetter>& dead_letters,
                             const std::map<eventlog::TopicPartition, int64_t>& touched,
                             int64_t taken, int64_t events, int64_t unknown);
  absl::Status SendDeadLetters(const std::vector<v1::DeadLetter>& dead_letters);
  absl::Status RewindToCheckpoints();
  void CommitGroupOffsetsForMonitoring();
  absl::StatusOr<int> ApplyAndCommitDecoded(const std::vector<eventlog::Record>& records);
  void NoteCommitted(const eventlog::TopicPartition& tp, int64_t next_offset);
  void PollLoop();

  eventlog::EventLog& log_;
  store::Store& store_;
  Handler& handler_;
  ProjectionOptions options_;

  std::unique_ptr<eventlog::Consumer> consumer_;
  std::unique_ptr<eventlog::Producer> dead_letter_producer_;
  // Touched only by the thread that polls (rebalance callbacks run inside Poll).
  std::map<eventlog::TopicPartition, PartitionProgress> progress_;
  absl::Status rebalance_error_;
  // The arena's first block, owned here so that Reset() keeps it: a batch decodes
  // without calling malloc at all (growing the arena block by block cost ~10 % of a
  // service projection, mostly in glibc consolidating its free lists for each block).
  std::unique_ptr<char[]> arena_block_;
  google::protobuf::Arena arena_;  // decoded envelopes of the batch being applied
  // The batch being built, reused so its op vector keeps its capacity between batches
  // (freeing and regrowing a vector of a few hundred KiB per batch is costly in glibc).
  store::WriteBatch batch_;
  absl::Time last_group_offset_commit_ = absl::InfinitePast();

  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // A WaitForPosition caller: woken only once its own offset is committed. One shared
  // condition variable woke every waiting command on every commit (each went back to
  // sleep but one), which under many concurrent commands cost more than the commands.
  struct Waiter {
    std::condition_variable cv;
    bool done = false;
  };

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::map<eventlog::TopicPartition, int64_t> committed_;  // next offset committed per partition
  // Waiters per partition by the offset they wait for (guarded by mu_).
  std::map<eventlog::TopicPartition, std::multimap<int64_t, Waiter*>> waiters_;
  ProjectionStats stats_;
  absl::Status health_;
};

}  // namespace ar::projection
