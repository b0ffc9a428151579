#include "services/payments/domain/payments_domain.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "libs/core/dates.h"
#include "libs/core/ids.h"
#include "libs/core/money.h"
#include "libs/core/status_macros.h"

namespace ar::payments {
namespace {

absl::Status ValidateText(const std::string& text, absl::string_view what) {
  if (text.size() > kMaxTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is longer than ", kMaxTextLength, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAccountRef(const v1::AccountRef& account) {
  RETURN_IF_ERROR(core::ValidateId(account.tenant(), "account.tenant"));
  RETURN_IF_ERROR(core::ValidateId(account.account(), "account.account"));
  if (!account.region().empty())
    RETURN_IF_ERROR(core::ValidateId(account.region(), "account.region"));
  if (!account.subsidiary().empty()) {
    RETURN_IF_ERROR(core::ValidateId(account.subsidiary(), "account.subsidiary"));
  }
  return absl::OkStatus();
}

v1::Money MakeProtoMoney(int64_t minor_units, const std::string& currency) {
  v1::Money money;
  money.set_minor_units(minor_units);
  money.set_currency(currency);
  return money;
}

bool SameDate(const v1::Date& a, const v1::Date& b) {
  return a.year() == b.year() && a.month() == b.month() && a.day() == b.day();
}

bool SameAllocations(const google::protobuf::RepeatedPtrField<v1::PaymentAllocationLine>& a,
                     const google::protobuf::RepeatedPtrField<v1::PaymentAllocationLine>& b) {
  if (a.size() != b.size()) return false;
  for (int i = 0; i < a.size(); ++i) {
    if (a[i].invoice_id() != b[i].invoice_id() ||
        a[i].amount().minor_units() != b[i].amount().minor_units() ||
        a[i].amount().currency() != b[i].amount().currency()) {
      return false;
    }
  }
  return true;
}

// The first field in which a repeated RecordPayment differs from the recorded payment.
std::optional<std::string> FirstDifference(const v1::RecordPaymentRequest& request,
                                           const v1::Payment& existing) {
  const v1::AccountRef& a = request.account();
  const v1::AccountRef& b = existing.account();
  if (a.account() != b.account()) return "account";
  if (a.region() != b.region()) return "account.region";
  if (a.subsidiary() != b.subsidiary()) return "account.subsidiary";
  if (request.amount().currency() != existing.amount().currency()) return "amount.currency";
  if (request.amount().minor_units() != existing.amount().minor_units()) return "amount";
  if (request.method() != existing.method()) return "method";
  if (!SameDate(request.value_date(), existing.value_date())) return "value_date";
  if (request.reference() != existing.reference()) return "reference";
  if (!SameAllocations(request.allocations(), existing.requested_allocations())) {
    return "allocations";
  }
  return std::nullopt;
}

absl::Status ValidateRecordPayment(const v1::RecordPaymentRequest& request) {
  RETURN_IF_ERROR(ValidateAccountRef(request.account()));
  RETURN_IF_ERROR(core::ValidateId(request.payment_id(), "payment_id"));
  const v1::Money& amount = request.amount();
  if (absl::Status known = core::LookupCurrency(amount.currency()).status(); !known.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("amount.currency: ", known.message()));
  }
  if (amount.minor_units() <= 0) {
    return absl::InvalidArgumentError("amount must be greater than zero");
  }
  if (amount.minor_units() > kMaxAmountMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount exceeds the limit of ", kMaxAmountMinor, " minor units"));
  }
  if (request.method() == v1::PAYMENT_METHOD_UNSPECIFIED ||
      !v1::PaymentMethod_IsValid(request.method())) {
    return absl::InvalidArgumentError("method must be set to a known payment method");
  }
  if (!request.has_value_date()) return absl::InvalidArgumentError("value_date is required");
  RETURN_IF_ERROR(DayFromProto(request.value_date(), "value_date").status());
  RETURN_IF_ERROR(ValidateText(request.reference(), "reference"));
  if (request.allocations_size() > kMaxAllocations) {
    return absl::InvalidArgumentError(absl::StrCat("more than ", kMaxAllocations, " allocations"));
  }
  int64_t sum = 0;
  std::vector<absl::string_view> seen;
  for (int i = 0; i < request.allocations_size(); ++i) {
    const v1::PaymentAllocationLine& line = request.allocations(i);
    const std::string what = absl::StrCat("allocations[", i, "]");
    RETURN_IF_ERROR(core::ValidateId(line.invoice_id(), what + ".invoice_id"));
    if (line.amount().currency() != amount.currency()) {
      return absl::InvalidArgumentError(absl::StrCat(what, " is in '", line.amount().currency(),
                                                     "' but the payment is in ",
                                                     amount.currency()));
    }
    if (line.amount().minor_units() <= 0) {
      return absl::InvalidArgumentError(what + ".amount must be greater than zero");
    }
    if (line.amount().minor_units() > amount.minor_units()) {
      return absl::InvalidArgumentError(what + ".amount exceeds the payment amount");
    }
    if (std::find(seen.begin(), seen.end(), line.invoice_id()) != seen.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " names invoice ", line.invoice_id(), " a second time"));
    }
    seen.push_back(line.invoice_id());
    // Each amount <= payment amount <= 10^15 and at most 1000 lines: no overflow.
    sum += line.amount().minor_units();
  }
  if (sum > amount.minor_units()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "allocations total ", sum, " minor units, more than the payment's ", amount.minor_units()));
  }
  return absl::OkStatus();
}

