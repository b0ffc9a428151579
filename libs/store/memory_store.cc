#include "libs/store/memory_store.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace ar::store {
namespace {

// Debian's Abseil is built with its own absl::string_view, which StrCat and the default
// container hashes expect; these adapt std::string_view (the interface's type).
absl::string_view Av(std::string_view text) { return absl::string_view(text.data(), text.size()); }

struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return absl::Hash<std::string_view>{}(text); }
};
struct ViewEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};
template <typename V>
using StringMap = absl::flat_hash_map<std::string, V, ViewHash, ViewEq>;

absl::Status WrongType(std::string_view key) {
  return absl::InvalidArgumentError(absl::StrCat(
      "WRONGTYPE Operation against a key holding the wrong kind of value (key \"", Av(key), "\")"));
}

// Redis's string2ll(): the only integer spelling HINCRBY accepts ("0", or an optional '-'
// then a non-zero digit then digits; no '+', spaces or leading zeros; within int64).
bool ParseRedisInteger(std::string_view text, int64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  if (text == "0") {
    out = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-') {
    negative = true;
    i = 1;
    if (text.size() == 1) return false;
  }
  if (text[i] < '1' || text[i] > '9') return false;
  uint64_t magnitude = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (magnitude > kMaxPositive + 1) return false;
    out = magnitude == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min()
                                        : -static_cast<int64_t>(magnitude);
  } else {
    if (magnitude > kMaxPositive) return false;
    out = static_cast<int64_t>(magnitude);
  }
  return true;
}

void FormatInteger(int64_t value, std::string& out) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.assign(buffer, end);  // reuses the string's capacity: no allocation on the hot path
}

// A sorted set: member -> score, plus the (score, member) order Redis iterates in. The
// order index views the member strings owned by the node map, whose nodes never move.
struct ZSet {
  ZSet() = default;
  ZSet(ZSet&&) = default;
  ZSet& operator=(ZSet&&) = default;
  ZSet(const ZSet&) = delete;  // a copy would view the original's members
  ZSet& operator=(const ZSet&) = delete;

  // Sets `member`'s score; returns the previous score if it was there.
  std::optional<int64_t> Put(std::string_view member, int64_t score) {
    auto [it, inserted] = scores.try_emplace(member, score);
    if (inserted) {
      order.emplace(score, std::string_view(it->first));
      return std::nullopt;
    }
    const int64_t previous = it->second;
    if (previous != score) {
      order.erase({previous, std::string_view(it->first)});
      it->second = score;
      order.emplace(score, std::string_view(it->first));
    }
    return previous;
  }

  std::optional<int64_t> Remove(std::string_view member) {
    auto it = scores.find(member);
    if (it == scores.end()) return std::nullopt;
    const int64_t previous = it->second;
    order.erase({previous, std::string_view(it->first)});
    scores.erase(it);
    return previous;
  }

  bool empty() const { return scores.empty(); }

  absl::node_hash_map<std::string, int64_t, ViewHash, ViewEq> scores;
  // std::string_view compares like memcmp (unsigned bytes), as Redis orders members.
  absl::btree_set<std::pair<int64_t, std::string_view>> order;
};

using Hash = StringMap<std::string>;
using Value = std::variant<std::string, Hash, ZSet>;

// Commit applies ops directly and logs how to undo each one; a failing op rolls back the
// ops before it. One pass gives Redis's exact order-dependent semantics (SET then HSET on a
// key is WRONGTYPE; HDEL of a hash's last field deletes the key, so a later ZADD on it
// succeeds) without simulating the data model twice. Entries view keys and fields owned
// by the batch being committed.
struct KeyUndo {
  std::string_view key;
  std::optional<Value> previous;  // nullopt: the key did not exist
};
struct FieldUndo {
  std::string_view key, field;
  // monostate: the field did not exist; int64_t: it held that integer (HINCRBY only
  // accepts canonical spellings, so formatting restores the exact bytes).
  std::variant<std::monostate, std::string, int64_t> previous;
};
struct MemberUndo {
  std::string_view key, member;
  std::optional<int64_t> previous;
};
using Undo = std::variant<KeyUndo, FieldUndo, MemberUndo>;

class MemoryStore final : public Store {
 public:
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    absl::ReaderMutexLock lock(&mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    const auto* text = std::get_if<std::string>(&it->second);
    if (text == nullptr) return WrongType(key);
    return *text;
  }

