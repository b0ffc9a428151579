// The invoicing service end to end through a real gRPC channel: embedded log in a temp
// dir, memory store, server on a free loopback port.

#include "services/invoicing/invoicing_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ar/v1/invoicing.grpc.pb.h"
#include "libs/command/command_executor.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/memory_store.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"

namespace ar::invoicing {
namespace {

using ::testing::HasSubstr;

v1::Date D(int y, int m, int d) { return protoconv::DateProto(y, m, d); }

v1::Money Money(int64_t minor, const std::string& currency = "EUR") {
  return MakeMoneyProto(minor, currency);
}

// 100.00 net + 19 % = 119.00 (in `currency`), due on 2027-02-<due_day>.
v1::IssueInvoiceRequest InvoiceRequest(const std::string& invoice_id, int due_day = 14,
                                       const std::string& account = "C-100",
                                       const std::string& currency = "EUR") {
  v1::IssueInvoiceRequest request;
  v1::AccountRef* ref = request.mutable_account();
  ref->set_tenant("acme");
  ref->set_region("eu");
  ref->set_subsidiary("acme-de");
  ref->set_account(account);
  request.set_account_name("Customer " + account);
  request.set_invoice_id(invoice_id);
  request.set_invoice_number("N-" + invoice_id);
  *request.mutable_issue_date() = D(2027, 1, 15);
  *request.mutable_due_date() = D(2027, 2, due_day);
  request.set_currency(currency);
  v1::InvoiceLineInput* line = request.add_lines();
  line->set_description("widgets");
  line->set_quantity_milli(1000);
  line->set_unit_price_minor(10000);
  line->set_tax_rate_bp(1900);
  return request;
}

class InvoicingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartService(CreditHoldPolicy::kReject); }

  void StartService(CreditHoldPolicy policy) {
    auto log = ar::testing::OpenEmbeddedTestLog(dir_.Join("log"));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    store_ = store::NewMemoryStore();
    InvoicingServiceOptions options;
    options.credit_hold_policy = policy;
    options.ingest_regions = {"eu"};
    options.read_wait_timeout = absl::Milliseconds(300);
    options.topic_partitions = 2;
    auto service = InvoicingService::Create(*log_, *store_, options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    server_->AddService(service_->grpc_service());
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_TRUE(service_->Start().ok());
    ASSERT_TRUE(service_->ready());
    stub_ = v1::InvoicingService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok());
    producer_ = *std::move(producer);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    if (service_) service_->Stop();
    if (producer_) producer_->Stop(absl::Seconds(1));
  }

  // Calls `method` on the stub with a fresh context and a deadline.
  template <typename Request, typename Response, typename Method>
  grpc::Status Call(Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return (stub_.get()->*method)(&context, request, response);
  }

  grpc::Status Issue(const v1::IssueInvoiceRequest& request, v1::CommandResult* result) {
    return Call(&v1::InvoicingService::Stub::IssueInvoice, request, result);
  }

  v1::CommandResult IssueOk(const v1::IssueInvoiceRequest& request) {
    v1::CommandResult result;
    grpc::Status status = Issue(request, &result);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return result;
  }

  grpc::Status Get(const std::string& invoice_id, v1::Invoice* invoice,
                   const v1::LogPosition* at_least = nullptr) {
    v1::GetInvoiceRequest request;
    request.set_tenant("acme");
    request.set_invoice_id(invoice_id);
    if (at_least != nullptr) *request.mutable_consistency()->mutable_min_position() = *at_least;
    return Call(&v1::InvoicingService::Stub::GetInvoice, request, invoice);
  }

  v1::Invoice GetOk(const std::string& invoice_id, const v1::LogPosition& at_least) {
    v1::Invoice invoice;
    grpc::Status status = Get(invoice_id, &invoice, &at_least);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return invoice;
  }