// Builds events with envelope and deterministic ids.
class EventSink {
 public:
  EventSink(const v1::AccountRef& account, const CommandContext& context)
      : account_(account), context_(context) {}

  v1::Event& Add() {
    v1::Event& event = events_.emplace_back();
    protoconv::StampEnvelope(
        event, account_,
        core::DerivedEventId(context_.command_id, absl::StrCat("/", events_.size() - 1)),
        {context_.recorded_at_unix_micros,
         context_.correlation_id.empty() ? context_.command_id : context_.correlation_id,
         // The projection skips a second record of the same command by this id.
         context_.command_id});
    return event;
  }

  std::vector<v1::Event> Take() { return std::move(events_); }

 private:
  const v1::AccountRef& account_;
  const CommandContext& context_;
  std::vector<v1::Event> events_;
};

void AddAllocation(EventSink& sink, const std::string& payment_id, const std::string& invoice_id,
                   int64_t amount, const std::string& currency, const v1::Date& date,
                   bool automatic, bool from_held) {
  v1::PaymentAllocated* allocated = sink.Add().mutable_payment_allocated();
  allocated->set_payment_id(payment_id);
  allocated->set_invoice_id(invoice_id);
  *allocated->mutable_amount() = MakeProtoMoney(amount, currency);
  *allocated->mutable_allocation_date() = date;
  allocated->set_automatic(automatic);
  allocated->set_from_held(from_held);
}

// Open invoices in `currency`, oldest due date first, then issue date, then id.
std::vector<const v1::PaymentsInvoiceView*> OpenInvoicesOldestDueFirst(
    const v1::PaymentsAccountView& view, const std::string& currency) {
  std::vector<const v1::PaymentsInvoiceView*> open;
  for (const v1::PaymentsInvoiceView& invoice : view.invoices()) {
    if (invoice.currency() == currency && OpenAmount(invoice) > 0) open.push_back(&invoice);
  }
  std::sort(open.begin(), open.end(), [](const auto* a, const auto* b) {
    return std::make_tuple(DayNumberOf(a->due_date()), DayNumberOf(a->issue_date()),
                           absl::string_view(a->invoice_id())) <
           std::make_tuple(DayNumberOf(b->due_date()), DayNumberOf(b->issue_date()),
                           absl::string_view(b->invoice_id()));
  });
  return open;
}

// Holds that reached zero are dropped, so a payment lists only what it still holds.
void DropEmptyHolds(v1::Payment& payment) {
  auto* allocations = payment.mutable_allocations();
  allocations->erase(std::remove_if(allocations->begin(), allocations->end(),
                                    [](const v1::Allocation& a) {
                                      return a.held() && a.amount().minor_units() == 0;
                                    }),
                     allocations->end());
}

const v1::Date& LaterDate(const v1::Date& a, const v1::Date& b) {
  return DayNumberOf(a) >= DayNumberOf(b) ? a : b;
}

}  // namespace

