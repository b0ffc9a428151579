// The gateway over real channels: invoicing, payments, credit-risk, collections and the
// clock on one gRPC server (embedded log in a temp dir, memory store), the gateway on
// another with channels to it. Pass-through and mapped commands and queries with
// read-your-writes, error codes, deadlines, GetCustomer360, a clock advance that makes an
// invoice overdue, SubscribeOverdue with a cursor resume, health, shutdown of streams.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "ar/v1/gateway.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/memory_store.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/clock/clock_service.h"
#include "services/collections/collections_service.h"
#include "services/credit_risk/credit_risk_service.h"
#include "services/gateway/gateway_service.h"
#include "services/invoicing/invoicing_service.h"
#include "services/payments/payments_service.h"

namespace ar::gateway {
namespace {

using ::testing::HasSubstr;

v1::Date D(int y, int m, int d) { return protoconv::DateProto(y, m, d); }

v1::AccountRef Account(const std::string& account = "C-1") {
  v1::AccountRef ref;
  ref.set_tenant("acme");
  ref.set_region("eu");
  ref.set_subsidiary("acme-de");
  ref.set_account(account);
  return ref;
}

// 100.00 net + 19 % = 119.00 EUR, due 2027-02-14.
v1::IssueInvoiceRequest Invoice(const std::string& invoice_id) {
  v1::IssueInvoiceRequest request;
  *request.mutable_account() = Account();
  request.set_account_name("Customer 1");
  request.set_invoice_id(invoice_id);
  request.set_invoice_number("N-" + invoice_id);
  *request.mutable_issue_date() = D(2027, 1, 15);
  *request.mutable_due_date() = D(2027, 2, 14);
  request.set_currency("EUR");
  v1::InvoiceLineInput* line = request.add_lines();
  line->set_description("widgets");
  line->set_quantity_milli(1000);
  line->set_unit_price_minor(10000);
  line->set_tax_rate_bp(1900);
  return request;
}

v1::RecordPaymentRequest Payment(const std::string& payment_id, int64_t amount) {
  v1::RecordPaymentRequest request;
  *request.mutable_account() = Account();
  request.set_payment_id(payment_id);
  request.mutable_amount()->set_minor_units(amount);
  request.mutable_amount()->set_currency("EUR");
  request.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
  *request.mutable_value_date() = D(2027, 2, 1);
  return request;
}

class GatewayApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = ar::testing::OpenEmbeddedTestLog(dir_.Join("log"));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    store_ = store::NewMemoryStore();

    invoicing::InvoicingServiceOptions invoicing_options;
    invoicing_options.ingest_regions = {};
    invoicing_options.read_wait_timeout = absl::Milliseconds(300);
    invoicing_options.topic_partitions = 2;
    auto invoicing = invoicing::InvoicingService::Create(*log_, *store_, invoicing_options);
    ASSERT_TRUE(invoicing.ok()) << invoicing.status();
    invoicing_ = std::move(*invoicing);
    payments::PaymentsService::Options payments_options;
    payments_options.backend.topic_partitions = 2;
    payments_options.api.read_wait_timeout = absl::Milliseconds(300);
    auto payments = payments::PaymentsService::Create(*log_, *store_, payments_options);
    ASSERT_TRUE(payments.ok()) << payments.status();
    payments_ = std::move(*payments);
    credit::CreditRiskService::Options credit_options;
    credit_options.backend.topic_partitions = 2;
    credit_options.api.read_wait_timeout = absl::Milliseconds(300);
    auto credit_risk = credit::CreditRiskService::Create(*log_, *store_, credit_options);
    ASSERT_TRUE(credit_risk.ok()) << credit_risk.status();
    credit_risk_ = std::move(*credit_risk);
    collections::CollectionsService::Options collections_options;
    collections_options.backend.topic_partitions = 2;
    collections_options.api.read_wait_timeout = absl::Milliseconds(300);
    auto collections = collections::CollectionsService::Create(*log_, *store_, collections_options);
    ASSERT_TRUE(collections.ok()) << collections.status();
    collections_ = std::move(*collections);
    clock::ClockOptions clock_options;
    auto regions = clock::ParseRegionZones("eu=Europe/Berlin");
    ASSERT_TRUE(regions.ok()) << regions.status();
    clock_options.regions = *std::move(regions);
    clock_options.wall_clock = false;  // the tests close days through the gateway
    clock_options.topic_partitions = 2;
    clock_options.read_wait_timeout = absl::Milliseconds(300);
    auto clock = clock::ClockService::Create(*log_, *store_, clock_options);
    ASSERT_TRUE(clock.ok()) << clock.status();
    clock_ = std::move(*clock);
    services_server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    services_server_->AddService(invoicing_->grpc_service());
    services_server_->AddService(payments_->grpc_service());
    services_server_->AddService(credit_risk_->grpc_service());
    services_server_->AddService(collections_->grpc_service());
    services_server_->AddService(clock_->grpc_service());
    ASSERT_TRUE(services_server_->Start().ok());
    ASSERT_TRUE(invoicing_->Start().ok());
    ASSERT_TRUE(payments_->Start().ok());
    ASSERT_TRUE(credit_risk_->Start().ok());
    ASSERT_TRUE(collections_->Start().ok());
    ASSERT_TRUE(clock_->Start().ok());