  v1::OpenBalance Balance(const std::string& account, const v1::LogPosition* at_least = nullptr) {
    v1::GetOpenBalanceRequest request;
    request.set_tenant("acme");
    request.set_account(account);
    if (at_least != nullptr) *request.mutable_consistency()->mutable_min_position() = *at_least;
    v1::OpenBalance balance;
    grpc::Status status = Call(&v1::InvoicingService::Stub::GetOpenBalance, request, &balance);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return balance;
  }

  // Publishes events as another service would: one record on `topic`, keyed by account.
  v1::LogPosition Publish(const std::string& topic, std::vector<v1::Event> events) {
    v1::EventBatch batch;
    for (v1::Event& event : events) *batch.add_events() = std::move(event);
    auto position =
        producer_->AppendAndWait(topic, batch.events(0).account(), batch.SerializeAsString());
    EXPECT_TRUE(position.ok()) << position.status();
    return command::ToProto(*position);
  }

  v1::Event Envelope(const std::string& event_id, const std::string& account = "C-100") {
    v1::Event event;
    event.set_event_id(event_id);
    event.set_tenant("acme");
    event.set_region("eu");
    event.set_subsidiary("acme-de");
    event.set_account(account);
    return event;
  }

  v1::LogPosition PublishAllocation(const std::string& event_id, const std::string& invoice_id,
                                    int64_t amount) {
    v1::Event event = Envelope(event_id);
    v1::PaymentAllocated* body = event.mutable_payment_allocated();
    body->set_payment_id("P-" + event_id);
    body->set_invoice_id(invoice_id);
    *body->mutable_amount() = Money(amount);
    *body->mutable_allocation_date() = D(2027, 1, 20);
    return Publish(topics::kPayments, {event});
  }

  // Every dead letter so far.
  std::vector<v1::DeadLetter> DeadLetters() {
    std::vector<v1::DeadLetter> letters;
    auto consumer = log_->NewConsumer({});
    EXPECT_TRUE(consumer.ok());
    auto partitions = log_->PartitionCount(topics::kDeadLetter);
    EXPECT_TRUE(partitions.ok());
    std::vector<eventlog::TopicPartitionOffset> assignment;
    for (int32_t p = 0; p < *partitions; ++p) {
      assignment.push_back({topics::kDeadLetter, p, eventlog::kOffsetBeginning});
    }
    EXPECT_TRUE((*consumer)->Assign(assignment).ok());
    while (true) {
      auto records = (*consumer)->Poll(100, absl::Milliseconds(50));
      if (!records.ok() || records->empty()) break;
      for (const eventlog::Record& record : *records) {
        v1::DeadLetter letter;
        EXPECT_TRUE(letter.ParseFromString(record.value));
        letters.push_back(std::move(letter));
      }
    }
    (*consumer)->Close();
    return letters;
  }

  testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<InvoicingService> service_;
  std::unique_ptr<servicekit::GrpcServer> server_;
  std::unique_ptr<v1::InvoicingService::Stub> stub_;
  std::unique_ptr<eventlog::Producer> producer_;
};

TEST_F(InvoicingServiceTest, IssueThenReadYourWrite) {
  v1::CommandResult result = IssueOk(InvoiceRequest("INV-1"));
  EXPECT_FALSE(result.duplicate());
  EXPECT_EQ(result.position().topic(), topics::kInvoicing);
  ASSERT_EQ(result.event_ids_size(), 1);
  v1::Invoice invoice = GetOk("INV-1", result.position());
  EXPECT_EQ(invoice.total().minor_units(), 11900);
  EXPECT_EQ(invoice.open_balance().minor_units(), 11900);
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_OPEN);
  EXPECT_EQ(invoice.account().account(), "C-100");
  EXPECT_EQ(invoice.issued_at().offset(), result.position().offset());
  EXPECT_EQ(invoice.issued_event_ids(0), result.event_ids(0));
  ASSERT_EQ(invoice.history_size(), 1);
  EXPECT_EQ(invoice.history(0).kind(), "issued");
}

