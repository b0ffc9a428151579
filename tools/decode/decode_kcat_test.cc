// An outside client reads the topics: the real kcat consumes what the Kafka event log
// backend published to librdkafka's mock cluster, and the real ar-decode prints it with
// the schema in proto/. Nothing of ar-suite's code is on the reading side but proto/.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"
#include "libs/core/topics.h"
#include "libs/eventlog/eventlog.h"
#include "libs/eventlog/kafka_log.h"
#include "libs/eventlog/kafka_mock_cluster.h"
#include "libs/protoconv/protoconv.h"
#include "libs/testing/child_process.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "tools/decode/decoder.h"

namespace ar::decode {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// kcat's path, or "" when it is not installed.
std::string FindKcat() {
  testing::TempDir dir;
  const std::string out = dir.Join("which");
  testing::ChildProcess which =
      testing::ChildProcess::Exec({"/bin/sh", "-c", "command -v kcat > '" + out + "'"});
  if (which.Wait() != 0) return "";
  std::string path = ReadFile(out);
  while (!path.empty() && path.back() == '\n') path.pop_back();
  return path;
}

// As the services stamp their events (protoconv::StampEnvelope).
v1::Event Envelope(const std::string& event_id) {
  v1::AccountRef account;
  account.set_tenant("acme");
  account.set_region("eu");
  account.set_subsidiary("de");
  account.set_account("C-100");
  v1::Event event;
  protoconv::EnvelopeSource source;
  source.recorded_at_unix_micros = 1795000000000000;
  protoconv::StampEnvelope(event, account, event_id, source);
  return event;
}

v1::EventBatch IssueBatch() {
  v1::EventBatch batch;
  batch.set_command_id("issue:acme:INV-2027-0042");
  v1::Event* event = batch.add_events();
  *event = Envelope("evt-issued-42");
  v1::InvoiceIssued* issued = event->mutable_invoice_issued();
  issued->set_invoice_id("INV-2027-0042");
  issued->set_invoice_number("2027/0042");
  issued->set_account_name("Müller GmbH\nAbteilung Einkauf");
  *issued->mutable_issue_date() = protoconv::DateProto(2027, 3, 1);
  *issued->mutable_due_date() = protoconv::DateProto(2027, 3, 31);
  v1::InvoiceLine* line = issued->add_lines();
  line->set_description("Consulting");
  line->set_quantity_milli(10000);
  *line->mutable_unit_price() = protoconv::MoneyProto(10000, "EUR");
  line->set_tax_rate_bp(1900);
  *line->mutable_net_amount() = protoconv::MoneyProto(100000, "EUR");
  *line->mutable_tax_amount() = protoconv::MoneyProto(19000, "EUR");
  *issued->mutable_net_total() = protoconv::MoneyProto(100000, "EUR");
  *issued->mutable_tax_total() = protoconv::MoneyProto(19000, "EUR");
  *issued->mutable_total() = protoconv::MoneyProto(119000, "EUR");
  issued->set_payment_terms("NET30");
  return batch;
}

v1::EventBatch PaymentBatch() {
  v1::EventBatch batch;
  batch.set_command_id("pay:acme:BANK-77");
  v1::Event* received = batch.add_events();
  *received = Envelope("evt-received-77");
  received->mutable_payment_received()->set_payment_id("BANK-77");
  *received->mutable_payment_received()->mutable_amount() = protoconv::MoneyProto(50000, "EUR");
  received->mutable_payment_received()->set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
  v1::Event* allocated = batch.add_events();
  *allocated = Envelope("evt-allocated-77");
  v1::PaymentAllocated* allocation = allocated->mutable_payment_allocated();
  allocation->set_payment_id("BANK-77");
  allocation->set_invoice_id("INV-2027-0042");
  *allocation->mutable_amount() = protoconv::MoneyProto(50000, "EUR");
  *allocation->mutable_allocation_date() = protoconv::DateProto(2027, 3, 15);
  return batch;
}

TEST(DecodeKcatTest, KcatPipedIntoArDecodePrintsThePublishedEvents) {
  const std::string kcat = FindKcat();
  if (kcat.empty()) GTEST_SKIP() << "kcat is not installed (deploy/local/install-deps.sh)";

  auto cluster = eventlog::KafkaMockCluster::Start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto log = eventlog::OpenKafkaLog((*cluster)->ClientOptions());
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->CreateTopic({topics::kInvoicing, 3}).ok());
  ASSERT_TRUE((*log)->CreateTopic({topics::kDeadLetter, 1}).ok());
  auto producer = (*log)->NewProducer();
  ASSERT_TRUE(producer.ok()) << producer.status();

  // Two commands' batches for one account (so one partition, in order), as the services
  // publish them; and a dead letter holding the payment batch.
  auto issued =
      (*producer)->AppendAndWait(topics::kInvoicing, "C-100", IssueBatch().SerializeAsString());
  ASSERT_TRUE(issued.ok()) << issued.status();
  auto paid =
      (*producer)->AppendAndWait(topics::kInvoicing, "C-100", PaymentBatch().SerializeAsString());
  ASSERT_TRUE(paid.ok()) << paid.status();
  v1::DeadLetter letter;
  letter.set_source_topic(paid->topic);
  letter.set_source_partition(paid->partition);
  letter.set_source_offset(paid->offset);
  letter.set_key("C-100");
  letter.set_value(PaymentBatch().SerializeAsString());
  letter.set_reason("invoice INV-2027-0042 is in another currency");
  letter.set_rejected_by("test");
  auto dead = (*producer)->AppendAndWait(topics::kDeadLetter, "C-100", letter.SerializeAsString());
  ASSERT_TRUE(dead.ok()) << dead.status();
  (*producer)->Stop(absl::Seconds(5));

