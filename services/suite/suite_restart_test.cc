// ar-suite as a process: stopped (SIGTERM) or killed (SIGKILL) and started again on the
// same data directory, it has exactly what it acknowledged, each thing once. The memory
// read models are rebuilt from the embedded log at start.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "ar/v1/invoicing.grpc.pb.h"
#include "ar/v1/payments.grpc.pb.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/suite/testing/suite_process.h"

namespace ar::suite {
namespace {

using suite::testing::SuiteProcess;

constexpr char kTenant[] = "t1";

// Everything goes through the gateway, as users do; `invoicing` and `payments` name the
// part of it each call reaches.
struct Clients {
  explicit Clients(const std::string& address)
      : channel(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        invoicing(v1::Gateway::NewStub(channel)),
        payments(v1::Gateway::NewStub(channel)) {}
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Gateway::Stub> invoicing;
  std::unique_ptr<v1::Gateway::Stub> payments;
};

std::unique_ptr<grpc::ClientContext> Call() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  return context;
}

v1::Date Day(int day) {
  v1::Date date;
  date.set_year(2026);
  date.set_month(10);
  date.set_day(day);
  return date;
}

v1::AccountRef Account(const std::string& account) {
  v1::AccountRef ref;
  ref.set_tenant(kTenant);
  ref.set_region("eu");
  ref.set_subsidiary("main");
  ref.set_account(account);
  return ref;
}

v1::IssueInvoiceRequest Invoice(const std::string& account, const std::string& id, int64_t cents) {
  v1::IssueInvoiceRequest request;
  *request.mutable_account() = Account(account);
  request.set_account_name(account);
  request.set_invoice_id(id);
  request.set_invoice_number(id);
  request.set_currency("EUR");
  *request.mutable_issue_date() = Day(1);
  request.mutable_payment_terms()->set_kind(v1::PaymentTerms::KIND_NET_DAYS);
  request.mutable_payment_terms()->set_days(30);
  v1::InvoiceLineInput* line = request.add_lines();
  line->set_description("work");
  line->set_quantity_milli(1000);
  line->set_unit_price_minor(cents);
  return request;
}

v1::RecordPaymentRequest Payment(const std::string& account, const std::string& id, int64_t cents) {
  v1::RecordPaymentRequest request;
  *request.mutable_account() = Account(account);
  request.set_payment_id(id);
  request.mutable_amount()->set_minor_units(cents);
  request.mutable_amount()->set_currency("EUR");
  request.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
  *request.mutable_value_date() = Day(5);
  return request;
}

grpc::Status Issue(Clients& clients, const v1::IssueInvoiceRequest& request,
                   v1::CommandResult* result) {
  return clients.invoicing->IssueInvoice(Call().get(), request, result);
}

grpc::Status Record(Clients& clients, const v1::RecordPaymentRequest& request,
                    v1::CommandResult* result) {
  return clients.payments->RecordPayment(Call().get(), request, result);
}

// Everything a user can read about `accounts`, serialized: two suites with the same
// snapshot answer every query the same way.
std::string Snapshot(Clients& clients, const std::vector<std::string>& accounts) {
  std::string snapshot;
  for (const std::string& account : accounts) {
    v1::ListInvoicesRequest list;
    list.set_tenant(kTenant);
    list.set_account(account);
    list.set_page_size(500);
    v1::ListInvoicesResponse invoices;
    EXPECT_TRUE(clients.invoicing->ListInvoices(Call().get(), list, &invoices).ok());
    v1::GetOpenBalanceRequest balance_request;
    balance_request.set_tenant(kTenant);
    balance_request.set_account(account);
    v1::OpenBalance balance;
    EXPECT_TRUE(clients.invoicing->GetOpenBalance(Call().get(), balance_request, &balance).ok());
    v1::GetStatementRequest statement_request;
    statement_request.set_tenant(kTenant);
    statement_request.set_account(account);
    statement_request.set_currency("EUR");
    *statement_request.mutable_from() = Day(1);
    *statement_request.mutable_to() = Day(31);
    v1::Statement statement;
    EXPECT_TRUE(clients.payments->GetStatement(Call().get(), statement_request, &statement).ok());
    v1::GetUnappliedCashRequest cash_request;
    cash_request.set_tenant(kTenant);
    cash_request.set_account(account);
    v1::UnappliedCash cash;
    EXPECT_TRUE(clients.payments->GetUnappliedCash(Call().get(), cash_request, &cash).ok());
    absl::StrAppend(&snapshot, invoices.DebugString(), balance.DebugString(),
                    statement.DebugString(), cash.DebugString());
  }
  return snapshot;
}

int64_t OpenBalanceCents(Clients& clients, const std::string& account) {
  v1::GetOpenBalanceRequest request;
  request.set_tenant(kTenant);
  request.set_account(account);
  v1::OpenBalance balance;
  if (!clients.invoicing->GetOpenBalance(Call().get(), request, &balance).ok()) return -1;
  int64_t total = 0;
  for (const v1::Money& money : balance.open().amounts()) total += money.minor_units();
  return total;
}

int64_t UnappliedCents(Clients& clients, const std::string& account) {
  v1::GetUnappliedCashRequest request;
  request.set_tenant(kTenant);
  request.set_account(account);
  v1::UnappliedCash cash;
  if (!clients.payments->GetUnappliedCash(Call().get(), request, &cash).ok()) return -1;
  int64_t total = 0;
  for (const v1::Money& money : cash.unapplied().amounts()) total += money.minor_units();
  return total;
}

TEST(SuiteRestartTest, SigtermThenRestartAnswersExactlyAsBefore) {
  ar::testing::TempDir data;
  SuiteProcess suite(data.path());
  ASSERT_TRUE(suite.Start().ok());
  Clients clients(suite.address());
  const std::vector<std::string> accounts = {"A1", "A2", "A3"};
  v1::CommandResult first_invoice;
  for (int i = 0; i < 12; ++i) {
    v1::CommandResult result;
    const std::string& account = accounts[i % accounts.size()];
    const grpc::Status status =
        Issue(clients, Invoice(account, absl::StrCat("INV-", i), 10'000 + i), &result);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (i == 0) first_invoice = result;
  }
  for (int i = 0; i < 6; ++i) {
    v1::CommandResult result;
    const grpc::Status status = Record(
        clients, Payment(accounts[i % accounts.size()], absl::StrCat("PAY-", i), 4'000), &result);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const std::string before = Snapshot(clients, accounts);

  EXPECT_EQ(suite.Stop(SIGTERM), 0) << "graceful shutdown exits 0";
  ASSERT_TRUE(suite.Start().ok());
  Clients again(suite.address());
  EXPECT_EQ(Snapshot(again, accounts), before);

  // A retry after the restart is recognised: same position, nothing published.
  v1::CommandResult repeat;
  ASSERT_TRUE(Issue(again, Invoice("A1", "INV-0", 10'000), &repeat).ok());
  EXPECT_TRUE(repeat.duplicate());
  EXPECT_EQ(repeat.position().DebugString(), first_invoice.position().DebugString());
  EXPECT_EQ(Snapshot(again, accounts), before);
  EXPECT_EQ(suite.Stop(SIGTERM), 0);
}

// A client issues invoices and records payments as fast as it can; ar-suite is killed
// under it. After the restart every acknowledged command is there exactly once: the
// balances equal the sums of what was acknowledged (plus the one command in flight when
// the process died, which the client retries, as a real client would).
TEST(SuiteRestartTest, SigkillMidStreamKeepsEveryAcknowledgedCommandExactlyOnce) {
  ar::testing::TempDir data;
  SuiteProcess suite(data.path());
  ASSERT_TRUE(suite.Start().ok());

  const std::vector<std::string> invoice_accounts = {"I1", "I2", "I3"};
  const std::vector<std::string> payment_accounts = {"P1", "P2"};  // no invoices: all unapplied
  struct Command {
    bool is_invoice;
    std::string account;
    std::string id;
    int64_t cents;
  };
  auto command_number = [&](int k) {
    if (k % 3 == 2) {
      return Command{false, payment_accounts[k % payment_accounts.size()], absl::StrCat("PAY-", k),
                     100 + k};
    }
    return Command{true, invoice_accounts[k % invoice_accounts.size()], absl::StrCat("INV-", k),
                   1'000 + k};
  };
  std::mutex mu;
  std::vector<Command> acknowledged;
  std::optional<Command> in_flight;
  std::atomic<bool> stopped_by_failure{false};
  std::string client_error;  // guarded by mu

  std::thread client([&] {
    Clients clients(suite.address());
    for (int k = 0;; ++k) {
      const Command command = command_number(k);
      {
        std::lock_guard<std::mutex> lock(mu);
        in_flight = command;
      }
      v1::CommandResult result;
      const grpc::Status status =
          command.is_invoice
              ? Issue(clients, Invoice(command.account, command.id, command.cents), &result)
              : Record(clients, Payment(command.account, command.id, command.cents), &result);
      std::lock_guard<std::mutex> lock(mu);
      if (!status.ok()) {
        client_error = status.error_message();
        stopped_by_failure = true;
        return;  // the process is gone; `in_flight` may or may not have landed
      }
      acknowledged.push_back(command);
      in_flight.reset();
    }
  });
  const bool enough_acknowledged = ar::testing::WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return acknowledged.size() >= 60 || stopped_by_failure;
  });
  // Killed while the client is mid-stream; the client notices and stops.
  EXPECT_EQ(suite.Stop(SIGKILL), 128 + SIGKILL);
  client.join();
  ASSERT_TRUE(enough_acknowledged);
  ASSERT_GE(acknowledged.size(), 60u) << "the client failed before the kill: " << client_error;
  ASSERT_TRUE(stopped_by_failure.load());

  ASSERT_TRUE(suite.Start().ok());
  Clients clients(suite.address());
  std::vector<Command> expected = acknowledged;
  if (in_flight) {
    v1::CommandResult result;
    const grpc::Status retried =
        in_flight->is_invoice
            ? Issue(clients, Invoice(in_flight->account, in_flight->id, in_flight->cents), &result)
            : Record(clients, Payment(in_flight->account, in_flight->id, in_flight->cents),
                     &result);
    ASSERT_TRUE(retried.ok()) << retried.error_message();
    expected.push_back(*in_flight);
  }
  std::map<std::string, int64_t> expected_cents;
  for (const Command& command : expected) expected_cents[command.account] += command.cents;
  for (const std::string& account : invoice_accounts) {
    EXPECT_EQ(OpenBalanceCents(clients, account), expected_cents[account]) << account;
  }
  for (const std::string& account : payment_accounts) {
    EXPECT_EQ(UnappliedCents(clients, account), expected_cents[account]) << account;
  }
  // Each acknowledged invoice exists once, with its amount and a single "issued" entry.
  for (const Command& command : expected) {
    if (!command.is_invoice) continue;
    v1::GetInvoiceRequest request;
    request.set_tenant(kTenant);
    request.set_invoice_id(command.id);
    v1::Invoice invoice;
    ASSERT_TRUE(clients.invoicing->GetInvoice(Call().get(), request, &invoice).ok()) << command.id;
    EXPECT_EQ(invoice.total().minor_units(), command.cents);
    int issued_entries = 0;
    for (const v1::InvoiceHistoryEntry& entry : invoice.history())
      issued_entries += entry.kind() == "issued";
    EXPECT_EQ(issued_entries, 1) << command.id;
  }
  // Repeating every acknowledged command changes nothing.
  for (const Command& command : expected) {
    v1::CommandResult result;
    const grpc::Status status =
        command.is_invoice
            ? Issue(clients, Invoice(command.account, command.id, command.cents), &result)
            : Record(clients, Payment(command.account, command.id, command.cents), &result);
    ASSERT_TRUE(status.ok()) << command.id << ": " << status.error_message();
    EXPECT_TRUE(result.duplicate()) << command.id;
  }
  for (const std::string& account : invoice_accounts) {
    EXPECT_EQ(OpenBalanceCents(clients, account), expected_cents[account]) << account;
  }
  EXPECT_EQ(suite.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace ar::suite
