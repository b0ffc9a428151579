#include "services/payments/domain/statement.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/dates.h"
#include "services/payments/domain/payments_domain.h"

namespace ar::payments {
namespace {

constexpr char kSeparator = '\x1f';  // ASCII unit separator: never in ids (ValidateId)

std::string Clean(const std::string& text) {
  std::string cleaned = text;
  std::replace(cleaned.begin(), cleaned.end(), kSeparator, ' ');
  return cleaned;
}

LedgerEntry Entry(const v1::Event& event, LedgerKind kind, const std::string& currency,
                  const v1::Date& date, const std::string& document, const std::string& reference) {
  LedgerEntry entry;
  entry.currency = currency;
  entry.day = DayNumberOf(date);
  entry.kind = kind;
  entry.document = document;
  entry.event_id = event.event_id();
  entry.reference = reference;
  return entry;
}

}  // namespace

absl::string_view LedgerKindName(LedgerKind kind) {
  switch (kind) {
    case LedgerKind::kInvoice:
      return "invoice";
    case LedgerKind::kCreditNote:
      return "credit_note";
    case LedgerKind::kPayment:
      return "payment";
    case LedgerKind::kAllocation:
      return "allocation";
    case LedgerKind::kReversal:
      return "reversal";
    case LedgerKind::kCancellation:
      return "cancellation";
    case LedgerKind::kWriteOff:
      return "write_off";
  }
  return "unknown";
}

std::vector<LedgerEntry> LedgerEntriesFor(const v1::Event& event,
                                          const v1::PaymentsAccountView& view_before) {
  std::vector<LedgerEntry> entries;
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued: {
      const v1::InvoiceIssued& issued = event.invoice_issued();
      const v1::PaymentsInvoiceView* known = FindInvoice(view_before, issued.invoice_id());
      if (known != nullptr && known->issued()) break;
      LedgerEntry& e = entries.emplace_back(Entry(event, LedgerKind::kInvoice,
                                                  issued.total().currency(), issued.issue_date(),
                                                  issued.invoice_id(), issued.invoice_number()));
      e.debit_minor = issued.total().minor_units();
      break;
    }
    case v1::Event::kCreditNoteIssued: {
      const v1::CreditNoteIssued& note = event.credit_note_issued();
      const v1::PaymentsInvoiceView* known = FindInvoice(view_before, note.invoice_id());
      if (known != nullptr &&
          std::find(known->credit_note_ids().begin(), known->credit_note_ids().end(),
                    note.credit_note_id()) != known->credit_note_ids().end()) {
        break;
      }
      LedgerEntry& e =
          entries.emplace_back(Entry(event, LedgerKind::kCreditNote, note.amount().currency(),
                                     note.issue_date(), note.credit_note_id(), note.invoice_id()));
      e.credit_minor = note.amount().minor_units();
      break;
    }
    case v1::Event::kInvoiceCancelled: {
      const v1::InvoiceCancelled& cancelled = event.invoice_cancelled();
      // The invoice and its credit notes come on the same topic and partition before the
      // cancellation, so these figures do not depend on cross-topic order.
      const v1::PaymentsInvoiceView* known = FindInvoice(view_before, cancelled.invoice_id());
      if (known == nullptr || !known->issued() || known->cancelled()) break;
      LedgerEntry& e = entries.emplace_back(Entry(event, LedgerKind::kCancellation,
                                                  known->currency(), cancelled.cancel_date(),
                                                  cancelled.invoice_id(), cancelled.reason()));
      e.credit_minor = std::max<int64_t>(known->total_minor() - known->credited_minor(), 0);
      break;
    }
    case v1::Event::kDebtWrittenOff: {
      const v1::DebtWrittenOff& written_off = event.debt_written_off();
      const v1::PaymentsInvoiceView* known = FindInvoice(view_before, written_off.invoice_id());
      if (known != nullptr && known->written_off()) break;
      LedgerEntry& e = entries.emplace_back(
          Entry(event, LedgerKind::kWriteOff, written_off.amount().currency(), written_off.as_of(),
                written_off.invoice_id(), written_off.reason()));
      e.credit_minor = written_off.amount().minor_units();
      break;
    }
    case v1::Event::kPaymentReceived: {
      const v1::PaymentReceived& received = event.payment_received();
      LedgerEntry& e = entries.emplace_back(
          Entry(event, LedgerKind::kPayment, received.amount().currency(), received.value_date(),
                received.payment_id(), received.reference()));
      e.credit_minor = received.amount().minor_units();
      e.unapplied_delta_minor = received.amount().minor_units();
      break;
    }
    case v1::Event::kPaymentAllocated: {
      // Informational: the payment already lowered the balance.
      const v1::PaymentAllocated& allocated = event.payment_allocated();
      LedgerEntry& e = entries.emplace_back(
          Entry(event, LedgerKind::kAllocation, allocated.amount().currency(),
                allocated.allocation_date(), allocated.payment_id(), allocated.invoice_id()));
      e.unapplied_delta_minor = -allocated.amount().minor_units();
      break;
    }
    case v1::Event::kPaymentReversed: {
      const v1::PaymentReversed& reversed = event.payment_reversed();
      LedgerEntry& e = entries.emplace_back(
          Entry(event, LedgerKind::kReversal, reversed.amount().currency(),
                reversed.reversal_date(), reversed.payment_id(), reversed.reason()));
      e.debit_minor = reversed.amount().minor_units();
      // The reversed allocations return to the payment, and then all of it leaves.
      int64_t reversed_allocations = 0;
      for (const v1::PaymentAllocationLine& line : reversed.reversed_allocations()) {
        reversed_allocations += line.amount().minor_units();
      }
      e.unapplied_delta_minor = -(reversed.amount().minor_units() - reversed_allocations);
      break;
    }
    default:
      break;
  }
  return entries;
}

