// GetCustomer360 through the suite's gateway, whose reads call the hosted services in
// process (in_process_queries.h): read-your-writes waits for a position without holding a
// gRPC callback thread, a position never reached answers UNAVAILABLE after the read wait,
// and the answer is the one the gRPC path gives (gateway_api_test covers that path).

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/suite/suite.h"

namespace ar::suite {
namespace {

constexpr absl::Duration kReadWait = absl::Milliseconds(300);

// 100.00 net + 19 % = 119.00 EUR, due 2027-02-14, for account C-1 of tenant acme.
v1::IssueInvoiceRequest Invoice(const std::string& invoice_id) {
  v1::IssueInvoiceRequest request;
  v1::AccountRef* account = request.mutable_account();
  account->set_tenant("acme");
  account->set_region("eu");
  account->set_subsidiary("acme-de");
  account->set_account("C-1");
  request.set_account_name("Customer 1");
  request.set_invoice_id(invoice_id);
  request.set_invoice_number("N-" + invoice_id);
  *request.mutable_issue_date() = protoconv::DateProto(2027, 1, 15);
  *request.mutable_due_date() = protoconv::DateProto(2027, 2, 14);
  request.set_currency("EUR");
  v1::InvoiceLineInput* line = request.add_lines();
  line->set_description("widgets");
  line->set_quantity_milli(1000);
  line->set_unit_price_minor(10000);
  line->set_tax_rate_bp(1900);
  return request;
}

v1::GetCustomer360Request Customer360(const v1::LogPosition* min_position) {
  v1::GetCustomer360Request request;
  request.set_tenant("acme");
  request.set_account("C-1");
  if (min_position != nullptr) {
    *request.mutable_consistency()->mutable_min_position() = *min_position;
  }
  return request;
}

class InProcessQueriesTest : public ::testing::Test {
 protected:
  explicit InProcessQueriesTest(absl::Duration read_wait = kReadWait) : read_wait_(read_wait) {}

  void SetUp() override {
    SuiteOptions options;
    options.backend.data_dir = dir_.Join("data");
    options.backend.topic_partitions = 2;
    options.listen_address = "127.0.0.1:0";
    options.clock.wall_clock = false;
    options.invoicing.ingest_regions = {};
    options.invoicing.read_wait_timeout = read_wait_;
    options.payments.api.read_wait_timeout = read_wait_;
    options.credit_risk.api.read_wait_timeout = read_wait_;
    options.collections.api.read_wait_timeout = read_wait_;
    auto suite = Suite::Open(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = std::move(*suite);
    ASSERT_TRUE(suite_->Start().ok());
    stub_ = v1::Gateway::NewStub(
        grpc::CreateChannel(suite_->address(), grpc::InsecureChannelCredentials()));
  }

  v1::LogPosition Issue(const std::string& invoice_id) {
    grpc::ClientContext context;
    v1::CommandResult result;
    grpc::Status status = stub_->IssueInvoice(&context, Invoice(invoice_id), &result);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return result.position();
  }

  const absl::Duration read_wait_;
  ar::testing::TempDir dir_;
  std::unique_ptr<Suite> suite_;
  std::unique_ptr<v1::Gateway::Stub> stub_;
};

TEST_F(InProcessQueriesTest, WaitingReadsHoldNoThreadAndSeeTheCommandTheyWaitFor) {
  const v1::LogPosition first = Issue("inv-1");
  ASSERT_EQ(first.topic(), topics::kInvoicing);
  // The next record of the account's partition: only the second invoice writes there.
  v1::LogPosition next = first;
  next.set_offset(first.offset() + 1);

  // More waiting calls than gRPC has callback threads: were a waiting read parked on one,
  // the plain query below could not be answered until they time out.
  constexpr int kWaiting = 64;
  struct Waiting {
    grpc::ClientContext context;
    v1::GetCustomer360Request request;
    v1::Customer360 response;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Waiting>> waiting;
  std::atomic<int> done{0};
  for (int i = 0; i < kWaiting; ++i) {
    auto& call = waiting.emplace_back(std::make_unique<Waiting>());
    call->request = Customer360(&next);
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    stub_->async()->GetCustomer360(&call->context, &call->request, &call->response,
                                   [&done, raw = call.get()](grpc::Status status) {
                                     raw->status = std::move(status);
                                     ++done;
                                   });
  }
  {
    grpc::ClientContext context;
    v1::Customer360 now;
    const v1::GetCustomer360Request plain = Customer360(nullptr);
    grpc::Status status = stub_->GetCustomer360(&context, plain, &now);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(now.open_invoices_size(), 1);
  }

  const v1::LogPosition second = Issue("inv-2");
  ASSERT_EQ(second.partition(), next.partition());
  ASSERT_EQ(second.offset(), next.offset());
  ASSERT_TRUE(ar::testing::WaitFor([&] { return done.load() == kWaiting; }));
  for (const auto& call : waiting) {
    ASSERT_TRUE(call->status.ok()) << call->status.error_message();
    ASSERT_EQ(call->response.open_invoices_size(), 2);
    EXPECT_EQ(call->response.open_balance().amounts(0).minor_units(), 2 * 11900);
    EXPECT_TRUE(call->response.section_errors().empty());
  }
}

TEST_F(InProcessQueriesTest, APositionNeverReachedIsUnavailableAfterTheReadWait) {
  const v1::LogPosition first = Issue("inv-1");
  v1::LogPosition far = first;
  far.set_offset(1'000'000);
  grpc::ClientContext context;
  v1::Customer360 customer;
  const absl::Time started = absl::Now();
  grpc::Status status = stub_->GetCustomer360(&context, Customer360(&far), &customer);
  const absl::Duration took = absl::Now() - started;
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_NE(status.error_message().find("invoicing: "), std::string::npos);
  EXPECT_GE(took, kReadWait - absl::Milliseconds(50));  // the watcher's timing slack
  EXPECT_LT(took, absl::Seconds(20));
}

class LongReadWaitTest : public InProcessQueriesTest {
 protected:
  LongReadWaitTest() : InProcessQueriesTest(absl::Minutes(5)) {}
};

TEST_F(LongReadWaitTest, ShutdownAnswersAWaitingReadAtOnce) {
  const v1::LogPosition first = Issue("inv-1");
  v1::LogPosition far = first;
  far.set_offset(1'000'000);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  v1::GetCustomer360Request request = Customer360(&far);
  v1::Customer360 customer;
  std::atomic<bool> answered{false};
  grpc::Status status;
  stub_->async()->GetCustomer360(&context, &request, &customer, [&](grpc::Status s) {
    status = std::move(s);
    answered = true;
  });
  const absl::Time started = absl::Now();
  suite_->Shutdown(absl::Minutes(1));
  EXPECT_LT(absl::Now() - started, absl::Seconds(20));  // not held by the waiting read
  ASSERT_TRUE(ar::testing::WaitFor([&] { return answered.load(); }));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

}  // namespace
}  // namespace ar::suite
