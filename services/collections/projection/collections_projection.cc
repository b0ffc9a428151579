#include "services/collections/projection/collections_projection.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"

namespace ar::collections {
namespace {

std::string TenantKey(absl::string_view kind, absl::string_view tenant) {
  return absl::StrCat("col:", kind, ":", tenant.size(), ":", tenant);
}

int64_t DayNumberOf(const v1::Date& date) {
  return core::DayNumber(absl::CivilDay(date.year(), date.month(), date.day()));
}

bool Concerns(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued:
    case v1::Event::kCreditNoteIssued:
    case v1::Event::kInvoiceCancelled:
    case v1::Event::kInvoiceDisputed:
    case v1::Event::kDisputeResolved:
    case v1::Event::kPaymentReceived:
    case v1::Event::kPaymentAllocated:
    case v1::Event::kPaymentReversed:
    case v1::Event::kCreditRatingChanged:
    case v1::Event::kDebtWrittenOff:
    case v1::Event::kReminderDue:
    case v1::Event::kAccountOverdue:
    case v1::Event::kDunningLevelRaised:
    case v1::Event::kDunningFeeAssessed:
    case v1::Event::kPromiseToPayRecorded:
    case v1::Event::kPromiseToPayKept:
    case v1::Event::kPromiseToPayBroken:
    case v1::Event::kAccountCured:
      return true;
    default:
      return false;
  }
}

// Where an invoice's open amount counts in the aging aggregates. Points into the invoice
// and the policy (no copies: this is computed twice per invoice of every account written).
struct Contribution {
  bool open = false;
  const std::string* region = nullptr;
  const std::string* subsidiary = nullptr;
  const std::string* currency = nullptr;
  const std::string* label = nullptr;
  int64_t amount = 0;
  int64_t due = 0;
  friend bool operator==(const Contribution& a, const Contribution& b) {
    if (a.open != b.open) return false;
    if (!a.open) return true;
    return a.amount == b.amount && a.due == b.due && *a.region == *b.region &&
           *a.subsidiary == *b.subsidiary && *a.currency == *b.currency && *a.label == *b.label;
  }
};

Contribution ContributionOf(const v1::CollectionsPolicy& policy,
                            const v1::CollectionsInvoice& invoice, const BusinessDates& dates) {
  Contribution c;
  c.amount = OpenAmount(invoice);
  if (c.amount == 0) return c;
  c.open = true;
  c.region = &invoice.region();
  c.subsidiary = &invoice.subsidiary();
  c.currency = &invoice.currency();
  c.label = &AgingLabel(policy, invoice, dates);
  c.due = DayNumberOf(invoice.due_date());
  return c;
}

// Total overdue (every currency) and the oldest overdue due day of an account.
std::pair<int64_t, int64_t> OverdueTotals(const v1::CollectionsAccount& account,
                                          const BusinessDates& dates) {
  int64_t total = 0;
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const v1::CollectionsInvoice& invoice : account.invoices()) {
    const int64_t overdue = OverdueAmount(invoice, dates);
    if (overdue == 0) continue;
    total += overdue;
    oldest = std::min(oldest, DayNumberOf(invoice.due_date()));
  }
  return {total, total == 0 ? 0 : oldest};
}

std::string MonthOf(const v1::Date& date) {
  return absl::StrCat(date.year(), "-", date.month() < 10 ? "0" : "", date.month());
}

}  // namespace

// ---- keys ----

