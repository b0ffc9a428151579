#include "tools/demo/history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/core/money.h"
#include "libs/protoconv/protoconv.h"
#include "services/invoicing/domain/invoice_rules.h"

namespace ar::demo {
namespace {

HistoryOptions Options(int customers, absl::CivilDay start, absl::CivilDay end, uint64_t seed = 7) {
  HistoryOptions options;
  options.seed = seed;
  options.customers = customers;
  options.start = start;
  options.end = end;
  return options;
}

// Every command of the history with its day, serialized: equal strings, equal histories.
std::vector<std::string> Fingerprint(const History& history) {
  std::vector<std::string> lines;
  for (const DayStep& day : history.days) {
    for (const DemoCommand& command : day.commands) {
      std::string bytes;
      std::visit([&](const auto& request) { bytes = request.SerializeAsString(); },
                 command.request);
      lines.push_back(absl::StrCat(absl::FormatCivilTime(day.date), " ", command.account, " ",
                                   std::string(CommandKind(command)), " ", bytes));
    }
  }
  return lines;
}

absl::CivilDay Day(const v1::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

TEST(HistoryTest, SameSeedGivesTheSameHistoryAndAnotherSeedAnother) {
  const HistoryOptions options =
      Options(150, absl::CivilDay(2026, 5, 24), absl::CivilDay(2026, 8, 23));
  absl::StatusOr<History> first = GenerateHistory(options);
  absl::StatusOr<History> second = GenerateHistory(options);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Fingerprint(*first), Fingerprint(*second));
  EXPECT_GT(Fingerprint(*first).size(), 500u);

  HistoryOptions other = options;
  other.seed = 8;
  absl::StatusOr<History> third = GenerateHistory(other);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_NE(Fingerprint(*first), Fingerprint(*third));
}

// A re-run on a later day covers a shifted window: what both windows hold for an invoice
// (its issue and its own commands) is the same command, so the re-run only adds.
TEST(HistoryTest, ShiftedWindowsAgreeOnTheInvoicesTheyShare) {
  absl::StatusOr<History> early =
      GenerateHistory(Options(80, absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 6, 30)));
  absl::StatusOr<History> late =
      GenerateHistory(Options(80, absl::CivilDay(2026, 5, 1), absl::CivilDay(2026, 8, 31)));
  ASSERT_TRUE(early.ok() && late.ok());
  std::map<std::string, std::string> early_invoices;
  for (const DayStep& day : early->days) {
    for (const DemoCommand& command : day.commands) {
      if (const auto* invoice = std::get_if<v1::IssueInvoiceRequest>(&command.request)) {
        early_invoices[invoice->invoice_id()] = invoice->SerializeAsString();
      }
    }
  }
  int shared = 0;
  for (const DayStep& day : late->days) {
    for (const DemoCommand& command : day.commands) {
      const auto* invoice = std::get_if<v1::IssueInvoiceRequest>(&command.request);
      if (invoice == nullptr) continue;
      auto found = early_invoices.find(invoice->invoice_id());
      if (found == early_invoices.end()) continue;
      ++shared;
      EXPECT_EQ(found->second, invoice->SerializeAsString()) << invoice->invoice_id();
    }
  }
  EXPECT_GT(shared, 100);
}

TEST(HistoryTest, BehavioursSubsidiariesAndIdsAreAsConfigured) {
  absl::StatusOr<History> history =
      GenerateHistory(Options(2000, absl::CivilDay(2026, 11, 1), absl::CivilDay(2026, 11, 3)));
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->customers.size(), 2000u);
  std::map<Behaviour, int> behaviours;
  std::map<std::string, int> subsidiaries;
  std::set<std::string> accounts;
  for (const Customer& customer : history->customers) {
    ++behaviours[customer.behaviour];
    ++subsidiaries[customer.account.subsidiary()];
    accounts.insert(customer.account.account());
    EXPECT_EQ(customer.account.tenant(), "demo");
    EXPECT_FALSE(customer.name.empty());
    bool known = false;
    for (const Subsidiary& subsidiary : DemoSubsidiaries()) {
      if (subsidiary.id == customer.account.subsidiary()) {
        known = true;
        EXPECT_EQ(subsidiary.region, customer.account.region());
        EXPECT_EQ(subsidiary.currency, customer.currency);
      }
    }
    EXPECT_TRUE(known) << customer.account.subsidiary();
    if (customer.behaviour == Behaviour::kDisputing) {
      EXPECT_TRUE(customer.names_invoices);
    }
  }
  EXPECT_EQ(accounts.size(), 2000u);
  // Shares as configured (45/25/15/5/10 %), within a few points for 2000 draws.
  EXPECT_NEAR(behaviours[Behaviour::kPrompt], 900, 80);
  EXPECT_NEAR(behaviours[Behaviour::kUsuallyLate], 500, 70);
  EXPECT_NEAR(behaviours[Behaviour::kChronic], 300, 55);
  EXPECT_NEAR(behaviours[Behaviour::kDefaulting], 100, 35);
  EXPECT_NEAR(behaviours[Behaviour::kDisputing], 200, 45);
  EXPECT_EQ(subsidiaries.size(), 6u);
  for (const auto& [subsidiary, count] : subsidiaries) EXPECT_GT(count, 150) << subsidiary;
}

