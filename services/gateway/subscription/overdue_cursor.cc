#include "services/gateway/subscription/overdue_cursor.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ar/v1/gateway.pb.h"

namespace ar::gateway {
namespace {

constexpr absl::string_view kCursorPrefix = "oc1.";

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("cursor is not valid (", why,
                   "); pass a cursor exactly as a stream message carried it, or none to start "
                   "from now"));
}

}  // namespace

std::string EncodeCursor(const StreamPosition& position) {
  v1::GatewayOverdueCursor cursor;
  cursor.set_version(kCursorVersion);
  for (const auto& [tp, at] : position) {
    v1::GatewayOverdueCursor::Partition* partition = cursor.add_partitions();
    partition->set_topic(tp.topic);
    partition->set_partition(tp.partition);
    partition->set_next_offset(at.next_offset);
    if (at.skip_events > 0) partition->set_skip_events(at.skip_events);
  }
  return absl::StrCat(kCursorPrefix, absl::WebSafeBase64Escape(cursor.SerializeAsString()));
}

absl::StatusOr<StreamPosition> DecodeCursor(absl::string_view text) {
  if (!absl::StartsWith(text, kCursorPrefix)) return Invalid("unknown format or version");
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(text.substr(kCursorPrefix.size()), &bytes)) {
    return Invalid("not base64url");
  }
  v1::GatewayOverdueCursor cursor;
  if (!cursor.ParseFromString(bytes)) return Invalid("does not decode");
  if (cursor.version() != kCursorVersion) {
    return Invalid(absl::StrCat("version ", cursor.version(), ", expected ", kCursorVersion));
  }
  StreamPosition position;
  for (const v1::GatewayOverdueCursor::Partition& partition : cursor.partitions()) {
    if (partition.topic().empty() || partition.partition() < 0 || partition.next_offset() < 0 ||
        partition.skip_events() < 0) {
      return Invalid("bad partition entry");
    }
    auto [it, inserted] =
        position.emplace(eventlog::TopicPartition{partition.topic(), partition.partition()},
                         PartitionPosition{partition.next_offset(), partition.skip_events()});
    if (!inserted) return Invalid("a partition appears twice");
  }
  if (position.empty()) return Invalid("no partitions");
  return position;
}

}  // namespace ar::gateway