    auto services =
        grpc::CreateChannel(services_server_->address(), grpc::InsecureChannelCredentials());
    GatewayChannels channels;
    channels.invoicing = services;
    channels.payments = services;
    channels.credit_risk = services;
    channels.collections = services;
    channels.clock = services;
    StartGateway(channels);
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(*producer);
  }

  void StartGateway(const GatewayChannels& channels) {
    StopGateway();
    GatewayService::Options options;
    options.channels = channels;
    options.backend.topic_partitions = 2;
    auto gateway = GatewayService::Create(*log_, options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = std::move(*gateway);
    gateway_server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    gateway_server_->AddService(gateway_->grpc_service());
    ASSERT_TRUE(gateway_server_->Start().ok());
    ASSERT_TRUE(gateway_->Start().ok());
    gateway_server_->SetServing(true);
    gateway_channel_ =
        grpc::CreateChannel(gateway_server_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Gateway::NewStub(gateway_channel_);
  }

  // One unary call of the gateway with a fresh client context.
  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (v1::Gateway::Stub::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                    const Request& request, Response* response) {
    grpc::ClientContext context;
    return (stub_.get()->*method)(&context, request, response);
  }

  void StopGateway() {
    if (gateway_) gateway_->Stop();
    if (gateway_server_) gateway_server_->Shutdown(absl::Seconds(1));
    gateway_server_.reset();
    gateway_.reset();
  }

  void TearDown() override {
    StopGateway();
    if (services_server_) services_server_->Shutdown(absl::Seconds(1));
    if (producer_) producer_->Stop(absl::Seconds(1));
    if (clock_) clock_->Stop();
    if (collections_) collections_->Stop();
    if (credit_risk_) credit_risk_->Stop();
    if (payments_) payments_->Stop();
    if (invoicing_) invoicing_->Stop();
  }

  // Publishes one overdue event as collections would.
  void PublishOverdue(const std::string& event_id, int days) {
    v1::Event event;
    event.set_event_id(event_id);
    event.set_tenant("acme");
    event.set_region("eu");
    event.set_subsidiary("acme-de");
    event.set_account("C-1");
    event.mutable_account_overdue()->set_days_past_due(days);
    v1::EventBatch batch;
    *batch.add_events() = event;
    ASSERT_TRUE(
        producer_->AppendAndWait(topics::kCollections, "C-1", batch.SerializeAsString()).ok());
  }

  ar::testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<invoicing::InvoicingService> invoicing_;
  std::unique_ptr<payments::PaymentsService> payments_;
  std::unique_ptr<credit::CreditRiskService> credit_risk_;
  std::unique_ptr<collections::CollectionsService> collections_;
  std::unique_ptr<clock::ClockService> clock_;
  std::unique_ptr<servicekit::GrpcServer> services_server_;
  std::unique_ptr<GatewayService> gateway_;
  std::unique_ptr<servicekit::GrpcServer> gateway_server_;
  std::shared_ptr<grpc::Channel> gateway_channel_;
  std::unique_ptr<v1::Gateway::Stub> stub_;
  std::unique_ptr<eventlog::Producer> producer_;
};

TEST_F(GatewayApiTest, CommandsPassThroughAndQueriesReadTheirWrites) {
  v1::CommandResult issued;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->IssueInvoice(&context, Invoice("inv-1"), &issued);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(issued.position().topic(), topics::kInvoicing);
  v1::CommandResult paid;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->RecordPayment(&context, Payment("pay-1", 5000), &paid);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(paid.position().topic(), topics::kPayments);

  // Read-your-writes: the payment's position, passed back, is waited for.
  v1::GetStatementRequest statement_request;
  statement_request.set_tenant("acme");
  statement_request.set_account("C-1");
  statement_request.set_currency("EUR");
  *statement_request.mutable_from() = D(2027, 1, 1);
  *statement_request.mutable_to() = D(2027, 12, 31);
  *statement_request.mutable_consistency()->mutable_min_position() = paid.position();
  v1::Statement statement;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->GetStatement(&context, statement_request, &statement);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(statement.closing_balance_minor(), 11900 - 5000);

  v1::GetCustomer360Request request;
  request.set_tenant("acme");
  request.set_account("C-1");
  *request.mutable_consistency()->mutable_min_position() = paid.position();
  v1::Customer360 customer;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->GetCustomer360(&context, request, &customer);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(customer.open_invoices_size(), 1);
  EXPECT_EQ(customer.open_invoices(0).invoice_id(), "inv-1");
  EXPECT_EQ(customer.open_invoices(0).open_balance().minor_units(), 11900 - 5000);
  ASSERT_EQ(customer.open_balance().amounts_size(), 1);
  EXPECT_EQ(customer.open_balance().amounts(0).minor_units(), 11900 - 5000);
  EXPECT_EQ(customer.unapplied_cash().amounts_size(), 0);
  EXPECT_FALSE(customer.recent_events().empty());
  // Credit-risk and collections answer too (or have not seen the account yet: no error).
  EXPECT_THAT(customer.section_errors(), ::testing::IsEmpty());
}

TEST_F(GatewayApiTest, ErrorsKeepTheirCodeAndNameTheService) {
  v1::Invoice invoice;
  v1::GetInvoiceRequest get;
  get.set_tenant("acme");
  get.set_invoice_id("missing");
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->GetInvoice(&context, get, &invoice);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("invoicing: "));
  }
  v1::CommandResult result;
  {
    v1::IssueInvoiceRequest bad = Invoice("inv-2");
    bad.set_currency("ZZZ");
    grpc::ClientContext context;
    EXPECT_EQ(stub_->IssueInvoice(&context, bad, &result).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  v1::Customer360 customer;
  {
    grpc::ClientContext context;
    v1::GetCustomer360Request no_tenant;
    no_tenant.set_account("C-1");
    EXPECT_EQ(stub_->GetCustomer360(&context, no_tenant, &customer).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    v1::GetCustomer360Request unread_position;
    unread_position.set_tenant("acme");
    unread_position.set_account("C-1");
    unread_position.mutable_consistency()->mutable_min_position()->set_topic(topics::kDeadLetter);
    grpc::Status status = stub_->GetCustomer360(&context, unread_position, &customer);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("min_position"));
  }
  // A position the read models never reach: the services' bounded wait answers.
  v1::LogPosition far;
  far.set_topic(topics::kInvoicing);
  far.set_offset(1'000'000);
  *get.mutable_consistency()->mutable_min_position() = far;
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->GetInvoice(&context, get, &invoice).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  // The caller's deadline travels downstream.
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(50)));
    EXPECT_EQ(stub_->GetInvoice(&context, get, &invoice).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  {
    grpc::ClientContext context;
    v1::GatewayCreditProfileRequest profile_request;
    profile_request.set_tenant("acme");
    profile_request.set_account("never-seen");
    v1::GatewayCreditProfile profile;
    grpc::Status status = stub_->GetCreditProfile(&context, profile_request, &profile);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("credit_risk: "));
  }
  // Customer360 of an account credit-risk and collections have not heard of: their
  // sections stay empty, and that is no error.
  {
    v1::GetCustomer360Request unknown;
    unknown.set_tenant("acme");
    unknown.set_account("never-seen");
    ASSERT_TRUE(Call(&v1::Gateway::Stub::GetCustomer360, unknown, &customer).ok());
    EXPECT_THAT(customer.section_errors(), ::testing::IsEmpty());
    EXPECT_FALSE(customer.has_credit_profile());
    EXPECT_FALSE(customer.has_collection_status());
    EXPECT_FALSE(customer.has_open_promise());
  }
}