std::string Keys::Account(absl::string_view tenant, absl::string_view account) {
  return absl::StrCat(TenantKey("acct", tenant), ":", account);
}
std::string Keys::Region(absl::string_view region) { return absl::StrCat("col:region:", region); }
std::string Keys::DueIndex(absl::string_view region) { return absl::StrCat("col:due:", region); }
std::string Keys::Promises(absl::string_view region) {
  return absl::StrCat("col:promise:", region);
}
std::string Keys::Attention(absl::string_view region) { return absl::StrCat("col:attn:", region); }
std::string Keys::AgingTenant(absl::string_view tenant) { return TenantKey("aging", tenant); }
std::string Keys::AgingRegion(absl::string_view tenant, absl::string_view region) {
  return absl::StrCat(TenantKey("aging", tenant), ":", region);
}
std::string Keys::OverdueByAmount(absl::string_view tenant) { return TenantKey("ovd:amt", tenant); }
std::string Keys::OverdueByAge(absl::string_view tenant) { return TenantKey("ovd:due", tenant); }
std::string Keys::Kpi(absl::string_view tenant, absl::string_view region) {
  return absl::StrCat(TenantKey("kpi", tenant), ":", region);
}
std::string Keys::ReactorClosed(absl::string_view region) {
  return absl::StrCat("col:reactor:closed:", region);
}

std::string Keys::AccountMember(absl::string_view tenant, absl::string_view account) {
  return absl::StrCat(tenant.size(), ":", tenant, account.size(), ":", account);
}

bool Keys::ParseMember(absl::string_view member, std::string& tenant, std::string& account,
                       std::string& rest) {
  auto take = [&member](std::string& out) {
    const size_t colon = member.find(':');
    size_t length = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(member.substr(0, colon), &length) ||
        member.size() - colon - 1 < length) {
      return false;
    }
    out = std::string(member.substr(colon + 1, length));
    member.remove_prefix(colon + 1 + length);
    return true;
  };
  if (!take(tenant) || !take(account)) return false;
  rest = std::string(member);
  return true;
}

// ---- pending sorted-set writes ----

void CollectionsProjection::PendingSets::Add(const std::string& key, const std::string& member,
                                             int64_t score) {
  auto& entries = sets_[key];
  auto it = entries.find(member);
  log_.emplace_back(
      key, member,
      it == entries.end() ? std::nullopt : std::optional<std::optional<int64_t>>(it->second));
  entries[member] = score;
}

void CollectionsProjection::PendingSets::Remove(const std::string& key, const std::string& member) {
  auto& entries = sets_[key];
  auto it = entries.find(member);
  log_.emplace_back(
      key, member,
      it == entries.end() ? std::nullopt : std::optional<std::optional<int64_t>>(it->second));
  entries[member] = std::nullopt;
}

void CollectionsProjection::PendingSets::UndoRecord() {
  while (log_.size() > undo_mark_) {
    auto& [key, member, before] = log_.back();
    if (before) {
      sets_[key][member] = *before;
    } else {
      sets_[key].erase(member);
    }
    log_.pop_back();
  }
}

absl::StatusOr<std::vector<std::string>> CollectionsProjection::PendingSets::Range(
    store::Store& store, const std::string& key, int64_t min, int64_t max) const {
  store::RangeOptions range;
  range.min_score = std::max(min, store::kMinScore);
  range.max_score = std::min(max, store::kMaxScore);
  std::vector<std::string> members;
  if (range.min_score > range.max_score) return members;
  ASSIGN_OR_RETURN(std::vector<store::ScoredMember> stored, store.ZRange(key, range));
  auto pending = sets_.find(key);
  for (store::ScoredMember& entry : stored) {
    if (pending != sets_.end() && pending->second.contains(entry.member)) continue;
    members.push_back(std::move(entry.member));
  }
  if (pending != sets_.end()) {
    for (const auto& [member, score] : pending->second) {
      if (score && *score >= min && *score <= max) members.push_back(member);
    }
  }
  return members;
}

// ---- projection ----

