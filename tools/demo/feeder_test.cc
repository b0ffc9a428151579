// The feeder against a real ar-suite child process: a small generated history goes in
// through the gateway, the accounts end with the balances the history implies, and
// feeding it again publishes nothing.

#include "tools/demo/feeder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <iostream>

#include "ar/v1/gateway.grpc.pb.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/suite/testing/suite_process.h"

namespace ar::demo {
namespace {

using suite::testing::SuiteProcess;

int64_t AmountIn(const v1::MoneyByCurrency& amounts, const std::string& currency) {
  for (const v1::Money& money : amounts.amounts()) {
    if (money.currency() == currency) return money.minor_units();
  }
  return 0;
}

class FeederTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new ar::testing::TempDir();
    // Credit holds only flag new invoices, so the history's invoices all land whatever
    // credit-risk decides about the accounts (it is not what this test is about). Without
    // the wall clock the business dates are the ones the feed closes, not today's (with
    // today's, every past-dated invoice would be months overdue as it lands).
    suite_ = new SuiteProcess(data_->path(), {"--credit_hold_policy=flag", "--wall_clock=false"});
    start_status_ = new absl::Status(suite_->Start());
  }
  static void TearDownTestSuite() {
    suite_->Stop(SIGTERM);
    delete suite_;
    delete data_;
    delete start_status_;
  }
  void SetUp() override { ASSERT_TRUE(start_status_->ok()) << *start_status_; }

  static std::shared_ptr<grpc::Channel> Channel() {
    return grpc::CreateChannel(suite_->address(), grpc::InsecureChannelCredentials());
  }

  static ar::testing::TempDir* data_;
  static SuiteProcess* suite_;
  static absl::Status* start_status_;
};

ar::testing::TempDir* FeederTest::data_ = nullptr;
SuiteProcess* FeederTest::suite_ = nullptr;
absl::Status* FeederTest::start_status_ = nullptr;

TEST_F(FeederTest, FeedsAHistoryThatEndsInItsBalancesAndARepeatPublishesNothing) {
  HistoryOptions options;
  options.seed = 11;
  options.customers = 100;
  options.end = absl::CivilDay(2026, 10, 31);
  options.start = StartForMonths(options.end, 4);
  absl::StatusOr<History> history = GenerateHistory(options);
  ASSERT_TRUE(history.ok()) << history.status();

  FeederOptions feeder;
  feeder.workers = 8;
  feeder.progress = &std::cerr;
  absl::StatusOr<FeedSummary> first = FeedHistory(*history, Channel(), feeder);
  ASSERT_TRUE(first.ok()) << first.status();
  std::cerr << first->ToString();
  const KindCounts total = first->Total();
  EXPECT_EQ(total.rejected, 0);
  EXPECT_EQ(total.conflicts, 0);
  EXPECT_EQ(total.unavailable, 0);
  EXPECT_EQ(first->by_kind["IssueInvoice"].published, first->by_kind["IssueInvoice"].sent);
  EXPECT_EQ(first->by_kind["RecordPayment"].published, first->by_kind["RecordPayment"].sent);
  for (const char* kind : {"ReversePayment", "IssueCreditNote", "DisputeInvoice", "ResolveDispute",
                           "RecordPromiseToPay"}) {
    EXPECT_GT(first->by_kind[kind].sent, 0) << kind;
    EXPECT_EQ(first->by_kind[kind].published + first->by_kind[kind].unimplemented,
              first->by_kind[kind].sent)
        << kind;
  }
  EXPECT_EQ(first->days, static_cast<int>(history->days.size()));

  // Every account ends with the open balance the history implies (payments allocated
  // oldest-first settle once the services have applied everything, so wait for it), all
  // its invoices and payments, and no unapplied cash.
  auto stub = v1::Gateway::NewStub(Channel());
  int checked = 0;
  for (const Customer& customer : history->customers) {
    const AccountOutcome& expected = history->outcomes.at(customer.account.account());
    if (expected.invoices == 0) continue;
    int64_t open = -1;
    int64_t unapplied = -1;
    const bool settled = ar::testing::WaitFor(
        [&] {
          v1::GetOpenBalanceRequest request;
          request.set_tenant(customer.account.tenant());
          request.set_account(customer.account.account());
          v1::OpenBalance balance;
          grpc::ClientContext context;
          if (!stub->GetOpenBalance(&context, request, &balance).ok()) return false;
          open = AmountIn(balance.open(), customer.currency);
          v1::GetUnappliedCashRequest cash_request;
          cash_request.set_tenant(customer.account.tenant());
          cash_request.set_account(customer.account.account());
          v1::UnappliedCash cash;
          grpc::ClientContext cash_context;
          if (!stub->GetUnappliedCash(&cash_context, cash_request, &cash).ok()) return false;
          unapplied = AmountIn(cash.unapplied(), customer.currency);
          return open == expected.open_minor() && unapplied == 0;
        },
        absl::Seconds(10));
    EXPECT_TRUE(settled) << customer.account.account() << " (" << BehaviourName(customer.behaviour)
                         << "): open " << open << ", expected " << expected.open_minor()
                         << ", unapplied " << unapplied;

    v1::ListInvoicesRequest invoices_request;
    invoices_request.set_tenant(customer.account.tenant());
    invoices_request.set_account(customer.account.account());
    invoices_request.set_page_size(500);
    v1::ListInvoicesResponse invoices;
    grpc::ClientContext invoices_context;
    ASSERT_TRUE(stub->ListInvoices(&invoices_context, invoices_request, &invoices).ok());
    EXPECT_EQ(invoices.invoices_size(), expected.invoices) << customer.account.account();

    v1::ListPaymentsRequest payments_request;
    payments_request.set_tenant(customer.account.tenant());
    payments_request.set_account(customer.account.account());
    payments_request.set_page_size(500);
    v1::ListPaymentsResponse payments;
    grpc::ClientContext payments_context;
    ASSERT_TRUE(stub->ListPayments(&payments_context, payments_request, &payments).ok());
    EXPECT_EQ(payments.payments_size(), expected.payments) << customer.account.account();
    ++checked;
    if (HasFailure()) break;  // one account's story is enough to debug
  }
  EXPECT_GT(checked, 90);

  absl::StatusOr<FeedSummary> second = FeedHistory(*history, Channel(), feeder);
  ASSERT_TRUE(second.ok()) << second.status();
  std::cerr << second->ToString();
  const KindCounts again = second->Total();
  EXPECT_EQ(again.published, 0);
  EXPECT_EQ(again.duplicates + again.unimplemented, again.sent);
  EXPECT_EQ(second->days_closed, 0);
  EXPECT_EQ(second->by_kind["AdvanceBusinessDay"].published, 0);
}

}  // namespace
}  // namespace ar::demo
