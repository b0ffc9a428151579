#include "libs/eventlog/eventlog.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace ar::eventlog {
namespace {

// MurmurHash2 (Austin Appleby), endian-neutral, with the seed and the byte order that
// Kafka's Java client (Utils.murmur2) and librdkafka (rd_murmur2) use. Keeping this
// bit-identical is what lets a key land in the same partition whichever client wrote it.
uint32_t KafkaMurmur2(std::string_view key) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kMultiplier = 0x5bd1e995;
  constexpr int kShift = 24;

  const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
  size_t remaining = key.size();
  uint32_t hash = kSeed ^ static_cast<uint32_t>(key.size());

  while (remaining >= 4) {
    // Little-endian word, assembled byte by byte so alignment and host order never matter.
    uint32_t word = static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
                    static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
    word *= kMultiplier;
    word ^= word >> kShift;
    word *= kMultiplier;
    hash *= kMultiplier;
    hash ^= word;
    bytes += 4;
    remaining -= 4;
  }

  switch (remaining) {
    case 3:
      hash ^= static_cast<uint32_t>(bytes[2]) << 16;
      [[fallthrough]];
    case 2:
      hash ^= static_cast<uint32_t>(bytes[1]) << 8;
      [[fallthrough]];
    case 1:
      hash ^= static_cast<uint32_t>(bytes[0]);
      hash *= kMultiplier;
      break;
    default:
      break;
  }

  hash ^= hash >> 13;
  hash *= kMultiplier;
  hash ^= hash >> 15;
  return hash;
}

}  // namespace

int32_t PartitionForKey(std::string_view key, int32_t partition_count) {
  // A topic always has at least one partition; answer 0 rather than divide by zero if a
  // caller passes nonsense.
  if (partition_count <= 0) return 0;
  // Java's Utils.toPositive: clear the sign bit (not abs(), which would map two hashes
  // onto one and differ from every other client).
  const uint32_t positive = KafkaMurmur2(key) & 0x7fffffffu;
  return static_cast<int32_t>(positive % static_cast<uint32_t>(partition_count));
}

absl::StatusOr<LogPosition> Producer::AppendAndWait(std::string_view topic, std::string_view key,
                                                    std::string_view value) {
  // Shared with the callback: a backend may call it after this frame would otherwise be
  // gone only if it broke the "exactly once, before Flush/Stop returns" contract, but a
  // shared_ptr keeps even that case memory-safe.
  struct Result {
    absl::Mutex mu;
    std::optional<absl::StatusOr<LogPosition>> value;
    absl::Notification done;
  };
  auto result = std::make_shared<Result>();
  Append(topic, key, value, [result](absl::StatusOr<LogPosition> delivered) {
    {
      absl::MutexLock lock(&result->mu);
      if (result->value.has_value()) return;  // a second call would be a backend bug
      result->value = std::move(delivered);
    }
    result->done.Notify();
  });
  result->done.WaitForNotification();
  absl::MutexLock lock(&result->mu);
  return std::move(*result->value);
}

}  // namespace ar::eventlog