std::string RecordPaymentCommandId(absl::string_view payment_id) {
  return absl::StrCat("record-payment:", payment_id);
}
std::string ReversePaymentCommandId(absl::string_view payment_id) {
  return absl::StrCat("reverse-payment:", payment_id);
}
std::string ReactionCommandId(absl::string_view source_event_id) {
  return absl::StrCat("react:", source_event_id);
}

int64_t DayNumberOf(const v1::Date& date) {
  return core::DayNumber(absl::CivilDay(date.year(), date.month(), date.day()));
}

const v1::PaymentsInvoiceView* FindInvoice(const v1::PaymentsAccountView& view,
                                           absl::string_view invoice_id) {
  auto it = std::lower_bound(view.invoices().begin(), view.invoices().end(), invoice_id,
                             [](const v1::PaymentsInvoiceView& inv, absl::string_view id) {
                               return absl::string_view(inv.invoice_id()) < id;
                             });
  if (it == view.invoices().end() || it->invoice_id() != invoice_id) return nullptr;
  return &*it;
}

v1::PaymentsInvoiceView& FindOrAddInvoice(v1::PaymentsAccountView& view,
                                          absl::string_view invoice_id) {
  auto* invoices = view.mutable_invoices();
  auto it = std::lower_bound(invoices->begin(), invoices->end(), invoice_id,
                             [](const v1::PaymentsInvoiceView& inv, absl::string_view id) {
                               return absl::string_view(inv.invoice_id()) < id;
                             });
  if (it != invoices->end() && it->invoice_id() == invoice_id) return *it;
  const int index = static_cast<int>(it - invoices->begin());
  invoices->Add()->set_invoice_id(std::string(invoice_id));
  // Bubble the new element from the end into its sorted place.
  for (int i = invoices->size() - 1; i > index; --i) invoices->SwapElements(i, i - 1);
  return invoices->at(index);
}

bool AcceptsAllocations(const v1::PaymentsInvoiceView& invoice) {
  return invoice.issued() && !invoice.cancelled() && !invoice.written_off();
}

int64_t OpenAmount(const v1::PaymentsInvoiceView& invoice) {
  if (!AcceptsAllocations(invoice)) return 0;
  const int64_t open = invoice.total_minor() - invoice.credited_minor() -
                       invoice.allocated_minor() - invoice.written_off_minor();
  return std::max<int64_t>(open, 0);
}

absl::StatusOr<Outcome> DecideRecordPayment(const v1::RecordPaymentRequest& request,
                                            const v1::Payment* existing,
                                            const AccountState& account,
                                            const CommandContext& context) {
  RETURN_IF_ERROR(ValidateRecordPayment(request));
  if (existing != nullptr) {
    if (std::optional<std::string> differs = FirstDifference(request, *existing)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "payment ", request.payment_id(), " was already recorded with a different ", *differs));
    }
    Outcome repeat;
    v1::CommandResult& result = repeat.duplicate_of.emplace();
    *result.mutable_position() = existing->recorded_at();
    *result.mutable_event_ids() = existing->recorded_event_ids();
    result.set_duplicate(true);
    return repeat;
  }

  const std::string& payment_id = request.payment_id();
  const std::string& currency = request.amount().currency();
  const v1::PaymentsAccountView& view = account.view;

  struct Planned {
    std::string invoice_id;
    int64_t amount;
    bool automatic;
  };
  std::vector<Planned> planned;
  std::vector<const v1::PaymentAllocationLine*> held;
  if (request.allocations_size() > 0) {
    for (const v1::PaymentAllocationLine& line : request.allocations()) {
      const v1::PaymentsInvoiceView* invoice = FindInvoice(view, line.invoice_id());
      if (invoice == nullptr || !invoice->issued()) {
        // Not seen yet (its InvoiceIssued may still be on its way on another topic).
        held.push_back(&line);
        continue;
      }
      if (invoice->cancelled()) {
        return absl::FailedPreconditionError(
            absl::StrCat("invoice ", line.invoice_id(), " is cancelled"));
      }
      if (invoice->written_off()) {
        return absl::FailedPreconditionError(
            absl::StrCat("invoice ", line.invoice_id(), " is written off"));
      }
      if (invoice->currency() != currency) {
        return absl::FailedPreconditionError(absl::StrCat("invoice ", line.invoice_id(), " is in ",
                                                          invoice->currency(), ", the payment in ",
                                                          currency));
      }
      const int64_t open = OpenAmount(*invoice);
      if (line.amount().minor_units() > open) {
        return absl::FailedPreconditionError(
            absl::StrCat("over-allocation: invoice ", line.invoice_id(), " has ", open,
                         " minor units open, the allocation is ", line.amount().minor_units()));
      }
      planned.push_back({line.invoice_id(), line.amount().minor_units(), false});
    }
  } else {
    int64_t remaining = request.amount().minor_units();
    for (const v1::PaymentsInvoiceView* invoice : OpenInvoicesOldestDueFirst(view, currency)) {
      if (remaining == 0) break;
      const int64_t amount = std::min(remaining, OpenAmount(*invoice));
      planned.push_back({invoice->invoice_id(), amount, true});
      remaining -= amount;
    }
  }

  EventSink sink(request.account(), context);
  v1::PaymentReceived* received = sink.Add().mutable_payment_received();
  received->set_payment_id(payment_id);
  *received->mutable_amount() = request.amount();
  received->set_method(request.method());
  *received->mutable_value_date() = request.value_date();
  received->set_reference(request.reference());
  *received->mutable_requested_allocations() = request.allocations();
  for (const v1::PaymentAllocationLine* line : held) *received->add_held_allocations() = *line;
  for (const Planned& p : planned) {
    AddAllocation(sink, payment_id, p.invoice_id, p.amount, currency, request.value_date(),
                  p.automatic, /*from_held=*/false);
  }
  Outcome outcome;
  outcome.events = sink.Take();
  return outcome;
}

