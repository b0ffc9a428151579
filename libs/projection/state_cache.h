#pragma once
// Read-modify-write of protobuf states inside a projection batch. A handler reads the
// current state of an entity (an invoice, a payment), evolves it and writes it back; two
// events for the same entity in one batch must see each other's effect although nothing
// is committed yet. The cache holds the states touched since the last commit and falls
// through to the store for the rest. Clear it in Handler::Committed and Handler::Discard.
//
// A record whose event the handler rejects loses all its writes (the runner truncates the
// batch), so the states it cached must go too: call BeginRecord() when a new record
// starts and UndoRecord() before returning the rejection.

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
  explicit StateCache(store::Store& store) : store_(store) {}

  // The state stored under `key`, or nullopt when there is none.
  absl::StatusOr<std::optional<State>> Get(const std::string& key) {
    auto cached = cache_.find(key);
    if (cached != cache_.end()) return cached->second;
    absl::StatusOr<std::optional<std::string>> bytes = store_.Get(key);
    if (!bytes.ok()) return bytes.status();
    if (!bytes->has_value()) return std::optional<State>();
    State state;
    if (!state.ParseFromString(**bytes)) {
      return absl::DataLossError("stored state under '" + key + "' does not parse");
    }
    return std::optional<State>(std::move(state));
  }

  // Records the new state in the batch and in the cache. Taken by value: a caller done
  // with its state moves it in (states are large protos; copying them was a visible part
  // of a projection's cost).
  void Put(const std::string& key, State state, store::WriteBatch& batch) {
    batch.Set(key, state.SerializeAsString());
    auto cached = cache_.find(key);
    if (cached == cache_.end()) {
      undo_.emplace_back(key, std::nullopt);
      cache_.emplace(key, std::move(state));
    } else {
      undo_.emplace_back(key, std::move(cached->second));
      cached->second = std::move(state);
    }
  }

  // Forgets the undo information of earlier records (their writes stay).
  void BeginRecord() { undo_.clear(); }
  // Restores the cache to how it was at BeginRecord().
  void UndoRecord() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      if (it->second.has_value()) {
        cache_[it->first] = std::move(*it->second);
      } else {
        cache_.erase(it->first);
      }
    }
    undo_.clear();
  }

  void Clear() {
    cache_.clear();
    undo_.clear();
  }

 private:
  store::Store& store_;
  std::unordered_map<std::string, std::optional<State>> cache_;
  // (key, cache entry before this record's first Put of it; nullopt: there was none).
  std::vector<std::pair<std::string, std::optional<std::optional<State>>>> undo_;
};

}  // namespace ar::projection