TEST_F(InvoicingServiceTest, IssueIsIdempotent) {
  v1::CommandResult first = IssueOk(InvoiceRequest("INV-1"));
  v1::CommandResult again = IssueOk(InvoiceRequest("INV-1"));
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.position().offset(), first.position().offset());
  EXPECT_EQ(again.position().partition(), first.position().partition());
  EXPECT_EQ(again.event_ids(0), first.event_ids(0));
  // Nothing was published: the partition's end is right after the first record.
  auto end = log_->EndOffset({topics::kInvoicing, first.position().partition()});
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, first.position().offset() + 1);

  v1::IssueInvoiceRequest changed = InvoiceRequest("INV-1");
  changed.mutable_lines(0)->set_quantity_milli(2000);
  v1::CommandResult result;
  grpc::Status status = Issue(changed, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("different lines[0].quantity_milli"));
}

TEST_F(InvoicingServiceTest, InvalidInvoiceIsInvalidArgument) {
  v1::IssueInvoiceRequest request = InvoiceRequest("INV-1");
  request.set_currency("ABC");
  v1::CommandResult result;
  grpc::Status status = Issue(request, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("'ABC' is not a known ISO 4217 currency"));
  request = InvoiceRequest("INV-1");
  request.mutable_account()->clear_tenant();
  EXPECT_EQ(Issue(request, &result).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request = InvoiceRequest("INV-1");
  request.clear_lines();
  EXPECT_EQ(Issue(request, &result).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(InvoicingServiceTest, CreditNotes) {
  IssueOk(InvoiceRequest("INV-1"));
  v1::IssueCreditNoteRequest request;
  request.set_tenant("acme");
  request.set_credit_note_id("CN-1");
  request.set_invoice_id("INV-1");
  *request.mutable_amount() = Money(1900);
  *request.mutable_issue_date() = D(2027, 1, 20);
  request.set_reason("damaged");
  v1::CommandResult result;
  ASSERT_TRUE(Call(&v1::InvoicingService::Stub::IssueCreditNote, request, &result).ok());
  v1::Invoice invoice = GetOk("INV-1", result.position());
  EXPECT_EQ(invoice.open_balance().minor_units(), 10000);
  EXPECT_EQ(invoice.credited().minor_units(), 1900);

  v1::CommandResult repeat;
  ASSERT_TRUE(Call(&v1::InvoicingService::Stub::IssueCreditNote, request, &repeat).ok());
  EXPECT_TRUE(repeat.duplicate());
  EXPECT_EQ(repeat.position().offset(), result.position().offset());

  v1::IssueCreditNoteRequest too_much = request;
  too_much.set_credit_note_id("CN-2");
  *too_much.mutable_amount() = Money(10001);
  grpc::Status status = Call(&v1::InvoicingService::Stub::IssueCreditNote, too_much, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("below zero"));

  // The same credit note id on another invoice.
  IssueOk(InvoiceRequest("INV-2"));
  v1::IssueCreditNoteRequest elsewhere = request;
  elsewhere.set_invoice_id("INV-2");
  status = Call(&v1::InvoicingService::Stub::IssueCreditNote, elsewhere, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("different invoice_id (INV-1)"));

  v1::IssueCreditNoteRequest unknown = request;
  unknown.set_invoice_id("INV-404");
  unknown.set_credit_note_id("CN-404");
  status = Call(&v1::InvoicingService::Stub::IssueCreditNote, unknown, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("invoice INV-404"));

  v1::IssueCreditNoteRequest usd = request;
  usd.set_credit_note_id("CN-3");
  *usd.mutable_amount() = Money(100, "USD");
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::IssueCreditNote, usd, &result).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(InvoicingServiceTest, CancelOnlyWhileNothingIsAllocated) {
  IssueOk(InvoiceRequest("INV-1"));
  IssueOk(InvoiceRequest("INV-2"));
  // A payment allocated to INV-2 by the payments service.
  v1::LogPosition allocated = PublishAllocation("pa-1", "INV-2", 500);
  EXPECT_EQ(GetOk("INV-2", allocated).status(), v1::INVOICE_STATUS_PARTIALLY_PAID);

  v1::CancelInvoiceRequest request;
  request.set_tenant("acme");
  request.set_invoice_id("INV-2");
  request.set_reason("wrong customer");
  *request.mutable_cancel_date() = D(2027, 1, 21);
  v1::CommandResult result;
  grpc::Status status = Call(&v1::InvoicingService::Stub::CancelInvoice, request, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("5.00 EUR of payments allocated"));

  request.set_invoice_id("INV-1");
  ASSERT_TRUE(Call(&v1::InvoicingService::Stub::CancelInvoice, request, &result).ok());
  v1::Invoice cancelled = GetOk("INV-1", result.position());
  EXPECT_EQ(cancelled.status(), v1::INVOICE_STATUS_CANCELLED);
  EXPECT_EQ(cancelled.open_balance().minor_units(), 0);

  request.set_reason("another reason");
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::CancelInvoice, request, &result).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  request.set_invoice_id("INV-404");
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::CancelInvoice, request, &result).error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.set_invoice_id("");
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::CancelInvoice, request, &result).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(InvoicingServiceTest, DisputeAndResolve) {
  IssueOk(InvoiceRequest("INV-1"));
  v1::DisputeInvoiceRequest dispute;
  dispute.set_tenant("acme");
  dispute.set_invoice_id("INV-1");
  *dispute.mutable_disputed_amount() = Money(2000);
  dispute.set_reason("two units missing");
  *dispute.mutable_dispute_date() = D(2027, 1, 22);
  v1::CommandResult result;
  ASSERT_TRUE(Call(&v1::InvoicingService::Stub::DisputeInvoice, dispute, &result).ok());
  v1::Invoice invoice = GetOk("INV-1", result.position());
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_DISPUTED);
  EXPECT_EQ(invoice.disputed().minor_units(), 2000);

  grpc::Status status = Call(&v1::InvoicingService::Stub::DisputeInvoice, dispute, &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::ResolveDisputeRequest resolve;
  resolve.set_tenant("acme");
  resolve.set_invoice_id("INV-1");
  resolve.set_resolution("delivered");
  *resolve.mutable_resolution_date() = D(2027, 1, 25);
  ASSERT_TRUE(Call(&v1::InvoicingService::Stub::ResolveDispute, resolve, &result).ok());
  EXPECT_EQ(GetOk("INV-1", result.position()).status(), v1::INVOICE_STATUS_OPEN);
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::ResolveDispute, resolve, &result).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  dispute.clear_disputed_amount();  // the whole open balance
  ASSERT_TRUE(Call(&v1::InvoicingService::Stub::DisputeInvoice, dispute, &result).ok());
  EXPECT_EQ(GetOk("INV-1", result.position()).disputed().minor_units(), 11900);
}