TEST(HistoryTest, RejectsBadOptions) {
  EXPECT_FALSE(
      GenerateHistory(Options(0, absl::CivilDay(2026, 1, 1), absl::CivilDay(2026, 2, 1))).ok());
  EXPECT_FALSE(
      GenerateHistory(Options(5, absl::CivilDay(2026, 2, 1), absl::CivilDay(2026, 1, 1))).ok());
}

TEST(HistoryTest, StartForMonths) {
  EXPECT_EQ(StartForMonths(absl::CivilDay(2026, 11, 22), 6), absl::CivilDay(2026, 5, 23));
  EXPECT_EQ(StartForMonths(absl::CivilDay(2026, 8, 31), 6), absl::CivilDay(2026, 3, 1));
  EXPECT_EQ(StartForMonths(absl::CivilDay(2026, 1, 15), 2), absl::CivilDay(2025, 11, 16));
}

// Replays the history against a model of the services' rules and checks every command
// would be accepted: known currencies, positive amounts, dates on the day sent and in
// order, no invoice or account paid beyond what is open, credit notes within the open
// balance, disputes only on open undisputed invoices, resolutions only of open disputes,
// reversals of earlier payments only.
TEST(HistoryTest, EveryCommandIsValidWhenApplied) {
  absl::StatusOr<History> history =
      GenerateHistory(Options(400, absl::CivilDay(2026, 5, 24), absl::CivilDay(2026, 11, 22)));
  ASSERT_TRUE(history.ok()) << history.status();

  struct InvoiceModel {
    std::string account;
    std::string currency;
    absl::CivilDay issue;
    int64_t open = 0;
    int64_t total = 0;
    bool disputed = false;
    bool credited = false;
  };
  struct PaymentModel {
    std::string account;
    absl::CivilDay value_date;
    int64_t amount = 0;
    std::map<std::string, int64_t> allocations;
    bool reversed = false;
  };
  std::map<std::string, InvoiceModel> invoices;
  std::map<std::string, PaymentModel> payments;
  std::map<std::string, int64_t> account_open;
  std::map<std::string, AccountOutcome> outcomes;
  std::map<std::string, int> kinds;
  std::set<std::string> limits;
  const auto known_currency = [](const v1::Money& money) {
    return core::LookupCurrency(money.currency()).ok();
  };

  absl::CivilDay previous = history->options.start - 1;
  for (const DayStep& day : history->days) {
    EXPECT_EQ(day.date, previous + 1);
    previous = day.date;
    for (const DemoCommand& command : day.commands) {
      ++kinds[std::string(CommandKind(command))];
      if (const auto* r = std::get_if<v1::IssueInvoiceRequest>(&command.request)) {
        absl::StatusOr<v1::InvoiceIssued> issued = invoicing::BuildInvoiceIssued(*r);
        ASSERT_TRUE(issued.ok()) << issued.status();
        EXPECT_EQ(Day(r->issue_date()), day.date);
        EXPECT_GE(Day(issued->due_date()), day.date);
        EXPECT_GT(issued->total().minor_units(), 0);
        EXPECT_EQ(command.account, r->account().account());
        EXPECT_TRUE(invoices.find(r->invoice_id()) == invoices.end()) << r->invoice_id();
        invoices[r->invoice_id()] = {r->account().account(), r->currency(), day.date,
                                     issued->total().minor_units(), issued->total().minor_units()};
        account_open[command.account] += issued->total().minor_units();
        AccountOutcome& outcome = outcomes[command.account];
        outcome.invoiced_minor += issued->total().minor_units();
        ++outcome.invoices;
      } else if (const auto* r = std::get_if<v1::RecordPaymentRequest>(&command.request)) {
        EXPECT_EQ(Day(r->value_date()), day.date);
        EXPECT_GT(r->amount().minor_units(), 0);
        EXPECT_TRUE(known_currency(r->amount()));
        EXPECT_NE(r->method(), v1::PAYMENT_METHOD_UNSPECIFIED);
        EXPECT_TRUE(payments.find(r->payment_id()) == payments.end()) << r->payment_id();
        EXPECT_LE(r->amount().minor_units(), account_open[command.account])
            << "account " << command.account << " overpaid by " << r->payment_id();
        PaymentModel& payment = payments[r->payment_id()];
        payment = {command.account, day.date, r->amount().minor_units(), {}, false};
        int64_t allocated = 0;
        for (const v1::PaymentAllocationLine& line : r->allocations()) {
          auto invoice = invoices.find(line.invoice_id());
          ASSERT_NE(invoice, invoices.end()) << line.invoice_id();
          EXPECT_EQ(invoice->second.account, command.account);
          EXPECT_EQ(invoice->second.currency, line.amount().currency());
          EXPECT_GT(line.amount().minor_units(), 0);
          EXPECT_LE(line.amount().minor_units(), invoice->second.open) << r->payment_id();
          EXPECT_LT(invoice->second.issue, day.date + 1);
          invoice->second.open -= line.amount().minor_units();
          payment.allocations[line.invoice_id()] += line.amount().minor_units();
          allocated += line.amount().minor_units();
        }
        EXPECT_LE(allocated, r->amount().minor_units());
        account_open[command.account] -= r->amount().minor_units();
        outcomes[command.account].paid_minor += r->amount().minor_units();
        ++outcomes[command.account].payments;
      } else if (const auto* r = std::get_if<v1::ReversePaymentRequest>(&command.request)) {
        auto payment = payments.find(r->payment_id());
        ASSERT_NE(payment, payments.end()) << r->payment_id();
        EXPECT_FALSE(payment->second.reversed);
        EXPECT_GT(day.date, payment->second.value_date);
        EXPECT_EQ(Day(r->reversal_date()), day.date);
        EXPECT_EQ(r->reason(), "bounced");
        payment->second.reversed = true;
        for (const auto& [invoice_id, amount] : payment->second.allocations) {
          invoices[invoice_id].open += amount;
        }
        account_open[command.account] += payment->second.amount;
        outcomes[command.account].paid_minor -= payment->second.amount;
      } else if (const auto* r = std::get_if<v1::DisputeInvoiceRequest>(&command.request)) {
        InvoiceModel& invoice = invoices.at(r->invoice_id());
        EXPECT_FALSE(invoice.disputed);
        EXPECT_GT(invoice.open, 0);
        EXPECT_GT(r->disputed_amount().minor_units(), 0);
        EXPECT_LE(r->disputed_amount().minor_units(), invoice.open);
        EXPECT_EQ(r->disputed_amount().currency(), invoice.currency);
        EXPECT_EQ(Day(r->dispute_date()), day.date);
        EXPECT_EQ(command.dispute_ordinal, 1);
        invoice.disputed = true;
      } else if (const auto* r = std::get_if<v1::IssueCreditNoteRequest>(&command.request)) {
        InvoiceModel& invoice = invoices.at(r->invoice_id());
        EXPECT_TRUE(invoice.disputed);
        EXPECT_GT(r->amount().minor_units(), 0);
        EXPECT_LE(r->amount().minor_units(), invoice.open);
        EXPECT_EQ(r->amount().currency(), invoice.currency);
        EXPECT_EQ(Day(r->issue_date()), day.date);
        invoice.open -= r->amount().minor_units();
        invoice.credited = true;
        account_open[command.account] -= r->amount().minor_units();
        outcomes[command.account].credited_minor += r->amount().minor_units();
      } else if (const auto* r = std::get_if<v1::ResolveDisputeRequest>(&command.request)) {
        InvoiceModel& invoice = invoices.at(r->invoice_id());
        EXPECT_TRUE(invoice.disputed);
        EXPECT_EQ(Day(r->resolution_date()), day.date);
        invoice.disputed = false;
      } else if (const auto* r = std::get_if<v1::GatewayRecordPromiseRequest>(&command.request)) {
        EXPECT_GT(r->amount().minor_units(), 0);
        EXPECT_TRUE(known_currency(r->amount()));
        EXPECT_GT(Day(r->promised_date()), day.date);
        EXPECT_FALSE(r->promise_id().empty());
      } else if (const auto* r = std::get_if<v1::GatewaySetCreditLimitRequest>(&command.request)) {
        EXPECT_EQ(r->limit().currency(), "EUR");
        EXPECT_GT(r->limit().minor_units(), 0);
        limits.insert(r->account().account());
      } else if (const auto* r = std::get_if<v1::GatewaySetFxRateRequest>(&command.request)) {
        EXPECT_EQ(r->to_currency(), "EUR");
        EXPECT_TRUE(core::LookupCurrency(r->from_currency()).ok());
        EXPECT_GT(r->rate_nano(), 0);
        EXPECT_EQ(Day(r->effective_date()), day.date);
      }
    }
  }
  EXPECT_EQ(limits.size(), 400u);
  for (const char* kind :
       {"IssueInvoice", "RecordPayment", "ReversePayment", "IssueCreditNote", "DisputeInvoice",
        "ResolveDispute", "RecordPromiseToPay", "SetCreditLimit", "SetFxRate"}) {
    EXPECT_GT(kinds[kind], 0) << kind;
  }
  // Partial payments, overdue and open invoices exist, and the history's own account
  // of every account agrees with the replay.
  int partially_paid = 0;
  for (const auto& [id, invoice] : invoices) {
    if (invoice.open > 0 && invoice.open < invoice.total) ++partially_paid;
  }
  EXPECT_GT(partially_paid, 50);
  ASSERT_EQ(history->outcomes.size(), 400u);
  for (const auto& [account, expected] : history->outcomes) {
    const AccountOutcome& replayed = outcomes[account];
    EXPECT_EQ(expected.invoiced_minor, replayed.invoiced_minor) << account;
    EXPECT_EQ(expected.credited_minor, replayed.credited_minor) << account;
    EXPECT_EQ(expected.paid_minor, replayed.paid_minor) << account;
    EXPECT_EQ(expected.invoices, replayed.invoices) << account;
    EXPECT_EQ(expected.payments, replayed.payments) << account;
    EXPECT_EQ(expected.open_minor(), account_open[account]) << account;
    EXPECT_GE(expected.open_minor(), 0) << account;
  }
}

}  // namespace
}  // namespace ar::demo