absl::Status ValidateReversePayment(const v1::ReversePaymentRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.payment_id(), "payment_id"));
  if (request.reason().empty()) {
    return absl::InvalidArgumentError("reason is required (e.g. \"bounced\", \"chargeback\")");
  }
  RETURN_IF_ERROR(ValidateText(request.reason(), "reason"));
  if (!request.has_reversal_date()) return absl::InvalidArgumentError("reversal_date is required");
  return DayFromProto(request.reversal_date(), "reversal_date").status();
}

absl::StatusOr<Outcome> DecideReversePayment(const v1::ReversePaymentRequest& request,
                                             const v1::Payment* payment,
                                             const CommandContext& context) {
  RETURN_IF_ERROR(ValidateReversePayment(request));
  if (payment == nullptr) {
    return absl::NotFoundError(absl::StrCat("payment ", request.payment_id(), " not found"));
  }
  if (payment->reversed()) {
    return absl::FailedPreconditionError(absl::StrCat("payment ", request.payment_id(),
                                                      " is already reversed (",
                                                      payment->reversal_reason(), ")"));
  }
  if (DayNumberOf(request.reversal_date()) < DayNumberOf(payment->value_date())) {
    return absl::FailedPreconditionError("reversal_date is before the payment's value_date");
  }
  EventSink sink(payment->account(), context);
  v1::PaymentReversed* reversed = sink.Add().mutable_payment_reversed();
  reversed->set_payment_id(payment->payment_id());
  reversed->set_reason(request.reason());
  *reversed->mutable_reversal_date() = request.reversal_date();
  *reversed->mutable_amount() = payment->amount();
  for (const v1::Allocation& allocation : payment->allocations()) {
    if (allocation.held() || allocation.reversed()) continue;
    v1::PaymentAllocationLine* line = reversed->add_reversed_allocations();
    line->set_invoice_id(allocation.invoice_id());
    *line->mutable_amount() = allocation.amount();
  }
  Outcome outcome;
  outcome.events = sink.Take();
  return outcome;
}

