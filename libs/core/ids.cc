#include "libs/core/ids.h"

#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/text.h"

namespace ar::core {
namespace {

// ---- random ids -------------------------------------------------------------------

// Bumped in every child right after fork(). A forked child inherits each thread's
// generator state (and absl's entropy pool), so without this it would repeat its
// parent's ids; crash tests fork children that publish events.
std::atomic<uint64_t> fork_generation{0};

void OnForkInChild() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

void RegisterForkHandlerOnce() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, &OnForkInChild);
    return true;
  }();
  (void)registered;
}

// Seed material straight from the kernel, which also serves a forked child fresh bytes.
// If getrandom is unavailable, fall back to absl's pool mixed with values that differ
// between processes and threads, so ids still differ.
void FillSeed(std::array<std::seed_seq::result_type, 8>& seed) {
  unsigned char* bytes = reinterpret_cast<unsigned char*>(seed.data());
  std::size_t filled = 0;
  while (filled < sizeof(seed)) {
    const ssize_t got = getrandom(bytes + filled, sizeof(seed) - filled, 0);
    if (got > 0) {
      filled += static_cast<std::size_t>(got);
    } else if (got < 0 && errno != EINTR) {
      break;
    }
  }
  if (filled < sizeof(seed)) {
    absl::BitGen pool_seeded;
    const uint64_t now = static_cast<uint64_t>(absl::GetCurrentTimeNanos());
    const uint64_t thread = std::hash<std::thread::id>()(std::this_thread::get_id());
    for (std::size_t i = 0; i < seed.size(); ++i) {
      seed[i] ^= absl::Uniform<uint32_t>(pool_seeded) ^ static_cast<uint32_t>(now >> (i % 2 * 32)) ^
                 static_cast<uint32_t>(getpid()) ^ static_cast<uint32_t>(thread >> (i % 2 * 32));
    }
  }
}

absl::BitGen& ThreadGenerator() {
  RegisterForkHandlerOnce();
  thread_local std::optional<absl::BitGen> generator;
  thread_local uint64_t seeded_generation = 0;
  const uint64_t generation = fork_generation.load(std::memory_order_relaxed);
  if (!generator.has_value() || seeded_generation != generation) {
    std::array<std::seed_seq::result_type, 8> seed{};
    FillSeed(seed);
    std::seed_seq sequence(seed.begin(), seed.end());
    generator.emplace(sequence);
    seeded_generation = generation;
  }
  return *generator;
}

// Lower-case 8-4-4-4-12 hex of 16 bytes.
std::string FormatUuid(const std::array<uint8_t, 16>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[bytes[i] >> 4]);
    text.push_back(kHex[bytes[i] & 0x0F]);
  }
  return text;
}

// RFC 4122 section 4.1.3 (version in the high nibble of byte 6) and 4.1.1 (variant 10xx
// in byte 8).
void StampVersionAndVariant(std::array<uint8_t, 16>& bytes, uint8_t version) {
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0F) | (version << 4));
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3F) | 0x80);
}

// ---- SHA-1 (FIPS 180-4), only for name-based UUIDs -------------------------------------

class Sha1 {
 public:
  void Update(std::string_view data) {
    for (char c : data) {
      block_[block_size_++] = static_cast<uint8_t>(c);
      if (block_size_ == 64) {
        ProcessBlock();
        block_size_ = 0;
      }
    }
    total_bytes_ += data.size();
  }

  std::array<uint8_t, 20> Finish() {
    const uint64_t total_bits = total_bytes_ * 8;
    block_[block_size_++] = 0x80;
    if (block_size_ > 56) {
      while (block_size_ < 64) block_[block_size_++] = 0;
      ProcessBlock();
      block_size_ = 0;
    }
    while (block_size_ < 56) block_[block_size_++] = 0;
    for (int i = 7; i >= 0; --i)
      block_[block_size_++] = static_cast<uint8_t>(total_bits >> (i * 8));
    ProcessBlock();
    std::array<uint8_t, 20> digest{};
    for (std::size_t i = 0; i < 5; ++i) {
      for (std::size_t j = 0; j < 4; ++j)
        digest[i * 4 + j] = static_cast<uint8_t>(state_[i] >> (24 - 8 * j));
    }
    return digest;
  }

