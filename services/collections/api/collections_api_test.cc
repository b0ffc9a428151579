// The collections API through a real gRPC channel: the service component over an embedded
// log and a memory store, a server on a free port.

#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/servicekit/grpc_server.h"
#include "services/collections/collections_test_harness.h"
#include "services/collections/domain/test_events.h"

namespace ar::collections {
namespace {

using namespace ar::collections::testing;  // NOLINT: test builders
using ::testing::ElementsAre;
using ::testing::SizeIs;

class CollectionsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    harness_.StartService();
    server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    server_->AddService(harness_.service().grpc_service());
    ASSERT_TRUE(server_->Start().ok());
    stub_ = v1::CollectionsService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(1)); }

  // Five overdue accounts with different amounts and ages, one in another subsidiary.
  void Seed() {
    for (int i = 1; i <= 5; ++i) {
      Who who{.subsidiary = i == 5 ? "fr" : "de", .account = absl::StrCat("acct-", i)};
      harness_.Publish(topics::kInvoicing,
                       Issued(absl::StrCat("inv-", i), 1000 * i, D(2027, 3, 1 + 5 * i), who));
    }
    harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 4, 9)));  // B = 04-10
    harness_.WaitIdle();
  }

  grpc::Status List(v1::ListOverdueAccountsRequest request, v1::ListOverdueAccountsResponse* out) {
    request.set_tenant("t1");
    grpc::ClientContext context;
    return stub_->ListOverdueAccounts(&context, request, out);
  }
  static std::vector<std::string> Accounts(const v1::ListOverdueAccountsResponse& response) {
    std::vector<std::string> accounts;
    for (const v1::OverdueRow& row : response.rows()) accounts.push_back(row.account());
    return accounts;
  }

  ServiceHarness harness_;
  std::unique_ptr<servicekit::GrpcServer> server_;
  std::unique_ptr<v1::CollectionsService::Stub> stub_;
};

TEST_F(CollectionsApiTest, OverdueTableSortsFiltersAndPages) {
  Seed();
  v1::ListOverdueAccountsRequest request;
  request.set_page_size(2);
  v1::ListOverdueAccountsResponse page;
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_THAT(Accounts(page), ElementsAre("acct-5", "acct-4"));
  request.set_page_token(page.next_page_token());
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_THAT(Accounts(page), ElementsAre("acct-3", "acct-2"));
  request.set_page_token(page.next_page_token());
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_THAT(Accounts(page), ElementsAre("acct-1"));
  EXPECT_TRUE(page.next_page_token().empty());

  // Oldest first, only "de", at least 2000, in 1-30 (acct-1 is 35 days past due).
  request.Clear();
  request.set_sort(v1::OVERDUE_SORT_DAYS_PAST_DUE_DESC);
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_THAT(Accounts(page), ElementsAre("acct-1", "acct-2", "acct-3", "acct-4", "acct-5"));
  EXPECT_EQ(page.rows(0).max_days_past_due(), 35);
  EXPECT_EQ(page.rows(0).worst_bucket(), "31-60");
  request.set_subsidiary("de");
  request.set_min_amount_minor(2000);
  request.set_bucket("1-30");
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_THAT(Accounts(page), ElementsAre("acct-2", "acct-3", "acct-4"));

  request.set_page_token("not a token");
  EXPECT_EQ(List(request, &page).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.Clear();
  request.set_page_size(-1);
  EXPECT_EQ(List(request, &page).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CollectionsApiTest, AgingReportAndWriteOffs) {
  Seed();
  v1::GetAgingReportRequest aging;
  aging.set_tenant("t1");
  aging.set_region("eu");
  aging.set_subsidiary("de");
  v1::AgingReport report;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetAgingReport(&context, aging, &report).ok());
  }
  ASSERT_THAT(report.lines(), SizeIs(1));
  EXPECT_EQ(report.lines(0).open_balance(), 10000);
  EXPECT_EQ(report.lines(0).buckets(0).amount().minor_units(), 9000);  // 1-30
  EXPECT_EQ(report.lines(0).buckets(1).amount().minor_units(), 1000);  // 31-60

  v1::WriteOffDebtRequest write_off;
  write_off.set_tenant("t1");
  write_off.set_account("acct-1");
  write_off.set_invoice_id("inv-1");
  write_off.set_reason("insolvent");
  write_off.set_approver("cfo");
  v1::CommandResult result;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->WriteOffDebt(&context, write_off, &result).ok());
  }
  EXPECT_THAT(result.event_ids(), SizeIs(2));  // DebtWrittenOff + AccountCured
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->WriteOffDebt(&context, write_off, &result).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  write_off.set_invoice_id("inv-404");
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->WriteOffDebt(&context, write_off, &result).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  write_off.set_approver("");
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->WriteOffDebt(&context, write_off, &result).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // Read-your-writes with the position of the write-off.
  *aging.mutable_consistency()->mutable_min_position() = result.position();
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetAgingReport(&context, aging, &report).ok());
  }
  EXPECT_EQ(report.lines(0).open_balance(), 9000);
  aging.mutable_consistency()->mutable_min_position()->set_topic("nope");
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->GetAgingReport(&context, aging, &report).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  v1::ListWriteOffCandidatesRequest candidates;
  candidates.set_tenant("t1");
  candidates.set_region("eu");
  v1::ListWriteOffCandidatesResponse proposed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListWriteOffCandidates(&context, candidates, &proposed).ok());
  }
  EXPECT_EQ(proposed.min_days_past_due(), 180);
  EXPECT_THAT(proposed.candidates(), SizeIs(0));  // nothing 180 days late yet
}

