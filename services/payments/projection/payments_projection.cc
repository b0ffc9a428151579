#include "services/payments/projection/payments_projection.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/core/status_macros.h"
#include "services/payments/domain/payments_domain.h"
#include "services/payments/domain/statement.h"

namespace ar::payments {
namespace {

// Payments and account views stay parsed between batches (the handler is their only
// writer), so a busy account is neither read from the store nor parsed per batch.
constexpr size_t kStatesKeptAfterCommit = 100'000;
// States change in place with no copy kept for undoing a rejected record: the runner
// applies the batch again instead (PaymentsProjection::UndoesRejectedRecords).
constexpr projection::StateCache<v1::Payment>::Options kPaymentCacheOptions{kStatesKeptAfterCommit,
                                                                            false};

// Fields of the account view's hash (see the header).
constexpr char kAccountRefField[] = "account";
constexpr absl::string_view kInvoiceFieldPrefix = "invoice:";
constexpr absl::string_view kOpenFieldPrefix = "open:";
constexpr absl::string_view kCommandFieldPrefix = "command:";

std::string TenantKey(absl::string_view kind, absl::string_view tenant, absl::string_view rest) {
  return absl::StrCat("pay:", kind, ":", tenant.size(), ":", tenant, ":", rest);
}

// The payment an event of the payments topic is about; empty for other events.
const std::string* PaymentIdOf(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kPaymentReceived:
      return &event.payment_received().payment_id();
    case v1::Event::kPaymentAllocated:
      return &event.payment_allocated().payment_id();
    case v1::Event::kPaymentHoldReleased:
      return &event.payment_hold_released().payment_id();
    case v1::Event::kPaymentReversed:
      return &event.payment_reversed().payment_id();
    default:
      return nullptr;
  }
}

bool Concerns(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued:
    case v1::Event::kCreditNoteIssued:
    case v1::Event::kInvoiceCancelled:
    case v1::Event::kDebtWrittenOff:
      return true;
    default:
      return PaymentIdOf(event) != nullptr;
  }
}

// The invoices of the account view that EvolveAccountView changes for `event`.
void NoteInvoicesChanged(const v1::Event& event, std::vector<std::string>& changed) {
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued:
      changed.push_back(event.invoice_issued().invoice_id());
      return;
    case v1::Event::kCreditNoteIssued:
      changed.push_back(event.credit_note_issued().invoice_id());
      return;
    case v1::Event::kInvoiceCancelled:
      changed.push_back(event.invoice_cancelled().invoice_id());
      return;
    case v1::Event::kDebtWrittenOff:
      changed.push_back(event.debt_written_off().invoice_id());
      return;
    case v1::Event::kPaymentAllocated:
      changed.push_back(event.payment_allocated().invoice_id());
      return;
    case v1::Event::kPaymentReversed:
      for (const v1::PaymentAllocationLine& line :
           event.payment_reversed().reversed_allocations()) {
        changed.push_back(line.invoice_id());
      }
      return;
    default:
      return;
  }
}

void SortUnique(std::vector<std::string>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

}  // namespace

std::string Keys::Payment(absl::string_view tenant, absl::string_view payment_id) {
  return TenantKey("payment", tenant, payment_id);
}
std::string Keys::Account(absl::string_view tenant, absl::string_view account) {
  return TenantKey("account", tenant, account);
}
std::string Keys::PaymentsByValueDate(absl::string_view tenant, absl::string_view account) {
  return TenantKey("payments", tenant, account);
}
std::string Keys::Unapplied(absl::string_view tenant, absl::string_view account) {
  return TenantKey("unapplied", tenant, account);
}
std::string Keys::Held(absl::string_view tenant, absl::string_view account) {
  return TenantKey("held", tenant, account);
}
std::string Keys::Ledger(absl::string_view tenant, absl::string_view currency,
                         absl::string_view account) {
  // Currency codes are three letters, so the account is everything after them.
  return TenantKey("ledger", tenant, absl::StrCat(currency, ":", account));
}

