#pragma once
// Event builders shared by the payments tests (header-only, test code only).

#include <string>

#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"
#include "ar/v1/payments.pb.h"
#include "libs/protoconv/protoconv.h"

namespace ar::payments::testing {

inline v1::Money Eur(int64_t minor) { return protoconv::MoneyProto(minor, "EUR"); }
inline v1::Money Amount(int64_t minor, const std::string& currency) {
  return protoconv::MoneyProto(minor, currency);
}
inline v1::Date D(int y, int m, int d) { return protoconv::DateProto(y, m, d); }
inline v1::AccountRef Account(const std::string& account = "acct-1") {
  v1::AccountRef ref;
  ref.set_tenant("t1");
  ref.set_region("eu");
  ref.set_subsidiary("de");
  ref.set_account(account);
  return ref;
}
inline v1::Event Envelope(const std::string& event_id, const v1::AccountRef& account = Account()) {
  v1::Event e;
  e.set_event_id(event_id);
  e.set_tenant(account.tenant());
  e.set_region(account.region());
  e.set_subsidiary(account.subsidiary());
  e.set_account(account.account());
  e.set_schema_version(1);
  return e;
}
inline v1::Event InvoiceIssued(const std::string& invoice_id, int64_t total, const v1::Date& issue,
                               const v1::Date& due, const std::string& currency = "EUR",
                               const v1::AccountRef& account = Account()) {
  v1::Event e = Envelope("ev-issue-" + invoice_id, account);
  v1::InvoiceIssued* issued = e.mutable_invoice_issued();
  issued->set_invoice_id(invoice_id);
  issued->set_invoice_number("N-" + invoice_id);
  *issued->mutable_issue_date() = issue;
  *issued->mutable_due_date() = due;
  *issued->mutable_total() = Amount(total, currency);
  *issued->mutable_net_total() = Amount(total, currency);
  *issued->mutable_tax_total() = Amount(0, currency);
  return e;
}
inline v1::Event CreditNote(const std::string& note_id, const std::string& invoice_id,
                            int64_t amount, const v1::Date& date,
                            const std::string& currency = "EUR",
                            const v1::AccountRef& account = Account()) {
  v1::Event e = Envelope("ev-cn-" + note_id, account);
  v1::CreditNoteIssued* note = e.mutable_credit_note_issued();
  note->set_credit_note_id(note_id);
  note->set_invoice_id(invoice_id);
  *note->mutable_amount() = Amount(amount, currency);
  *note->mutable_issue_date() = date;
  note->set_reason("discount");
  return e;
}
inline v1::Event Cancelled(const std::string& invoice_id, const v1::Date& date,
                           const v1::AccountRef& account = Account()) {
  v1::Event e = Envelope("ev-cancel-" + invoice_id, account);
  e.mutable_invoice_cancelled()->set_invoice_id(invoice_id);
  e.mutable_invoice_cancelled()->set_reason("wrong customer");
  *e.mutable_invoice_cancelled()->mutable_cancel_date() = date;
  return e;
}
inline v1::Event WrittenOff(const std::string& invoice_id, int64_t amount, const v1::Date& date,
                            const std::string& currency = "EUR",
                            const v1::AccountRef& account = Account()) {
  v1::Event e = Envelope("ev-wo-" + invoice_id, account);
  v1::DebtWrittenOff* w = e.mutable_debt_written_off();
  w->set_invoice_id(invoice_id);
  *w->mutable_amount() = Amount(amount, currency);
  w->set_reason("insolvent");
  w->set_approver("cfo");
  *w->mutable_as_of() = date;
  return e;
}

}  // namespace ar::payments::testing
