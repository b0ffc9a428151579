#include "services/invoicing/projection/read_model.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status_macros.h"

namespace ar::invoicing {
namespace {

std::string Key(const char* kind, const std::string& scope, const std::string& id) {
  return absl::StrCat("inv:", kind, ":", scope.size(), ":", scope, ":", id);
}

}  // namespace

std::string InvoiceKey(const std::string& tenant, const std::string& invoice_id) {
  return Key("invoice", tenant, invoice_id);
}
std::string PendingKey(const std::string& tenant, const std::string& invoice_id) {
  return Key("pending", tenant, invoice_id);
}
std::string CreditNoteKey(const std::string& tenant, const std::string& credit_note_id) {
  return Key("credit_note", tenant, credit_note_id);
}
std::string DueIndexKey(const std::string& tenant, const std::string& account) {
  return Key("due", tenant, account);
}
std::string BalanceKey(const std::string& tenant, const std::string& account) {
  return Key("balance", tenant, account);
}
std::string AccountKey(const std::string& tenant, const std::string& account) {
  return Key("account", tenant, account);
}

absl::StatusOr<std::optional<v1::Invoice>> ReadModel::GetInvoice(const std::string& tenant,
                                                                 const std::string& invoice_id) {
  const std::string key = InvoiceKey(tenant, invoice_id);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_.Get(key));
  if (!bytes.has_value()) return std::optional<v1::Invoice>();
  v1::Invoice invoice;
  if (!invoice.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("stored invoice under '", key, "' does not parse"));
  }
  return std::optional<v1::Invoice>(std::move(invoice));
}

absl::StatusOr<AccountView> ReadModel::GetAccount(const std::string& tenant,
                                                  const std::string& account) {
  ASSIGN_OR_RETURN(auto fields, store_.HGetAll(AccountKey(tenant, account)));
  AccountView view;
  view.on_credit_hold = fields[kOnCreditHoldField] == "1";
  view.name = fields[kNameField];
  return view;
}

absl::StatusOr<std::optional<std::string>> ReadModel::CreditNoteInvoice(
    const std::string& tenant, const std::string& credit_note_id) {
  return store_.Get(CreditNoteKey(tenant, credit_note_id));
}

absl::StatusOr<std::map<std::string, int64_t>> ReadModel::OpenBalances(const std::string& tenant,
                                                                       const std::string& account) {
  const std::string key = BalanceKey(tenant, account);
  ASSIGN_OR_RETURN(auto fields, store_.HGetAll(key));
  std::map<std::string, int64_t> balances;
  for (const auto& [currency, text] : fields) {
    int64_t minor_units = 0;
    if (!absl::SimpleAtoi(text, &minor_units)) {
      return absl::DataLossError(absl::StrCat("open balance '", text, "' of ", currency, " under '",
                                              key, "' is not an integer"));
    }
    balances[currency] = minor_units;
  }
  return balances;
}

absl::StatusOr<std::vector<store::ScoredMember>> ReadModel::InvoicesByDueDay(
    const std::string& tenant, const std::string& account, int64_t min_day, int64_t max_day,
    int64_t offset, int64_t limit) {
  store::RangeOptions range;
  range.min_score = min_day;
  range.max_score = max_day;
  range.offset = offset;
  range.limit = limit;
  return store_.ZRange(DueIndexKey(tenant, account), range);
}

}  // namespace ar::invoicing