PaymentsProjection::PaymentsProjection(store::Store& store)
    : store_(store), payments_(store, kPaymentCacheOptions) {}

void PaymentsProjection::ForgetRecord() { in_record_ = false; }

void PaymentsProjection::BeforeCommit(store::WriteBatch& batch) {
  payments_.Flush(batch);
  FlushAccounts(batch);
}

void PaymentsProjection::Discard() {
  ForgetRecord();
  payments_.Clear();
  accounts_.clear();
  dirty_accounts_.clear();
}

void PaymentsProjection::Committed() {
  ForgetRecord();
  payments_.Committed();
  if (accounts_.size() > kStatesKeptAfterCommit) {
    accounts_.clear();
  } else {
    // Changed but never flushed: the store does not hold these versions.
    for (const std::string& key : dirty_accounts_) accounts_.erase(key);
  }
  dirty_accounts_.clear();
}

const v1::PaymentsAccountView* PaymentsProjection::CachedAccountView(
    absl::string_view tenant, absl::string_view account) const {
  auto cached = accounts_.find(Keys::Account(tenant, account));
  return cached == accounts_.end() ? nullptr : &cached->second.view;
}

absl::StatusOr<PaymentsProjection::CachedAccount*> PaymentsProjection::EditAccount(
    const std::string& key) {
  auto cached = accounts_.find(key);
  if (cached == accounts_.end()) {
    ASSIGN_OR_RETURN(v1::PaymentsAccountView view, LoadAccountViewAt(store_, key));
    cached = accounts_.emplace(key, CachedAccount{}).first;
    cached->second.view = std::move(view);
  }
  CachedAccount& account = cached->second;
  if (!account.queued) {
    account.queued = true;
    dirty_accounts_.push_back(key);
  }
  return &account;
}

void PaymentsProjection::FlushAccounts(store::WriteBatch& batch) {
  for (const std::string& key : dirty_accounts_) {
    auto cached = accounts_.find(key);
    if (cached == accounts_.end()) continue;
    CachedAccount& account = cached->second;
    const v1::PaymentsAccountView& view = account.view;
    account.queued = false;
    if (account.account_changed) {
      batch.HSet(key, kAccountRefField, view.account().SerializeAsString());
      account.account_changed = false;
    }
    SortUnique(account.invoices_changed);
    for (const std::string& id : account.invoices_changed) {
      if (const v1::PaymentsInvoiceView* invoice = FindInvoice(view, id)) {
        batch.HSet(key, absl::StrCat(kInvoiceFieldPrefix, id), invoice->SerializeAsString());
      }
    }
    account.invoices_changed.clear();
    for (const std::string& id : account.commands_added) {
      const auto& applied = view.applied_commands();
      auto it = std::lower_bound(applied.begin(), applied.end(), id,
                                 [](const v1::PaymentsAppliedCommand& c,
                                    const std::string& wanted) { return c.command_id() < wanted; });
      if (it != applied.end() && it->command_id() == id) {
        batch.HSet(key, absl::StrCat(kCommandFieldPrefix, id), it->position().SerializeAsString());
      }
    }
    account.commands_added.clear();
    SortUnique(account.open_changed);
    for (const std::string& id : account.open_changed) {
      const auto& open = view.open_payment_ids();
      if (std::binary_search(open.begin(), open.end(), id)) {
        batch.HSet(key, absl::StrCat(kOpenFieldPrefix, id), "1");
      } else {
        batch.HDel(key, absl::StrCat(kOpenFieldPrefix, id));
      }
    }
    account.open_changed.clear();
  }
  dirty_accounts_.clear();
}

absl::Status PaymentsProjection::Apply(const v1::Event& event, const eventlog::Record& source,
                                       store::WriteBatch& batch) {
  if (!Concerns(event)) return absl::OkStatus();
  if (!in_record_ || current_record_.topic() != source.topic ||
      current_record_.partition() != source.partition ||
      current_record_.offset() != source.offset) {
    current_record_.set_topic(source.topic);
    current_record_.set_partition(source.partition);
    current_record_.set_offset(source.offset);
    in_record_ = true;
    skip_record_ = false;
  }
  if (skip_record_) return absl::OkStatus();
  absl::Status applied = ApplyEvent(event, current_record_, batch);
  // The runner then calls Discard() and applies the batch's earlier records again.
  if (!applied.ok()) in_record_ = false;
  return applied;
}