Outcome DecideInvoiceAppeared(absl::string_view invoice_id, const AccountState& account,
                              const Settings& settings, const CommandContext& context) {
  Outcome outcome;
  const v1::PaymentsInvoiceView* invoice = FindInvoice(account.view, invoice_id);
  if (invoice == nullptr || !invoice->issued()) return outcome;

  std::vector<const v1::Payment*> payments;
  for (const v1::Payment& payment : account.open_payments) {
    if (!payment.reversed()) payments.push_back(&payment);
  }
  // Oldest payment first: value date, then payment id.
  std::sort(payments.begin(), payments.end(), [](const v1::Payment* a, const v1::Payment* b) {
    return std::make_tuple(DayNumberOf(a->value_date()), absl::string_view(a->payment_id())) <
           std::make_tuple(DayNumberOf(b->value_date()), absl::string_view(b->payment_id()));
  });
  if (payments.empty()) return outcome;

  int64_t open = OpenAmount(*invoice);
  std::map<std::string, int64_t> unapplied;  // per payment, as this decision changes it
  for (const v1::Payment* payment : payments) {
    unapplied[payment->payment_id()] = payment->unapplied().minor_units();
  }

  EventSink sink(payments.front()->account(), context);
  for (const v1::Payment* payment : payments) {
    for (const v1::Allocation& hold : payment->allocations()) {
      if (!hold.held() || hold.invoice_id() != invoice_id || hold.amount().minor_units() <= 0) {
        continue;
      }
      const int64_t held = hold.amount().minor_units();
      const v1::Date& date = LaterDate(payment->value_date(), invoice->issue_date());
      std::string reason;
      int64_t apply = 0;
      if (invoice->cancelled()) {
        reason = "the invoice is cancelled";
      } else if (invoice->written_off()) {
        reason = "the invoice is written off";
      } else if (invoice->currency() != payment->amount().currency()) {
        reason = absl::StrCat("the invoice is in ", invoice->currency());
      } else {
        apply = std::min(held, open);
        if (apply < held) reason = absl::StrCat("the invoice had only ", open, " minor units open");
      }
      if (apply > 0) {
        AddAllocation(sink, payment->payment_id(), invoice->invoice_id(), apply,
                      payment->amount().currency(), date, /*automatic=*/false, /*from_held=*/true);
        open -= apply;
      }
      if (held - apply > 0) {
        v1::PaymentHoldReleased* released = sink.Add().mutable_payment_hold_released();
        released->set_payment_id(payment->payment_id());
        released->set_invoice_id(invoice->invoice_id());
        *released->mutable_amount() = MakeProtoMoney(held - apply, payment->amount().currency());
        released->set_reason(reason);
        *released->mutable_release_date() = date;
        unapplied[payment->payment_id()] += held - apply;
      }
    }
  }
  if (settings.auto_apply_unapplied_cash) {
    for (const v1::Payment* payment : payments) {
      if (open <= 0) break;
      if (payment->amount().currency() != invoice->currency()) continue;
      const int64_t apply = std::min(unapplied[payment->payment_id()], open);
      if (apply <= 0) continue;
      AddAllocation(sink, payment->payment_id(), invoice->invoice_id(), apply, invoice->currency(),
                    LaterDate(payment->value_date(), invoice->issue_date()),
                    /*automatic=*/true, /*from_held=*/false);
      open -= apply;
    }
  }
  outcome.events = sink.Take();
  return outcome;
}

bool PaymentCarriesCash(const v1::Payment& payment) {
  return !payment.reversed() &&
         (payment.unapplied().minor_units() > 0 || payment.held().minor_units() > 0);
}

