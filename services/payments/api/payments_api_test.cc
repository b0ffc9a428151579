// The payments API through a real gRPC channel: embedded log in a temp dir, memory store,
// the service component with its projection and reactor, a server on a free port.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/topics.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/memory_store.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/payments/domain/test_events.h"
#include "services/payments/payments_service.h"

namespace ar::payments {
namespace {

using namespace ar::payments::testing;  // NOLINT: test builders
using ::testing::HasSubstr;

class PaymentsApiTest : public ::testing::Test {
 protected:
  void SetUp() override { StartService(Settings{}); }

  void StartService(Settings settings) {
    auto log = ar::testing::OpenEmbeddedTestLog(dir_.Join("log"));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    store_ = store::NewMemoryStore();
    PaymentsService::Options options;
    options.settings = settings;
    options.backend.topic_partitions = 2;
    options.api.read_wait_timeout = absl::Milliseconds(300);
    auto service = PaymentsService::Create(*log_, *store_, options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
    ASSERT_TRUE(service_->Start().ok());
    ASSERT_TRUE(service_->ready());
    server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    server_->AddService(service_->grpc_service());
    ASSERT_TRUE(server_->Start().ok());
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::PaymentsService::NewStub(channel_);
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(*producer);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    if (producer_) producer_->Stop(absl::Seconds(1));
    if (service_) service_->Stop();
  }

  // Publishes invoicing events (as the invoicing service would) in one record.
  v1::LogPosition PublishInvoicing(std::vector<v1::Event> events, const std::string& command_id) {
    v1::EventBatch batch;
    batch.set_command_id(command_id);
    for (v1::Event& e : events) *batch.add_events() = std::move(e);
    auto position =
        producer_->AppendAndWait(topics::kInvoicing, "acct-1", batch.SerializeAsString());
    EXPECT_TRUE(position.ok()) << position.status();
    return command::ToProto(*position);
  }

  grpc::Status Record(const v1::RecordPaymentRequest& request, v1::CommandResult* result) {
    grpc::ClientContext context;
    return stub_->RecordPayment(&context, request, result);
  }
  grpc::Status Reverse(const std::string& payment_id, v1::CommandResult* result,
                       const std::string& reason = "bounced") {
    v1::ReversePaymentRequest request;
    request.set_tenant("t1");
    request.set_payment_id(payment_id);
    request.set_reason(reason);
    *request.mutable_reversal_date() = D(2027, 5, 1);
    grpc::ClientContext context;
    return stub_->ReversePayment(&context, request, result);
  }
  grpc::Status Get(const std::string& payment_id, v1::Payment* payment,
                   const v1::LogPosition* at = nullptr) {
    v1::GetPaymentRequest request;
    request.set_tenant("t1");
    request.set_payment_id(payment_id);
    if (at) *request.mutable_consistency()->mutable_min_position() = *at;
    grpc::ClientContext context;
    return stub_->GetPayment(&context, request, payment);
  }
  v1::UnappliedCash Unapplied(const v1::LogPosition* at = nullptr) {
    v1::GetUnappliedCashRequest request;
    request.set_tenant("t1");
    request.set_account("acct-1");
    if (at) *request.mutable_consistency()->mutable_min_position() = *at;
    grpc::ClientContext context;
    v1::UnappliedCash cash;
    EXPECT_TRUE(stub_->GetUnappliedCash(&context, request, &cash).ok());
    return cash;
  }

  static v1::RecordPaymentRequest Payment(const std::string& id, int64_t amount) {
    v1::RecordPaymentRequest request;
    *request.mutable_account() = Account("acct-1");
    request.set_payment_id(id);
    *request.mutable_amount() = Eur(amount);
    request.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
    *request.mutable_value_date() = D(2027, 4, 1);
    request.set_reference("ref " + id);
    return request;
  }
  static v1::RecordPaymentRequest WithAllocation(v1::RecordPaymentRequest request,
                                                 const std::string& invoice_id, int64_t amount) {
    v1::PaymentAllocationLine* line = request.add_allocations();
    line->set_invoice_id(invoice_id);
    *line->mutable_amount() = Eur(amount);
    return request;
  }

  ar::testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<PaymentsService> service_;
  std::unique_ptr<servicekit::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PaymentsService::Stub> stub_;
  std::unique_ptr<eventlog::Producer> producer_;
};

TEST_F(PaymentsApiTest, RecordPaymentAllocatesAndReadsBackItsOwnWrite) {
  v1::LogPosition issued =
      PublishInvoicing({InvoiceIssued("inv-1", 1000, D(2027, 1, 1), D(2027, 2, 1))}, "issue:inv-1");
  ASSERT_TRUE(
      service_->projection().WaitForPosition(command::FromProto(issued), absl::Seconds(10)));
  v1::CommandResult result;
  ASSERT_TRUE(Record(Payment("p1", 1500), &result).ok());
  EXPECT_EQ(result.position().topic(), topics::kPayments);
  EXPECT_EQ(result.event_ids_size(), 2);  // PaymentReceived + PaymentAllocated
  EXPECT_FALSE(result.duplicate());

  v1::Payment payment;
  ASSERT_TRUE(Get("p1", &payment, &result.position()).ok());
  EXPECT_EQ(payment.allocated().minor_units(), 1000);
  EXPECT_EQ(payment.unapplied().minor_units(), 500);
  ASSERT_EQ(payment.allocations_size(), 1);
  EXPECT_EQ(payment.allocations(0).invoice_id(), "inv-1");
  EXPECT_TRUE(payment.allocations(0).automatic());

  v1::UnappliedCash cash = Unapplied(&result.position());
  ASSERT_EQ(cash.unapplied().amounts_size(), 1);
  EXPECT_EQ(cash.unapplied().amounts(0).minor_units(), 500);
  ASSERT_EQ(cash.payments_size(), 1);
  EXPECT_EQ(cash.payments(0).payment_id(), "p1");
}

TEST_F(PaymentsApiTest, RepeatIsIdempotentAndConflictIsAlreadyExists) {
  v1::CommandResult first, again, conflict;
  ASSERT_TRUE(Record(Payment("p1", 100), &first).ok());
  ASSERT_TRUE(Record(Payment("p1", 100), &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.position().offset(), first.position().offset());
  EXPECT_THAT(again.event_ids(), ::testing::ElementsAreArray(first.event_ids()));
  grpc::Status status = Record(Payment("p1", 101), &conflict);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("amount"));
}

// Many calls in flight at once through the callback API: the same payment id from several
// clients (some naming another account) is recorded once; different payments of one
// account each see the ones before them.
TEST_F(PaymentsApiTest, ConcurrentCallsRecordEachPaymentOnce) {
  constexpr int kSameId = 12;
  constexpr int kDistinct = 12;
  struct Call {
    grpc::ClientContext context;
    v1::RecordPaymentRequest request;
    v1::CommandResult result;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kSameId; ++i) {
    calls.push_back(std::make_unique<Call>());
    calls.back()->request = Payment("p-same", 100);
    if (i % 3 == 2) *calls.back()->request.mutable_account() = Account("acct-2");
  }
  for (int i = 0; i < kDistinct; ++i) {
    calls.push_back(std::make_unique<Call>());
    calls.back()->request = Payment("p-" + std::to_string(i), 10 + i);
  }
  std::atomic<int> finished{0};
  for (auto& call : calls) {
    stub_->async()->RecordPayment(&call->context, &call->request, &call->result,
                                  [&finished, c = call.get()](grpc::Status status) {
                                    c->status = std::move(status);
                                    ++finished;
                                  });
  }
  ASSERT_TRUE(ar::testing::WaitFor([&] { return finished.load() == kSameId + kDistinct; }));
  int recorded = 0, repeats = 0, conflicts = 0;
  std::optional<v1::LogPosition> position;
  for (int i = 0; i < kSameId; ++i) {
    const Call& call = *calls[i];
    if (call.status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      ++conflicts;
      continue;
    }
    ASSERT_TRUE(call.status.ok()) << call.status.error_message();
    if (call.result.duplicate()) {
      ++repeats;
    } else {
      ++recorded;
    }
    if (position) {
      EXPECT_EQ(call.result.position().SerializeAsString(), position->SerializeAsString());
    } else {
      position = call.result.position();
    }
  }
  EXPECT_EQ(recorded, 1);
  // Whichever account won, every request naming the other one conflicts.
  EXPECT_TRUE(conflicts == kSameId / 3 || conflicts == kSameId - kSameId / 3) << conflicts;
  EXPECT_EQ(recorded + repeats + conflicts, kSameId);
  int64_t distinct_total = 0;
  for (int i = kSameId; i < kSameId + kDistinct; ++i) {
    EXPECT_TRUE(calls[i]->status.ok()) << calls[i]->status.error_message();
    EXPECT_FALSE(calls[i]->result.duplicate());
    distinct_total += calls[i]->request.amount().minor_units();
  }
  int64_t records = 0;
  for (int32_t p = 0; p < 2; ++p) records += log_->EndOffset({topics::kPayments, p}).value_or(0);
  EXPECT_EQ(records, 1 + kDistinct);
  // Nothing lost on acct-1: its unapplied cash is every payment recorded for it.
  v1::UnappliedCash cash = Unapplied(&calls.back()->result.position());
  const int64_t same_on_acct_1 = conflicts == kSameId / 3 ? 100 : 0;
  ASSERT_EQ(cash.unapplied().amounts_size(), 1);
  EXPECT_EQ(cash.unapplied().amounts(0).minor_units(), distinct_total + same_on_acct_1);
}

TEST_F(PaymentsApiTest, ErrorCodes) {
  v1::CommandResult result;
  EXPECT_EQ(Record(Payment("p1", 0), &result).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto unknown_currency = Payment("p1", 10);
  unknown_currency.mutable_amount()->set_currency("ZZZ");
  EXPECT_EQ(Record(unknown_currency, &result).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto no_tenant = Payment("p1", 10);
  no_tenant.mutable_account()->clear_tenant();
  EXPECT_EQ(Record(no_tenant, &result).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::LogPosition issued =
      PublishInvoicing({InvoiceIssued("inv-1", 100, D(2027, 1, 1), D(2027, 2, 1))}, "issue:inv-1");
  ASSERT_TRUE(
      service_->projection().WaitForPosition(command::FromProto(issued), absl::Seconds(10)));
  grpc::Status over = Record(WithAllocation(Payment("p2", 500), "inv-1", 200), &result);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(over.error_message(), HasSubstr("over-allocation"));

  EXPECT_EQ(Reverse("missing", &result).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Reverse("p2", &result, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(Record(Payment("p3", 50), &result).ok());
  ASSERT_TRUE(Reverse("p3", &result).ok());
  EXPECT_EQ(Reverse("p3", &result).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::Payment payment;
  EXPECT_EQ(Get("nope", &payment).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get("", &payment).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::LogPosition far;
  far.set_topic(topics::kPayments);
  far.set_offset(1'000'000);
  EXPECT_EQ(Get("p3", &payment, &far).error_code(), grpc::StatusCode::UNAVAILABLE);
  v1::LogPosition foreign;
  foreign.set_topic("ar.credit.events");
  EXPECT_EQ(Get("p3", &payment, &foreign).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::GetStatementRequest statement_request;
  statement_request.set_tenant("t1");
  statement_request.set_account("acct-1");
  statement_request.set_currency("EUR");
  *statement_request.mutable_from() = D(2027, 3, 1);
  *statement_request.mutable_to() = D(2027, 1, 1);
  v1::Statement statement;
  grpc::ClientContext c1;
  EXPECT_EQ(stub_->GetStatement(&c1, statement_request, &statement).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  statement_request.set_currency("eur");
  *statement_request.mutable_to() = D(2027, 4, 1);
  grpc::ClientContext c2;
  EXPECT_EQ(stub_->GetStatement(&c2, statement_request, &statement).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListPaymentsRequest list_request;
  list_request.set_tenant("t1");
  list_request.set_account("acct-1");
  list_request.set_page_token("!!not-a-token");
  v1::ListPaymentsResponse list;
  grpc::ClientContext c3;
  EXPECT_EQ(stub_->ListPayments(&c3, list_request, &list).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PaymentsApiTest, PaymentNamingAnInvoiceIssuedAfterwardsIsAppliedExactlyOnce) {
  v1::CommandResult result;
  ASSERT_TRUE(Record(WithAllocation(Payment("p1", 500), "inv-later", 300), &result).ok());
  v1::Payment payment;
  ASSERT_TRUE(Get("p1", &payment, &result.position()).ok());
  EXPECT_EQ(payment.held().minor_units(), 300);
  EXPECT_EQ(payment.unapplied().minor_units(), 200);
  ASSERT_EQ(payment.allocations_size(), 1);
  EXPECT_TRUE(payment.allocations(0).held());

  v1::Event issued = InvoiceIssued("inv-later", 1000, D(2027, 4, 2), D(2027, 5, 2));
  PublishInvoicing({issued}, "issue:inv-later");
  // Held 300 applied, then (setting on) the unapplied 200 as well.
  ASSERT_TRUE(ar::testing::WaitFor([&] {
    v1::Payment p;
    return Get("p1", &p).ok() && p.allocated().minor_units() == 500;
  }));
  ASSERT_TRUE(Get("p1", &payment).ok());
  EXPECT_EQ(payment.held().minor_units(), 0);
  EXPECT_EQ(payment.unapplied().minor_units(), 0);
  int64_t to_invoice = 0;
  int explicit_allocations = 0;
  for (const v1::Allocation& a : payment.allocations()) {
    EXPECT_FALSE(a.held());
    to_invoice += a.amount().minor_units();
    if (!a.automatic()) ++explicit_allocations;
  }
  EXPECT_EQ(to_invoice, 500);
  EXPECT_EQ(explicit_allocations, 1);

  // The same InvoiceIssued delivered again (a duplicate feed): nothing is applied twice.
  PublishInvoicing({issued}, "issue:inv-later");
  v1::LogPosition marker = PublishInvoicing(
      {InvoiceIssued("inv-other", 10, D(2027, 4, 3), D(2027, 5, 3))}, "issue:inv-other");
  ASSERT_TRUE(
      service_->projection().WaitForPosition(command::FromProto(marker), absl::Seconds(10)));
  ASSERT_TRUE(Get("p1", &payment).ok());
  EXPECT_EQ(payment.allocated().minor_units(), 500);
  EXPECT_EQ(payment.allocations_size(), 2);
  EXPECT_EQ(service_->projection().stats().dead_lettered, 0);
}

TEST_F(PaymentsApiTest, ReversalReopensAndStatementReconciles) {
  v1::LogPosition issued =
      PublishInvoicing({InvoiceIssued("inv-1", 1000, D(2027, 1, 10), D(2027, 2, 10)),
                        InvoiceIssued("inv-2", 400, D(2027, 2, 1), D(2027, 3, 1))},
                       "issue:two");
  ASSERT_TRUE(
      service_->projection().WaitForPosition(command::FromProto(issued), absl::Seconds(10)));
  v1::CommandResult paid, reversed;
  ASSERT_TRUE(Record(Payment("p1", 1200), &paid).ok());
  ASSERT_TRUE(Reverse("p1", &reversed, "chargeback").ok());
  v1::Payment payment;
  ASSERT_TRUE(Get("p1", &payment, &reversed.position()).ok());
  EXPECT_TRUE(payment.reversed());
  EXPECT_EQ(payment.reversal_reason(), "chargeback");
  for (const v1::Allocation& a : payment.allocations()) EXPECT_TRUE(a.reversed());

  v1::GetStatementRequest request;
  request.set_tenant("t1");
  request.set_account("acct-1");
  request.set_currency("EUR");
  *request.mutable_from() = D(2027, 2, 1);
  *request.mutable_to() = D(2027, 12, 31);
  *request.mutable_consistency()->mutable_min_position() = reversed.position();
  v1::Statement statement;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->GetStatement(&context, request, &statement).ok());
  EXPECT_EQ(statement.opening_balance_minor(), 1000);
  int64_t debits = 0, credits = 0;
  std::vector<std::string> kinds;
  for (const v1::StatementLine& line : statement.lines()) {
    debits += line.debit_minor();
    credits += line.credit_minor();
    kinds.push_back(line.kind());
  }
  EXPECT_THAT(kinds,
              ::testing::ElementsAre("invoice", "payment", "allocation", "allocation", "reversal"));
  EXPECT_EQ(statement.closing_balance_minor(),
            statement.opening_balance_minor() + debits - credits);
  EXPECT_EQ(statement.closing_balance_minor(), 1400);
  EXPECT_EQ(statement.unapplied_cash_minor(), 0);
}

TEST_F(PaymentsApiTest, ListPaymentsPagesWithAnOpaqueToken) {
  v1::CommandResult result;
  for (int i = 0; i < 7; ++i) {
    auto request = Payment("p" + std::to_string(i), 10 + i);
    *request.mutable_value_date() = D(2027, 4, 1 + i % 3);  // ties on the value date
    ASSERT_TRUE(Record(request, &result).ok());
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListPaymentsRequest request;
    request.set_tenant("t1");
    request.set_account("acct-1");
    request.set_page_size(3);
    request.set_page_token(token);
    *request.mutable_consistency()->mutable_min_position() = result.position();
    v1::ListPaymentsResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListPayments(&context, request, &response).ok());
    for (const v1::Payment& p : response.payments()) seen.push_back(p.payment_id());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ::testing::ElementsAre("p0", "p3", "p6", "p1", "p4", "p2", "p5"));
}

class PaymentsApiWithoutAutoApplyTest : public PaymentsApiTest {
 protected:
  void SetUp() override { StartService(Settings{.auto_apply_unapplied_cash = false}); }
};

TEST_F(PaymentsApiWithoutAutoApplyTest, UnappliedCashStaysWhenTheSettingIsOff) {
  v1::CommandResult result;
  ASSERT_TRUE(Record(Payment("p1", 500), &result).ok());
  ASSERT_TRUE(Record(WithAllocation(Payment("p2", 100), "inv-2", 100), &result).ok());
  PublishInvoicing({InvoiceIssued("inv-1", 300, D(2027, 4, 2), D(2027, 5, 2))}, "issue:inv-1");
  PublishInvoicing({InvoiceIssued("inv-2", 300, D(2027, 4, 2), D(2027, 5, 2))}, "issue:inv-2");
  // The reactor handles one account's invoices in order: once p2's hold on inv-2 is
  // applied, it has already decided about inv-1.
  ASSERT_TRUE(ar::testing::WaitFor([&] {
    v1::Payment p;
    return Get("p2", &p).ok() && p.allocated().minor_units() == 100;
  }));
  v1::Payment payment;
  ASSERT_TRUE(Get("p1", &payment).ok());
  EXPECT_EQ(payment.unapplied().minor_units(), 500);
  EXPECT_EQ(payment.allocated().minor_units(), 0);
}

}  // namespace
}  // namespace ar::payments
