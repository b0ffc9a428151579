#pragma once
// Read-modify-write of protobuf states inside a projection batch. A handler reads the
// current state of an entity (an invoice, a payment), evolves it and writes it back; two
// events for the same entity in one batch must see each other's effect although nothing
// is committed yet. The cache holds the states touched since the last commit and falls
// through to the store for the rest.
//
// Two ways to use it:
//  - Get/Put: Put serializes the state into the batch at once. Clear the cache in
//    Handler::Committed and Handler::Discard.
//  - Edit (faster): the handler changes the cached state in place; Flush, called from
//    Handler::BeforeCommit, serializes each changed state once per batch however many
//    events changed it. Call Committed() from Handler::Committed: with
//    Options::keep_after_commit the states stay cached (they equal what the store now
//    holds), so the next batch neither reads nor parses them again. That is only right
//    while this handler is the only writer of its keys: call Clear() from
//    Handler::Discard, which the runner also calls whenever its partitions change.
//    Do not mix Put and Edit on one key within a batch.
//
// A record whose event the handler rejects loses all its writes (the runner truncates the
// batch), so the states it changed must go too: call BeginRecord() when a new record
// starts and UndoRecord() before returning the rejection.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/store/store.h"

namespace ar::projection {

template <typename State>
class StateCache {
 public:
  struct Options {
    // Committed() keeps up to this many states cached (0: it forgets them all). Beyond it
    // everything is forgotten at once: simple, and a large working set reads the store.
    size_t keep_after_commit = 0;
    // False: Edit keeps nothing to undo with (no copy of a state changed by an earlier
    // record of the batch), for a handler whose UndoesRejectedRecords() is false; its
    // runner starts the batch again instead. UndoRecord then forgets everything.
    bool undo_records = true;
  };

  explicit StateCache(store::Store& store) : store_(store) {}
  StateCache(store::Store& store, Options options) : store_(store), options_(options) {}

  // A copy of the state stored under `key`, or nullopt when there is none.
  absl::StatusOr<std::optional<State>> Get(const std::string& key) {
    auto cached = cache_.find(key);
    if (cached != cache_.end()) return cached->second.state;
    absl::StatusOr<std::optional<State>> loaded = Load(key);
    if (!loaded.ok()) return loaded.status();
    return *std::move(loaded);
  }

  // The state stored under `key` without a copy (nullptr when there is none), loaded into
  // the cache if needed. Valid until the next call that changes the cache.
  absl::StatusOr<const State*> Find(const std::string& key) {
    auto cached = cache_.find(key);
    if (cached == cache_.end()) {
      absl::StatusOr<std::optional<State>> loaded = Load(key);
      if (!loaded.ok()) return loaded.status();
      cached = cache_.emplace(key, Entry{*std::move(loaded), false}).first;
    }
    return cached->second.state.has_value() ? &*cached->second.state : nullptr;
  }

  // Records the new state in the batch and in the cache. Taken by value: a caller done
  // with its state moves it in (states are large protos; copying them was a visible part
  // of a projection's cost).
  void Put(const std::string& key, State state, store::WriteBatch& batch) {
    batch.Set(key, state.SerializeAsString());
    auto [cached, inserted] = cache_.try_emplace(key);
    if (inserted) {
      undo_.push_back({key, false, Entry()});
    } else {
      undo_.push_back({key, true, std::move(cached->second)});
    }
    cached->second = Entry{std::move(state), false};
  }

  // The cached state under `key`, to change in place; nullptr when there is none and
  // `create` is false, otherwise an empty state is created. Flush() writes it.
  absl::StatusOr<State*> Edit(const std::string& key, bool create = false) {
    auto cached = cache_.find(key);
    if (cached == cache_.end()) {
      absl::StatusOr<std::optional<State>> loaded = Load(key);
      if (!loaded.ok()) return loaded.status();
      cached = cache_.emplace(key, Entry{*std::move(loaded), false}).first;
    }
    Entry& entry = cached->second;
    if (!entry.state.has_value() && !create) return nullptr;
    if (!options_.undo_records) {
      if (!entry.dirty) {
        entry.dirty = true;
        dirty_.push_back(key);
      }
    } else if (!entry.dirty) {
      // The entry equals the store (or its absence): undoing means forgetting it.
      undo_.push_back({key, false, Entry()});
      entry.dirty = true;
      dirty_.push_back(key);
    } else if (entry.record != record_) {
      // Changed by an earlier record of this batch: keep that version for UndoRecord.
      undo_.push_back({key, true, entry});
    }
    entry.record = record_;
    if (!entry.state.has_value()) entry.state.emplace();
    return &*entry.state;
  }

  // Adds a Set of every state changed through Edit since the last Flush to `batch`.
  void Flush(store::WriteBatch& batch) {
    for (const std::string& key : dirty_) {
      auto cached = cache_.find(key);
      if (cached == cache_.end() || !cached->second.dirty) continue;  // undone
      cached->second.dirty = false;
      if (cached->second.state.has_value()) {
        batch.Set(key, cached->second.state->SerializeAsString());
      }
    }
    dirty_.clear();
    undo_.clear();
    ++record_;
  }

  // The batch is committed: keep the states (up to Options::keep_after_commit) or forget.
  void Committed() {
    if (cache_.size() > options_.keep_after_commit) {
      Clear();
      return;
    }
    // Changed but never flushed: the store does not hold these versions.
    for (const std::string& key : dirty_) {
      auto cached = cache_.find(key);
      if (cached != cache_.end() && cached->second.dirty) cache_.erase(cached);
    }
    dirty_.clear();
    undo_.clear();
    ++record_;
  }

  // Forgets the undo information of earlier records (their writes stay).
  void BeginRecord() {
    undo_.clear();
    ++record_;
  }
  // Restores the cache to how it was at BeginRecord().
  void UndoRecord() {
    if (!options_.undo_records) {
      Clear();
      return;
    }
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      if (it->had_entry) {
        cache_[it->key] = std::move(it->previous);
      } else {
        cache_.erase(it->key);
      }
    }
    undo_.clear();
    ++record_;
  }

  void Clear() {
    cache_.clear();
    dirty_.clear();
    undo_.clear();
    ++record_;
  }

 private:
  struct Entry {
    std::optional<State> state;  // nullopt: nothing stored under the key
    bool dirty = false;          // changed through Edit since the last Flush
    uint64_t record = 0;         // the last record whose Edit changed it
  };
  struct Undo {
    std::string key;
    bool had_entry = false;  // false: the cache had no entry before this record
    Entry previous;
  };

  absl::StatusOr<std::optional<State>> Load(const std::string& key) {
    absl::StatusOr<std::optional<std::string>> bytes = store_.Get(key);
    if (!bytes.ok()) return bytes.status();
    if (!bytes->has_value()) return std::optional<State>();
    State state;
    if (!state.ParseFromString(**bytes)) {
      return absl::DataLossError("stored state under '" + key + "' does not parse");
    }
    return std::optional<State>(std::move(state));
  }

  store::Store& store_;
  Options options_;
  std::unordered_map<std::string, Entry> cache_;
  std::vector<std::string> dirty_;  // keys first changed through Edit in this batch
  std::vector<Undo> undo_;          // oldest first
  uint64_t record_ = 1;             // numbers the records between BeginRecord calls
};

}  // namespace ar::projection
