#pragma once
// The payments domain: pure rules, no I/O and no clock.
//
// State: a payment is the `ar.v1.Payment` message (what the read model stores); the
// account it belongs to is seen through `ar.v1.PaymentsAccountView` (its invoices as the
// payments service knows them from invoicing/collections events and its own allocations,
// the payments that still carry unapplied or held cash). Commands are decided by Decide*
// functions returning the events to publish (or an idempotent replay, or an error);
// events change state only through the Evolve* functions. The projection and the command
// path use the same functions, so every rule has one definition.
//
// Amounts: int64 minor units, never floating point. An allocation moves minor units from
// a payment's unapplied (or held) cash to an invoice's allocated amount one for one, so
// amount == allocated + held + unapplied holds for every unreversed payment and no minor
// unit is created or lost.
//
// Status codes: INVALID_ARGUMENT for bad input (whatever the state), FAILED_PRECONDITION
// for a business rule the current state forbids (over-allocation, currency mismatch with
// the invoice, cancelled or written-off invoice, reversing twice), NOT_FOUND for an
// unknown payment, ALREADY_EXISTS for a payment id reused with different content (the
// message names the first differing field).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"
#include "ar/v1/payments.pb.h"
#include "libs/protoconv/protoconv.h"

namespace ar::payments {

// Limits against absurd input (far above anything real).
inline constexpr int kMaxAllocations = 1000;
inline constexpr size_t kMaxTextLength = 1000;
// Any single payment or allocation: 10^15 minor units. Keeps sums over many payments far
// from int64 overflow (a read-model HINCRBY that overflows would fail forever).
inline constexpr int64_t kMaxAmountMinor = 1'000'000'000'000'000;

struct Settings {
  // Unapplied cash is applied automatically to invoices that appear later.
  bool auto_apply_unapplied_cash = true;
};

// What every command needs besides its request: its idempotency key (which also derives
// the event ids), and the envelope stamps the caller takes from its clock.
struct CommandContext {
  std::string command_id;
  int64_t recorded_at_unix_micros = 0;
  std::string correlation_id;
};

// The account as a decision sees it: the view, and the payments of its open_payment_ids.
struct AccountState {
  v1::PaymentsAccountView view;
  std::vector<v1::Payment> open_payments;
};

// What a command decided: events to publish together, or the result of the earlier
// identical command (nothing published). Neither set: nothing to do.
struct Outcome {
  std::vector<v1::Event> events;
  std::optional<v1::CommandResult> duplicate_of;
};

// Command ids (EventBatch.command_id, and the parent of the derived event ids).
std::string RecordPaymentCommandId(absl::string_view payment_id);
std::string ReversePaymentCommandId(absl::string_view payment_id);
std::string ReactionCommandId(absl::string_view source_event_id);

// ---- dates ----
// A proto date that names a real day in 0001-01-01..9999-12-31; else INVALID_ARGUMENT
// naming `what` (libs/protoconv, shared by every service).
using protoconv::DayFromProto;
using protoconv::DayToProto;
// Days since 1970-01-01 for a stored (already validated) date; sorts like the dates.
int64_t DayNumberOf(const v1::Date& date);

// ---- invoices in the account view ----
const v1::PaymentsInvoiceView* FindInvoice(const v1::PaymentsAccountView& view,
                                           absl::string_view invoice_id);
// Finds or inserts (keeping the list sorted by invoice id).
v1::PaymentsInvoiceView& FindOrAddInvoice(v1::PaymentsAccountView& view,
                                          absl::string_view invoice_id);
// What is still owed: total - credited - allocated - written off; 0 for an invoice not yet
// issued, cancelled or written off.
int64_t OpenAmount(const v1::PaymentsInvoiceView& invoice);
// Whether an invoice can take cash: issued, not cancelled, not written off.
bool AcceptsAllocations(const v1::PaymentsInvoiceView& invoice);

// ---- decisions ----

// RecordPayment. `existing` is the stored payment with the same tenant and payment id,
// if any. Explicit allocations go to issued invoices (checked) or are held when the
// invoice is not yet known; without explicit allocations the payment goes to the open
// invoices in its currency, oldest due date first (ties: issue date, then invoice id).
// Events: PaymentReceived, then one PaymentAllocated per allocation.
absl::StatusOr<Outcome> DecideRecordPayment(const v1::RecordPaymentRequest& request,
                                            const v1::Payment* existing,
                                            const AccountState& account,
                                            const CommandContext& context);

// Input checks of ReversePaymentRequest alone (the API runs them before looking the
// payment up).
absl::Status ValidateReversePayment(const v1::ReversePaymentRequest& request);

// ReversePayment: one PaymentReversed listing exactly the live allocations it undoes.
absl::StatusOr<Outcome> DecideReversePayment(const v1::ReversePaymentRequest& request,
                                             const v1::Payment* payment,
                                             const CommandContext& context);

// What happens when `invoice_id` has appeared (InvoiceIssued applied to the view):
// held allocations naming it are applied (oldest payment first), what cannot be applied
// is released to unapplied cash, and, when the setting is on, unapplied cash in the
// invoice's currency is applied to it (oldest payment first). Empty when nothing is left
// to do, so a replayed reaction publishes nothing.
Outcome DecideInvoiceAppeared(absl::string_view invoice_id, const AccountState& account,
                              const Settings& settings, const CommandContext& context);

// ---- evolution ----

// Applies a payments-topic event to its payment. `position` is where the event's record
// is in the log. PaymentReceived creates the state (pass an empty Payment).
absl::Status EvolvePayment(v1::Payment& payment, const v1::Event& event,
                           const v1::LogPosition& position);

// Applies any event (invoicing, collections, payments) to the account view's invoices.
// Events that do not concern invoices leave it unchanged.
void EvolveAccountView(v1::PaymentsAccountView& view, const v1::Event& event);

// Marks `payment_id` open (carrying unapplied or held cash) or not, keeping the list sorted.
void SetPaymentOpen(v1::PaymentsAccountView& view, const std::string& payment_id, bool open);
bool PaymentCarriesCash(const v1::Payment& payment);

// Notes that the events of `command_id` come from the record at `position`. False when the
// same command was already applied from another record: a re-published batch, to skip.
bool NoteCommandApplied(v1::PaymentsAccountView& view, const std::string& command_id,
                        const v1::LogPosition& position);

}  // namespace ar::payments
