#pragma once
// Event builders shared by the collections tests and benchmark (header-only, test code).

#include <string>

#include "absl/strings/str_cat.h"
#include "ar/v1/events.pb.h"
#include "libs/protoconv/protoconv.h"

namespace ar::collections::testing {

struct Who {
  std::string tenant = "t1";
  std::string region = "eu";
  std::string subsidiary = "de";
  std::string account = "acct-1";
};

inline v1::Date D(int y, int m, int d) { return protoconv::DateProto(y, m, d); }
inline v1::Money Eur(int64_t minor) { return protoconv::MoneyProto(minor, "EUR"); }

inline v1::Event Envelope(const std::string& event_id, const Who& who = {}) {
  v1::Event e;
  e.set_event_id(event_id);
  e.set_tenant(who.tenant);
  e.set_region(who.region);
  e.set_subsidiary(who.subsidiary);
  e.set_account(who.account);
  e.set_schema_version(1);
  return e;
}

inline v1::Event Issued(const std::string& invoice_id, int64_t total, const v1::Date& due,
                        const Who& who = {}) {
  v1::Event e = Envelope("issue-" + invoice_id, who);
  v1::InvoiceIssued* issued = e.mutable_invoice_issued();
  issued->set_invoice_id(invoice_id);
  issued->set_account_name("Name of " + who.account);
  *issued->mutable_issue_date() = D(2027, 1, 1);
  *issued->mutable_due_date() = due;
  *issued->mutable_total() = Eur(total);
  return e;
}

inline v1::Event Allocated(const std::string& payment_id, const std::string& invoice_id,
                           int64_t amount, const v1::Date& date, const Who& who = {}) {
  v1::Event e = Envelope(absl::StrCat("alloc-", payment_id, "-", invoice_id), who);
  v1::PaymentAllocated* allocated = e.mutable_payment_allocated();
  allocated->set_payment_id(payment_id);
  allocated->set_invoice_id(invoice_id);
  *allocated->mutable_amount() = Eur(amount);
  *allocated->mutable_allocation_date() = date;
  return e;
}

// What payments publishes with its allocations: the cash itself (counts towards promises).
inline v1::Event Received(const std::string& payment_id, int64_t amount, const v1::Date& date,
                          const Who& who = {}) {
  v1::Event e = Envelope("received-" + payment_id, who);
  v1::PaymentReceived* received = e.mutable_payment_received();
  received->set_payment_id(payment_id);
  *received->mutable_amount() = Eur(amount);
  *received->mutable_value_date() = date;
  return e;
}

inline v1::Event Reversed(const std::string& payment_id, const std::string& invoice_id,
                          int64_t amount, const Who& who = {}) {
  v1::Event e = Envelope("reverse-" + payment_id, who);
  v1::PaymentReversed* reversed = e.mutable_payment_reversed();
  reversed->set_payment_id(payment_id);
  v1::PaymentAllocationLine* line = reversed->add_reversed_allocations();
  line->set_invoice_id(invoice_id);
  *line->mutable_amount() = Eur(amount);
  *reversed->mutable_amount() = Eur(amount);
  return e;
}

inline v1::Event CreditNote(const std::string& note_id, const std::string& invoice_id,
                            int64_t amount, const Who& who = {}) {
  v1::Event e = Envelope("note-" + note_id, who);
  v1::CreditNoteIssued* note = e.mutable_credit_note_issued();
  note->set_credit_note_id(note_id);
  note->set_invoice_id(invoice_id);
  *note->mutable_amount() = Eur(amount);
  return e;
}

inline v1::Event Disputed(const std::string& invoice_id, int64_t amount, const Who& who = {}) {
  v1::Event e = Envelope("dispute-" + invoice_id, who);
  e.mutable_invoice_disputed()->set_invoice_id(invoice_id);
  *e.mutable_invoice_disputed()->mutable_disputed_amount() = Eur(amount);
  return e;
}

inline v1::Event Resolved(const std::string& invoice_id, const Who& who = {}) {
  v1::Event e = Envelope("resolve-" + invoice_id, who);
  e.mutable_dispute_resolved()->set_invoice_id(invoice_id);
  return e;
}

inline v1::Event Rated(const std::string& grade, const Who& who = {}) {
  v1::Event e = Envelope("rating-" + grade + "-" + who.account, who);
  e.mutable_credit_rating_changed()->set_new_grade(grade);
  return e;
}

// BusinessDayClosed as the clock publishes it: tenant "", account = region.
inline v1::Event DayClosed(const std::string& region, const v1::Date& date) {
  v1::Event e;
  e.set_event_id(absl::StrCat("clock:", region, ":", protoconv::DescribeDay(date)));
  e.set_region(region);
  e.set_account(region);
  e.set_schema_version(1);
  *e.mutable_business_day_closed()->mutable_date() = date;
  e.mutable_business_day_closed()->set_time_zone("UTC");
  return e;
}

}  // namespace ar::collections::testing