  absl::StatusOr<std::optional<std::string>> HGet(std::string_view key,
                                                  std::string_view field) override {
    absl::ReaderMutexLock lock(&mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    const auto* hash = std::get_if<Hash>(&it->second);
    if (hash == nullptr) return WrongType(key);
    auto f = hash->find(field);
    if (f == hash->end()) return std::nullopt;
    return f->second;
  }

  absl::StatusOr<std::map<std::string, std::string>> HGetAll(std::string_view key) override {
    absl::ReaderMutexLock lock(&mu_);
    std::map<std::string, std::string> result;
    auto it = data_.find(key);
    if (it == data_.end()) return result;
    const auto* hash = std::get_if<Hash>(&it->second);
    if (hash == nullptr) return WrongType(key);
    for (const auto& [field, value] : *hash) result.emplace(field, value);
    return result;
  }

  absl::StatusOr<std::vector<ScoredMember>> ZRange(std::string_view key,
                                                   const RangeOptions& range) override {
    if (range.offset < 0 || range.limit < -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("ZRange: bad offset ", range.offset, " or limit ", range.limit));
    }
    absl::ReaderMutexLock lock(&mu_);
    std::vector<ScoredMember> result;
    auto it = data_.find(key);
    if (it == data_.end()) return result;
    const auto* zset = std::get_if<ZSet>(&it->second);
    if (zset == nullptr) return WrongType(key);
    if (range.limit == 0 || range.min_score > range.max_score) return result;
    // Clamped so that `high + 1` below cannot wrap; no stored score lies outside.
    const int64_t low = std::clamp(range.min_score, kMinScore, kMaxScore);
    const int64_t high = std::clamp(range.max_score, kMinScore, kMaxScore);
    int64_t skip = range.offset;
    const auto wanted = [&] {
      return range.limit < 0 || static_cast<int64_t>(result.size()) < range.limit;
    };
    if (!range.descending) {
      for (auto e = zset->order.lower_bound({low, std::string_view()});
           e != zset->order.end() && e->first <= high && wanted(); ++e) {
        if (skip > 0) {
          --skip;
          continue;
        }
        result.push_back({std::string(e->second), e->first});
      }
    } else {
      auto e = zset->order.lower_bound({high + 1, std::string_view()});  // first one above
      while (e != zset->order.begin() && wanted()) {
        --e;
        if (e->first < low) break;
        if (skip > 0) {
          --skip;
          continue;
        }
        result.push_back({std::string(e->second), e->first});
      }
    }
    return result;
  }