 private:
  static uint32_t RotateLeft(uint32_t value, int bits) {
    return (value << bits) | (value >> (32 - bits));
  }

  void ProcessBlock() {
    std::array<uint32_t, 80> w{};
    for (std::size_t i = 0; i < 16; ++i) {
      w[i] = (uint32_t{block_[i * 4]} << 24) | (uint32_t{block_[i * 4 + 1]} << 16) |
             (uint32_t{block_[i * 4 + 2]} << 8) | uint32_t{block_[i * 4 + 3]};
    }
    for (std::size_t i = 16; i < 80; ++i)
      w[i] = RotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3], e = state_[4];
    for (std::size_t i = 0; i < 80; ++i) {
      uint32_t f = 0, k = 0;
      if (i < 20) {
        f = (b & c) | (~b & d), k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d, k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d, k = 0xCA62C1D6;
      }
      const uint32_t next = RotateLeft(a, 5) + f + e + k + w[i];
      e = d, d = c, c = RotateLeft(b, 30), b = a, a = next;
    }
    state_[0] += a, state_[1] += b, state_[2] += c, state_[3] += d, state_[4] += e;
  }

  std::array<uint32_t, 5> state_ = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::array<uint8_t, 64> block_{};
  std::size_t block_size_ = 0;
  uint64_t total_bytes_ = 0;
};

// kDerivedEventIdNamespace as its 16 bytes, parsed once.
const std::array<uint8_t, 16>& DerivedNamespaceBytes() {
  static const std::array<uint8_t, 16> bytes = [] {
    std::string hex(kDerivedEventIdNamespace);
    hex.erase(std::remove(hex.begin(), hex.end(), '-'), hex.end());
    const std::string raw = absl::HexStringToBytes(hex);
    std::array<uint8_t, 16> out{};
    for (std::size_t i = 0; i < out.size() && i < raw.size(); ++i)
      out[i] = static_cast<uint8_t>(raw[i]);
    return out;
  }();
  return bytes;
}

}  // namespace

absl::Status ValidateId(std::string_view value, std::string_view what) {
  if (value.empty())
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), " must not be empty"));
  if (value.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        ToAbsl(what), " is ", value.size(), " bytes long; at most ", kMaxIdBytes, " are allowed"));
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x21 || c > 0x7E) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), " ", QuoteForMessage(value),
                                                     " has a forbidden byte at offset ", i,
                                                     " (allowed: printable ASCII without spaces)"));
    }
  }
  return absl::OkStatus();
}

std::string NewEventId() {
  absl::BitGen& generator = ThreadGenerator();
  std::array<uint8_t, 16> bytes{};
  for (std::size_t half = 0; half < 2; ++half) {
    const uint64_t random = absl::Uniform<uint64_t>(generator);
    for (std::size_t i = 0; i < 8; ++i)
      bytes[half * 8 + i] = static_cast<uint8_t>(random >> (i * 8));
  }
  StampVersionAndVariant(bytes, 4);
  return FormatUuid(bytes);
}

std::string DerivedEventId(std::string_view parent_id, std::string_view suffix) {
  const std::array<uint8_t, 16>& ns = DerivedNamespaceBytes();
  Sha1 sha1;
  sha1.Update(std::string_view(reinterpret_cast<const char*>(ns.data()), ns.size()));
  sha1.Update(absl::StrCat(parent_id.size(), ":"));
  sha1.Update(parent_id);
  sha1.Update(suffix);
  const std::array<uint8_t, 20> digest = sha1.Finish();
  std::array<uint8_t, 16> bytes{};
  std::copy_n(digest.begin(), bytes.size(), bytes.begin());
  StampVersionAndVariant(bytes, 5);
  return FormatUuid(bytes);
}

}  // namespace ar::core
