#pragma once
// Builders of the events credit-risk consumes, for tests.

#include <string>

#include "absl/time/civil_time.h"
#include "ar/v1/events.pb.h"
#include "libs/core/dates.h"
#include "libs/protoconv/protoconv.h"

namespace ar::credit::testing {

inline constexpr char kTenant[] = "t1";
inline constexpr char kRegion[] = "eu";

inline v1::Event Envelope(const std::string& event_id, const std::string& account) {
  v1::Event event;
  event.set_event_id(event_id);
  event.set_tenant(kTenant);
  event.set_region(kRegion);
  event.set_subsidiary("sub-1");
  event.set_account(account);
  return event;
}

inline v1::Event Issued(const std::string& account, const std::string& invoice_id, int64_t total,
                        absl::CivilDay issue, absl::CivilDay due,
                        const std::string& currency = "EUR") {
  v1::Event event = Envelope("ev-issue-" + invoice_id, account);
  v1::InvoiceIssued* issued = event.mutable_invoice_issued();
  issued->set_invoice_id(invoice_id);
  *issued->mutable_issue_date() = protoconv::DayToProto(issue);
  *issued->mutable_due_date() = protoconv::DayToProto(due);
  *issued->mutable_total() = protoconv::MoneyProto(total, currency);
  return event;
}

inline v1::Event Allocated(const std::string& account, const std::string& payment_id,
                           const std::string& invoice_id, int64_t amount, absl::CivilDay day,
                           const std::string& currency = "EUR") {
  v1::Event event = Envelope("ev-alloc-" + payment_id + "-" + invoice_id, account);
  v1::PaymentAllocated* allocated = event.mutable_payment_allocated();
  allocated->set_payment_id(payment_id);
  allocated->set_invoice_id(invoice_id);
  *allocated->mutable_amount() = protoconv::MoneyProto(amount, currency);
  *allocated->mutable_allocation_date() = protoconv::DayToProto(day);
  return event;
}

inline v1::Event Reversed(const std::string& account, const std::string& payment_id,
                          const std::string& invoice_id, int64_t amount,
                          const std::string& currency = "EUR") {
  v1::Event event = Envelope("ev-rev-" + payment_id, account);
  v1::PaymentReversed* reversed = event.mutable_payment_reversed();
  reversed->set_payment_id(payment_id);
  reversed->set_reason("bounced");
  v1::PaymentAllocationLine* line = reversed->add_reversed_allocations();
  line->set_invoice_id(invoice_id);
  *line->mutable_amount() = protoconv::MoneyProto(amount, currency);
  *reversed->mutable_amount() = protoconv::MoneyProto(amount, currency);
  return event;
}

inline v1::Event PromiseBroken(const std::string& account, const std::string& promise_id) {
  v1::Event event = Envelope("ev-broken-" + promise_id, account);
  event.mutable_promise_to_pay_broken()->set_promise_id(promise_id);
  return event;
}

inline v1::Event WrittenOff(const std::string& account, const std::string& invoice_id) {
  v1::Event event = Envelope("ev-wo-" + invoice_id, account);
  event.mutable_debt_written_off()->set_invoice_id(invoice_id);
  return event;
}

inline v1::Event CreditNote(const std::string& account, const std::string& note_id,
                            const std::string& invoice_id, int64_t amount) {
  v1::Event event = Envelope("ev-cn-" + note_id, account);
  v1::CreditNoteIssued* note = event.mutable_credit_note_issued();
  note->set_credit_note_id(note_id);
  note->set_invoice_id(invoice_id);
  *note->mutable_amount() = protoconv::MoneyProto(amount, "EUR");
  return event;
}

inline v1::Event DayClosed(absl::CivilDay day, const std::string& region = kRegion) {
  v1::Event event;
  event.set_event_id("clock:" + region + ":" + core::FormatDate(day));
  event.set_region(region);
  event.set_account(region);
  *event.mutable_business_day_closed()->mutable_date() = protoconv::DayToProto(day);
  event.mutable_business_day_closed()->set_time_zone("UTC");
  return event;
}

inline v1::Event FxRate(const std::string& from, const std::string& to, int64_t rate_nano,
                        absl::CivilDay effective, const std::string& event_id) {
  v1::Event event;
  event.set_event_id(event_id);
  event.set_tenant(kTenant);
  event.set_account("fx:" + from + ":" + to);
  v1::FxRateSet* set = event.mutable_fx_rate_set();
  set->set_from_currency(from);
  set->set_to_currency(to);
  set->set_rate_nano(rate_nano);
  *set->mutable_effective_date() = protoconv::DayToProto(effective);
  return event;
}

}  // namespace ar::credit::testing