absl::Status PaymentsProjection::ApplyEvent(const v1::Event& event, const v1::LogPosition& position,
                                            store::WriteBatch& batch) {
  const std::string& tenant = event.tenant();
  const std::string& account = event.account();
  if (tenant.empty() || account.empty()) {
    return absl::InvalidArgumentError("event without tenant or account");
  }
  // A skipped record must change nothing, and nothing can be undone: both checks come
  // before any change.
  const std::string* payment_id = PaymentIdOf(event);
  v1::Payment* payment = nullptr;
  std::string payment_key;
  if (payment_id != nullptr) {
    payment_key = Keys::Payment(tenant, *payment_id);
    ASSIGN_OR_RETURN(payment, payments_.Edit(payment_key));
    if (payment != nullptr && event.has_payment_received()) {
      // The same payment id recorded twice (two accounts raced): the first one stands, and
      // the allocations that came with the second must not touch it.
      ++skipped_repeats_;
      skip_record_ = true;
      return absl::OkStatus();
    }
  }
  ASSIGN_OR_RETURN(CachedAccount * cached, EditAccount(Keys::Account(tenant, account)));
  v1::PaymentsAccountView* view = &cached->view;
  if (payment_id != nullptr) {
    const int commands_before = view->applied_commands_size();
    // Changes the view only when it returns true.
    if (!NoteCommandApplied(*view, event.causation_id(), position)) {
      ++skipped_repeats_;
      skip_record_ = true;
      return absl::OkStatus();
    }
    if (view->applied_commands_size() != commands_before) {
      cached->commands_added.push_back(event.causation_id());
    }
  }

  const std::vector<LedgerEntry> ledger = LedgerEntriesFor(event, *view);
  if (!view->has_account()) cached->account_changed = true;
  EvolveAccountView(*view, event);
  NoteInvoicesChanged(event, cached->invoices_changed);

  if (payment_id != nullptr) {
    if (payment == nullptr) {
      ASSIGN_OR_RETURN(payment, payments_.Edit(payment_key, /*create=*/true));
    }
    const int64_t unapplied_before = payment->unapplied().minor_units();
    const int64_t held_before = payment->held().minor_units();
    RETURN_IF_ERROR(EvolvePayment(*payment, event, position));
    if (payment->account().account() != account) {
      return absl::FailedPreconditionError(absl::StrCat(
          "payment ", *payment_id, " belongs to account ", payment->account().account()));
    }
    const std::string& currency = payment->amount().currency();
    if (const int64_t delta = payment->unapplied().minor_units() - unapplied_before; delta != 0) {
      batch.HIncrBy(Keys::Unapplied(tenant, account), currency, delta);
    }
    if (const int64_t delta = payment->held().minor_units() - held_before; delta != 0) {
      batch.HIncrBy(Keys::Held(tenant, account), currency, delta);
    }
    if (event.has_payment_received()) {
      batch.ZAdd(Keys::PaymentsByValueDate(tenant, account), *payment_id,
                 DayNumberOf(payment->value_date()));
    }
    const int open_before = view->open_payment_ids_size();
    SetPaymentOpen(*view, *payment_id, PaymentCarriesCash(*payment));
    if (view->open_payment_ids_size() != open_before) cached->open_changed.push_back(*payment_id);
  }
  for (const LedgerEntry& entry : ledger) {
    batch.ZAdd(Keys::Ledger(tenant, entry.currency, account), EncodeLedgerMember(entry), entry.day);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Payment>> LoadPayment(store::Store& store,
                                                       absl::string_view tenant,
                                                       absl::string_view payment_id) {
  const std::string key = Keys::Payment(tenant, payment_id);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.Get(key));
  if (!bytes) return std::optional<v1::Payment>();
  v1::Payment payment;
  if (!payment.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("stored payment '", key, "' does not parse"));
  }
  return std::optional<v1::Payment>(std::move(payment));
}