namespace {
// Account states stay decoded across commits (up to this many): a day close decodes the
// accounts that change state, and the decisions the reactor takes on them a moment later
// are applied to the same states. Only this handler writes them (see StateCache).
constexpr projection::StateCache<v1::CollectionsAccount>::Options kAccountCacheOptions{
    .keep_after_commit = 100'000};
constexpr projection::StateCache<v1::CollectionsRegion>::Options kRegionCacheOptions{
    .keep_after_commit = 1'000};
}  // namespace

CollectionsProjection::CollectionsProjection(store::Store& store, v1::CollectionsPolicy policy)
    : store_(store),
      policy_(std::move(policy)),
      accounts_(store, kAccountCacheOptions),
      regions_(store, kRegionCacheOptions) {}

void CollectionsProjection::ForgetRecordMarks() {
  current_record_.clear();
  command_noted_record_.clear();
  pending_.Clear();
}

void CollectionsProjection::BeforeCommit(store::WriteBatch& batch) { accounts_.Flush(batch); }

void CollectionsProjection::Discard() {
  ForgetRecordMarks();
  accounts_.Clear();
  regions_.Clear();
}

void CollectionsProjection::Committed() {
  ForgetRecordMarks();
  accounts_.Committed();
  regions_.Committed();
}

absl::Status CollectionsProjection::Apply(const v1::Event& event, const eventlog::Record& source,
                                          store::WriteBatch& batch) {
  const bool regional =
      event.has_business_day_closed() || event.has_collections_day_close_completed();
  if (!Concerns(event) && !regional) return absl::OkStatus();
  std::string record = absl::StrCat(source.topic, "/", source.partition, "@", source.offset);
  if (record != current_record_) {
    accounts_.BeginRecord();
    regions_.BeginRecord();
    pending_.BeginRecord();
    current_record_ = std::move(record);
    skip_record_ = false;
  }
  if (skip_record_) return absl::OkStatus();
  aging_moves_.clear();
  absl::Status applied = event.has_business_day_closed() ? ApplyDayClosed(event, batch)
                         : event.has_collections_day_close_completed()
                             ? ApplyDayCloseCompleted(event, batch)
                             : ApplyEvent(event, source, batch);
  if (applied.ok()) WriteAgingMoves(batch);
  aging_moves_.clear();
  if (!applied.ok()) {
    // The runner drops every write of this record; the cached states must follow.
    accounts_.UndoRecord();
    regions_.UndoRecord();
    pending_.UndoRecord();
    current_record_.clear();
    command_noted_record_.clear();
  }
  return applied;
}

absl::StatusOr<BusinessDates> CollectionsProjection::DatesFor(
    const v1::CollectionsAccount& account) {
  BusinessDates dates;
  // Almost always one region: no set, one lookup per distinct region.
  std::vector<const std::string*> regions = {&account.region()};
  for (const v1::CollectionsInvoice& invoice : account.invoices()) {
    if (std::none_of(regions.begin(), regions.end(),
                     [&](const std::string* seen) { return *seen == invoice.region(); })) {
      regions.push_back(&invoice.region());
    }
  }
  for (const std::string* region : regions) {
    if (region->empty()) continue;
    ASSIGN_OR_RETURN(const v1::CollectionsRegion* state, regions_.Find(Keys::Region(*region)));
    if (state != nullptr && state->has_business_date()) {
      const v1::Date& closed = state->closed_through();
      dates[*region] = absl::CivilDay(closed.year(), closed.month(), closed.day()) + 1;
    }
  }
  return dates;
}

absl::Status CollectionsProjection::ApplyEvent(const v1::Event& event,
                                               const eventlog::Record& source,
                                               store::WriteBatch& batch) {
  const std::string& tenant = event.tenant();
  const std::string& account_id = event.account();
  if (tenant.empty() || account_id.empty()) {
    return absl::InvalidArgumentError("event without tenant or account");
  }
  const std::string key = Keys::Account(tenant, account_id);
  // Changed in place; the cache writes it once per batch (BeforeCommit) and undoes it if
  // the record is rejected.
  ASSIGN_OR_RETURN(v1::CollectionsAccount * state, accounts_.Edit(key, /*create=*/true));
  before_.CopyFrom(*state);
  const v1::CollectionsAccount& before = before_;
  v1::CollectionsAccount& after = *state;
  if (source.topic == topics::kCollections && !event.causation_id().empty()) {
    // The first event of a record notes its command; a second record of the same command
    // (re-published after a crash) is skipped whole.
    if (command_noted_record_ != current_record_) {
      if (!NoteCommandApplied(after, event.causation_id())) {
        ++skipped_repeats_;
        skip_record_ = true;
        return absl::OkStatus();
      }
      command_noted_record_ = current_record_;
    }
  }
  const v1::CollectionsInvoice* invoice_before =
      event.has_invoice_issued() ? FindInvoice(before, event.invoice_issued().invoice_id())
                                 : nullptr;
  EvolveAccount(after, event);
  if (event.has_invoice_issued() && (invoice_before == nullptr || !invoice_before->issued())) {
    const v1::InvoiceIssued& issued = event.invoice_issued();
    batch.HIncrBy(
        Keys::Kpi(tenant, event.region()),
        absl::StrCat(MonthOf(issued.issue_date()), " ", issued.total().currency(), " sales"),
        issued.total().minor_units());
  } else if (event.has_payment_allocated()) {
    const v1::PaymentAllocated& allocated = event.payment_allocated();
    const v1::CollectionsInvoice* invoice = FindInvoice(after, allocated.invoice_id());
    const std::string& region =
        invoice != nullptr && !invoice->region().empty() ? invoice->region() : after.region();
    batch.HIncrBy(Keys::Kpi(tenant, region),
                  absl::StrCat(MonthOf(allocated.allocation_date()), " ",
                               allocated.amount().currency(), " collected"),
                  allocated.amount().minor_units());
  }
  ASSIGN_OR_RETURN(BusinessDates dates, DatesFor(after));
  PutDerived(before, dates, after, dates, /*day_close=*/false, /*marked=*/std::nullopt, batch);
  return absl::OkStatus();
}

absl::Status CollectionsProjection::ApplyDayClosed(const v1::Event& event,
                                                   store::WriteBatch& batch) {
  const std::string& region = event.region();
  if (region.empty()) return absl::InvalidArgumentError("BusinessDayClosed without region");
  ASSIGN_OR_RETURN(absl::CivilDay closed,
                   protoconv::DayFromProto(event.business_day_closed().date(), "date"));
  const std::string region_key = Keys::Region(region);
  ASSIGN_OR_RETURN(std::optional<v1::CollectionsRegion> stored, regions_.Get(region_key));
  v1::CollectionsRegion state = stored ? std::move(*stored) : v1::CollectionsRegion();
  std::optional<int64_t> previous;
  if (state.has_business_date()) {
    const int64_t last = DayNumberOf(state.closed_through());
    if (core::DayNumber(closed) <= last) return absl::OkStatus();  // a duplicate close
    previous = last + 1;
  }
  const int64_t current = core::DayNumber(closed) + 1;

  std::set<std::string> members;
  std::string tenant, account, rest;
  for (const DayRange& range : DueDateRangesToVisit(policy_, previous, current)) {
    ASSIGN_OR_RETURN(std::vector<std::string> due,
                     pending_.Range(store_, Keys::DueIndex(region), range.min, range.max));
    for (const std::string& member : due) {
      if (Keys::ParseMember(member, tenant, account, rest)) {
        members.insert(Keys::AccountMember(tenant, account));
      }
    }
  }
  const DayRange promises = PromiseDatesToVisit(previous, current);
  ASSIGN_OR_RETURN(std::vector<std::string> promised,
                   pending_.Range(store_, Keys::Promises(region), promises.min, promises.max));
  members.insert(promised.begin(), promised.end());
  ASSIGN_OR_RETURN(
      std::vector<std::string> attention,
      pending_.Range(store_, Keys::Attention(region), store::kMinScore, store::kMaxScore));
  members.insert(attention.begin(), attention.end());
  const std::set<std::string> marked(attention.begin(), attention.end());

  state.set_region(region);
  state.set_has_business_date(true);
  *state.mutable_closed_through() = protoconv::DayToProto(closed);
  regions_.Put(region_key, std::move(state), batch);

  for (const std::string& member : members) {
    if (!Keys::ParseMember(member, tenant, account, rest)) continue;
    // Read, not copied: a close changes what is derived from a state, never the state.
    ASSIGN_OR_RETURN(const v1::CollectionsAccount* stored_account,
                     accounts_.Find(Keys::Account(tenant, account)));
    if (stored_account == nullptr) continue;
    ++accounts_visited_by_closes_;
    ASSIGN_OR_RETURN(BusinessDates dates_after, DatesFor(*stored_account));
    BusinessDates dates_before = dates_after;
    if (previous) {
      ASSIGN_OR_RETURN(dates_before[region], core::DayFromNumber(*previous));
    } else {
      dates_before.erase(region);
    }
    PutDerived(*stored_account, dates_before, *stored_account, dates_after, /*day_close=*/true,
               stored_account->region() == region ? std::optional<bool>(marked.contains(member))
                                                  : std::nullopt,
               batch);
  }
  return absl::OkStatus();
}

absl::Status CollectionsProjection::ApplyDayCloseCompleted(const v1::Event& event,
                                                           store::WriteBatch& batch) {
  const std::string& region = event.region();
  if (region.empty())
    return absl::InvalidArgumentError("CollectionsDayCloseCompleted without region");
  ASSIGN_OR_RETURN(absl::CivilDay closed,
                   protoconv::DayFromProto(event.collections_day_close_completed().date(), "date"));
  const std::string region_key = Keys::Region(region);
  ASSIGN_OR_RETURN(std::optional<v1::CollectionsRegion> stored, regions_.Get(region_key));
  v1::CollectionsRegion state = stored ? std::move(*stored) : v1::CollectionsRegion();
  if (state.has_decided() && core::DayNumber(closed) <= DayNumberOf(state.decided_through())) {
    return absl::OkStatus();  // a completion re-published after a crash
  }
  state.set_region(region);
  state.set_has_decided(true);
  *state.mutable_decided_through() = protoconv::DayToProto(closed);
  regions_.Put(region_key, std::move(state), batch);
  return absl::OkStatus();
}

void CollectionsProjection::ZAdd(store::WriteBatch& batch, const std::string& key,
                                 const std::string& member, int64_t score) {
  batch.ZAdd(key, member, score);
  pending_.Add(key, member, score);
}

void CollectionsProjection::ZRem(store::WriteBatch& batch, const std::string& key,
                                 const std::string& member) {
  batch.ZRem(key, member);
  pending_.Remove(key, member);
}

bool CollectionsProjection::NeedsAttention(const v1::CollectionsAccount& account,
                                           const BusinessDates& dates) const {
  auto today = dates.find(account.region());
  if (today == dates.end()) return false;
  return DayCloseDecisionPending(policy_, account, account.region(), today->second);
}

void CollectionsProjection::MoveAging(const std::string& tenant, const std::string& region,
                                      const std::string& subsidiary, const std::string& currency,
                                      const std::string& label, int64_t amount) {
  aging_moves_[{tenant, region, subsidiary, currency, label}] += amount;
}

void CollectionsProjection::WriteAgingMoves(store::WriteBatch& batch) {
  // Fields whose moves cancel out are written too (HINCRBY 0): the store holds the same
  // fields as if every move had been written one by one.
  for (const auto& [field, amount] : aging_moves_) {
    const auto& [tenant, region, subsidiary, currency, label] = field;
    batch.HIncrBy(Keys::AgingTenant(tenant),
                  absl::StrCat(region, " ", subsidiary, " ", currency, " ", label), amount);
    batch.HIncrBy(Keys::AgingRegion(tenant, region),
                  absl::StrCat(subsidiary, " ", currency, " ", label), amount);
  }
}

void CollectionsProjection::PutDerived(const v1::CollectionsAccount& before,
                                       const BusinessDates& dates_before,
                                       const v1::CollectionsAccount& after,
                                       const BusinessDates& dates_after, bool day_close,
                                       std::optional<bool> marked, store::WriteBatch& batch) {
  const std::string& tenant = after.tenant();
  const std::string member = Keys::AccountMember(tenant, after.account());
  for (const v1::CollectionsInvoice& invoice : after.invoices()) {
    const v1::CollectionsInvoice* old = FindInvoice(before, invoice.invoice_id());
    const Contribution was =
        old != nullptr ? ContributionOf(policy_, *old, dates_before) : Contribution();
    const Contribution now = ContributionOf(policy_, invoice, dates_after);
    if (was == now) continue;
    for (const Contribution* c : {&was, &now}) {
      if (!c->open) continue;
      const int64_t amount = c == &was ? -c->amount : c->amount;
      MoveAging(tenant, *c->region, *c->subsidiary, *c->currency, *c->label, amount);
      MoveAging(tenant, *c->region, *c->subsidiary, *c->currency, kOpenLabel, amount);
    }
    if (was.open && (!now.open || *was.region != *now.region)) {
      ZRem(batch, Keys::DueIndex(*was.region), member + invoice.invoice_id());
    }
    if (now.open && (!was.open || was.due != now.due || *was.region != *now.region)) {
      ZAdd(batch, Keys::DueIndex(*now.region), member + invoice.invoice_id(), now.due);
    }
  }

  const auto [total_before, oldest_before] = OverdueTotals(before, dates_before);
  const auto [total_after, oldest_after] = OverdueTotals(after, dates_after);
  if (total_after == 0 && total_before != 0) {
    batch.ZRem(Keys::OverdueByAmount(tenant), after.account());
    batch.ZRem(Keys::OverdueByAge(tenant), after.account());
  } else if (total_after != 0 && (total_after != total_before || oldest_after != oldest_before)) {
    batch.ZAdd(Keys::OverdueByAmount(tenant), after.account(),
               std::min(total_after, store::kMaxScore));
    batch.ZAdd(Keys::OverdueByAge(tenant), after.account(), oldest_after);
  }

  const bool promised_before = PromiseLive(before);
  const bool promised_after = PromiseLive(after);
  if (promised_before &&
      (!promised_after || before.promise().promise_id() != after.promise().promise_id())) {
    ZRem(batch, Keys::Promises(before.region()), member);
  }
  if (promised_after) {
    const int64_t day = DayNumberOf(after.promise().promised_date());
    if (!promised_before || DayNumberOf(before.promise().promised_date()) != day) {
      ZAdd(batch, Keys::Promises(after.region()), member, day);
    }
  }

  if (!after.region().empty()) {
    // The mark as it stands: what the close read from the attention set, or what the
    // state before implies. A close that did not read it (an account of another region
    // with invoices here) writes the mark whatever it was; a close re-evaluates every
    // member, so a stale one is dropped there.
    const bool needs = NeedsAttention(after, dates_after);
    const std::optional<bool> needed =
        day_close ? marked : std::optional<bool>(NeedsAttention(before, dates_before));
    if (needs && needed != true) {
      ZAdd(batch, Keys::Attention(after.region()), member, 0);
    } else if (!needs && needed != false) {
      ZRem(batch, Keys::Attention(after.region()), member);
    }
  }
}

// ---- reads ----

absl::StatusOr<v1::CollectionsAccount> LoadAccount(store::Store& store, absl::string_view tenant,
                                                   absl::string_view account) {
  v1::CollectionsAccount state;
  RETURN_IF_ERROR(LoadAccountInto(store, tenant, account, state));
  return state;
}

absl::Status LoadAccountInto(store::Store& store, absl::string_view tenant,
                             absl::string_view account, v1::CollectionsAccount& state) {
  const std::string key = Keys::Account(tenant, account);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.Get(key));
  if (!bytes) {
    state.Clear();
    return absl::OkStatus();
  }
  if (!state.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("stored account '", key, "' does not parse"));
  }
  return absl::OkStatus();
}

