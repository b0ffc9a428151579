#include "tools/decode/decoder.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"
#include "libs/core/topics.h"
#include "tools/arctl/text.h"

namespace ar::decode {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A header line longer than this is not a header: stop before reading a whole binary value
// into memory looking for a newline.
constexpr size_t kMaxHeaderBytes = 4096;
// Inner values of dead letters that do not decode are shown up to this many bytes.
constexpr size_t kMaxShownRawBytes = 64;

std::string Position(const std::string& topic, int32_t partition, int64_t offset) {
  v1::LogPosition position;
  position.set_topic(topic);
  position.set_partition(partition);
  position.set_offset(offset);
  return arctl::FormatPosition(position);
}

// Bytes C-escaped; text (proto3 strings are UTF-8) with its letters kept readable.
std::string Quoted(absl::string_view bytes) {
  return absl::StrCat("\"", absl::CEscape(bytes), "\"");
}
std::string QuotedText(absl::string_view text) {
  return absl::StrCat("\"", absl::Utf8SafeCEscape(text), "\"");
}

std::string ShortRaw(absl::string_view bytes) {
  if (bytes.size() <= kMaxShownRawBytes) return Quoted(bytes);
  return absl::StrCat(Quoted(bytes.substr(0, kMaxShownRawBytes)), "...");
}

std::string FormatMessage(const Message& message);

std::string FormatValue(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* reflection = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(repeated ? reflection->GetRepeatedInt32(message, field, index)
                                   : reflection->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(repeated ? reflection->GetRepeatedInt64(message, field, index)
                                   : reflection->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(repeated ? reflection->GetRepeatedUInt32(message, field, index)
                                   : reflection->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(repeated ? reflection->GetRepeatedUInt64(message, field, index)
                                   : reflection->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(repeated ? reflection->GetRepeatedDouble(message, field, index)
                                   : reflection->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(repeated ? reflection->GetRepeatedFloat(message, field, index)
                                   : reflection->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (repeated ? reflection->GetRepeatedBool(message, field, index)
                       : reflection->GetBool(message, field))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return (repeated ? reflection->GetRepeatedEnum(message, field, index)
                       : reflection->GetEnum(message, field))
          ->name();
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string value = repeated ? reflection->GetRepeatedString(message, field, index)
                                         : reflection->GetString(message, field);
      return field->type() == FieldDescriptor::TYPE_BYTES ? Quoted(value) : QuotedText(value);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return FormatMessage(repeated ? reflection->GetRepeatedMessage(message, field, index)
                                    : reflection->GetMessage(message, field));
  }
  return "?";
}

// Set fields as `name=value`; money and dates as people write them ("1190.00 EUR",
// "2027-03-31"), other messages in braces, repeated fields in brackets. By reflection, so
// bodies added to events.proto print without a change here.
std::string FormatFields(const Message& message) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  std::vector<std::string> parts;
  for (const FieldDescriptor* field : fields) {
    std::string value;
    if (field->is_repeated()) {
      std::vector<std::string> items;
      const int size = message.GetReflection()->FieldSize(message, field);
      for (int i = 0; i < size; ++i) items.push_back(FormatValue(message, field, i));
      value = absl::StrCat("[", absl::StrJoin(items, ", "), "]");
    } else {
      value = FormatValue(message, field, -1);
    }
    parts.push_back(absl::StrCat(field->name(), "=", value));
  }
  const size_t unknown = message.GetReflection()->GetUnknownFields(message).field_count();
  if (unknown > 0) parts.push_back(absl::StrCat("unknown_fields=", unknown));
  return absl::StrJoin(parts, " ");
}

std::string FormatMessage(const Message& message) {
  if (const auto* money = dynamic_cast<const v1::Money*>(&message)) {
    return arctl::FormatAmount(*money);
  }
  if (const auto* date = dynamic_cast<const v1::Date*>(&message)) return arctl::FormatDate(*date);
  return absl::StrCat("{", FormatFields(message), "}");
}

std::string FormatEvent(const v1::Event& event) {
  std::string line = absl::StrCat("event=", event.event_id(), " account=", event.tenant(), "/",
                                  event.region(), "/", event.subsidiary(), "/", event.account());
  if (!event.correlation_id().empty())
    absl::StrAppend(&line, " correlation=", event.correlation_id());
  const v1::Event::BodyCase body = event.body_case();
  if (body == v1::Event::BODY_NOT_SET) {
    // A body newer than this decoder's copy of events.proto: the schema's evolution rule.
    absl::StrAppend(&line, " unknown_body unknown_fields=",
                    event.GetReflection()->GetUnknownFields(event).field_count());
    return line;
  }
  const FieldDescriptor* field = v1::Event::descriptor()->FindFieldByNumber(body);
  absl::StrAppend(&line, " ", field->name(), " ",
                  FormatFields(event.GetReflection()->GetMessage(event, field)));
  return line;
}

// One line per event of `batch`, each starting with `prefix`.
std::string FormatBatchText(const v1::EventBatch& batch, const std::string& prefix) {
  std::string out;
  const std::string head = absl::StrCat(prefix, " command=", batch.command_id());
  if (batch.events().empty()) return absl::StrCat(head, " (no events)\n");
  for (const v1::Event& event : batch.events()) {
    absl::StrAppend(&out, head, " ", FormatEvent(event), "\n");
  }
  return out;
}

std::string JsonString(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(std::string(text));
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(value, &json).ok()) {
    // Not UTF-8: keep every byte, escaped, rather than failing the record.
    value.set_string_value(absl::CEscape(text));
    json.clear();
    (void)google::protobuf::util::MessageToJsonString(value, &json);
  }
  return json;
}

std::string JsonEnvelope(const FramedRecord& record) {
  return absl::StrCat("{\"topic\":", JsonString(record.topic), ",\"partition\":", record.partition,
                      ",\"offset\":", record.offset, ",\"timestamp_ms\":", record.timestamp_ms,
                      ",\"key\":", record.key ? JsonString(*record.key) : "null");
}

absl::Status NotDecodable(const FramedRecord& record, absl::string_view message) {
  return absl::DataLossError(absl::StrCat(Position(record.topic, record.partition, record.offset),
                                          ": value is not an ", message, " (",
                                          record.value ? record.value->size() : 0, " bytes)"));
}

absl::Status Truncated(int64_t at, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("input byte ", at, ": ", what, " (expected kcat -f '", kKcatFormat, "')"));
}

}  // namespace

absl::StatusOr<std::optional<FramedRecord>> FrameReader::Next() {
  const int64_t header_start = consumed_;
  std::string header;
  char c;
  while (in_.get(c)) {
    ++consumed_;
    if (c == '\n') break;
    header.push_back(c);
    if (header.size() > kMaxHeaderBytes) {
      return Truncated(header_start, "no record header: a line longer than 4096 bytes");
    }
  }
  if (!in_ && header.empty()) return std::nullopt;  // clean end of input
  if (!in_)
    return Truncated(header_start, "record header cut short: \"" + absl::CEscape(header) + "\"");

  const std::vector<absl::string_view> parts = absl::StrSplit(header, ' ');
  FramedRecord record;
  int64_t key_size = 0;
  int64_t value_size = 0;
  if (parts.size() != 6 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &record.partition) ||
      !absl::SimpleAtoi(parts[2], &record.offset) ||
      !absl::SimpleAtoi(parts[3], &record.timestamp_ms) || !absl::SimpleAtoi(parts[4], &key_size) ||
      !absl::SimpleAtoi(parts[5], &value_size) || key_size < -1 || value_size < -1) {
    return Truncated(header_start, "not a record header: \"" +
                                       absl::CEscape(header.substr(0, kMaxShownRawBytes)) + "\"");
  }
  record.topic = std::string(parts[0]);
  const std::string where = Position(record.topic, record.partition, record.offset);

  auto read_exactly = [&](int64_t size,
                          const char* what) -> absl::StatusOr<std::optional<std::string>> {
    if (size < 0) return std::optional<std::string>();
    std::string bytes(static_cast<size_t>(size), '\0');
    in_.read(bytes.data(), size);
    const int64_t got = in_.gcount();
    consumed_ += got;
    if (got != size) {
      return Truncated(
          consumed_, absl::StrCat(where, ": ", what, " cut short: ", got, " of ", size, " bytes"));
    }
    return std::optional<std::string>(std::move(bytes));
  };
  absl::StatusOr<std::optional<std::string>> key = read_exactly(key_size, "key");
  if (!key.ok()) return key.status();
  absl::StatusOr<std::optional<std::string>> value = read_exactly(value_size, "value");
  if (!value.ok()) return value.status();
  record.key = std::move(*key);
  record.value = std::move(*value);
  if (!in_.get(c) || c != '\n') {
    return Truncated(consumed_,
                     absl::StrCat(where, ": no newline after the value's ", value_size, " bytes"));
  }
  ++consumed_;
  return std::optional<FramedRecord>(std::move(record));
}

absl::StatusOr<std::string> FormatRecord(const FramedRecord& record, OutputFormat format) {
  const std::string where = Position(record.topic, record.partition, record.offset);
  const bool dead_letter = record.topic == topics::kDeadLetter;
  if (!record.value) {
    if (format == OutputFormat::kJson)
      return absl::StrCat(JsonEnvelope(record), ",\"value\":null}\n");
    return absl::StrCat(where, " (null value)\n");
  }
  if (!dead_letter) {
    v1::EventBatch batch;
    if (!batch.ParseFromString(*record.value)) return NotDecodable(record, "ar.v1.EventBatch");
    if (format == OutputFormat::kJson) {
      return absl::StrCat(JsonEnvelope(record), ",\"batch\":", arctl::ToJson(batch), "}\n");
    }
    return FormatBatchText(batch, where);
  }

  v1::DeadLetter letter;
  if (!letter.ParseFromString(*record.value)) return NotDecodable(record, "ar.v1.DeadLetter");
  v1::EventBatch inner;
  const bool inner_decodes = inner.ParseFromString(letter.value());
  if (format == OutputFormat::kJson) {
    std::string json =
        absl::StrCat(JsonEnvelope(record), ",\"dead_letter\":", arctl::ToJson(letter));
    if (inner_decodes) absl::StrAppend(&json, ",\"inner_batch\":", arctl::ToJson(inner));
    return absl::StrCat(json, "}\n");
  }
  const std::string source =
      Position(letter.source_topic(), letter.source_partition(), letter.source_offset());
  std::string out =
      absl::StrCat(where, " dead_letter source=", source, " rejected_by=", letter.rejected_by(),
                   " reason=", QuotedText(letter.reason()), " key=", Quoted(letter.key()));
  if (!inner_decodes) {
    absl::StrAppend(&out, " value_not_an_event_batch=", ShortRaw(letter.value()), "\n");
    return out;
  }
  absl::StrAppend(&out, "\n", FormatBatchText(inner, absl::StrCat(where, " (", source, ")")));
  return out;
}

}  // namespace ar::decode
