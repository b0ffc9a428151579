#include "services/payments/domain/statement.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/payments/domain/payments_domain.h"
#include "services/payments/domain/test_events.h"

namespace ar::payments {
namespace {

using namespace ar::payments::testing;  // NOLINT: test builders

v1::Event Received(const std::string& id, int64_t amount, v1::Date date) {
  v1::Event e = Envelope("ev-pay-" + id);
  v1::PaymentReceived* r = e.mutable_payment_received();
  r->set_payment_id(id);
  *r->mutable_amount() = Eur(amount);
  *r->mutable_value_date() = date;
  r->set_reference("ref");
  return e;
}
v1::Event Allocated(const std::string& payment, const std::string& invoice, int64_t amount,
                    v1::Date date) {
  v1::Event e = Envelope("ev-alloc-" + payment + "-" + invoice);
  v1::PaymentAllocated* a = e.mutable_payment_allocated();
  a->set_payment_id(payment);
  a->set_invoice_id(invoice);
  *a->mutable_amount() = Eur(amount);
  *a->mutable_allocation_date() = date;
  return e;
}
v1::Event Reversed(const std::string& payment, int64_t amount, int64_t reversed_allocation,
                   const std::string& invoice, v1::Date date) {
  v1::Event e = Envelope("ev-rev-" + payment);
  v1::PaymentReversed* r = e.mutable_payment_reversed();
  r->set_payment_id(payment);
  r->set_reason("bounced");
  *r->mutable_amount() = Eur(amount);
  *r->mutable_reversal_date() = date;
  v1::PaymentAllocationLine* line = r->add_reversed_allocations();
  line->set_invoice_id(invoice);
  *line->mutable_amount() = Eur(reversed_allocation);
  return e;
}

std::vector<LedgerEntry> Ledger(const std::vector<v1::Event>& events) {
  v1::PaymentsAccountView view;
  std::vector<LedgerEntry> ledger;
  for (const v1::Event& e : events) {
    for (LedgerEntry& entry : LedgerEntriesFor(e, view)) ledger.push_back(std::move(entry));
    EvolveAccountView(view, e);
  }
  return ledger;
}

int64_t Day(int y, int m, int d) { return DayNumberOf(D(y, m, d)); }

std::vector<v1::Event> History() {
  return {
      InvoiceIssued("inv-1", 10000, D(2027, 1, 10), D(2027, 2, 10)),
      InvoiceIssued("inv-2", 5000, D(2027, 2, 1), D(2027, 3, 1)),
      CreditNote("cn-1", "inv-2", 1000, D(2027, 2, 5)),
      Received("p1", 12000, D(2027, 2, 20)),
      Allocated("p1", "inv-1", 10000, D(2027, 2, 20)),
      Allocated("p1", "inv-2", 2000, D(2027, 2, 20)),
      InvoiceIssued("inv-3", 700, D(2027, 2, 20), D(2027, 3, 20)),
      Cancelled("inv-3", D(2027, 2, 21)),
      Received("p2", 3000, D(2027, 3, 1)),
      Allocated("p2", "inv-2", 2000, D(2027, 3, 1)),
      Reversed("p2", 3000, 2000, "inv-2", D(2027, 3, 5)),
      WrittenOff("inv-2", 2000, D(2027, 3, 31)),
  };
}

TEST(Statement, ReconcilesToTheCentWithRunningBalance) {
  v1::Statement s = BuildStatement(Ledger(History()), Day(2027, 2, 1), Day(2027, 3, 31));
  // Before Feb: inv-1.
  EXPECT_EQ(s.opening_balance_minor(), 10000);
  int64_t debits = 0, credits = 0, balance = s.opening_balance_minor();
  for (const v1::StatementLine& line : s.lines()) {
    debits += line.debit_minor();
    credits += line.credit_minor();
    balance += line.debit_minor() - line.credit_minor();
    EXPECT_EQ(line.balance_minor(), balance) << line.DebugString();
  }
  EXPECT_EQ(s.closing_balance_minor(), s.opening_balance_minor() + debits - credits);
  // 10000 + 5000 - 1000 - 12000 + 700 - 700 - 3000 + 3000 - 2000 = 0
  EXPECT_EQ(s.closing_balance_minor(), 0);
  // p1 fully allocated; p2 reversed: nothing unmatched.
  EXPECT_EQ(s.unapplied_cash_minor(), 0);
  std::vector<std::string> kinds;
  for (const v1::StatementLine& line : s.lines()) kinds.push_back(line.kind());
  EXPECT_THAT(kinds, ::testing::ElementsAre("invoice", "credit_note", "invoice", "payment",
                                            "allocation", "allocation", "cancellation", "payment",
                                            "allocation", "reversal", "write_off"));
  // Allocations are informational.
  EXPECT_EQ(s.lines(4).debit_minor(), 0);
  EXPECT_EQ(s.lines(4).credit_minor(), 0);
}

TEST(Statement, OrderDoesNotDependOnTheOrderEntriesArrived) {
  std::vector<LedgerEntry> ledger = Ledger(History());
  v1::Statement forward = BuildStatement(ledger, Day(2027, 1, 1), Day(2027, 12, 31));
  std::reverse(ledger.begin(), ledger.end());
  v1::Statement backward = BuildStatement(ledger, Day(2027, 1, 1), Day(2027, 12, 31));
  EXPECT_EQ(forward.SerializeAsString(), backward.SerializeAsString());
}

TEST(Statement, UnappliedCashAtTheEndOfThePeriod) {
  std::vector<v1::Event> events = {
      Received("p1", 500, D(2027, 1, 5)),
      InvoiceIssued("inv-1", 300, D(2027, 2, 1), D(2027, 3, 1)),
      Allocated("p1", "inv-1", 300, D(2027, 2, 1)),
  };
  EXPECT_EQ(
      BuildStatement(Ledger(events), Day(2027, 1, 1), Day(2027, 1, 31)).unapplied_cash_minor(),
      500);
  v1::Statement feb = BuildStatement(Ledger(events), Day(2027, 2, 1), Day(2027, 2, 28));
  EXPECT_EQ(feb.unapplied_cash_minor(), 200);
  EXPECT_EQ(feb.opening_balance_minor(), -500);  // a credit balance: paid in advance
  EXPECT_EQ(feb.closing_balance_minor(), -200);
}

TEST(Statement, RepeatedInvoiceAndCreditNoteCountOnce) {
  std::vector<v1::Event> events = {
      InvoiceIssued("inv-1", 300, D(2027, 2, 1), D(2027, 3, 1)),
      InvoiceIssued("inv-1", 300, D(2027, 2, 1), D(2027, 3, 1)),
      CreditNote("cn", "inv-1", 100, D(2027, 2, 2)),
      CreditNote("cn", "inv-1", 100, D(2027, 2, 2)),
  };
  EXPECT_EQ(Ledger(events).size(), 2u);
}

TEST(Statement, LedgerMembersRoundTripAndSortByKindDocumentEvent) {
  LedgerEntry entry;
  entry.currency = "EUR";
  entry.day = 20000;
  entry.kind = LedgerKind::kReversal;
  entry.document = "pay-1";
  entry.event_id = "ev-9";
  entry.reference = std::string("odd\x1freason");
  entry.debit_minor = 123;
  entry.unapplied_delta_minor = -45;
  auto decoded = DecodeLedgerMember("EUR", 20000, EncodeLedgerMember(entry));
  ASSERT_TRUE(decoded.ok());
  entry.reference = "odd reason";
  EXPECT_EQ(*decoded, entry);
  LedgerEntry invoice = entry;
  invoice.kind = LedgerKind::kInvoice;
  EXPECT_LT(EncodeLedgerMember(invoice), EncodeLedgerMember(entry));
  LedgerEntry short_doc = entry, long_doc = entry;
  short_doc.document = "A";
  long_doc.document = "AB";
  EXPECT_LT(EncodeLedgerMember(short_doc), EncodeLedgerMember(long_doc));
  EXPECT_FALSE(DecodeLedgerMember("EUR", 1, "garbage").ok());
}

}  // namespace
}  // namespace ar::payments