namespace {

// The region's state as stored (empty when the region has seen nothing yet).
absl::StatusOr<v1::CollectionsRegion> LoadRegion(store::Store& store, absl::string_view region) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.Get(Keys::Region(region)));
  v1::CollectionsRegion state;
  if (bytes && !state.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("stored region '", region, "' does not parse"));
  }
  return state;
}

}  // namespace

absl::StatusOr<std::optional<absl::CivilDay>> LoadBusinessDate(store::Store& store,
                                                               absl::string_view region) {
  ASSIGN_OR_RETURN(const v1::CollectionsRegion state, LoadRegion(store, region));
  if (!state.has_business_date()) return std::optional<absl::CivilDay>();
  const v1::Date& closed = state.closed_through();
  return std::optional<absl::CivilDay>(absl::CivilDay(closed.year(), closed.month(), closed.day()) +
                                       1);
}

absl::StatusOr<std::optional<absl::CivilDay>> LoadDecidedThrough(store::Store& store,
                                                                 absl::string_view region) {
  ASSIGN_OR_RETURN(const v1::CollectionsRegion state, LoadRegion(store, region));
  if (!state.has_decided()) return std::optional<absl::CivilDay>();
  ASSIGN_OR_RETURN(absl::CivilDay decided,
                   protoconv::DayFromProto(state.decided_through(), "decided_through"));
  return std::optional<absl::CivilDay>(decided);
}

