#include "tools/decode/decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ar/v1/events.pb.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"

namespace ar::decode {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::EventBatch InvoiceBatch() {
  v1::EventBatch batch;
  batch.set_command_id("cmd-issue-1");
  v1::Event* event = batch.add_events();
  event->set_event_id("evt-1");
  event->set_tenant("acme");
  event->set_region("eu");
  event->set_subsidiary("de");
  event->set_account("C-7");
  v1::InvoiceIssued* issued = event->mutable_invoice_issued();
  issued->set_invoice_id("INV-1");
  // A newline in a string field: the serialized value holds a '\n' byte.
  issued->set_account_name("Line one\nLine two");
  *issued->mutable_due_date() = protoconv::DateProto(2027, 3, 31);
  *issued->mutable_total() = protoconv::MoneyProto(119000, "EUR");
  return batch;
}

// What kcat writes for one record with -f kKcatFormat.
std::string Frame(const std::string& topic, int partition, int64_t offset, const std::string* key,
                  const std::string* value) {
  return absl::StrCat(topic, " ", partition, " ", offset, " 1795000000000 ",
                      key ? static_cast<int64_t>(key->size()) : -1, " ",
                      value ? static_cast<int64_t>(value->size()) : -1, "\n", key ? *key : "",
                      value ? *value : "", "\n");
}

TEST(FrameReaderTest, ReadsValuesHoldingNewlinesByTheirLength) {
  const std::string value = InvoiceBatch().SerializeAsString();
  ASSERT_NE(value.find('\n'), std::string::npos);
  const std::string key = "C-7";
  std::istringstream in(Frame("ar.invoicing.events", 2, 17, &key, &value) +
                        Frame("ar.invoicing.events", 0, 3, nullptr, nullptr));
  FrameReader reader(in);

  auto first = reader.Next();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->topic, "ar.invoicing.events");
  EXPECT_EQ((*first)->partition, 2);
  EXPECT_EQ((*first)->offset, 17);
  EXPECT_EQ((*first)->timestamp_ms, 1795000000000);
  EXPECT_EQ((*first)->key, key);
  EXPECT_EQ((*first)->value, value);

  auto second = reader.Next();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->offset, 3);
  EXPECT_FALSE((*second)->key.has_value());
  EXPECT_FALSE((*second)->value.has_value());

  auto end = reader.Next();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_FALSE(end->has_value());
}

TEST(FrameReaderTest, AValueCutShortNamesTheRecordAndTheInputOffset) {
  const std::string value = InvoiceBatch().SerializeAsString();
  const std::string framed = Frame("ar.invoicing.events", 1, 42, nullptr, &value);
  std::istringstream in(framed.substr(0, framed.size() - 5));
  FrameReader reader(in);
  auto record = reader.Next();
  ASSERT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(record.status().message(), HasSubstr("ar.invoicing.events/1/42"));
  EXPECT_THAT(record.status().message(), HasSubstr("value cut short"));
  EXPECT_THAT(record.status().message(), HasSubstr("input byte"));
}

TEST(FrameReaderTest, TextThatIsNotTheFramingIsRefused) {
  // kcat's default output (values separated by newlines) instead of the framing.
  std::istringstream in("\x0a\x05INV-1\nmore\n");
  FrameReader reader(in);
  auto record = reader.Next();
  ASSERT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(record.status().message(), HasSubstr("input byte 0: not a record header"));
}

TEST(FrameReaderTest, AMissingTerminatorIsRefused) {
  // -Z prints a NULL key as "NULL": four bytes the header did not announce.
  const std::string value = InvoiceBatch().SerializeAsString();
  std::istringstream in(
      absl::StrCat("ar.invoicing.events 0 1 5 -1 ", value.size(), "\nNULL", value, "\n"));
  FrameReader reader(in);
  auto record = reader.Next();
  ASSERT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(record.status().message(), HasSubstr("ar.invoicing.events/0/1: no newline"));
}

FramedRecord Record(const std::string& topic, int64_t offset, const std::string& value) {
  FramedRecord record;
  record.topic = topic;
  record.partition = 0;
  record.offset = offset;
  record.key = "C-7";
  record.value = value;
  return record;
}

TEST(FormatRecordTest, TextIsOneLinePerEventWithTheBodyReadable) {
  auto text = FormatRecord(Record("ar.invoicing.events", 5, InvoiceBatch().SerializeAsString()),
                           OutputFormat::kText);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "ar.invoicing.events/0/5 command=cmd-issue-1 event=evt-1 account=acme/eu/de/C-7 "
            "invoice_issued invoice_id=\"INV-1\" account_name=\"Line one\\nLine two\" "
            "due_date=2027-03-31 total=1190.00 EUR\n");
}

TEST(FormatRecordTest, JsonIsOneObjectPerRecord) {
  auto json = FormatRecord(Record("ar.invoicing.events", 5, InvoiceBatch().SerializeAsString()),
                           OutputFormat::kJson);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("{\"topic\":\"ar.invoicing.events\",\"partition\":0,\"offset\":5,"));
  EXPECT_THAT(*json, HasSubstr("\"command_id\":\"cmd-issue-1\""));
  EXPECT_THAT(*json, HasSubstr("\"invoice_id\":\"INV-1\""));
  EXPECT_EQ(json->find('\n'), json->size() - 1);
}

TEST(FormatRecordTest, DeadLettersShowTheRejectionAndTheRejectedEvents) {
  v1::DeadLetter letter;
  letter.set_source_topic("ar.invoicing.events");
  letter.set_source_partition(1);
  letter.set_source_offset(9);
  letter.set_key("C-7");
  letter.set_value(InvoiceBatch().SerializeAsString());
  letter.set_reason("currency mismatch");
  letter.set_rejected_by("payments");
  auto text =
      FormatRecord(Record(topics::kDeadLetter, 2, letter.SerializeAsString()), OutputFormat::kText);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("ar.deadletter/0/2 dead_letter source=ar.invoicing.events/1/9 "
                               "rejected_by=payments reason=\"currency mismatch\""));
  EXPECT_THAT(*text, HasSubstr("\nar.deadletter/0/2 (ar.invoicing.events/1/9) "
                               "command=cmd-issue-1 event=evt-1"));

  auto json =
      FormatRecord(Record(topics::kDeadLetter, 2, letter.SerializeAsString()), OutputFormat::kJson);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"dead_letter\":{\"source_topic\":\"ar.invoicing.events\""));
  EXPECT_THAT(*json, HasSubstr("\"inner_batch\":{\"events\":[{\"event_id\":\"evt-1\""));

  letter.set_value("not protobuf \xff\xff");
  text =
      FormatRecord(Record(topics::kDeadLetter, 3, letter.SerializeAsString()), OutputFormat::kText);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("value_not_an_event_batch=\"not protobuf \\377\\377\""));
}

TEST(FormatRecordTest, AValueThatIsNotAnEventBatchNamesItsPosition) {
  auto text = FormatRecord(Record("ar.payments.events", 8, "\xff\xff\xff"), OutputFormat::kText);
  ASSERT_EQ(text.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(text.status().message(), HasSubstr("ar.payments.events/0/8"));
  EXPECT_THAT(text.status().message(), Not(HasSubstr("DeadLetter")));
}

}  // namespace
}  // namespace ar::decode