absl::Status EvolvePayment(v1::Payment& payment, const v1::Event& event,
                           const v1::LogPosition& position) {
  switch (event.body_case()) {
    case v1::Event::kPaymentReceived: {
      const v1::PaymentReceived& received = event.payment_received();
      if (!payment.payment_id().empty()) {
        return absl::AlreadyExistsError(
            absl::StrCat("payment ", received.payment_id(), " is already recorded"));
      }
      v1::AccountRef* account = payment.mutable_account();
      account->set_tenant(event.tenant());
      account->set_region(event.region());
      account->set_subsidiary(event.subsidiary());
      account->set_account(event.account());
      payment.set_payment_id(received.payment_id());
      *payment.mutable_amount() = received.amount();
      payment.set_method(received.method());
      *payment.mutable_value_date() = received.value_date();
      payment.set_reference(received.reference());
      *payment.mutable_requested_allocations() = received.requested_allocations();
      const std::string& currency = received.amount().currency();
      int64_t held = 0;
      for (const v1::PaymentAllocationLine& line : received.held_allocations()) {
        v1::Allocation* hold = payment.add_allocations();
        hold->set_invoice_id(line.invoice_id());
        *hold->mutable_amount() = line.amount();
        *hold->mutable_allocation_date() = received.value_date();
        hold->set_held(true);
        held += line.amount().minor_units();
      }
      *payment.mutable_allocated() = MakeProtoMoney(0, currency);
      *payment.mutable_held() = MakeProtoMoney(held, currency);
      *payment.mutable_unapplied() =
          MakeProtoMoney(received.amount().minor_units() - held, currency);
      *payment.mutable_recorded_at() = position;
      payment.add_recorded_event_ids(event.event_id());
      return absl::OkStatus();
    }
    case v1::Event::kPaymentAllocated: {
      const v1::PaymentAllocated& allocated = event.payment_allocated();
      if (payment.payment_id().empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("allocation of unknown payment ", allocated.payment_id()));
      }
      const int64_t amount = allocated.amount().minor_units();
      if (allocated.from_held()) {
        v1::Allocation* hold = nullptr;
        for (v1::Allocation& a : *payment.mutable_allocations()) {
          if (a.held() && a.invoice_id() == allocated.invoice_id()) hold = &a;
        }
        if (hold == nullptr || hold->amount().minor_units() < amount) {
          return absl::FailedPreconditionError(
              absl::StrCat("payment ", allocated.payment_id(), " holds less than ", amount,
                           " for invoice ", allocated.invoice_id()));
        }
        hold->mutable_amount()->set_minor_units(hold->amount().minor_units() - amount);
        payment.mutable_held()->set_minor_units(payment.held().minor_units() - amount);
        DropEmptyHolds(payment);
      } else {
        if (payment.unapplied().minor_units() < amount) {
          return absl::FailedPreconditionError(absl::StrCat(
              "payment ", allocated.payment_id(), " has less than ", amount, " unapplied"));
        }
        payment.mutable_unapplied()->set_minor_units(payment.unapplied().minor_units() - amount);
      }
      payment.mutable_allocated()->set_minor_units(payment.allocated().minor_units() + amount);
      v1::Allocation* allocation = payment.add_allocations();
      allocation->set_invoice_id(allocated.invoice_id());
      *allocation->mutable_amount() = allocated.amount();
      *allocation->mutable_allocation_date() = allocated.allocation_date();
      allocation->set_automatic(allocated.automatic());
      *allocation->mutable_position() = position;
      allocation->set_event_id(event.event_id());
      // The events of the recording command make up its result (idempotent replays).
      if (position.topic() == payment.recorded_at().topic() &&
          position.partition() == payment.recorded_at().partition() &&
          position.offset() == payment.recorded_at().offset()) {
        payment.add_recorded_event_ids(event.event_id());
      }
      return absl::OkStatus();
    }
    case v1::Event::kPaymentHoldReleased: {
      const v1::PaymentHoldReleased& released = event.payment_hold_released();
      const int64_t amount = released.amount().minor_units();
      v1::Allocation* hold = nullptr;
      for (v1::Allocation& a : *payment.mutable_allocations()) {
        if (a.held() && a.invoice_id() == released.invoice_id()) hold = &a;
      }
      if (hold == nullptr || hold->amount().minor_units() < amount) {
        return absl::FailedPreconditionError(absl::StrCat("payment ", released.payment_id(),
                                                          " holds less than ", amount,
                                                          " for invoice ", released.invoice_id()));
      }
      hold->mutable_amount()->set_minor_units(hold->amount().minor_units() - amount);
      payment.mutable_held()->set_minor_units(payment.held().minor_units() - amount);
      payment.mutable_unapplied()->set_minor_units(payment.unapplied().minor_units() + amount);
      DropEmptyHolds(payment);
      return absl::OkStatus();
    }
    case v1::Event::kPaymentReversed: {
      const v1::PaymentReversed& reversed = event.payment_reversed();
      if (payment.payment_id().empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("reversal of unknown payment ", reversed.payment_id()));
      }
      if (payment.reversed()) {
        return absl::FailedPreconditionError(
            absl::StrCat("payment ", reversed.payment_id(), " is already reversed"));
      }
      payment.set_reversed(true);
      payment.set_reversal_reason(reversed.reason());
      *payment.mutable_reversal_date() = reversed.reversal_date();
      for (v1::Allocation& allocation : *payment.mutable_allocations()) {
        if (allocation.held()) {
          allocation.mutable_amount()->set_minor_units(0);  // released with the payment
        } else {
          allocation.set_reversed(true);
        }
      }
      DropEmptyHolds(payment);
      payment.mutable_allocated()->set_minor_units(0);
      payment.mutable_held()->set_minor_units(0);
      payment.mutable_unapplied()->set_minor_units(0);
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

void EvolveAccountView(v1::PaymentsAccountView& view, const v1::Event& event) {
  if (!view.has_account()) {
    v1::AccountRef* account = view.mutable_account();
    account->set_tenant(event.tenant());
    account->set_region(event.region());
    account->set_subsidiary(event.subsidiary());
    account->set_account(event.account());
  }
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued: {
      const v1::InvoiceIssued& issued = event.invoice_issued();
      v1::PaymentsInvoiceView& invoice = FindOrAddInvoice(view, issued.invoice_id());
      if (invoice.issued()) return;  // a repeat of the same invoice counts once
      invoice.set_issued(true);
      invoice.set_invoice_number(issued.invoice_number());
      invoice.set_currency(issued.total().currency());
      *invoice.mutable_issue_date() = issued.issue_date();
      *invoice.mutable_due_date() = issued.due_date();
      invoice.set_total_minor(issued.total().minor_units());
      return;
    }
    case v1::Event::kCreditNoteIssued: {
      const v1::CreditNoteIssued& note = event.credit_note_issued();
      v1::PaymentsInvoiceView& invoice = FindOrAddInvoice(view, note.invoice_id());
      for (const std::string& id : invoice.credit_note_ids()) {
        if (id == note.credit_note_id()) return;
      }
      invoice.add_credit_note_ids(note.credit_note_id());
      invoice.set_credited_minor(invoice.credited_minor() + note.amount().minor_units());
      return;
    }
    case v1::Event::kInvoiceCancelled:
      FindOrAddInvoice(view, event.invoice_cancelled().invoice_id()).set_cancelled(true);
      return;
    case v1::Event::kDebtWrittenOff: {
      const v1::DebtWrittenOff& written_off = event.debt_written_off();
      v1::PaymentsInvoiceView& invoice = FindOrAddInvoice(view, written_off.invoice_id());
      if (invoice.written_off()) return;
      invoice.set_written_off(true);
      invoice.set_written_off_minor(written_off.amount().minor_units());
      return;
    }
    case v1::Event::kPaymentAllocated: {
      const v1::PaymentAllocated& allocated = event.payment_allocated();
      v1::PaymentsInvoiceView& invoice = FindOrAddInvoice(view, allocated.invoice_id());
      invoice.set_allocated_minor(invoice.allocated_minor() + allocated.amount().minor_units());
      return;
    }
    case v1::Event::kPaymentReversed:
      for (const v1::PaymentAllocationLine& line :
           event.payment_reversed().reversed_allocations()) {
        v1::PaymentsInvoiceView& invoice = FindOrAddInvoice(view, line.invoice_id());
        invoice.set_allocated_minor(invoice.allocated_minor() - line.amount().minor_units());
      }
      return;
    default:
      return;
  }
}