TEST_F(InvoicingServiceTest, CreditHoldRejectsNewInvoices) {
  v1::Event hold = Envelope("hold-1");
  hold.mutable_credit_hold_placed()->set_reason("limit exceeded");
  v1::LogPosition placed = Publish(topics::kCredit, {hold});
  EXPECT_TRUE(Balance("C-100", &placed).on_credit_hold());
  v1::CommandResult result;
  grpc::Status status = Issue(InvoiceRequest("INV-1"), &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("credit hold"));

  v1::Event release = Envelope("hold-2");
  release.mutable_credit_hold_released()->set_reason("paid");
  v1::LogPosition released = Publish(topics::kCredit, {release});
  EXPECT_FALSE(Balance("C-100", &released).on_credit_hold());
  IssueOk(InvoiceRequest("INV-1"));
}

TEST_F(InvoicingServiceTest, OpenBalancePerCurrency) {
  IssueOk(InvoiceRequest("INV-1"));
  IssueOk(InvoiceRequest("INV-2", 14, "C-100", "USD"));
  v1::CommandResult last = IssueOk(InvoiceRequest("INV-3"));
  v1::LogPosition allocated = PublishAllocation("pa-1", "INV-1", 11900);
  GetOk("INV-1", allocated);
  v1::OpenBalance balance = Balance("C-100", &last.position());
  ASSERT_EQ(balance.open().amounts_size(), 2);
  EXPECT_EQ(balance.open().amounts(0).currency(), "EUR");
  EXPECT_EQ(balance.open().amounts(0).minor_units(), 11900);
  EXPECT_EQ(balance.open().amounts(1).currency(), "USD");
  EXPECT_EQ(balance.open().amounts(1).minor_units(), 11900);
  EXPECT_FALSE(balance.on_credit_hold());
  EXPECT_EQ(Balance("C-999").open().amounts_size(), 0);

  v1::GetOpenBalanceRequest bad;
  bad.set_tenant("acme");
  v1::OpenBalance ignored;
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::GetOpenBalance, bad, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(InvoicingServiceTest, ListInvoicesPagesFiltersAndRanges) {
  // Due days 1..7 of February; INV-5 is paid.
  v1::CommandResult last;
  for (int i = 1; i <= 7; ++i) last = IssueOk(InvoiceRequest("INV-" + std::to_string(i), i));
  IssueOk(InvoiceRequest("OTHER-1", 1, "C-200"));
  v1::LogPosition paid = PublishAllocation("pa-5", "INV-5", 11900);
  GetOk("INV-5", paid);

  v1::ListInvoicesRequest request;
  request.set_tenant("acme");
  request.set_account("C-100");
  request.set_page_size(3);
  *request.mutable_consistency()->mutable_min_position() = last.position();
  std::vector<std::string> seen;
  int pages = 0;
  while (true) {
    v1::ListInvoicesResponse page;
    ASSERT_TRUE(Call(&v1::InvoicingService::Stub::ListInvoices, request, &page).ok());
    ++pages;
    for (const v1::Invoice& invoice : page.invoices()) seen.push_back(invoice.invoice_id());
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(
      seen, ::testing::ElementsAre("INV-1", "INV-2", "INV-3", "INV-4", "INV-5", "INV-6", "INV-7"));

  // Status filter and due range.
  v1::ListInvoicesRequest filtered;
  filtered.set_tenant("acme");
  filtered.set_account("C-100");
  filtered.add_statuses(v1::INVOICE_STATUS_OPEN);
  *filtered.mutable_due_from() = D(2027, 2, 3);
  *filtered.mutable_due_to() = D(2027, 2, 6);
  v1::ListInvoicesResponse page;
  ASSERT_TRUE(Call(&v1::InvoicingService::Stub::ListInvoices, filtered, &page).ok());
  std::vector<std::string> ids;
  for (const v1::Invoice& invoice : page.invoices()) ids.push_back(invoice.invoice_id());
  EXPECT_THAT(ids, ::testing::ElementsAre("INV-3", "INV-4", "INV-6"));
  EXPECT_TRUE(page.next_page_token().empty());

  // Exactly a full page: no token for an empty page after it.
  filtered.set_page_size(3);
  ASSERT_TRUE(Call(&v1::InvoicingService::Stub::ListInvoices, filtered, &page).ok());
  EXPECT_EQ(page.invoices_size(), 3);
  EXPECT_TRUE(page.next_page_token().empty());

  v1::ListInvoicesRequest bad = filtered;
  bad.set_page_token("not-a-token");
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::ListInvoices, bad, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad = filtered;
  bad.set_page_size(-1);
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::ListInvoices, bad, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad = filtered;
  *bad.mutable_due_from() = D(2027, 3, 1);
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::ListInvoices, bad, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad = filtered;
  bad.clear_account();
  EXPECT_EQ(Call(&v1::InvoicingService::Stub::ListInvoices, bad, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(InvoicingServiceTest, GetInvoiceErrorsAndReadConsistency) {
  v1::Invoice invoice;
  EXPECT_EQ(Get("INV-404", &invoice).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get("", &invoice).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::LogPosition unknown_topic;
  unknown_topic.set_topic("ar.other.events");
  EXPECT_EQ(Get("INV-404", &invoice, &unknown_topic).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // A position the log has not reached: the bounded wait ends in UNAVAILABLE.
  v1::LogPosition future;
  future.set_topic(topics::kInvoicing);
  future.set_offset(1'000'000);
  const absl::Time start = absl::Now();
  grpc::Status status = Get("INV-404", &invoice, &future);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("has not reached"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(InvoicingServiceTest, PaymentForAnInvoiceNotYetSeenIsAppliedWhenItArrives) {
  v1::LogPosition early = PublishAllocation("pa-early", "INV-1", 1900);
  v1::Invoice missing;
  EXPECT_EQ(Get("INV-1", &missing, &early).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::CommandResult issued = IssueOk(InvoiceRequest("INV-1"));
  v1::Invoice invoice = GetOk("INV-1", issued.position());
  EXPECT_EQ(invoice.allocated().minor_units(), 1900);
  EXPECT_EQ(invoice.open_balance().minor_units(), 10000);
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_PARTIALLY_PAID);
}

TEST_F(InvoicingServiceTest, RawFeedValidInvoiceBecomesCanonicalInvalidGoesToDeadLetter) {
  // A subsidiary's ERP publishes raw InvoiceIssued events on ar.ingest.eu.
  v1::Event raw = Envelope("erp-77");
  v1::InvoiceIssued* body = raw.mutable_invoice_issued();
  body->set_invoice_id("ERP-INV-1");
  body->set_invoice_number("DE-2027-77");
  body->set_account_name("Customer 100");
  *body->mutable_issue_date() = D(2027, 1, 10);
  body->set_payment_terms("EOM+15");
  v1::InvoiceLine* line = body->add_lines();
  line->set_description("consulting");
  line->set_quantity_milli(2500);
  *line->mutable_unit_price() = Money(12000);
  line->set_tax_rate_bp(1900);
  *body->mutable_total() = Money(35700);  // 300.00 + 57.00
  Publish(topics::IngestTopic("eu"), {raw});

  v1::Event invalid = raw;
  invalid.set_event_id("erp-78");
  invalid.mutable_invoice_issued()->set_invoice_id("ERP-INV-2");
  *invalid.mutable_invoice_issued()->mutable_total() = Money(35701);
  Publish(topics::IngestTopic("eu"), {invalid});

  v1::Invoice canonical;
  ASSERT_TRUE(ar::testing::WaitFor([&] { return Get("ERP-INV-1", &canonical).ok(); }));
  EXPECT_EQ(canonical.total().minor_units(), 35700);
  EXPECT_EQ(canonical.payment_terms(), "EOM+15");
  EXPECT_EQ(canonical.due_date().month(), 2);
  EXPECT_EQ(canonical.due_date().day(), 15);
  EXPECT_EQ(canonical.account().subsidiary(), "acme-de");

  std::vector<v1::DeadLetter> letters;
  ASSERT_TRUE(ar::testing::WaitFor([&] {
    letters = DeadLetters();
    return !letters.empty();
  }));
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].source_topic(), topics::IngestTopic("eu"));
  EXPECT_EQ(letters[0].rejected_by(), kIngestProjection);
  EXPECT_THAT(letters[0].reason(), HasSubstr("total stated by the source (357.01 EUR) differs"));
  v1::Invoice rejected;
  EXPECT_EQ(Get("ERP-INV-2", &rejected).error_code(), grpc::StatusCode::NOT_FOUND);

  // The same raw record again (a repeated feed) publishes nothing new.
  Publish(topics::IngestTopic("eu"), {raw});
  ASSERT_TRUE(
      ar::testing::WaitFor([&] { return service_->ingest_projection()->stats().records >= 3; }));
  v1::Invoice after;
  ASSERT_TRUE(Get("ERP-INV-1", &after).ok());
  EXPECT_EQ(after.history_size(), 1);
  EXPECT_EQ(DeadLetters().size(), 1u);
}

TEST_F(InvoicingServiceTest, RawFeedRefusalsAreDeadLetteredWithTheReason) {
  IssueOk(InvoiceRequest("INV-1"));
  // A raw record reusing a known invoice id with other content.
  auto decision = DecideIssueInvoice(InvoiceRequest("INV-1", 20), std::nullopt, AccountView{},
                                     CreditHoldPolicy::kReject, CommandContext{});
  ASSERT_TRUE(decision.ok());
  v1::Event conflicting = decision->events[0];
  conflicting.set_event_id("erp-1");
  Publish(topics::IngestTopic("eu"), {conflicting});
  // A record on the wrong region's feed.
  v1::Event wrong_region = conflicting;
  wrong_region.set_region("us");
  Publish(topics::IngestTopic("eu"), {wrong_region});

  std::vector<v1::DeadLetter> letters;
  ASSERT_TRUE(ar::testing::WaitFor([&] {
    letters = DeadLetters();
    return letters.size() >= 2;
  }));
  EXPECT_THAT(letters[0].reason(), HasSubstr("ALREADY_EXISTS"));
  EXPECT_THAT(letters[0].reason(), HasSubstr("different due_date"));
  EXPECT_THAT(letters[1].reason(), HasSubstr("region 'us' arrived on ar.ingest.eu"));
}

TEST(InvoicingServiceStartTest, AnswersUnavailableUntilStartedAndRestartsFromTheLog) {
  testing::TempDir dir;
  auto log = ar::testing::OpenEmbeddedTestLog(dir.Join("log"));
  ASSERT_TRUE(log.ok());
  auto store = store::NewMemoryStore();
  InvoicingServiceOptions options;
  options.topic_partitions = 1;
  options.ingest_regions = {};

  v1::LogPosition issued_at;
  {
    auto service = InvoicingService::Create(**log, *store, options);
    ASSERT_TRUE(service.ok());
    servicekit::GrpcServer server("127.0.0.1:0");
    server.AddService((*service)->grpc_service());
    ASSERT_TRUE(server.Start().ok());
    auto stub = v1::InvoicingService::NewStub(
        grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
    v1::CommandResult result;
    {
      grpc::ClientContext context;
      EXPECT_EQ(stub->IssueInvoice(&context, InvoiceRequest("INV-1"), &result).error_code(),
                grpc::StatusCode::UNAVAILABLE);
    }
    ASSERT_TRUE((*service)->Start().ok());
    {
      grpc::ClientContext context;
      ASSERT_TRUE(stub->IssueInvoice(&context, InvoiceRequest("INV-1"), &result).ok());
      issued_at = result.position();
    }
    server.Shutdown(absl::Seconds(1));
    (*service)->Stop();
  }
  // A new process: fresh memory store, same log. The read model is rebuilt before ready,
  // so the repeated command is recognised as a duplicate.
  auto fresh_store = store::NewMemoryStore();
  auto service = InvoicingService::Create(**log, *fresh_store, options);
  ASSERT_TRUE(service.ok());
  ASSERT_TRUE((*service)->Start().ok());
  servicekit::GrpcServer server("127.0.0.1:0");
  server.AddService((*service)->grpc_service());
  ASSERT_TRUE(server.Start().ok());
  auto stub = v1::InvoicingService::NewStub(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::CommandResult result;
  ASSERT_TRUE(stub->IssueInvoice(&context, InvoiceRequest("INV-1"), &result).ok());
  EXPECT_TRUE(result.duplicate());
  EXPECT_EQ(result.position().offset(), issued_at.offset());
  server.Shutdown(absl::Seconds(1));
  (*service)->Stop();
}

}  // namespace
}  // namespace ar::invoicing