TEST_F(GatewayApiTest, ServiceWithoutAddressIsUnimplemented) {
  GatewayChannels channels;
  channels.invoicing =
      grpc::CreateChannel(services_server_->address(), grpc::InsecureChannelCredentials());
  StartGateway(channels);
  v1::CommandResult result;
  grpc::ClientContext context;
  grpc::Status status = stub_->RecordPayment(&context, Payment("pay-1", 100), &result);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("payments_address"));

  // GetCustomer360 still answers the invoicing parts and names the missing one.
  v1::CommandResult issued;
  {
    grpc::ClientContext issue_context;
    ASSERT_TRUE(stub_->IssueInvoice(&issue_context, Invoice("inv-1"), &issued).ok());
  }
  v1::GetCustomer360Request request;
  request.set_tenant("acme");
  request.set_account("C-1");
  *request.mutable_consistency()->mutable_min_position() = issued.position();
  v1::Customer360 customer;
  grpc::ClientContext customer_context;
  ASSERT_TRUE(stub_->GetCustomer360(&customer_context, request, &customer).ok());
  EXPECT_EQ(customer.open_invoices_size(), 1);
  bool cash_missing = false;
  for (const auto& error : customer.section_errors()) {
    if (error.section() == "unapplied_cash") {
      cash_missing = true;
      EXPECT_EQ(error.code(), grpc::StatusCode::UNIMPLEMENTED);
    }
  }
  EXPECT_TRUE(cash_missing);

  for (const char* section : {"credit_profile", "collection_status", "open_promise"}) {
    EXPECT_THAT(customer.section_errors(), ::testing::Contains(::testing::Property(
                                               &v1::Customer360SectionError::section, section)));
  }
  v1::GatewayAdvanceBusinessDayResponse advanced;
  grpc::ClientContext clock_context;
  grpc::Status clock_status =
      stub_->AdvanceBusinessDay(&clock_context, v1::GatewayAdvanceBusinessDayRequest(), &advanced);
  EXPECT_EQ(clock_status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(clock_status.error_message(), HasSubstr("clock_address"));
}

