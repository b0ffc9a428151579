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
  for (const auto& [tp, at] : position) {  // ordered by topic, then partition
    if (cursor.topics().empty() || cursor.topics().rbegin()->compare(tp.topic) != 0) {
      cursor.add_topics(tp.topic);
      cursor.add_partition_counts(0);
    }
    cursor.set_partition_counts(cursor.partition_counts_size() - 1,
                                *cursor.partition_counts().rbegin() + 1);
    cursor.add_next_offsets(at.next_offset);
    cursor.add_skip_events(at.skip_events);
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
  if (cursor.topics_size() == 0 || cursor.topics_size() != cursor.partition_counts_size() ||
      cursor.next_offsets_size() != cursor.skip_events_size()) {
    return Invalid("inconsistent sizes");
  }
  StreamPosition position;
  int index = 0;
  for (int t = 0; t < cursor.topics_size(); ++t) {
    const std::string& topic = cursor.topics(t);
    if (topic.empty() || cursor.partition_counts(t) <= 0) return Invalid("bad topic entry");
    if (t > 0 && topic <= cursor.topics(t - 1)) return Invalid("topics out of order");
    for (int32_t p = 0; p < cursor.partition_counts(t); ++p, ++index) {
      if (index >= cursor.next_offsets_size()) return Invalid("too few offsets");
      if (cursor.next_offsets(index) < 0 || cursor.skip_events(index) < 0) {
        return Invalid("negative offset");
      }
      position[{topic, p}] =
          PartitionPosition{cursor.next_offsets(index), cursor.skip_events(index)};
    }
  }
  if (index != cursor.next_offsets_size()) return Invalid("too many offsets");
  return position;
}

}  // namespace ar::gateway