void SetPaymentOpen(v1::PaymentsAccountView& view, const std::string& payment_id, bool open) {
  auto* ids = view.mutable_open_payment_ids();
  auto it = std::lower_bound(ids->begin(), ids->end(), payment_id);
  const bool present = it != ids->end() && *it == payment_id;
  if (open == present) return;
  const int index = static_cast<int>(it - ids->begin());
  if (open) {
    ids->Add(std::string(payment_id));
    for (int i = ids->size() - 1; i > index; --i) ids->SwapElements(i, i - 1);
  } else {
    ids->erase(it);
  }
}

bool NoteCommandApplied(v1::PaymentsAccountView& view, const std::string& command_id,
                        const v1::LogPosition& position) {
  if (command_id.empty()) return true;
  auto* applied = view.mutable_applied_commands();
  auto it = std::lower_bound(applied->begin(), applied->end(), command_id,
                             [](const v1::PaymentsAppliedCommand& c, const std::string& id) {
                               return c.command_id() < id;
                             });
  if (it != applied->end() && it->command_id() == command_id) {
    const v1::LogPosition& first = it->position();
    return first.topic() == position.topic() && first.partition() == position.partition() &&
           first.offset() == position.offset();
  }
  const int index = static_cast<int>(it - applied->begin());
  v1::PaymentsAppliedCommand* added = applied->Add();
  added->set_command_id(command_id);
  *added->mutable_position() = position;
  for (int i = applied->size() - 1; i > index; --i) applied->SwapElements(i, i - 1);
  return true;
}

}  // namespace ar::payments
