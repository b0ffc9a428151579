#pragma once
// The invoicing domain: pure rules, no I/O and no clock.
//
// State: an invoice is the `ar.v1.Invoice` message (what the read model stores), and the
// account it belongs to is seen through an AccountView (credit hold, display name).
// Commands are decided by Decide* functions that return the events to publish (or an
// idempotent replay of an earlier result, or an error); events change state only through
// Evolve(). The read model (projection/) and the command path (api/) both use these
// functions, so there is one definition of every rule.
//
// Money arithmetic (documented rounding, see ComputeLine):
//   net  = round_half_away_from_zero(quantity_milli * unit_price_minor / 1000)
//   tax  = round_half_away_from_zero(net * tax_rate_bp / 10000)
//   net_total = sum(net), tax_total = sum(tax), total = net_total + tax_total
// Totals are sums of the rounded line figures, so the printed lines always add up to the
// printed totals: no minor unit is created or lost between lines and totals. All products
// are taken in 128 bits and every sum is overflow-checked.
//
// Status codes: INVALID_ARGUMENT for bad input (whatever the state), FAILED_PRECONDITION
// for a business rule the current state forbids (credit hold, cancelling a paid invoice,
// a credit note larger than the open balance), ALREADY_EXISTS for an idempotency key
// reused with different content (the message names the first differing field).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"
#include "ar/v1/invoicing.pb.h"
#include "libs/protoconv/protoconv.h"