absl::StatusOr<BusinessDates> LoadBusinessDates(store::Store& store,
                                                const v1::CollectionsAccount& account) {
  BusinessDates dates;
  std::set<std::string> regions = {account.region()};
  for (const v1::CollectionsInvoice& invoice : account.invoices()) regions.insert(invoice.region());
  for (const std::string& region : regions) {
    if (region.empty()) continue;
    ASSIGN_OR_RETURN(std::optional<absl::CivilDay> day, LoadBusinessDate(store, region));
    if (day) dates[region] = *day;
  }
  return dates;
}

absl::StatusOr<std::set<std::string>> DayCloseCandidates(store::Store& store,
                                                         const v1::CollectionsPolicy& policy,
                                                         const std::string& region,
                                                         std::optional<int64_t> previous,
                                                         int64_t current) {
  std::set<std::string> members;
  std::string tenant, account, rest;
  auto collect = [&](const std::string& key, int64_t min, int64_t max) -> absl::Status {
    store::RangeOptions range;
    range.min_score = std::max(min, store::kMinScore);
    range.max_score = std::min(max, store::kMaxScore);
    if (range.min_score > range.max_score) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<store::ScoredMember> found, store.ZRange(key, range));
    for (const store::ScoredMember& entry : found) {
      if (Keys::ParseMember(entry.member, tenant, account, rest)) {
        members.insert(Keys::AccountMember(tenant, account));
      }
    }
    return absl::OkStatus();
  };
  for (const DayRange& range : DueDateRangesToVisit(policy, previous, current)) {
    RETURN_IF_ERROR(collect(Keys::DueIndex(region), range.min, range.max));
  }
  const DayRange promises = PromiseDatesToVisit(previous, current);
  RETURN_IF_ERROR(collect(Keys::Promises(region), promises.min, promises.max));
  RETURN_IF_ERROR(collect(Keys::Attention(region), store::kMinScore, store::kMaxScore));
  return members;
}

absl::StatusOr<v1::AgingReport> LoadAgingReport(store::Store& store,
                                                const v1::CollectionsPolicy& policy,
                                                const v1::GetAgingReportRequest& request) {
  const bool one_region = !request.region().empty();
  ASSIGN_OR_RETURN(auto fields,
                   store.HGetAll(one_region ? Keys::AgingRegion(request.tenant(), request.region())
                                            : Keys::AgingTenant(request.tenant())));
  AgingSums lines;
  for (const auto& [field, value] : fields) {
    std::vector<std::string> parts = absl::StrSplit(field, ' ');
    if (one_region) parts.insert(parts.begin(), request.region());
    int64_t amount = 0;
    if (parts.size() != 4 || !absl::SimpleAtoi(value, &amount)) {
      return absl::DataLossError(absl::StrCat("bad aging field '", field, "'"));
    }
    if (!request.subsidiary().empty() && parts[1] != request.subsidiary()) continue;
    if (!request.currency().empty() && parts[2] != request.currency()) continue;
    lines[{parts[0], parts[1], parts[2]}][parts[3]] += amount;
  }
  return AgingReportOf(policy, std::move(lines));
}

}  // namespace ar::collections