TEST_F(CollectionsApiTest, PromisesAndErrors) {
  Seed();
  v1::RecordPromiseRequest promise;
  promise.mutable_account()->set_tenant("t1");
  promise.mutable_account()->set_account("acct-2");
  promise.set_promise_id("pr-1");
  *promise.mutable_amount() = Eur(2000);
  *promise.mutable_promised_date() = D(2027, 4, 20);
  promise.set_recorded_by("collector-7");
  v1::CommandResult result;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->RecordPromise(&context, promise, &result).ok());
    EXPECT_FALSE(result.duplicate());
  }
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->RecordPromise(&context, promise, &result).ok());
    EXPECT_TRUE(result.duplicate());
  }
  *promise.mutable_amount() = Eur(3000);
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->RecordPromise(&context, promise, &result).error_code(),
              grpc::StatusCode::ALREADY_EXISTS);
  }
  promise.set_promise_id("pr-2");
  *promise.mutable_promised_date() = D(2027, 4, 1);  // before the business date
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->RecordPromise(&context, promise, &result).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  *promise.mutable_promised_date() = D(2027, 2, 30);
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->RecordPromise(&context, promise, &result).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  v1::GetAccountCollectionsRequest get;
  get.set_tenant("t1");
  get.set_account("acct-2");
  v1::AccountCollections account;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetAccountCollections(&context, get, &account).ok());
  }
  EXPECT_EQ(account.row().promise().promise_id(), "pr-1");
  EXPECT_EQ(account.row().promise().status(), "open");
  EXPECT_EQ(account.business_date().day(), 10);
  get.set_account("nobody");
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->GetAccountCollections(&context, get, &account).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  v1::GetKpisRequest kpis_request;
  kpis_request.set_tenant("t1");
  kpis_request.set_region("eu");
  kpis_request.set_year(2027);
  kpis_request.set_month(13);
  v1::Kpis kpis;
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->GetKpis(&context, kpis_request, &kpis).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

// ListKpis: every month with figures; receivables only for the business date's month.
TEST_F(CollectionsApiTest, ListKpisGivesEveryMonthAndTheCurrentReceivables) {
  Seed();  // 15000 EUR issued 2027-01-01, all of it overdue on 2027-04-10
  v1::ListKpisRequest request;
  request.set_tenant("t1");
  v1::ListKpisResponse response;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->ListKpis(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_THAT(response.kpis(), SizeIs(2));
  const v1::Kpis& january = response.kpis(0);
  EXPECT_EQ(january.region(), "eu");
  EXPECT_EQ(january.month(), 1);
  EXPECT_EQ(january.currency(), "EUR");
  EXPECT_EQ(january.sales(), 15000);
  EXPECT_FALSE(january.receivables_known());
  EXPECT_EQ(january.closing_receivables(), 0);
  const v1::Kpis& april = response.kpis(1);
  EXPECT_EQ(april.month(), 4);
  EXPECT_TRUE(april.receivables_known());
  EXPECT_EQ(april.sales(), 0);
  EXPECT_EQ(april.closing_receivables(), 15000);
  EXPECT_EQ(april.closing_current(), 0);

  *request.mutable_from_month() = D(2027, 2, 1);
  request.set_region("eu");
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListKpis(&context, request, &response).ok());
  }
  ASSERT_THAT(response.kpis(), SizeIs(1));
  EXPECT_EQ(response.kpis(0).month(), 4);
  request.set_region("us");
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListKpis(&context, request, &response).ok());
  }
  EXPECT_THAT(response.kpis(), SizeIs(0));
  *request.mutable_to_month() = D(2027, 1, 1);
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->ListKpis(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

}  // namespace
}  // namespace ar::collections