absl::StatusOr<v1::PaymentsAccountView> LoadAccountViewAt(store::Store& store,
                                                          const std::string& key) {
  ASSIGN_OR_RETURN(auto fields, store.HGetAll(key));
  v1::PaymentsAccountView view;
  const auto corrupt = [&key](absl::string_view field) {
    return absl::DataLossError(
        absl::StrCat("stored account view '", key, "' field '", field, "' does not parse"));
  };
  // std::map: each kind of field comes sorted by its id, the order the view keeps.
  for (const auto& [field, value] : fields) {
    absl::string_view id = field;
    if (field == kAccountRefField) {
      if (!view.mutable_account()->ParseFromString(value)) return corrupt(field);
    } else if (absl::ConsumePrefix(&id, kInvoiceFieldPrefix)) {
      if (!view.add_invoices()->ParseFromString(value)) return corrupt(field);
    } else if (absl::ConsumePrefix(&id, kOpenFieldPrefix)) {
      view.add_open_payment_ids(std::string(id));
    } else if (absl::ConsumePrefix(&id, kCommandFieldPrefix)) {
      v1::PaymentsAppliedCommand* command = view.add_applied_commands();
      command->set_command_id(std::string(id));
      if (!command->mutable_position()->ParseFromString(value)) return corrupt(field);
    } else {
      return corrupt(field);
    }
  }
  return view;
}

absl::StatusOr<v1::PaymentsAccountView> LoadAccountView(store::Store& store,
                                                        absl::string_view tenant,
                                                        absl::string_view account) {
  return LoadAccountViewAt(store, Keys::Account(tenant, account));
}

absl::StatusOr<AccountState> LoadAccountState(store::Store& store, absl::string_view tenant,
                                              absl::string_view account) {
  AccountState state;
  ASSIGN_OR_RETURN(state.view, LoadAccountView(store, tenant, account));
  for (const std::string& id : state.view.open_payment_ids()) {
    ASSIGN_OR_RETURN(std::optional<v1::Payment> payment, LoadPayment(store, tenant, id));
    if (!payment) return absl::DataLossError(absl::StrCat("open payment ", id, " is not stored"));
    state.open_payments.push_back(std::move(*payment));
  }
  return state;
}

absl::StatusOr<v1::MoneyByCurrency> LoadCashByCurrency(store::Store& store,
                                                       const std::string& hash_key) {
  ASSIGN_OR_RETURN(auto fields, store.HGetAll(hash_key));
  v1::MoneyByCurrency cash;
  for (const auto& [currency, value] : fields) {  // std::map: sorted by currency
    int64_t minor = 0;
    if (!absl::SimpleAtoi(value, &minor)) {
      return absl::DataLossError(absl::StrCat("non-integer cash under '", hash_key, "'"));
    }
    if (minor == 0) continue;
    v1::Money* money = cash.add_amounts();
    money->set_currency(currency);
    money->set_minor_units(minor);
  }
  return cash;
}

absl::StatusOr<v1::Statement> LoadStatement(store::Store& store, absl::string_view tenant,
                                            absl::string_view account, absl::string_view currency,
                                            int64_t from_day, int64_t to_day) {
  store::RangeOptions range;
  range.max_score = to_day;
  ASSIGN_OR_RETURN(std::vector<store::ScoredMember> members,
                   store.ZRange(Keys::Ledger(tenant, currency, account), range));
  std::vector<LedgerEntry> entries;
  entries.reserve(members.size());
  const std::string currency_code(currency);
  for (const store::ScoredMember& member : members) {
    ASSIGN_OR_RETURN(LedgerEntry entry,
                     DecodeLedgerMember(currency_code, member.score, member.member));
    entries.push_back(std::move(entry));
  }
  v1::Statement statement = BuildStatement(std::move(entries), from_day, to_day);
  statement.set_tenant(std::string(tenant));
  statement.set_account(std::string(account));
  statement.set_currency(currency_code);
  return statement;
}

}  // namespace ar::payments
