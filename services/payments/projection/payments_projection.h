#pragma once
// The payments read model: events of ar.payments.events, ar.invoicing.events and
// ar.collections.events (DebtWrittenOff) -> store writes.
//
// Keys (all prefixed "pay:", because one memory store may serve several services in one
// process; the tenant is length-prefixed so no tenant id can reach another's keys):
//   pay:payment:<n>:<tenant>:<payment_id>           ar.v1.Payment (string)
//   pay:account:<n>:<tenant>:<account>              HASH, the account view in pieces:
//       account                 ar.v1.AccountRef
//       invoice:<invoice_id>    ar.v1.PaymentsInvoiceView
//       open:<payment_id>       "1" while the payment carries unapplied or held cash
//       command:<command_id>    ar.v1.LogPosition of the record that applied the command
//   pay:payments:<n>:<tenant>:<account>             ZSET payment id by value date
//   pay:unapplied:<n>:<tenant>:<account>            HASH currency -> unapplied minor units
//   pay:held:<n>:<tenant>:<account>                 HASH currency -> held minor units
//   pay:ledger:<n>:<tenant>:<currency>:<account>    ZSET statement ledger (see statement.h)
//
// The two topics are consumed in any interleaving; everything written is a function of
// the events (payment states only of payments events, the account view of commutative
// counters and flags, ledger entries of single events), so the read model ends identical
// whatever the interleaving. A second record of an already applied command (a reaction
// published again after a crash) is skipped: no allocation is ever applied twice.
//
// The account view (ar.v1.PaymentsAccountView, what decisions read) is stored as one hash
// field per invoice, open payment and applied command, so an event rewrites only the
// pieces it changes: as one serialized message it grew with the account and was rewritten
// whole for every batch that touched the account. LoadAccountView puts it back together.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ar/v1/events.pb.h"
#include "ar/v1/payments.pb.h"
#include "libs/projection/projection.h"
#include "libs/projection/state_cache.h"
#include "libs/store/store.h"
#include "services/payments/domain/payments_domain.h"

namespace ar::payments {

inline constexpr char kPaymentsProjectionName[] = "payments";

// Store keys of the read model.
struct Keys {
  static std::string Payment(absl::string_view tenant, absl::string_view payment_id);
  static std::string Account(absl::string_view tenant, absl::string_view account);
  static std::string PaymentsByValueDate(absl::string_view tenant, absl::string_view account);
  static std::string Unapplied(absl::string_view tenant, absl::string_view account);
  static std::string Held(absl::string_view tenant, absl::string_view account);
  static std::string Ledger(absl::string_view tenant, absl::string_view currency,
                            absl::string_view account);
};

class PaymentsProjection : public projection::Handler {
 public:
  explicit PaymentsProjection(store::Store& store);

  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;
  // States change in place in the cache, with no copy to undo a rejected record with.
  bool UndoesRejectedRecords() const override { return false; }
  void BeforeCommit(store::WriteBatch& batch) override;
  void Discard() override;
  void Committed() override;

  // Records of an already applied command that were skipped (diagnostics, tests).
  int64_t skipped_repeats() const { return skipped_repeats_; }
  // The account view this handler holds in memory (nullptr when none is cached): tests
  // check that the stored pieces put back together equal it.
  const v1::PaymentsAccountView* CachedAccountView(absl::string_view tenant,
                                                   absl::string_view account) const;

 private:
  absl::Status ApplyEvent(const v1::Event& event, const v1::LogPosition& position,
                          store::WriteBatch& batch);
  void ForgetRecord();

  // An account view as decisions see it, and the pieces changed since the last flush.
  struct CachedAccount {
    v1::PaymentsAccountView view;
    bool account_changed = false;
    std::vector<std::string> invoices_changed;  // may repeat
    std::vector<std::string> commands_added;
    std::vector<std::string> open_changed;  // payments whose open flag flipped (may repeat)
    bool queued = false;                    // listed in dirty_accounts_
  };
  absl::StatusOr<CachedAccount*> EditAccount(const std::string& key);
  void FlushAccounts(store::WriteBatch& batch);

  store::Store& store_;
  projection::StateCache<v1::Payment> payments_;
  // Kept across commits like payments_ (this handler is the only writer of its keys).
  std::unordered_map<std::string, CachedAccount> accounts_;
  std::vector<std::string> dirty_accounts_;  // keys of accounts_ changed since the flush
  v1::LogPosition current_record_;
  bool in_record_ = false;
  bool skip_record_ = false;  // the current record repeats an applied command
  int64_t skipped_repeats_ = 0;
};

// Reads of the read model shared by the API, the reactor and tests.
absl::StatusOr<std::optional<v1::Payment>> LoadPayment(store::Store& store,
                                                       absl::string_view tenant,
                                                       absl::string_view payment_id);
absl::StatusOr<v1::PaymentsAccountView> LoadAccountView(store::Store& store,
                                                        absl::string_view tenant,
                                                        absl::string_view account);
// The same, by the view's key (Keys::Account).
absl::StatusOr<v1::PaymentsAccountView> LoadAccountViewAt(store::Store& store,
                                                          const std::string& key);

// The account view and its open payments: what a decision needs.
absl::StatusOr<AccountState> LoadAccountState(store::Store& store, absl::string_view tenant,
                                              absl::string_view account);
// Unapplied and held cash of an account per currency (sorted by currency).
absl::StatusOr<v1::MoneyByCurrency> LoadCashByCurrency(store::Store& store,
                                                       const std::string& hash_key);
// The statement of [from_day, to_day] (day numbers, inclusive).
absl::StatusOr<v1::Statement> LoadStatement(store::Store& store, absl::string_view tenant,
                                            absl::string_view account, absl::string_view currency,
                                            int64_t from_day, int64_t to_day);

}  // namespace ar::payments
