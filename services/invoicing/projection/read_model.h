#pragma once
// The invoicing read model in the store: its keys and the reads the service needs.
//
// Every key starts with "inv:" because one memory store may serve several services in one
// process. Ids may contain ':' (core::ValidateId allows "acme:de:1001"), so every id but
// the last in a key is length-prefixed, which keeps keys unambiguous:
//   inv:invoice:<len>:<tenant>:<invoice_id>     STRING  ar.v1.Invoice
//   inv:pending:<len>:<tenant>:<invoice_id>     STRING  ar.v1.PendingInvoiceEvents: facts
//                                                       naming an invoice not seen yet
//   inv:credit_note:<len>:<tenant>:<cn_id>      STRING  invoice id the credit note reduced
//   inv:due:<len>:<tenant>:<account>            ZSET    invoice id -> due day number
//   inv:balance:<len>:<tenant>:<account>        HASH    currency -> open minor units
//                                                       (HINCRBY deltas: always the sum of
//                                                       the account's invoices' open balances)
//   inv:account:<len>:<tenant>:<account>        HASH    on_credit_hold ("1"/"0"), name

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ar/v1/invoicing.pb.h"
#include "libs/store/store.h"
#include "services/invoicing/domain/invoice_rules.h"

namespace ar::invoicing {

// The projection's checkpoint name in the store.
inline constexpr char kInvoicingProjection[] = "invoicing";
// The raw-feed consumer's checkpoint name (and consumer group).
inline constexpr char kIngestProjection[] = "invoicing-ingest";

std::string InvoiceKey(const std::string& tenant, const std::string& invoice_id);
std::string PendingKey(const std::string& tenant, const std::string& invoice_id);
std::string CreditNoteKey(const std::string& tenant, const std::string& credit_note_id);
std::string DueIndexKey(const std::string& tenant, const std::string& account);
std::string BalanceKey(const std::string& tenant, const std::string& account);
std::string AccountKey(const std::string& tenant, const std::string& account);

inline constexpr char kOnCreditHoldField[] = "on_credit_hold";
inline constexpr char kNameField[] = "name";

// Reads of the read model. Store errors (UNAVAILABLE) come back as they are; a stored
// value that does not parse is DATA_LOSS.
class ReadModel {
 public:
  explicit ReadModel(store::Store& store) : store_(store) {}

  absl::StatusOr<std::optional<v1::Invoice>> GetInvoice(const std::string& tenant,
                                                        const std::string& invoice_id);
  absl::StatusOr<AccountView> GetAccount(const std::string& tenant, const std::string& account);
  // The invoice a credit note id was used for, if any.
  absl::StatusOr<std::optional<std::string>> CreditNoteInvoice(const std::string& tenant,
                                                               const std::string& credit_note_id);
  // Open minor units per currency (every currency the account was ever invoiced in).
  absl::StatusOr<std::map<std::string, int64_t>> OpenBalances(const std::string& tenant,
                                                              const std::string& account);
  // Invoice ids of an account with due day numbers in [min_day, max_day], ascending by
  // (due day, invoice id), starting at `offset`, at most `limit`.
  absl::StatusOr<std::vector<store::ScoredMember>> InvoicesByDueDay(const std::string& tenant,
                                                                    const std::string& account,
                                                                    int64_t min_day,
                                                                    int64_t max_day, int64_t offset,
                                                                    int64_t limit);

 private:
  store::Store& store_;
};

}  // namespace ar::invoicing
