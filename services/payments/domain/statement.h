#pragma once
// The account ledger behind customer statements (pure functions).
//
// Every event that changes what a customer owes, or documents a payment's use, becomes
// one ledger entry: a function of the event alone (plus, for a cancellation, the invoice
// figures that the same topic delivered before it). So the ledger, and every statement
// built from it, is the same whatever order the topics were consumed in. Entries sort by
// business date, then a fixed kind order, then document id, then event id: never by
// consumption order.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ar/v1/events.pb.h"
#include "ar/v1/payments.pb.h"

namespace ar::payments {

// Kinds in the order they sort within one day.
enum class LedgerKind : int {
  kInvoice = 0,
  kCreditNote = 1,
  kPayment = 2,
  kAllocation = 3,
  kReversal = 4,
  kCancellation = 5,
  kWriteOff = 6,
};
absl::string_view LedgerKindName(LedgerKind kind);

struct LedgerEntry {
  std::string currency;
  int64_t day = 0;  // DayNumber of the business date
  LedgerKind kind = LedgerKind::kInvoice;
  std::string document;  // invoice, credit note or payment id
  std::string event_id;
  std::string reference;     // the invoice an allocation or credit note applies to, a reason
  int64_t debit_minor = 0;   // raises what the customer owes
  int64_t credit_minor = 0;  // lowers it
  // Change of the cash received but not matched to an invoice (held cash included).
  int64_t unapplied_delta_minor = 0;

  friend bool operator==(const LedgerEntry&, const LedgerEntry&) = default;
};

// The ledger entries of `event`, given the account view as it was before the event was
// applied (it tells a repeated invoice or credit note from a new one, and the figures a
// cancellation takes back). Empty for events that are not on statements.
std::vector<LedgerEntry> LedgerEntriesFor(const v1::Event& event,
                                          const v1::PaymentsAccountView& view_before);

// Sort key (stored as a sorted-set member together with the entry, under the day as the
// score): members of one day then sort by kind, document, event id.
std::string EncodeLedgerMember(const LedgerEntry& entry);
absl::StatusOr<LedgerEntry> DecodeLedgerMember(const std::string& currency, int64_t day,
                                               const std::string& member);

// The statement for [from, to] (day numbers, inclusive) of `currency` from all ledger
// entries of the account in that currency (any order). closing = opening + debits -
// credits, to the minor unit.
v1::Statement BuildStatement(std::vector<LedgerEntry> entries, int64_t from_day, int64_t to_day);

}  // namespace ar::payments