  // The exact pipeline of tools/decode/README.md, both topics into one ar-decode.
  testing::TempDir dir;
  const std::string out = dir.Join("decoded.txt");
  const std::string err = dir.Join("decode.err");
  const std::string kcat_err = dir.Join("kcat.err");
  auto consume = [&](const std::string& topic) {
    return absl::StrCat("'", kcat, "' -C -b '", (*cluster)->bootstraps(), "' -t ", topic,
                        " -o beginning -e -q -f '", kKcatFormat, "' 2>>'", kcat_err, "'");
  };
  const std::string pipeline = absl::StrCat("set -o pipefail; { ", consume(topics::kInvoicing),
                                            " && ", consume(topics::kDeadLetter), "; } | '",
                                            AR_DECODE_BINARY, "' > '", out, "' 2> '", err, "'");
  testing::ChildProcess child = testing::ChildProcess::Exec({"/bin/bash", "-c", pipeline});
  ASSERT_TRUE(testing::WaitFor([&] { return child.HasExited(); }, absl::Seconds(60)))
      << ReadFile(kcat_err);
  ASSERT_EQ(child.Wait(), 0) << "kcat: " << ReadFile(kcat_err) << "\nar-decode: " << ReadFile(err);

  const std::string decoded = ReadFile(out);
  const std::string issued_at =
      absl::StrCat(issued->topic, "/", issued->partition, "/", issued->offset);
  const std::string paid_at = absl::StrCat(paid->topic, "/", paid->partition, "/", paid->offset);
  EXPECT_THAT(decoded,
              HasSubstr(absl::StrCat(
                  issued_at,
                  " command=issue:acme:INV-2027-0042 event=evt-issued-42 "
                  "account=acme/eu/de/C-100 invoice_issued invoice_id=\"INV-2027-0042\"")));
  EXPECT_THAT(decoded, HasSubstr("account_name=\"Müller GmbH\\nAbteilung Einkauf\""));
  EXPECT_THAT(decoded, HasSubstr("total=1190.00 EUR"));
  EXPECT_THAT(decoded, HasSubstr("due_date=2027-03-31"));
  EXPECT_THAT(decoded, HasSubstr(absl::StrCat(paid_at,
                                              " command=pay:acme:BANK-77 event=evt-received-77 "
                                              "account=acme/eu/de/C-100 payment_received")));
  EXPECT_THAT(decoded, HasSubstr(absl::StrCat(
                           paid_at,
                           " command=pay:acme:BANK-77 event=evt-allocated-77 "
                           "account=acme/eu/de/C-100 payment_allocated payment_id=\"BANK-77\" "
                           "invoice_id=\"INV-2027-0042\" amount=500.00 EUR "
                           "allocation_date=2027-03-15")));
  EXPECT_THAT(decoded, HasSubstr(absl::StrCat("ar.deadletter/", dead->partition, "/", dead->offset,
                                              " dead_letter source=", paid_at)));
  EXPECT_THAT(decoded, HasSubstr(absl::StrCat("ar.deadletter/", dead->partition, "/", dead->offset,
                                              " (", paid_at,
                                              ") command=pay:acme:BANK-77 "
                                              "event=evt-allocated-77")));
  // One line per event: issue 1, payment 2, dead letter 1 + its 2.
  EXPECT_EQ(std::count(decoded.begin(), decoded.end(), '\n'), 6) << decoded;

  // The same records as JSON: one object per record.
  const std::string json_out = dir.Join("decoded.json");
  testing::ChildProcess json = testing::ChildProcess::Exec(
      {"/bin/bash", "-c",
       absl::StrCat("set -o pipefail; ", consume(topics::kInvoicing), " | '", AR_DECODE_BINARY,
                    "' --format=json > '", json_out, "' 2> '", err, "'")});
  ASSERT_TRUE(testing::WaitFor([&] { return json.HasExited(); }, absl::Seconds(60)));
  ASSERT_EQ(json.Wait(), 0) << ReadFile(kcat_err) << ReadFile(err);
  const std::string objects = ReadFile(json_out);
  EXPECT_EQ(std::count(objects.begin(), objects.end(), '\n'), 2) << objects;
  EXPECT_THAT(objects, HasSubstr(absl::StrCat("\"partition\":", paid->partition,
                                              ",\"offset\":", paid->offset)));
  EXPECT_THAT(objects, HasSubstr("\"command_id\":\"pay:acme:BANK-77\""));
  EXPECT_THAT(objects, HasSubstr("\"minor_units\":\"119000\""));

  // kcat's default output (no framing) is refused, naming where.
  testing::ChildProcess unframed = testing::ChildProcess::Exec(
      {"/bin/bash", "-c",
       absl::StrCat("'", kcat, "' -C -b '", (*cluster)->bootstraps(), "' -t ", topics::kInvoicing,
                    " -e -q 2>/dev/null | '", AR_DECODE_BINARY, "' > /dev/null 2> '", err, "'")});
  ASSERT_TRUE(testing::WaitFor([&] { return unframed.HasExited(); }, absl::Seconds(60)));
  EXPECT_EQ(unframed.Wait(), 2);
  EXPECT_THAT(ReadFile(err), HasSubstr("input byte 0: not a record header"));
}

}  // namespace
}  // namespace ar::decode
