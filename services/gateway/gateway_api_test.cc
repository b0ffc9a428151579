// The gateway over real channels: invoicing and payments on one gRPC server (embedded log
// in a temp dir, memory store), the gateway on another with channels to it. Pass-through
// commands and queries with read-your-writes, error codes, deadlines, GetCustomer360,
// SubscribeOverdue with a cursor resume, health, shutdown of streams.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "ar/v1/gateway.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "libs/core/topics.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/protoconv/protoconv.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/memory_store.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
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
    eventlog::EmbeddedLogOptions log_options;
    log_options.data_dir = dir_.Join("log");
    log_options.create_if_missing = true;
    auto log = eventlog::OpenEmbeddedLog(log_options);
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
    services_server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    services_server_->AddService(invoicing_->grpc_service());
    services_server_->AddService(payments_->grpc_service());
    ASSERT_TRUE(services_server_->Start().ok());
    ASSERT_TRUE(invoicing_->Start().ok());
    ASSERT_TRUE(payments_->Start().ok());

    auto services =
        grpc::CreateChannel(services_server_->address(), grpc::InsecureChannelCredentials());
    GatewayChannels channels;
    channels.invoicing = services;
    channels.payments = services;
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
  // The parts of services the gateway does not reach yet say so.
  std::vector<std::string> missing;
  for (const auto& error : customer.section_errors()) {
    EXPECT_EQ(error.code(), grpc::StatusCode::UNIMPLEMENTED);
    missing.push_back(error.section());
  }
  EXPECT_THAT(missing, ::testing::UnorderedElementsAre("credit_profile", "collection_status",
                                                       "open_promise"));
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
    v1::GetCustomer360Request clock_position;
    clock_position.set_tenant("acme");
    clock_position.set_account("C-1");
    clock_position.mutable_consistency()->mutable_min_position()->set_topic(topics::kClock);
    grpc::Status status = stub_->GetCustomer360(&context, clock_position, &customer);
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
    v1::GatewayCreditProfile profile;
    grpc::Status status = stub_->GetCreditProfile(&context, profile_request, &profile);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    EXPECT_THAT(status.error_message(), HasSubstr("credit_risk"));
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
