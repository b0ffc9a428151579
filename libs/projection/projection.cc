#include "libs/projection/projection.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/status_macros.h"

namespace ar::projection {
namespace {

using eventlog::Record;
using eventlog::TopicPartition;
using eventlog::TopicPartitionOffset;

constexpr absl::Duration kDeadLetterTimeout = absl::Seconds(30);
constexpr absl::Duration kGroupOffsetCommitInterval = absl::Seconds(1);
// Enough for a default batch of 500 service records; larger batches add blocks of up to
// kMaxArenaBlockBytes, freed at the next Reset.
constexpr size_t kArenaInitialBlockBytes = size_t{1} << 20;
constexpr size_t kMaxArenaBlockBytes = size_t{1} << 20;

google::protobuf::ArenaOptions ArenaOptionsFor(char* initial_block) {
  google::protobuf::ArenaOptions options;
  options.initial_block = initial_block;
  options.initial_block_size = kArenaInitialBlockBytes;
  options.max_block_size = kMaxArenaBlockBytes;
  return options;
}

v1::DeadLetter MakeDeadLetter(const Record& record, std::string_view projection,
                              std::string reason) {
  v1::DeadLetter letter;
  letter.set_source_topic(record.topic);
  letter.set_source_partition(record.partition);
  letter.set_source_offset(record.offset);
  letter.set_key(record.key);
  letter.set_value(record.value);
  letter.set_reason(std::move(reason));
  letter.set_rejected_by(std::string(projection));
  letter.set_rejected_at_unix_micros(absl::ToUnixMicros(absl::Now()));
  return letter;
}

}  // namespace

struct SharedDecodes::Slab {
  Slab() : block(new char[kArenaInitialBlockBytes]), arena(ArenaOptionsFor(block.get())) {}
  std::unique_ptr<char[]> block;
  google::protobuf::Arena arena;
  size_t reserved = 0;  // estimated bytes of the records decoded on it
};

namespace {
// Slabs kept for reuse: a fresh one costs a megabyte of page faults.
constexpr size_t kFreeSlabsKept = 8;
}  // namespace

SharedDecodes::SharedDecodes(int readers, size_t max_records)
    : readers_(readers), max_records_(max_records) {}

// Members go in reverse order: entries_ and current_ hand their slabs to Recycle while
// mu_ and free_slabs_ still exist.
SharedDecodes::~SharedDecodes() = default;

int SharedDecodes::TopicNumber(const std::string& topic) {
  for (size_t i = 0; i < topics_.size(); ++i) {
    if (topics_[i] == topic) return static_cast<int>(i);
  }
  topics_.push_back(topic);
  return static_cast<int>(topics_.size() - 1);
}

std::shared_ptr<SharedDecodes::Slab> SharedDecodes::SlabFor(
    size_t value_size, std::vector<std::shared_ptr<const void>>& released) {
  // Decoded, a record takes a few times its encoded size.
  const size_t estimate = 4 * value_size;
  if (current_ == nullptr || current_->reserved + estimate > kArenaInitialBlockBytes) {
    released.push_back(std::move(current_));
    std::unique_ptr<Slab> slab;
    if (!free_slabs_.empty()) {
      slab = std::move(free_slabs_.back());
      free_slabs_.pop_back();
    } else {
      slab = std::make_unique<Slab>();
    }
    current_ = std::shared_ptr<Slab>(slab.release(), [this](Slab* done) { Recycle(done); });
  }
  current_->reserved += estimate;
  return current_;
}

void SharedDecodes::Recycle(Slab* slab) {
  slab->arena.Reset();  // keeps the first block
  slab->reserved = 0;
  std::unique_ptr<Slab> owned(slab);
  std::lock_guard lock(mu_);
  if (free_slabs_.size() < kFreeSlabsKept) free_slabs_.push_back(std::move(owned));
}

std::shared_ptr<const v1::EventBatch> SharedDecodes::Decode(const Record& record) {
  // What this call lets go of, released after the lock (a slab's release takes it).
  std::vector<std::shared_ptr<const void>> released;
  std::shared_ptr<Slab> slab;
  RecordId id;
  {
    std::lock_guard lock(mu_);
    id = RecordId{TopicNumber(record.topic), record.partition, record.offset};
    auto found = entries_.find(id);
    if (found != entries_.end()) {
      std::shared_ptr<const v1::EventBatch> batch = found->second.batch;
      if (++found->second.taken >= readers_) entries_.erase(found);
      return batch;
    }
    slab = SlabFor(record.value.size(), released);
  }
  // Decoded outside the lock (the arena is thread-safe); two runners that miss at once
  // both decode, harmlessly.
  auto* decoded = google::protobuf::Arena::CreateMessage<v1::EventBatch>(&slab->arena);
  if (!decoded->ParseFromString(record.value)) return nullptr;
  std::shared_ptr<const v1::EventBatch> shared(std::move(slab), decoded);
  std::lock_guard lock(mu_);
  ++decoded_;
  if (readers_ <= 1) return shared;
  auto [entry, inserted] = entries_.try_emplace(id, Entry{shared, 1});
  if (!inserted) return shared;
  order_.push_back(id);
  // The order list also names entries already taken by every reader (dropped here) and
  // bounds the records held.
  while (!order_.empty() &&
         (order_.size() > max_records_ || entries_.find(order_.front()) == entries_.end())) {
    auto oldest = entries_.find(order_.front());
    if (oldest != entries_.end()) {
      released.push_back(std::move(oldest->second.batch));
      entries_.erase(oldest);
    }
    order_.pop_front();
  }
  return shared;
}

int64_t SharedDecodes::decoded() const {
  std::lock_guard lock(mu_);
  return decoded_;
}

ProjectionRunner::ProjectionRunner(eventlog::EventLog& log, store::Store& store, Handler& handler,
                                   ProjectionOptions options)
    : log_(log),
      store_(store),
      handler_(handler),
      options_(std::move(options)),
      arena_block_(new char[kArenaInitialBlockBytes]),
      arena_(ArenaOptionsFor(arena_block_.get())) {}

ProjectionRunner::~ProjectionRunner() { Stop(); }

absl::Status ProjectionRunner::Open() {
  if (consumer_) return absl::FailedPreconditionError("projection already open");
  if (options_.name.empty()) return absl::InvalidArgumentError("projection needs a name");
  if (options_.topics.empty()) return absl::InvalidArgumentError("projection needs topics");

  auto partitions = log_.PartitionCount(options_.deadletter_topic);
  if (absl::IsNotFound(partitions.status())) {
    RETURN_IF_ERROR(log_.CreateTopic({options_.deadletter_topic, 1}));
  } else if (!partitions.ok()) {
    return partitions.status();
  }
  ASSIGN_OR_RETURN(dead_letter_producer_, log_.NewProducer());

  eventlog::ConsumerOptions consumer_options;
  consumer_options.client_id = options_.name;
  consumer_options.auto_offset_reset = eventlog::kOffsetBeginning;
  if (options_.use_consumer_group) {
    consumer_options.group_id = options_.name;
    consumer_options.listener.on_assigned = [this](std::vector<TopicPartitionOffset>& assigned) {
      OnAssigned(assigned);
    };
    consumer_options.listener.on_revoked = [this](const std::vector<TopicPartition>& revoked) {
      OnRevoked(revoked);
    };
  }
  ASSIGN_OR_RETURN(consumer_, log_.NewConsumer(std::move(consumer_options)));
  if (options_.use_consumer_group) return consumer_->Subscribe(options_.topics);
  return AssignAllPartitions();
}

absl::Status ProjectionRunner::AssignAllPartitions() {
  std::vector<TopicPartitionOffset> assignment;
  for (const std::string& topic : options_.topics) {
    ASSIGN_OR_RETURN(int32_t count, log_.PartitionCount(topic));
    for (int32_t p = 0; p < count; ++p)
      assignment.push_back({topic, p, eventlog::kOffsetBeginning});
  }
  OnAssigned(assignment);
  RETURN_IF_ERROR(rebalance_error_);
  return consumer_->Assign(assignment);
}

void ProjectionRunner::OnAssigned(std::vector<TopicPartitionOffset>& assigned) {
  // Another replica may have written these partitions' keys meanwhile.
  handler_.Discard();
  rebalance_error_ = absl::OkStatus();
  auto checkpoints = store_.LoadCheckpoints(options_.name);
  std::map<TopicPartition, int64_t> stored;
  if (checkpoints.ok()) {
    for (const store::Checkpoint& c : *checkpoints) stored[{c.topic, c.partition}] = c.next_offset;
  } else {
    // Without the checkpoint we cannot know where to start; RewindToCheckpoints retries
    // before any record of these partitions is applied.
    rebalance_error_ = checkpoints.status();
  }
  for (TopicPartitionOffset& tpo : assigned) {
    TopicPartition tp{tpo.topic, tpo.partition};
    PartitionProgress progress;
    progress.known = checkpoints.ok();
    auto it = stored.find(tp);
    progress.stored = it == stored.end() ? 0 : it->second;
    progress.next = progress.stored;
    tpo.offset = progress.stored;
    progress_[tp] = progress;
    NoteCommitted(tp, progress.stored);
  }
  if (options_.on_partitions_assigned) {
    std::vector<TopicPartition> partitions;
    for (const TopicPartitionOffset& tpo : assigned)
      partitions.push_back({tpo.topic, tpo.partition});
    options_.on_partitions_assigned(partitions);
  }
}

void ProjectionRunner::NoteCommitted(const TopicPartition& tp, int64_t next_offset) {
  // What the store holds counts as applied, also when this runner did not write it (a
  // checkpoint from before a restart): WaitForPosition must not wait for it again.
  std::lock_guard lock(mu_);
  int64_t& committed = committed_[tp];
  if (next_offset > committed) committed = next_offset;
  auto partition = waiters_.find(tp);
  if (partition == waiters_.end()) return;
  std::multimap<int64_t, Waiter*>& waiting = partition->second;
  // Wake exactly the waiters whose offset is now below the committed position.
  const auto end = waiting.lower_bound(committed);
  for (auto it = waiting.begin(); it != end; ++it) {
    it->second->done = true;
    it->second->cv.notify_one();
  }
  waiting.erase(waiting.begin(), end);
}

void ProjectionRunner::OnRevoked(const std::vector<TopicPartition>& revoked) {
  // Everything polled so far has been committed or discarded before the next Poll, so a
  // revoked partition carries no pending writes. What the handler cached about its keys
  // is another replica's to change from now on.
  if (options_.on_partitions_revoked) options_.on_partitions_revoked(revoked);
  handler_.Discard();
  for (const TopicPartition& tp : revoked) progress_.erase(tp);
}

absl::Status ProjectionRunner::RewindToCheckpoints() {
  ASSIGN_OR_RETURN(std::vector<store::Checkpoint> checkpoints,
                   store_.LoadCheckpoints(options_.name));
  std::map<TopicPartition, int64_t> stored;
  for (const store::Checkpoint& c : checkpoints) stored[{c.topic, c.partition}] = c.next_offset;
  for (auto& [tp, progress] : progress_) {
    auto it = stored.find(tp);
    progress.stored = it == stored.end() ? 0 : it->second;
    progress.next = progress.stored;
    RETURN_IF_ERROR(consumer_->Seek({tp.topic, tp.partition, progress.stored}));
    progress.known = true;
    NoteCommitted(tp, progress.stored);
  }
  rebalance_error_ = absl::OkStatus();
  return absl::OkStatus();
}

void ProjectionRunner::RewindOrForgetPositions() {
  absl::Status rewound = RewindToCheckpoints();
  if (!rewound.ok()) {
    for (auto& [tp, progress] : progress_) progress.known = false;
    rebalance_error_ = rewound;
  }
}

absl::Status ProjectionRunner::ProcessRecord(const Record& record, store::WriteBatch& batch,
                                             std::vector<v1::DeadLetter>& dead_letters,
                                             int64_t& events, int64_t& unknown, bool& rejected) {
  rejected = false;
  // Decoded on an arena that is reset once per batch: parsing allocates by bumping a
  // pointer, and nothing is freed event by event (malloc/free dominated the profile).
  // Or decoded once for every runner that shares the decodes.
  std::shared_ptr<const v1::EventBatch> shared;
  const v1::EventBatch* decoded = nullptr;
  if (options_.shared_decodes) {
    shared = options_.shared_decodes->Decode(record);
    decoded = shared.get();
  } else {
    v1::EventBatch* own = google::protobuf::Arena::CreateMessage<v1::EventBatch>(&arena_);
    if (own->ParseFromString(record.value)) decoded = own;
  }
  if (decoded == nullptr) {
    dead_letters.push_back(
        MakeDeadLetter(record, options_.name, "undecodable record: not an ar.v1.EventBatch"));
    return absl::OkStatus();
  }
  const v1::EventBatch& envelope = *decoded;
  const size_t batch_size_before = batch.size();
  int64_t record_events = 0;
  int64_t record_unknown = 0;
  for (int i = 0; i < envelope.events_size(); ++i) {
    const v1::Event& event = envelope.events(i);
    if (event.body_case() == v1::Event::BODY_NOT_SET) {
      ++record_unknown;
      continue;
    }
    absl::Status applied = handler_.Apply(event, record, batch);
    if (!applied.ok()) {
      batch.Truncate(batch_size_before);
      if (absl::IsUnavailable(applied)) return applied;  // not bad input: retry later
      rejected = true;
      dead_letters.push_back(MakeDeadLetter(
          record, options_.name,
          absl::StrCat("event ", i, " (", event.event_id(), ") rejected: ", applied.ToString())));
      return absl::OkStatus();
    }
    ++record_events;
  }
  events += record_events;
  unknown += record_unknown;
  return absl::OkStatus();
}

absl::Status ProjectionRunner::SendDeadLetters(const std::vector<v1::DeadLetter>& dead_letters) {
  for (const v1::DeadLetter& letter : dead_letters) {
    std::string key = letter.source_topic() + "/" + std::to_string(letter.source_partition());
    // Waiting for each delivery keeps the order simple: a dead letter is in the log before
    // the commit that moves the checkpoint past its record.
    auto delivered = dead_letter_producer_->AppendAndWait(options_.deadletter_topic, key,
                                                          letter.SerializeAsString());
    if (!delivered.ok()) {
      return absl::UnavailableError(
          absl::StrCat("dead-letter topic unavailable: ", delivered.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ProjectionRunner::RunOnce() {
  if (!consumer_) return absl::FailedPreconditionError("projection not open");
  if (!rebalance_error_.ok()) RETURN_IF_ERROR(RewindToCheckpoints());
  ASSIGN_OR_RETURN(std::vector<Record> records,
                   consumer_->Poll(options_.max_records_per_batch, options_.poll_timeout));
  // A rebalance inside Poll may have failed to read checkpoints.
  if (!rebalance_error_.ok()) RETURN_IF_ERROR(RewindToCheckpoints());
  ASSIGN_OR_RETURN(int taken, ApplyAndCommit(records));
  if (taken > 0) CommitGroupOffsetsForMonitoring();
  return taken;
}

absl::StatusOr<int> ProjectionRunner::ApplyAndCommit(const std::vector<Record>& records) {
  absl::StatusOr<int> applied = ApplyAndCommitDecoded(records);
  arena_.Reset();
  return applied;
}

absl::Status ProjectionRunner::ReapplyRecords(const std::vector<const Record*>& records,
                                              store::WriteBatch& batch, int64_t& events,
                                              int64_t& unknown) {
  handler_.Discard();
  batch.Clear();
  events = 0;
  unknown = 0;
  std::vector<v1::DeadLetter> dead_letters;
  for (const Record* record : records) {
    bool rejected = false;
    RETURN_IF_ERROR(ProcessRecord(*record, batch, dead_letters, events, unknown, rejected));
    if (rejected || !dead_letters.empty()) {
      return absl::InternalError(absl::StrCat(
          "projection ", options_.name, ": handler rejected ", record->topic, "/",
          record->partition, "@", record->offset, " when applied again, having accepted it"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ProjectionRunner::ApplyAndCommitDecoded(const std::vector<Record>& records) {
  store::WriteBatch& batch = batch_;
  batch.Clear();
  std::vector<v1::DeadLetter> dead_letters;
  std::map<TopicPartition, int64_t> touched;  // partition -> next offset after this batch
  int64_t events = 0, unknown = 0, taken = 0;
  absl::Status retry;  // UNAVAILABLE from the handler: commit what came before, then retry
  std::vector<const Record*> applied;  // the records whose writes the batch holds
  for (const Record& record : records) {
    TopicPartition tp{record.topic, record.partition};
    auto it = progress_.find(tp);
    if (it == progress_.end() || !it->second.known) continue;  // revoked, or not yet rewound
    if (record.offset < it->second.next) continue;             // already applied (before a rewind)
    const size_t dead_letters_before = dead_letters.size();
    bool rejected = false;
    retry = ProcessRecord(record, batch, dead_letters, events, unknown, rejected);
    if ((rejected || !retry.ok()) && !handler_.UndoesRejectedRecords()) {
      // The handler cannot take back what the record changed in its cached state: it
      // starts again from the store with the batch's earlier records.
      if (absl::Status reapplied = ReapplyRecords(applied, batch, events, unknown);
          !reapplied.ok()) {
        handler_.Discard();
        RewindOrForgetPositions();
        return reapplied;
      }
    }
    if (!retry.ok()) break;
    if (dead_letters.size() == dead_letters_before) applied.push_back(&record);
    it->second.next = record.offset + 1;
    touched[tp] = record.offset + 1;
    ++taken;
  }
  if (!retry.ok()) {
    // The records after the one to retry were polled but not applied: once what came
    // before is committed, every partition goes back to its checkpoint.
    absl::Status committed =
        touched.empty() ? absl::OkStatus()
                        : CommitApplied(batch, dead_letters, touched, taken, events, unknown);
    if (touched.empty()) handler_.Discard();
    RewindOrForgetPositions();
    return committed.ok() ? retry : committed;
  }
  if (touched.empty()) return 0;
  RETURN_IF_ERROR(CommitApplied(batch, dead_letters, touched, taken, events, unknown));
  return static_cast<int>(taken);
}

absl::Status ProjectionRunner::CommitApplied(store::WriteBatch& batch,
                                             const std::vector<v1::DeadLetter>& dead_letters,
                                             const std::map<TopicPartition, int64_t>& touched,
                                             int64_t taken, int64_t events, int64_t unknown) {
  std::vector<store::CheckpointAdvance> advances;
  advances.reserve(touched.size());
  for (const auto& [tp, next] : touched) {
    advances.push_back({options_.name, tp.topic, tp.partition, progress_[tp].stored, next});
  }
  handler_.BeforeCommit(batch);
  absl::Status committed = SendDeadLetters(dead_letters);
  if (committed.ok()) {
    if (options_.before_commit_hook) options_.before_commit_hook();
    // The batch is cleared before its next use, so the store may keep its values.
    committed = store_.CommitTakingValues(batch, advances);
  }
  if (!committed.ok()) {
    handler_.Discard();
    {
      std::lock_guard lock(mu_);
      ++stats_.failed_commits;
    }
    // The commit may or may not have landed (a lost reply): the store's checkpoints say.
    RewindOrForgetPositions();
    return committed;
  }
  handler_.Committed();
  for (const auto& [tp, next] : touched) {
    progress_[tp].stored = next;
    NoteCommitted(tp, next);
  }
  {
    std::lock_guard lock(mu_);
    stats_.records += taken;
    stats_.events_applied += events;
    stats_.unknown_events += unknown;
    stats_.dead_lettered += static_cast<int64_t>(dead_letters.size());
    ++stats_.commits;
  }
  return absl::OkStatus();
}

void ProjectionRunner::CommitGroupOffsetsForMonitoring() {
  // Only so the log's own tools can show lag; positions are always read from the store.
  if (!options_.use_consumer_group) return;
  if (absl::Now() - last_group_offset_commit_ < kGroupOffsetCommitInterval) return;
  std::vector<TopicPartitionOffset> offsets;
  for (const auto& [tp, progress] : progress_) {
    offsets.push_back({tp.topic, tp.partition, progress.stored});
  }
  consumer_->Commit(offsets).IgnoreError();
  last_group_offset_commit_ = absl::Now();
}

absl::Status ProjectionRunner::Start() {
  RETURN_IF_ERROR(Open());
  stopping_ = false;
  thread_ = std::thread([this] { PollLoop(); });
  return absl::OkStatus();
}

void ProjectionRunner::PollLoop() {
  while (!stopping_.load()) {
    absl::StatusOr<int> ran = RunOnce();
    {
      std::lock_guard lock(mu_);
      health_ = ran.status();
    }
    if (!ran.ok()) {
      std::unique_lock lock(mu_);
      stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.retry_backoff),
                        [this] { return stopping_.load(); });
    }
  }
}

void ProjectionRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (consumer_) {
    consumer_->Close();
    consumer_.reset();
  }
  if (dead_letter_producer_) {
    dead_letter_producer_->Stop(absl::Seconds(5));
    dead_letter_producer_.reset();
  }
}

bool ProjectionRunner::WaitForPosition(const eventlog::LogPosition& position,
                                       absl::Duration timeout) {
  const TopicPartition tp{position.topic, position.partition};
  std::unique_lock lock(mu_);
  auto committed = committed_.find(tp);
  if (committed != committed_.end() && committed->second > position.offset) return true;
  if (timeout <= absl::ZeroDuration()) return false;
  Waiter waiter;
  auto registered = waiters_[tp].emplace(position.offset, &waiter);
  bool done = true;
  if (timeout == absl::InfiniteDuration()) {
    waiter.cv.wait(lock, [&] { return waiter.done; });
  } else {
    done =
        waiter.cv.wait_for(lock, absl::ToChronoMicroseconds(timeout), [&] { return waiter.done; });
  }
  // NoteCommitted removes the waiters it wakes; a timed-out one removes itself.
  if (!done) waiters_[tp].erase(registered);
  return done;
}

int64_t ProjectionRunner::CommittedOffset(const TopicPartition& partition) const {
  std::lock_guard lock(mu_);
  auto committed = committed_.find(partition);
  return committed == committed_.end() ? 0 : committed->second;
}

ProjectionStats ProjectionRunner::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

absl::Status ProjectionRunner::health() const {
  std::lock_guard lock(mu_);
  return health_;
}

}  // namespace ar::projection
