#include "services/invoicing/projection/invoice_projection.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"

namespace ar::invoicing {

namespace {

// Invoices stay parsed between batches (the handler is their only writer): the events
// that follow an invoice (credit notes, allocations) neither read nor parse it again.
constexpr size_t kInvoicesKeptAfterCommit = 100'000;
// No undo copies: see InvoiceProjection::UndoesRejectedRecords.
constexpr projection::StateCache<v1::Invoice>::Options kInvoiceCacheOptions{
    kInvoicesKeptAfterCommit, /*undo_records=*/false};

}  // namespace

InvoiceProjection::InvoiceProjection(store::Store& store)
    : invoices_(store, kInvoiceCacheOptions), pending_(store) {}

std::vector<std::string> InvoiceProjection::Topics() {
  return {topics::kInvoicing, topics::kPayments, topics::kCredit, topics::kCollections};
}

void InvoiceProjection::StartRecordIfNew(const eventlog::Record& source) {
  if (source.topic == record_topic_ && source.partition == record_partition_ &&
      source.offset == record_offset_) {
    return;
  }
  record_topic_ = source.topic;
  record_partition_ = source.partition;
  record_offset_ = source.offset;
  record_position_.set_topic(source.topic);
  record_position_.set_partition(source.partition);
  record_position_.set_offset(source.offset);
  invoices_.BeginRecord();
  pending_.BeginRecord();
}

void InvoiceProjection::ForgetRecord() {
  record_topic_.clear();
  record_partition_ = -1;
  record_offset_ = -1;
}

void InvoiceProjection::BeforeCommit(store::WriteBatch& batch) { invoices_.Flush(batch); }

void InvoiceProjection::Discard() {
  invoices_.Clear();
  pending_.Clear();
  ForgetRecord();
}

void InvoiceProjection::Committed() {
  invoices_.Committed();
  pending_.Clear();
  ForgetRecord();
}

absl::Status InvoiceProjection::Apply(const v1::Event& event, const eventlog::Record& source,
                                      store::WriteBatch& batch) {
  StartRecordIfNew(source);
  // On a rejection the runner calls Discard(), which forgets what this record changed.
  return ApplyEvent(event, record_position_, batch);
}

absl::Status InvoiceProjection::ApplyEvent(const v1::Event& event, const v1::LogPosition& position,
                                           store::WriteBatch& batch) {
  switch (event.body_case()) {
    case v1::Event::kCreditHoldPlaced:
    case v1::Event::kCreditHoldReleased:
      if (event.tenant().empty() || event.account().empty()) {
        return absl::InvalidArgumentError("credit hold event without tenant or account");
      }
      batch.HSet(AccountKey(event.tenant(), event.account()), kOnCreditHoldField,
                 event.body_case() == v1::Event::kCreditHoldPlaced ? "1" : "0");
      return absl::OkStatus();
    case v1::Event::kInvoiceIssued:
      return ApplyIssued(event, position, batch);
    default:
      break;
  }
  const std::vector<std::string> invoice_ids = InvoiceIdsOf(event);
  if (invoice_ids.empty()) return absl::OkStatus();  // nothing this read model tracks
  if (event.tenant().empty()) {
    return absl::InvalidArgumentError("event names an invoice but has no tenant");
  }
  for (const std::string& invoice_id : invoice_ids) {
    if (invoice_id.empty()) return absl::InvalidArgumentError("event names an empty invoice id");
  }
  for (const std::string& invoice_id : invoice_ids) {
    ASSIGN_OR_RETURN(v1::Invoice * invoice, invoices_.Edit(InvoiceKey(event.tenant(), invoice_id)));
    if (invoice == nullptr) {
      RETURN_IF_ERROR(HoldPending(event.tenant(), invoice_id, event, position, batch));
      continue;
    }
    ApplyToInvoice(*invoice, event, position, batch);
  }
  return absl::OkStatus();
}

void InvoiceProjection::ApplyToInvoice(v1::Invoice& invoice, const v1::Event& event,
                                       const v1::LogPosition& position, store::WriteBatch& batch) {
  const int64_t open_before = invoice.open_balance().minor_units();
  if (!Evolve(invoice, event, position)) return;
  const v1::AccountRef& account = invoice.account();
  const int64_t delta = invoice.open_balance().minor_units() - open_before;
  if (delta != 0) {
    batch.HIncrBy(BalanceKey(account.tenant(), account.account()),
                  invoice.open_balance().currency(), delta);
  }
  IndexCreditNote(invoice, event, batch);
}

void InvoiceProjection::IndexCreditNote(const v1::Invoice& invoice, const v1::Event& event,
                                        store::WriteBatch& batch) {
  if (event.body_case() != v1::Event::kCreditNoteIssued) return;
  for (const v1::CreditNote& note : invoice.credit_notes()) {
    const auto& ids = note.event_ids();
    if (std::find(ids.begin(), ids.end(), event.event_id()) != ids.end()) {
      batch.Set(CreditNoteKey(invoice.account().tenant(), note.credit_note_id()),
                invoice.invoice_id());
      return;
    }
  }
}

absl::Status InvoiceProjection::ApplyIssued(const v1::Event& event, const v1::LogPosition& position,
                                            store::WriteBatch& batch) {
  const v1::InvoiceIssued& issued = event.invoice_issued();
  if (event.tenant().empty() || event.account().empty() || issued.invoice_id().empty()) {
    return absl::InvalidArgumentError("InvoiceIssued without tenant, account or invoice id");
  }
  ASSIGN_OR_RETURN(absl::CivilDay due_day, DayFromProto(issued.due_date(), "due_date"));
  const std::string key = InvoiceKey(event.tenant(), issued.invoice_id());
  // Both reads first: a store error must find nothing changed yet.
  const std::string pending_key = PendingKey(event.tenant(), issued.invoice_id());
  ASSIGN_OR_RETURN(std::optional<v1::PendingInvoiceEvents> pending, pending_.Get(pending_key));
  ASSIGN_OR_RETURN(v1::Invoice * stored, invoices_.Edit(key, /*create=*/true));
  if (!stored->invoice_id().empty()) {
    // Already known: a redelivery (skipped by event id) or a conflicting second issue
    // (recorded in the invoice's history by Evolve).
    ApplyToInvoice(*stored, event, position, batch);
    return absl::OkStatus();
  }

  v1::Invoice& invoice = *stored;
  Evolve(invoice, event, position);
  // Facts that arrived before the invoice, in the order they arrived.
  if (pending.has_value() && pending->events_size() > 0) {
    for (const v1::PendingInvoiceEvent& held : pending->events()) {
      if (Evolve(invoice, held.event(), held.position()))
        IndexCreditNote(invoice, held.event(), batch);
    }
    // The cache remembers "nothing pending"; the store forgets the key.
    pending_.Put(pending_key, v1::PendingInvoiceEvents(), batch);
    batch.Del(pending_key);
  }

  const v1::AccountRef& account = invoice.account();
  batch.ZAdd(DueIndexKey(account.tenant(), account.account()), invoice.invoice_id(),
             core::DayNumber(due_day));
  // Always, even for 0: the field exists for every currency the account was invoiced in,
  // whichever order the facts arrived in.
  batch.HIncrBy(BalanceKey(account.tenant(), account.account()), invoice.open_balance().currency(),
                invoice.open_balance().minor_units());
  if (!issued.account_name().empty()) {
    batch.HSet(AccountKey(account.tenant(), account.account()), kNameField, issued.account_name());
  }
  return absl::OkStatus();
}

absl::Status InvoiceProjection::HoldPending(const std::string& tenant,
                                            const std::string& invoice_id, const v1::Event& event,
                                            const v1::LogPosition& position,
                                            store::WriteBatch& batch) {
  const std::string key = PendingKey(tenant, invoice_id);
  ASSIGN_OR_RETURN(std::optional<v1::PendingInvoiceEvents> pending, pending_.Get(key));
  v1::PendingInvoiceEvents held = pending.value_or(v1::PendingInvoiceEvents());
  for (const v1::PendingInvoiceEvent& already : held.events()) {
    if (!event.event_id().empty() && already.event().event_id() == event.event_id()) {
      return absl::OkStatus();  // the same fact delivered twice is held once
    }
  }
  v1::PendingInvoiceEvent* entry = held.add_events();
  *entry->mutable_event() = event;
  *entry->mutable_position() = position;
  pending_.Put(key, std::move(held), batch);
  return absl::OkStatus();
}

}  // namespace ar::invoicing