  absl::StatusOr<int64_t> ZCount(std::string_view key, int64_t min_score,
                                 int64_t max_score) override {
    absl::ReaderMutexLock lock(&mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return 0;
    const auto* zset = std::get_if<ZSet>(&it->second);
    if (zset == nullptr) return WrongType(key);
    if (min_score > max_score) return 0;
    const int64_t low = std::clamp(min_score, kMinScore, kMaxScore);
    const int64_t high = std::clamp(max_score, kMinScore, kMaxScore);
    auto first = zset->order.lower_bound({low, std::string_view()});
    auto last = zset->order.lower_bound({high + 1, std::string_view()});
    return static_cast<int64_t>(std::distance(first, last));
  }

  absl::StatusOr<std::optional<int64_t>> ZScore(std::string_view key,
                                                std::string_view member) override {
    absl::ReaderMutexLock lock(&mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    const auto* zset = std::get_if<ZSet>(&it->second);
    if (zset == nullptr) return WrongType(key);
    auto m = zset->scores.find(member);
    if (m == zset->scores.end()) return std::nullopt;
    return m->second;
  }

  absl::Status Commit(const WriteBatch& batch,
                      const std::vector<CheckpointAdvance>& checkpoints) override {
    return CommitOps(batch.ops(), checkpoints);
  }

  absl::Status CommitTakingValues(WriteBatch& batch,
                                  const std::vector<CheckpointAdvance>& checkpoints) override {
    return CommitOps(batch.mutable_ops(), checkpoints);
  }

  absl::StatusOr<std::vector<Checkpoint>> LoadCheckpoints(std::string_view projection) override {
    absl::ReaderMutexLock lock(&mu_);
    std::vector<Checkpoint> result;
    auto it = checkpoints_.find(projection);
    if (it == checkpoints_.end()) return result;
    for (const auto& [topic, partitions] : it->second) {
      for (const auto& [partition, offset] : partitions) {
        result.push_back({std::string(projection), topic, partition, offset});
      }
    }
    std::sort(result.begin(), result.end(), [](const Checkpoint& a, const Checkpoint& b) {
      return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
    });
    return result;
  }

 private:
  // `Ops` is const for Commit and mutable for CommitTakingValues: the non-const ApplyOp
  // overloads (SET, HSET) then move the values instead of copying them.
  template <typename Ops>
  absl::Status CommitOps(Ops& ops, const std::vector<CheckpointAdvance>& checkpoints) {
    absl::MutexLock lock(&mu_);
    // Fencing first: a stale writer must change nothing.
    for (size_t i = 0; i < checkpoints.size(); ++i) {
      const CheckpointAdvance& advance = checkpoints[i];
      int64_t current = StoredOffset(advance);
      // An earlier advance of the same partition in this call moves it first.
      for (size_t j = i; j-- > 0;) {
        const CheckpointAdvance& earlier = checkpoints[j];
        if (earlier.partition == advance.partition && earlier.topic == advance.topic &&
            earlier.projection == advance.projection) {
          current = earlier.next_offset;
          break;
        }
      }
      if (current != advance.expected_offset) {
        return absl::AbortedError(
            absl::StrCat("checkpoint of projection \"", advance.projection, "\" at ", advance.topic,
                         "/", advance.partition, " is ", current, ", expected ",
                         advance.expected_offset, " (another writer moved it)"));
      }
    }

    undo_.clear();
    for (auto& op : ops) {
      absl::Status applied = std::visit([this](auto& o) { return ApplyOp(o); }, op);
      if (!applied.ok()) {
        RollBack();
        return applied;
      }
    }
    undo_.clear();

    for (const CheckpointAdvance& advance : checkpoints) {
      checkpoints_[advance.projection][advance.topic][advance.partition] = advance.next_offset;
    }
    return absl::OkStatus();
  }

  int64_t StoredOffset(const CheckpointAdvance& advance) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    auto p = checkpoints_.find(advance.projection);
    if (p == checkpoints_.end()) return 0;
    auto t = p->second.find(advance.topic);
    if (t == p->second.end()) return 0;
    auto o = t->second.find(advance.partition);
    return o == t->second.end() ? 0 : o->second;
  }

  // The container of type T at `key`, created (and logged) if the key is absent; nullptr
  // when the key holds another type.
  template <typename T>
  T* FindOrCreate(std::string_view key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto [it, inserted] = data_.try_emplace(key, std::in_place_type<T>);
    if (inserted) undo_.emplace_back(KeyUndo{key, std::nullopt});
    return std::get_if<T>(&it->second);
  }

  // Redis deletes a hash or sorted set whose last element goes.
  template <typename T>
  void EraseIfEmpty(std::string_view key, T& container) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!container.empty()) return;
    auto it = data_.find(key);
    undo_.emplace_back(KeyUndo{key, std::move(it->second)});
    data_.erase(it);
  }

  // Copies the value out of a const op, moves it out of a mutable one (CommitTakingValues).
  template <typename SetOp>
  absl::Status ApplySet(SetOp& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto [it, inserted] =
        data_.try_emplace(op.key, std::in_place_type<std::string>, std::move(op.value));
    if (inserted) {
      undo_.emplace_back(KeyUndo{op.key, std::nullopt});
    } else if (auto* text = std::get_if<std::string>(&it->second)) {
      undo_.emplace_back(KeyUndo{op.key, Value(std::in_place_type<std::string>, std::move(*text))});
      *text = std::move(op.value);
    } else {
      undo_.emplace_back(KeyUndo{op.key, std::move(it->second)});
      it->second.template emplace<std::string>(std::move(op.value));
    }
    return absl::OkStatus();
  }
  absl::Status ApplyOp(const struct WriteBatch::Set& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ApplySet(op);
  }
  absl::Status ApplyOp(struct WriteBatch::Set& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ApplySet(op);
  }

  absl::Status ApplyOp(const struct WriteBatch::Del& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = data_.find(op.key);
    if (it == data_.end()) return absl::OkStatus();
    undo_.emplace_back(KeyUndo{op.key, std::move(it->second)});
    data_.erase(it);
    return absl::OkStatus();
  }

  template <typename HSetOp>
  absl::Status ApplyHSet(HSetOp& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Hash* hash = FindOrCreate<Hash>(op.key);
    if (hash == nullptr) return WrongType(op.key);
    auto [it, inserted] = hash->try_emplace(op.field, std::move(op.value));
    if (inserted) {
      undo_.emplace_back(FieldUndo{op.key, op.field, std::monostate()});
    } else {
      undo_.emplace_back(FieldUndo{op.key, op.field, std::move(it->second)});
      it->second = std::move(op.value);
    }
    return absl::OkStatus();
  }
  absl::Status ApplyOp(const struct WriteBatch::HSet& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ApplyHSet(op);
  }
  absl::Status ApplyOp(struct WriteBatch::HSet& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ApplyHSet(op);
  }

  absl::Status ApplyOp(const struct WriteBatch::HDel& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = data_.find(op.key);
    if (it == data_.end()) return absl::OkStatus();
    Hash* hash = std::get_if<Hash>(&it->second);
    if (hash == nullptr) return WrongType(op.key);
    auto f = hash->find(op.field);
    if (f == hash->end()) return absl::OkStatus();
    undo_.emplace_back(FieldUndo{op.key, op.field, std::move(f->second)});
    hash->erase(f);
    EraseIfEmpty(op.key, *hash);
    return absl::OkStatus();
  }

  absl::Status ApplyOp(const struct WriteBatch::HIncrBy& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = data_.find(op.key);
    Hash* hash = nullptr;
    int64_t current = 0;
    std::string* slot = nullptr;
    if (it != data_.end()) {
      hash = std::get_if<Hash>(&it->second);
      if (hash == nullptr) return WrongType(op.key);
      auto f = hash->find(op.field);
      if (f != hash->end()) {
        if (!ParseRedisInteger(f->second, current)) {
          return absl::InvalidArgumentError(absl::StrCat("ERR hash value is not an integer (key \"",
                                                         op.key, "\", field \"", op.field, "\")"));
        }
        slot = &f->second;
      }
    }
    int64_t updated;
    if (__builtin_add_overflow(current, op.delta, &updated)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ERR increment or decrement would overflow (key \"", op.key, "\", field \"",
                       op.field, "\": ", current, " + ", op.delta, ")"));
    }
    if (hash == nullptr) hash = FindOrCreate<Hash>(op.key);
    if (slot == nullptr) {
      slot = &hash->try_emplace(op.field).first->second;
      undo_.emplace_back(FieldUndo{op.key, op.field, std::monostate()});
    } else {
      undo_.emplace_back(FieldUndo{op.key, op.field, current});
    }
    FormatInteger(updated, *slot);
    return absl::OkStatus();
  }

  absl::Status ApplyOp(const struct WriteBatch::ZAdd& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (op.score < kMinScore || op.score > kMaxScore) {
      return absl::InvalidArgumentError(absl::StrCat("ZADD score ", op.score, " for key \"", op.key,
                                                     "\" is outside [-2^53, 2^53]"));
    }
    ZSet* zset = FindOrCreate<ZSet>(op.key);
    if (zset == nullptr) return WrongType(op.key);
    undo_.emplace_back(MemberUndo{op.key, op.member, zset->Put(op.member, op.score)});
    return absl::OkStatus();
  }

  absl::Status ApplyOp(const struct WriteBatch::ZRem& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = data_.find(op.key);
    if (it == data_.end()) return absl::OkStatus();
    ZSet* zset = std::get_if<ZSet>(&it->second);
    if (zset == nullptr) return WrongType(op.key);
    std::optional<int64_t> previous = zset->Remove(op.member);
    if (!previous) return absl::OkStatus();
    undo_.emplace_back(MemberUndo{op.key, op.member, previous});
    EraseIfEmpty(op.key, *zset);
    return absl::OkStatus();
  }

  // Undoes the logged changes newest first, so each entry finds the state right after
  // the change it reverts.
  void RollBack() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto entry = undo_.rbegin(); entry != undo_.rend(); ++entry) {
      if (auto* key_undo = std::get_if<KeyUndo>(&*entry)) {
        if (key_undo->previous) {
          data_.insert_or_assign(std::string(key_undo->key), std::move(*key_undo->previous));
        } else {
          data_.erase(key_undo->key);
        }
      } else if (auto* field_undo = std::get_if<FieldUndo>(&*entry)) {
        Hash& hash = std::get<Hash>(data_.find(field_undo->key)->second);
        if (std::holds_alternative<std::monostate>(field_undo->previous)) {
          hash.erase(field_undo->field);
        } else if (auto* text = std::get_if<std::string>(&field_undo->previous)) {
          hash.insert_or_assign(std::string(field_undo->field), std::move(*text));
        } else {
          FormatInteger(std::get<int64_t>(field_undo->previous), hash[field_undo->field]);
        }
      } else {
        auto& member_undo = std::get<MemberUndo>(*entry);
        ZSet& zset = std::get<ZSet>(data_.find(member_undo.key)->second);
        if (member_undo.previous) {
          zset.Put(member_undo.member, *member_undo.previous);
        } else {
          zset.Remove(member_undo.member);
        }
      }
    }
    undo_.clear();
  }

  absl::Mutex mu_;
  StringMap<Value> data_ ABSL_GUARDED_BY(mu_);
  // projection -> topic -> partition -> next offset
  StringMap<StringMap<absl::flat_hash_map<int32_t, int64_t>>> checkpoints_ ABSL_GUARDED_BY(mu_);
  std::vector<Undo> undo_ ABSL_GUARDED_BY(mu_);  // reused by every Commit
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace ar::store