// Issues inv-1 (due 2027-02-14) and closes days in "eu" through `close_through` by the
// gateway; returns the clock's answer.
v1::GatewayAdvanceBusinessDayResponse Advance(v1::Gateway::Stub& stub, const v1::Date& through) {
  v1::GatewayAdvanceBusinessDayRequest request;
  request.set_region("eu");
  *request.mutable_close_through() = through;
  v1::GatewayAdvanceBusinessDayResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub.AdvanceBusinessDay(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

TEST_F(GatewayApiTest, CreditRiskCommandsAndProfile) {
  v1::GatewaySetCreditLimitRequest limit;
  *limit.mutable_account() = Account();
  *limit.mutable_limit() = protoconv::MoneyProto(1'000'000, "EUR");
  limit.set_set_by("ann");
  limit.set_request_id("limit-1");
  v1::CommandResult set;
  {
    grpc::Status status = Call(&v1::Gateway::Stub::SetCreditLimit, limit, &set);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(set.position().topic(), topics::kCredit);
  v1::GatewayCreditProfileRequest profile_request;
  profile_request.set_tenant("acme");
  profile_request.set_account("C-1");
  *profile_request.mutable_consistency()->mutable_min_position() = set.position();
  v1::GatewayCreditProfile profile;
  {
    grpc::Status status = Call(&v1::Gateway::Stub::GetCreditProfile, profile_request, &profile);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(profile.tenant(), "acme");
  EXPECT_EQ(profile.account(), "C-1");
  EXPECT_EQ(profile.credit_limit().minor_units(), 1'000'000);
  EXPECT_EQ(profile.credit_limit().currency(), "EUR");

  // GetCustomer360 reads the same profile.
  v1::GetCustomer360Request customer_request;
  customer_request.set_tenant("acme");
  customer_request.set_account("C-1");
  *customer_request.mutable_consistency()->mutable_min_position() = set.position();
  v1::Customer360 customer;
  { ASSERT_TRUE(Call(&v1::Gateway::Stub::GetCustomer360, customer_request, &customer).ok()); }
  EXPECT_EQ(customer.credit_profile().credit_limit().minor_units(), 1'000'000);
  EXPECT_THAT(customer.section_errors(), ::testing::IsEmpty());

  v1::CommandResult result;
  {
    v1::GatewaySetCreditLimitRequest usd = limit;
    *usd.mutable_limit() = protoconv::MoneyProto(5, "USD");  // not the base currency
    usd.set_request_id("limit-2");
    grpc::Status status = Call(&v1::Gateway::Stub::SetCreditLimit, usd, &result);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("credit_risk: "));
  }
  v1::GatewaySetFxRateRequest fx;
  fx.set_tenant("acme");
  fx.set_from_currency("USD");
  fx.set_to_currency("EUR");
  fx.set_rate_nano(920'000'000);
  *fx.mutable_effective_date() = D(2027, 1, 1);
  {
    grpc::Status status = Call(&v1::Gateway::Stub::SetFxRate, fx, &result);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(result.position().topic(), topics::kCredit);
  }
  {
    fx.set_rate_nano(-1);
    grpc::Status status = Call(&v1::Gateway::Stub::SetFxRate, fx, &result);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("credit_risk: "));
  }
}

TEST_F(GatewayApiTest, ClockAdvanceMakesAnInvoiceOverdueInCollectionsQueries) {
  {
    v1::CommandResult issued;
    ASSERT_TRUE(Call(&v1::Gateway::Stub::IssueInvoice, Invoice("inv-1"), &issued).ok());
  }
  v1::GatewayAdvanceBusinessDayResponse advanced = Advance(*stub_, D(2027, 2, 20));
  EXPECT_EQ(advanced.result().position().topic(), topics::kClock);
  ASSERT_FALSE(advanced.closed_dates().empty());
  EXPECT_EQ(protoconv::DescribeDay(advanced.closed_dates(advanced.closed_dates_size() - 1)),
            "2027-02-20");
  EXPECT_EQ(protoconv::DescribeDay(advanced.business_date()), "2027-02-21");
  EXPECT_EQ(advanced.region(), "eu");
  EXPECT_EQ(protoconv::DescribeDay(advanced.closed_through()), "2027-02-20");
  // Closing the same day again closes nothing.
  EXPECT_TRUE(Advance(*stub_, D(2027, 2, 20)).closed_dates().empty());
  {
    v1::GetBusinessDatesRequest dates_request;
    *dates_request.mutable_consistency()->mutable_min_position() = advanced.result().position();
    v1::GetBusinessDatesResponse dates;
    grpc::Status status = Call(&v1::Gateway::Stub::GetBusinessDates, dates_request, &dates);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(dates.regions_size(), 1);
    EXPECT_EQ(dates.regions(0).time_zone(), "Europe/Berlin");
    EXPECT_EQ(protoconv::DescribeDay(dates.regions(0).business_date()), "2027-02-21");
  }

  // The day close is applied by collections after the clock's record; its overdue
  // decision follows on its own topic: wait for it with a deadline.
  v1::GatewayListOverdueAccountsRequest overdue_request;
  overdue_request.set_tenant("acme");
  overdue_request.add_regions("eu");
  *overdue_request.mutable_consistency()->mutable_min_position() = advanced.result().position();
  v1::GatewayListOverdueAccountsResponse overdue;
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
        overdue.Clear();
        grpc::Status status = stub_->ListOverdueAccounts(&context, overdue_request, &overdue);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return status.ok() && overdue.accounts_size() == 1;
      },
      absl::Seconds(20)));
  const v1::GatewayOverdueAccount& account = overdue.accounts(0);
  EXPECT_EQ(account.account().account(), "C-1");
  EXPECT_EQ(account.account().region(), "eu");
  EXPECT_EQ(account.account_name(), "Customer 1");
  EXPECT_EQ(account.days_past_due(), 7);  // due 2027-02-14, business date 2027-02-21
  EXPECT_EQ(account.aging_bucket(), "1-30");
  ASSERT_EQ(account.overdue().amounts_size(), 1);
  EXPECT_EQ(account.overdue().amounts(0).minor_units(), 11900);
  {
    v1::GatewayListOverdueAccountsRequest two_regions = overdue_request;
    two_regions.add_regions("us");
    v1::GatewayListOverdueAccountsResponse unused;
    grpc::Status status = Call(&v1::Gateway::Stub::ListOverdueAccounts, two_regions, &unused);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }

  v1::GatewayAgingReportRequest aging_request;
  aging_request.set_tenant("acme");
  aging_request.add_regions("eu");
  *aging_request.mutable_consistency()->mutable_min_position() = advanced.result().position();
  v1::GatewayAgingReport aging;
  {
    grpc::Status status = Call(&v1::Gateway::Stub::GetAgingReport, aging_request, &aging);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(aging.rows_size(), 1);
  EXPECT_EQ(aging.rows(0).region(), "eu");
  EXPECT_EQ(aging.rows(0).currency(), "EUR");
  EXPECT_EQ(aging.rows(0).total().minor_units(), 11900);
  bool in_first_bucket = false;
  for (const v1::GatewayAgingBucket& bucket : aging.rows(0).buckets()) {
    if (bucket.label() == "1-30") in_first_bucket = bucket.amount().minor_units() == 11900;
  }
  EXPECT_TRUE(in_first_bucket);
  // As of the current business date: from the aggregates; as of an earlier one: replayed
  // from the log (not yet due on 02-10; not yet issued at the end of 2026).
  *aging_request.mutable_as_of() = D(2027, 2, 21);
  {
    grpc::Status status = Call(&v1::Gateway::Stub::GetAgingReport, aging_request, &aging);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(aging.rows_size(), 1);
  }
  *aging_request.mutable_as_of() = D(2027, 2, 10);
  {
    grpc::Status status = Call(&v1::Gateway::Stub::GetAgingReport, aging_request, &aging);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(aging.rows_size(), 1);
    EXPECT_TRUE(aging.replayed());
    EXPECT_EQ(aging.rows(0).total().minor_units(), 11900);
    for (const v1::GatewayAgingBucket& bucket : aging.rows(0).buckets()) {
      if (bucket.label() == "1-30") {
        EXPECT_EQ(bucket.amount().minor_units(), 0);
      }
    }
  }
  *aging_request.mutable_as_of() = D(2026, 12, 31);
  {
    grpc::Status status = Call(&v1::Gateway::Stub::GetAgingReport, aging_request, &aging);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(aging.rows_size(), 0);
  }

  // KPIs: January has the sale, February (the business date's month) the receivables:
  // 119.00 open, all of it overdue, nothing collected.
  v1::GatewayKpisRequest kpis_request;
  kpis_request.set_tenant("acme");
  *kpis_request.mutable_consistency()->mutable_min_position() = advanced.result().position();
  v1::GatewayKpis kpis;
  {
    grpc::Status status = Call(&v1::Gateway::Stub::GetKpis, kpis_request, &kpis);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(kpis.rows_size(), 2);
  const v1::GatewayKpiRow& january = kpis.rows(0);
  EXPECT_EQ(january.region(), "eu");
  EXPECT_EQ(protoconv::DescribeDay(january.month()), "2027-01-01");
  EXPECT_EQ(january.currency(), "EUR");
  EXPECT_EQ(january.sales().minor_units(), 11900);
  EXPECT_FALSE(january.receivables_known());
  EXPECT_FALSE(january.has_open_receivables());
  const v1::GatewayKpiRow& february = kpis.rows(1);
  EXPECT_EQ(protoconv::DescribeDay(february.month()), "2027-02-01");
  EXPECT_TRUE(february.receivables_known());
  EXPECT_EQ(february.sales().minor_units(), 0);
  EXPECT_EQ(february.open_receivables().minor_units(), 11900);
  EXPECT_EQ(february.overdue_receivables().minor_units(), 11900);
  EXPECT_EQ(february.overdue_ratio_bp(), 10000);
  EXPECT_EQ(february.cei_bp(), 0);  // nothing of the 119.00 collectible was collected
  {
    v1::GatewayKpisRequest from_february = kpis_request;
    *from_february.mutable_from_month() = D(2027, 2, 1);
    ASSERT_TRUE(Call(&v1::Gateway::Stub::GetKpis, from_february, &kpis).ok());
    ASSERT_EQ(kpis.rows_size(), 1);
    EXPECT_EQ(protoconv::DescribeDay(kpis.rows(0).month()), "2027-02-01");
    v1::GatewayKpisRequest other_regions = kpis_request;
    other_regions.add_regions("us");
    other_regions.add_regions("apac");
    ASSERT_TRUE(Call(&v1::Gateway::Stub::GetKpis, other_regions, &kpis).ok());
    EXPECT_EQ(kpis.rows_size(), 0);
    v1::GatewayKpisRequest backwards = from_february;
    *backwards.mutable_to_month() = D(2027, 1, 1);
    grpc::Status status = Call(&v1::Gateway::Stub::GetKpis, backwards, &kpis);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("collections: from_month is after to_month"));
  }

  // A promise to pay, then Customer360's collections sections.
  v1::GatewayRecordPromiseRequest promise;
  *promise.mutable_account() = Account();
  promise.set_promise_id("promise-1");
  *promise.mutable_amount() = protoconv::MoneyProto(5000, "EUR");
  *promise.mutable_promised_date() = D(2027, 3, 1);
  promise.set_recorded_by("bob");
  v1::CommandResult promised;
  {
    grpc::Status status = Call(&v1::Gateway::Stub::RecordPromiseToPay, promise, &promised);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(promised.position().topic(), topics::kCollections);
  {
    v1::GatewayRecordPromiseRequest late = promise;
    late.set_promise_id("promise-2");
    *late.mutable_promised_date() = D(2027, 2, 1);  // before the business date
    v1::CommandResult unused;
    grpc::Status status = Call(&v1::Gateway::Stub::RecordPromiseToPay, late, &unused);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr("collections: "));
  }
  v1::GetCustomer360Request customer_request;
  customer_request.set_tenant("acme");
  customer_request.set_account("C-1");
  *customer_request.mutable_consistency()->mutable_min_position() = promised.position();
  v1::Customer360 customer;
  { ASSERT_TRUE(Call(&v1::Gateway::Stub::GetCustomer360, customer_request, &customer).ok()); }
  EXPECT_THAT(customer.section_errors(), ::testing::IsEmpty());
  EXPECT_EQ(customer.open_promise().promise_id(), "promise-1");
  EXPECT_EQ(customer.open_promise().amount().minor_units(), 5000);
  EXPECT_EQ(customer.open_promise().state(), "open");
  EXPECT_EQ(customer.collection_status().days_past_due(), 7);
  EXPECT_EQ(customer.collection_status().aging_bucket(), "1-30");

  // Write-off: a partial amount is refused by the gateway, an unknown invoice by
  // collections, the whole invoice is written off.
  v1::GatewayWriteOffRequest write_off;
  write_off.set_tenant("acme");
  write_off.set_account("C-1");
  write_off.set_invoice_id("inv-1");
  write_off.set_reason("insolvent");
  write_off.set_approver("cfo");
  v1::CommandResult written;
  {
    v1::GatewayWriteOffRequest partial = write_off;
    *partial.mutable_amount() = protoconv::MoneyProto(100, "EUR");
    EXPECT_EQ(Call(&v1::Gateway::Stub::WriteOffDebt, partial, &written).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  {
    v1::GatewayWriteOffRequest unknown = write_off;
    unknown.set_invoice_id("inv-404");
    grpc::Status status = Call(&v1::Gateway::Stub::WriteOffDebt, unknown, &written);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("collections: "));
  }
  {
    grpc::Status status = Call(&v1::Gateway::Stub::WriteOffDebt, write_off, &written);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(written.position().topic(), topics::kCollections);
  }
}

TEST_F(GatewayApiTest, HealthIsServing) {
  auto health = grpc::health::v1::Health::NewStub(gateway_channel_);
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&context, request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(GatewayApiTest, SubscribeOverdueResumesByCursorOverGrpc) {
  std::string cursor;
  std::vector<std::string> received;
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));  // never hang
    v1::SubscribeOverdueRequest request;
    request.mutable_filter()->set_tenant("acme");
    auto reader = stub_->SubscribeOverdue(&context, request);
    v1::OverdueUpdate update;
    ASSERT_TRUE(reader->Read(&update));  // the stream's start
    EXPECT_FALSE(update.has_event());
    cursor = update.cursor();
    PublishOverdue("o1", 1);
    PublishOverdue("o2", 2);
    for (int i = 0; i < 2 && reader->Read(&update); ++i) {
      received.push_back(update.event().event_id());
      cursor = update.cursor();
    }
    context.TryCancel();
    reader->Finish();
  }
  EXPECT_THAT(received, ::testing::ElementsAre("o1", "o2"));
  ASSERT_TRUE(ar::testing::WaitFor([&] { return gateway_->hub().subscriber_count() == 0; },
                                   absl::Seconds(10)));
  PublishOverdue("o3", 3);  // while nobody listens
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));  // never hang
    v1::SubscribeOverdueRequest request;
    request.mutable_filter()->set_tenant("acme");
    request.set_cursor(cursor);
    auto reader = stub_->SubscribeOverdue(&context, request);
    v1::OverdueUpdate update;
    ASSERT_TRUE(reader->Read(&update));
    EXPECT_FALSE(update.has_event());
    PublishOverdue("o4", 4);
    std::vector<std::string> resumed;
    for (int i = 0; i < 2 && reader->Read(&update); ++i) {
      resumed.push_back(update.event().event_id());
    }
    EXPECT_THAT(resumed, ::testing::ElementsAre("o3", "o4"));
    // Shutting the gateway down ends the stream with UNAVAILABLE and the resume cursor.
    gateway_->Stop();
    EXPECT_FALSE(reader->Read(&update));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(), HasSubstr("resume with cursor"));
    auto trailer = context.GetServerTrailingMetadata().find(kResumeCursorTrailer);
    ASSERT_NE(trailer, context.GetServerTrailingMetadata().end());
    EXPECT_EQ(std::string(trailer->second.data(), trailer->second.size()), update.cursor());
  }
  {
    grpc::ClientContext context;
    v1::SubscribeOverdueRequest request;
    request.set_cursor("garbage");
    auto reader = stub_->SubscribeOverdue(&context, request);
    v1::OverdueUpdate update;
    EXPECT_FALSE(reader->Read(&update));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

}  // namespace
}  // namespace ar::gateway
