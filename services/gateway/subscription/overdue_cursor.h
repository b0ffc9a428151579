#pragma once
// Where an overdue stream stands in the log: for every partition of the streamed topics,
// the next record to read and how many events of that record were already passed (a
// record carries all events of one command, so a stream can stop inside one).
//
// A cursor is this position, encoded as "oc1." + base64url(GatewayOverdueCursor). The
// version lives both in the prefix and in the message, so a later encoding can be told
// apart and refused clearly instead of being misread.

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/eventlog/eventlog.h"

namespace ar::gateway {

struct PartitionPosition {
  int64_t next_offset = 0;
  int32_t skip_events = 0;  // events of the record at next_offset already passed
  friend bool operator==(const PartitionPosition&, const PartitionPosition&) = default;
  friend auto operator<=>(const PartitionPosition&, const PartitionPosition&) = default;
};

using StreamPosition = std::map<eventlog::TopicPartition, PartitionPosition>;

inline constexpr int32_t kCursorVersion = 1;

// `position` covers partitions 0..n-1 of each of its topics (a stream reads them all).
std::string EncodeCursor(const StreamPosition& position);

// INVALID_ARGUMENT for anything that is not a cursor this version wrote: bad base64, not
// the message, another version, sizes that do not add up, negative offsets.
absl::StatusOr<StreamPosition> DecodeCursor(absl::string_view cursor);

}  // namespace ar::gateway
