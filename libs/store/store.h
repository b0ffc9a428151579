#pragma once
// The read-model store: the small part of Redis's data model that projections need
// (strings, hashes with increments, sorted sets with integer scores), and Commit(), which
// applies a batch of writes together with the projection's consumer checkpoints
// atomically: either all of it is visible, or none of it. Backends: memory and redis.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ar::store {

// Where a projection has got to in one partition: the next offset to apply.
struct Checkpoint {
  std::string projection;
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// A checkpoint move inside Commit(): valid only if the stored checkpoint still equals
// `expected_offset` (0 when none is stored yet). This fences a stale writer (a replica
// that lost its partition in a rebalance but still holds an old batch): its Commit fails
// with ABORTED and changes nothing, so no event is applied twice.
struct CheckpointAdvance {
  std::string projection;
  std::string topic;
  int32_t partition = 0;
  int64_t expected_offset = 0;
  int64_t next_offset = 0;
};

struct ScoredMember {
  std::string member;
  int64_t score = 0;  // integer scores: due dates as day numbers, amounts in minor units
  friend bool operator==(const ScoredMember&, const ScoredMember&) = default;
};

// Sorted-set scores must stay exactly representable in Redis (an IEEE double).
inline constexpr int64_t kMaxScore = (int64_t{1} << 53);
inline constexpr int64_t kMinScore = -kMaxScore;

// Writes collected by a projection, applied in order by Commit().
class WriteBatch {
 public:
  struct Set {
    std::string key, value;
  };
  struct Del {
    std::string key;
  };
  struct HSet {
    std::string key, field, value;
  };
  struct HDel {
    std::string key, field;
  };
  struct HIncrBy {
    std::string key, field;
    int64_t delta;
  };
  struct ZAdd {
    std::string key, member;
    int64_t score;
  };
  struct ZRem {
    std::string key, member;
  };
  using Op = std::variant<Set, Del, HSet, HDel, HIncrBy, ZAdd, ZRem>;

  void Set(std::string key, std::string value);
  void Del(std::string key);  // deletes a key of any type
  void HSet(std::string key, std::string field, std::string value);
  void HDel(std::string key, std::string field);
  void HIncrBy(std::string key, std::string field, int64_t delta);
  void ZAdd(std::string key, std::string member, int64_t score);
  void ZRem(std::string key, std::string member);

  const std::vector<Op>& ops() const { return ops_; }
  // For Store::CommitTakingValues, which moves values out of the ops.
  std::vector<Op>& mutable_ops() { return ops_; }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  void Clear() { ops_.clear(); }
  // Drops every op added after the first `size`: undoes a rejected record's writes.
  void Truncate(size_t size) {
    if (size < ops_.size())
      ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(size), ops_.end());
  }

 private:
  std::vector<Op> ops_;
};

struct RangeOptions {
  int64_t min_score = kMinScore;  // inclusive
  int64_t max_score = kMaxScore;  // inclusive
  int64_t offset = 0;
  int64_t limit = -1;       // -1: no limit
  bool descending = false;  // highest score first; ties by member, also reversed
};

// Thread-safe. Every call may fail with UNAVAILABLE when the backend is unreachable;
// a failed Commit has applied nothing.
class Store {
 public:
  virtual ~Store() = default;

  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) = 0;
  virtual absl::StatusOr<std::optional<std::string>> HGet(std::string_view key,
                                                          std::string_view field) = 0;
  virtual absl::StatusOr<std::map<std::string, std::string>> HGetAll(std::string_view key) = 0;
  virtual absl::StatusOr<std::vector<ScoredMember>> ZRange(std::string_view key,
                                                           const RangeOptions& range) = 0;
  virtual absl::StatusOr<int64_t> ZCount(std::string_view key, int64_t min_score,
                                         int64_t max_score) = 0;
  virtual absl::StatusOr<std::optional<int64_t>> ZScore(std::string_view key,
                                                        std::string_view member) = 0;

  // Applies `batch` and moves `checkpoints`, all or nothing. INVALID_ARGUMENT for a batch
  // that cannot apply (HINCRBY on a non-integer, wrong type for a key) and ABORTED for a
  // checkpoint whose expected offset does not match; neither leaves any trace.
  virtual absl::Status Commit(const WriteBatch& batch,
                              const std::vector<CheckpointAdvance>& checkpoints) = 0;

  // Commit() that may move the values of the batch's SET and HSET ops into the store
  // instead of copying them (the memory store does; copying every serialized state a
  // projection writes was a visible part of its commit). Whatever the outcome, those
  // values are then unspecified: Clear() the batch before using it again. Same semantics
  // and errors as Commit() otherwise. The default copies.
  virtual absl::Status CommitTakingValues(WriteBatch& batch,
                                          const std::vector<CheckpointAdvance>& checkpoints) {
    return Commit(batch, checkpoints);
  }

  // Every stored checkpoint of a projection.
  virtual absl::StatusOr<std::vector<Checkpoint>> LoadCheckpoints(std::string_view projection) = 0;

  absl::Status Apply(const WriteBatch& batch) { return Commit(batch, {}); }
};

}  // namespace ar::store