std::string EncodeLedgerMember(const LedgerEntry& entry) {
  return absl::StrCat(static_cast<int>(entry.kind), std::string(1, kSeparator),
                      Clean(entry.document), std::string(1, kSeparator), Clean(entry.event_id),
                      std::string(1, kSeparator), entry.debit_minor, std::string(1, kSeparator),
                      entry.credit_minor, std::string(1, kSeparator), entry.unapplied_delta_minor,
                      std::string(1, kSeparator), Clean(entry.reference));
}

absl::StatusOr<LedgerEntry> DecodeLedgerMember(const std::string& currency, int64_t day,
                                               const std::string& member) {
  std::vector<std::string> parts = absl::StrSplit(member, kSeparator);
  int kind = 0;
  LedgerEntry entry;
  if (parts.size() != 7 || !absl::SimpleAtoi(parts[0], &kind) || kind < 0 || kind > 6 ||
      !absl::SimpleAtoi(parts[3], &entry.debit_minor) ||
      !absl::SimpleAtoi(parts[4], &entry.credit_minor) ||
      !absl::SimpleAtoi(parts[5], &entry.unapplied_delta_minor)) {
    return absl::DataLossError("malformed ledger entry in the store");
  }
  entry.currency = currency;
  entry.day = day;
  entry.kind = static_cast<LedgerKind>(kind);
  entry.document = parts[1];
  entry.event_id = parts[2];
  entry.reference = parts[6];
  return entry;
}

v1::Statement BuildStatement(std::vector<LedgerEntry> entries, int64_t from_day, int64_t to_day) {
  std::sort(entries.begin(), entries.end(), [](const LedgerEntry& a, const LedgerEntry& b) {
    return std::tie(a.day, a.kind, a.document, a.event_id) <
           std::tie(b.day, b.kind, b.document, b.event_id);
  });
  v1::Statement statement;
  int64_t balance = 0;
  int64_t unapplied = 0;
  bool opened = false;
  for (const LedgerEntry& entry : entries) {
    if (entry.day > to_day) break;
    unapplied += entry.unapplied_delta_minor;
    if (entry.day < from_day) {
      balance += entry.debit_minor - entry.credit_minor;
      continue;
    }
    if (!opened) {
      statement.set_opening_balance_minor(balance);
      opened = true;
    }
    balance += entry.debit_minor - entry.credit_minor;
    v1::StatementLine* line = statement.add_lines();
    auto day = core::DayFromNumber(entry.day);
    if (day.ok()) *line->mutable_date() = DayToProto(*day);
    line->set_kind(std::string(LedgerKindName(entry.kind)));
    line->set_document(entry.document);
    line->set_reference(entry.reference);
    line->set_debit_minor(entry.debit_minor);
    line->set_credit_minor(entry.credit_minor);
    line->set_balance_minor(balance);
    line->set_event_id(entry.event_id);
  }
  if (!opened) statement.set_opening_balance_minor(balance);
  statement.set_closing_balance_minor(balance);
  statement.set_unapplied_cash_minor(unapplied);
  return statement;
}

}  // namespace ar::payments
