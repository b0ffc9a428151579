#pragma once
// ar-decode's parts: reading the records kcat consumed, framed so that binary values are
// safe, and printing each as text or JSON from the schema in proto/ar/v1/events.proto.
//
// The framing is what `kcat -C -f '%t %p %o %T %K %S\n%k%s\n'` writes for each record:
//   <topic> <partition> <offset> <timestamp ms> <key length> <value length>\n
//   <exactly key length bytes><exactly value length bytes>\n
// Lengths are -1 for a NULL key or value (kcat then writes no bytes). Protobuf values hold
// any byte, newlines included, so nothing is ever split on a delimiter: the lengths alone
// say where a record ends, and the trailing newline catches a wrong format string.

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ar::decode {

// The kcat -f format string that writes the framing above.
inline constexpr char kKcatFormat[] = R"(%t %p %o %T %K %S\n%k%s\n)";

struct FramedRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
  std::optional<std::string> key;    // nullopt: a NULL key
  std::optional<std::string> value;  // nullopt: a NULL value (a tombstone)
};

// Reads framed records one at a time from a byte stream (opened in binary mode).
class FrameReader {
 public:
  explicit FrameReader(std::istream& in) : in_(in) {}

  // The next record; nullopt at a clean end of input. INVALID_ARGUMENT for anything that
  // is not the framing (a malformed header, a record cut short, a missing terminator),
  // naming the input byte offset and, once its header is read, the record's
  // topic/partition/offset. The stream cannot be resynchronised after an error.
  absl::StatusOr<std::optional<FramedRecord>> Next();

 private:
  std::istream& in_;
  int64_t consumed_ = 0;  // input bytes read so far, for error messages
};

enum class OutputFormat { kText, kJson };

// The lines printing `record` (each ending in '\n'). Text: one line per event, starting with
// topic/partition/offset, then the command id, event id, account and event type and body;
// an ar.deadletter record is one line about the rejection followed by its inner value's
// events (when the value is an EventBatch). JSON: one object per record.
// DATA_LOSS naming topic/partition/offset when the value is not the topic's message.
absl::StatusOr<std::string> FormatRecord(const FramedRecord& record, OutputFormat format);

}  // namespace ar::decode
