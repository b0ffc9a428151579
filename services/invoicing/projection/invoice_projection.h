#pragma once
// The invoicing read model's projection handler: events of the invoicing, payments,
// credit and collections topics -> invoice states, the per-account due-date index, open
// balances per currency and the account view (see read_model.h for the keys).
//
// Cross-topic order: topics are consumed in any interleaving. A fact from another topic
// (PaymentAllocated, PaymentReversed, DebtWrittenOff, ...) that names an invoice the read
// model has not seen yet is kept under inv:pending:<tenant>:<invoice> and applied when the
// InvoiceIssued arrives. Each event is applied to an invoice at most once (Evolve skips
// event ids already in the invoice's history; pending lists skip ids already held), and
// every figure is a function of the applied set, so the read model ends the same whatever
// the interleaving.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/projection/projection.h"
#include "libs/projection/state_cache.h"
#include "libs/store/store.h"
#include "services/invoicing/projection/read_model.h"

namespace ar::invoicing {

class InvoiceProjection : public projection::Handler {
 public:
  explicit InvoiceProjection(store::Store& store);

  // The topics this read model is built from.
  static std::vector<std::string> Topics();

  // INVALID_ARGUMENT (-> dead letter) for events without the ids needed to key them;
  // store read errors come back as they are (UNAVAILABLE: the runner retries the record).
  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;
  // Invoices change in place in the cache with no copy kept to undo a rejected record
  // with (copying an invoice per event for that was the largest part of the handler's
  // cost): the runner discards the caches and applies the batch's earlier records again.
  bool UndoesRejectedRecords() const override { return false; }
  void BeforeCommit(store::WriteBatch& batch) override;
  void Discard() override;
  void Committed() override;

 private:
  absl::Status ApplyEvent(const v1::Event& event, const v1::LogPosition& position,
                          store::WriteBatch& batch);
  absl::Status ApplyIssued(const v1::Event& event, const v1::LogPosition& position,
                           store::WriteBatch& batch);
  // Evolves a known invoice and writes what changed (state, balance delta, indexes).
  void ApplyToInvoice(v1::Invoice& invoice, const v1::Event& event, const v1::LogPosition& position,
                      store::WriteBatch& batch);
  absl::Status HoldPending(const std::string& tenant, const std::string& invoice_id,
                           const v1::Event& event, const v1::LogPosition& position,
                           store::WriteBatch& batch);
  void IndexCreditNote(const v1::Invoice& invoice, const v1::Event& event,
                       store::WriteBatch& batch);
  void StartRecordIfNew(const eventlog::Record& source);
  void ForgetRecord();

  projection::StateCache<v1::Invoice> invoices_;
  projection::StateCache<v1::PendingInvoiceEvents> pending_;
  // The record the last Apply came from: a new one starts the caches' undo scope.
  std::string record_topic_;
  int32_t record_partition_ = -1;
  int64_t record_offset_ = -1;
  v1::LogPosition record_position_;  // the same, as the states record it
};

}  // namespace ar::invoicing