namespace ar::invoicing {

// Limits against absurd input (each is far above any real invoice).
inline constexpr int kMaxLines = 1000;
inline constexpr size_t kMaxIdLength = 128;
inline constexpr size_t kMaxTextLength = 1000;
// Any single amount (unit price, line figure, total, credit note): 10^15 minor units
// (10 trillion EUR). Keeps per-account sums of many invoices far from int64 overflow,
// which would otherwise make a read-model HINCRBY fail forever.
inline constexpr int64_t kMaxAmountMinor = 1'000'000'000'000'000;

// What the invoicing domain knows about an account.
struct AccountView {
  bool on_credit_hold = false;
  std::string name;
};

// What to do with a new invoice for an account on credit hold.
enum class CreditHoldPolicy {
  kReject,  // FAILED_PRECONDITION
  kFlag,    // accept; InvoiceIssued.issued_on_credit_hold = true
};
absl::StatusOr<CreditHoldPolicy> ParseCreditHoldPolicy(const std::string& text);

// Envelope facts the caller supplies, since the domain has no clock.
struct CommandContext {
  int64_t recorded_at_unix_micros = 0;
  std::string correlation_id;
  std::string causation_id;  // e.g. the raw ingest event's id
};

// What a command decided: events to publish as one batch, or the original result of an
// identical earlier command (nothing to publish).
struct Decision {
  std::vector<v1::Event> events;
  std::optional<v1::CommandResult> duplicate_of;
  std::string command_id;
};

// Deterministic event id (core::DerivedEventId of the command id and the event's index):
// the same command always produces the same event ids, so a retried or replayed command
// cannot create different events.
std::string EventIdFor(const std::string& command_id, int index);

// ---- Values -------------------------------------------------------------------------

// Proto value conversions shared by every service (libs/protoconv).
using protoconv::DayFromProto;
using protoconv::DayToProto;
using protoconv::IsDateSet;
inline v1::Money MakeMoneyProto(int64_t minor_units, const std::string& currency) {
  return protoconv::MoneyProto(minor_units, currency);
}

// "NET30" / "EOM+15" <-> PaymentTerms. Unknown spellings -> INVALID_ARGUMENT.
absl::StatusOr<v1::PaymentTerms> ParsePaymentTerms(const std::string& text);
std::string FormatPaymentTerms(const v1::PaymentTerms& terms);

// One line's figures by the documented rounding. INVALID_ARGUMENT for quantity <= 0, a
// tax rate outside 0..10000 bp, or figures beyond kMaxAmountMinor.
struct LineFigures {
  int64_t net_minor = 0;
  int64_t tax_minor = 0;
};
absl::StatusOr<LineFigures> ComputeLine(int64_t quantity_milli, int64_t unit_price_minor,
                                        int32_t tax_rate_bp);

// round_half_away_from_zero(numerator / denominator). Requires denominator > 0 and
// |numerator| < 2^125 (every caller multiplies two values of at most 2^63 and 2^50).
__int128 DivideRoundHalfAwayFromZero(__int128 numerator, __int128 denominator);

// ---- Commands -----------------------------------------------------------------------

// Builds and validates the InvoiceIssued body of a request (computed lines and totals,
// due date). Pure validation: no state involved.
absl::StatusOr<v1::InvoiceIssued> BuildInvoiceIssued(const v1::IssueInvoiceRequest& request);

// The raw-feed form: an InvoiceIssued body as a subsidiary published it (envelope gives
// the account) -> the equivalent request. Totals the source stated must match ours.
absl::StatusOr<v1::IssueInvoiceRequest> RequestFromRawInvoice(const v1::Event& raw);

std::string IssueInvoiceCommandId(const std::string& tenant, const std::string& invoice_id);

// `existing`: the stored invoice with the request's tenant + invoice id, if any.
absl::StatusOr<Decision> DecideIssueInvoice(const v1::IssueInvoiceRequest& request,
                                            const std::optional<v1::Invoice>& existing,
                                            const AccountView& account, CreditHoldPolicy policy,
                                            const CommandContext& context);

// `credit_note_invoice_id`: the invoice an earlier credit note with the same id was issued
// against (from the read model's credit-note index), if any.
absl::StatusOr<Decision> DecideIssueCreditNote(
    const v1::IssueCreditNoteRequest& request, const v1::Invoice& invoice,
    const std::optional<std::string>& credit_note_invoice_id, const CommandContext& context);
absl::StatusOr<Decision> DecideCancelInvoice(const v1::CancelInvoiceRequest& request,
                                             const v1::Invoice& invoice,
                                             const CommandContext& context);
absl::StatusOr<Decision> DecideDisputeInvoice(const v1::DisputeInvoiceRequest& request,
                                              const v1::Invoice& invoice,
                                              const CommandContext& context);
absl::StatusOr<Decision> DecideResolveDispute(const v1::ResolveDisputeRequest& request,
                                              const v1::Invoice& invoice,
                                              const CommandContext& context);

// Checks ids every command needs (core::ValidateId: 1..128 bytes of printable ASCII
// without spaces).
absl::Status ValidateId(const std::string& id, const std::string& what);

// ---- Events -------------------------------------------------------------------------

// The invoice ids an event changes (PaymentReversed may name several); empty for events
// that do not concern an invoice.
std::vector<std::string> InvoiceIdsOf(const v1::Event& event);

// Applies one event to an invoice. `position` is where the event landed in its topic
// (recorded in the history; InvoiceIssued's becomes `issued_at`).
//  - Idempotent: an event whose id is already in the history changes nothing.
//  - Facts from other services are applied as facts (a payment allocated to an invoice is
//    allocated even if the invoice was cancelled meanwhile); one that cannot apply (other
//    currency, a second InvoiceIssued for the same id) is recorded in the history as
//    kind "ignored" with the reason, never dropped silently.
//  - Order-independent result: the history is kept in a canonical order (issued first,
//    then by business date, then log position, then event id) and every figure is a
//    function of the sums, so any interleaving of the topics ends in the same Invoice.
// Returns true when the invoice changed.
bool Evolve(v1::Invoice& invoice, const v1::Event& event, const v1::LogPosition& position);

// open = 0 when cancelled or written off; else max(0, total - credited - allocated -
// written_off). Status by precedence: cancelled > written off > disputed > paid (open 0,
// allocated > 0) > credited (open 0) > partially paid (allocated > 0) > open.
v1::InvoiceStatus DeriveStatus(const v1::Invoice& invoice);
int64_t DeriveOpenBalance(const v1::Invoice& invoice);

}  // namespace ar::invoicing
