#include "services/credit_risk/projection/credit_projection.h"

#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"

namespace ar::credit {
namespace {

std::string ScopedKey(absl::string_view kind, absl::string_view scope, absl::string_view rest) {
  return absl::StrCat("cr:", kind, ":", scope.size(), ":", scope, ":", rest);
}

bool IsOwnDecision(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kCreditLimitSet:
    case v1::Event::kCreditRatingChanged:
    case v1::Event::kCreditLimitExceeded:
    case v1::Event::kCreditHoldPlaced:
    case v1::Event::kCreditHoldReleased:
      return true;
    default:
      return false;
  }
}

bool ConcernsAccount(const v1::Event& event) {
  return IsHistoryEvent(event) || IsOwnDecision(event);
}

std::set<std::string> OpenCurrencies(const v1::CreditAccountState& state) {
  std::set<std::string> currencies;
  for (const v1::CreditInvoice& invoice : state.invoices()) {
    if (OpenAmount(invoice) > 0) currencies.insert(invoice.currency());
  }
  return currencies;
}

std::string GroupValue(int64_t set_at_micros, int64_t group_limit) {
  return absl::StrCat(set_at_micros, ":", group_limit);
}

}  // namespace

std::string Keys::Account(absl::string_view tenant, absl::string_view account) {
  return ScopedKey("account", tenant, account);
}
std::string Keys::FxRate(absl::string_view tenant, absl::string_view from, absl::string_view to) {
  return ScopedKey("fx", tenant, absl::StrCat(from, ":", to));
}
std::string Keys::FxPairs(absl::string_view tenant) { return ScopedKey("fxpairs", tenant, ""); }
std::string Keys::FxDays(absl::string_view tenant, absl::string_view from, absl::string_view to) {
  return ScopedKey("fxdays", tenant, absl::StrCat(from, ":", to));
}
std::string Keys::BusinessDate(absl::string_view region) {
  return ScopedKey("bizdate", region, "");
}
std::string Keys::DueIndex(absl::string_view region) { return ScopedKey("due", region, ""); }
std::string Keys::Grade(absl::string_view tenant, absl::string_view grade) {
  return ScopedKey("grade", tenant, grade);
}
std::string Keys::Limited(absl::string_view tenant) { return ScopedKey("limited", tenant, ""); }
std::string Keys::Group(absl::string_view tenant, absl::string_view group) {
  return ScopedKey("group", tenant, group);
}
std::string Keys::CurrencyIndex(absl::string_view tenant, absl::string_view currency) {
  return ScopedKey("ccy", tenant, currency);
}
std::string Keys::DueMember(absl::string_view tenant, absl::string_view account) {
  return absl::StrCat(tenant.size(), ":", tenant, ":", account);
}
bool Keys::ParseDueMember(absl::string_view member, std::string& tenant, std::string& account) {
  const size_t colon = member.find(':');
  size_t length = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(member.substr(0, colon), &length) ||
      member.size() < colon + 1 + length + 1 || member[colon + 1 + length] != ':') {
    return false;
  }
  tenant = std::string(member.substr(colon + 1, length));
  account = std::string(member.substr(colon + 2 + length));
  return !tenant.empty() && !account.empty();
}

CreditProjection::CreditProjection(store::Store& store)
    : accounts_(store), rates_(store), dates_(store) {}

std::vector<std::string> CreditProjection::Topics() {
  return {topics::kInvoicing, topics::kPayments, topics::kCollections, topics::kClock,
          topics::kCredit};
}

void CreditProjection::Forget() {
  accounts_.Clear();
  rates_.Clear();
  dates_.Clear();
  record_topic_.clear();
  record_partition_ = -1;
  record_offset_ = -1;
}

void CreditProjection::Discard() { Forget(); }
void CreditProjection::Committed() { Forget(); }

void CreditProjection::StartRecordIfNew(const eventlog::Record& source) {
  if (source.topic == record_topic_ && source.partition == record_partition_ &&
      source.offset == record_offset_) {
    return;
  }
  record_topic_ = source.topic;
  record_partition_ = source.partition;
  record_offset_ = source.offset;
  record_command_.clear();
  skip_record_ = false;
  accounts_.BeginRecord();
  rates_.BeginRecord();
  dates_.BeginRecord();
}

absl::Status CreditProjection::Apply(const v1::Event& event, const eventlog::Record& source,
                                     store::WriteBatch& batch) {
  StartRecordIfNew(source);
  if (skip_record_) return absl::OkStatus();
  v1::LogPosition position;
  position.set_topic(source.topic);
  position.set_partition(source.partition);
  position.set_offset(source.offset);
  absl::Status applied = ApplyEvent(event, position, batch);
  if (!applied.ok()) {
    // The runner drops this record's writes; the cached states must follow.
    accounts_.UndoRecord();
    rates_.UndoRecord();
    dates_.UndoRecord();
    record_topic_.clear();
  }
  return applied;
}

absl::Status CreditProjection::ApplyFxRate(const v1::Event& event, store::WriteBatch& batch) {
  const v1::FxRateSet& set = event.fx_rate_set();
  if (event.tenant().empty() || set.from_currency().empty() || set.to_currency().empty() ||
      set.rate_nano() <= 0) {
    return absl::InvalidArgumentError("FxRateSet without tenant, currencies or a positive rate");
  }
  ASSIGN_OR_RETURN(absl::CivilDay effective,
                   protoconv::DayFromProto(set.effective_date(), "effective_date"));
  const std::string key = Keys::FxRate(event.tenant(), set.from_currency(), set.to_currency());
  ASSIGN_OR_RETURN(std::optional<v1::CreditFxRate> current, rates_.Get(key));
  const int64_t day = core::DayNumber(effective);
  batch.HSet(Keys::FxDays(event.tenant(), set.from_currency(), set.to_currency()),
             absl::StrCat(day), absl::StrCat(set.rate_nano()));
  if (current && current->effective_day() > day) return absl::OkStatus();  // an older rate
  v1::CreditFxRate rate;
  rate.set_rate_nano(set.rate_nano());
  rate.set_effective_day(day);
  rates_.Put(key, std::move(rate), batch);
  batch.HSet(Keys::FxPairs(event.tenant()),
             absl::StrCat(set.from_currency(), ":", set.to_currency()), "1");
  return absl::OkStatus();
}

absl::Status CreditProjection::ApplyDayClosed(const v1::Event& event, store::WriteBatch& batch) {
  if (event.region().empty()) return absl::InvalidArgumentError("BusinessDayClosed without region");
  ASSIGN_OR_RETURN(absl::CivilDay closed,
                   protoconv::DayFromProto(event.business_day_closed().date(), "date"));
  const std::string key = Keys::BusinessDate(event.region());
  ASSIGN_OR_RETURN(std::optional<v1::Date> current, dates_.Get(key));
  const absl::CivilDay business = closed + 1;
  if (current) {
    ASSIGN_OR_RETURN(absl::CivilDay known, protoconv::DayFromProto(*current, "stored date"));
    if (business <= known) return absl::OkStatus();  // a duplicate or an older day close
  }
  dates_.Put(key, protoconv::DayToProto(business), batch);
  return absl::OkStatus();
}

absl::Status CreditProjection::ApplyEvent(const v1::Event& event, const v1::LogPosition& position,
                                          store::WriteBatch& batch) {
  if (event.has_fx_rate_set()) return ApplyFxRate(event, batch);
  if (event.has_business_day_closed()) return ApplyDayClosed(event, batch);
  if (!ConcernsAccount(event)) return absl::OkStatus();
  const std::string& tenant = event.tenant();
  const std::string& account = event.account();
  if (tenant.empty() || account.empty()) {
    return absl::InvalidArgumentError("event without tenant or account");
  }
  const std::string key = Keys::Account(tenant, account);
  ASSIGN_OR_RETURN(std::optional<v1::CreditAccountState> stored, accounts_.Get(key));
  v1::CreditAccountState state = stored ? std::move(*stored) : v1::CreditAccountState();

  if (IsOwnDecision(event) && event.causation_id() != record_command_) {
    if (!NoteCommandApplied(state, event.causation_id())) {
      ++skipped_repeats_;  // the same decision published again (a retry after a crash)
      skip_record_ = true;
      return absl::OkStatus();
    }
    record_command_ = event.causation_id();
  }

  const std::string old_grade = state.rated_grade();
  const std::string old_group = state.credit_group();
  const std::optional<int64_t> old_due = EarliestOpenDueDay(state);
  const std::set<std::string> old_currencies = OpenCurrencies(state);
  EvolveAccount(state, event);
  const std::set<std::string> currencies = OpenCurrencies(state);
  for (const std::string& currency : old_currencies) {
    if (!currencies.contains(currency)) batch.ZRem(Keys::CurrencyIndex(tenant, currency), account);
  }
  for (const std::string& currency : currencies) {
    if (!old_currencies.contains(currency))
      batch.ZAdd(Keys::CurrencyIndex(tenant, currency), account, 0);
  }

  if (event.has_credit_rating_changed()) {
    if (!old_grade.empty()) batch.ZRem(Keys::Grade(tenant, old_grade), account);
    batch.ZAdd(Keys::Grade(tenant, state.rated_grade()), account, state.rated_score());
  }
  if (event.has_credit_limit_set()) {
    *state.mutable_limit_position() = position;
    batch.ZAdd(Keys::Limited(tenant), account, 0);
    if (!old_group.empty() && old_group != state.credit_group()) {
      batch.HDel(Keys::Group(tenant, old_group), account);
    }
    if (!state.credit_group().empty()) {
      batch.HSet(Keys::Group(tenant, state.credit_group()), account,
                 GroupValue(state.limit_set_at_unix_micros(), state.group_limit_minor()));
    }
  }
  const std::optional<int64_t> due = EarliestOpenDueDay(state);
  if (due != old_due && !state.account().region().empty()) {
    const std::string index = Keys::DueIndex(state.account().region());
    if (due) {
      batch.ZAdd(index, Keys::DueMember(tenant, account), *due);
    } else {
      batch.ZRem(index, Keys::DueMember(tenant, account));
    }
  }
  accounts_.Put(key, std::move(state), batch);
  return absl::OkStatus();
}

// ---- reads ----

absl::StatusOr<std::optional<v1::CreditAccountState>> LoadAccountState(store::Store& store,
                                                                       absl::string_view tenant,
                                                                       absl::string_view account) {
  const std::string key = Keys::Account(tenant, account);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.Get(key));
  if (!bytes) return std::optional<v1::CreditAccountState>();
  v1::CreditAccountState state;
  if (!state.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("stored credit state '", key, "' does not parse"));
  }
  return std::optional<v1::CreditAccountState>(std::move(state));
}

absl::StatusOr<FxTable> LoadFxTable(store::Store& store, absl::string_view tenant,
                                    const std::string& base_currency) {
  FxTable fx;
  fx.base_currency = base_currency;
  ASSIGN_OR_RETURN(auto pairs, store.HGetAll(Keys::FxPairs(tenant)));
  for (const auto& [pair, unused] : pairs) {
    std::pair<std::string, std::string> parts = absl::StrSplit(pair, absl::MaxSplits(':', 1));
    if (parts.second != base_currency) continue;
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     store.Get(Keys::FxRate(tenant, parts.first, parts.second)));
    v1::CreditFxRate rate;
    if (!bytes || !rate.ParseFromString(*bytes)) {
      return absl::DataLossError(absl::StrCat("FX rate ", pair, " is listed but not stored"));
    }
    fx.rate_to_base[parts.first] = rate.rate_nano();
  }
  return fx;
}

absl::StatusOr<std::optional<int64_t>> LoadBusinessDay(store::Store& store,
                                                       absl::string_view region) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.Get(Keys::BusinessDate(region)));
  if (!bytes) return std::optional<int64_t>();
  v1::Date date;
  if (!date.ParseFromString(*bytes))
    return absl::DataLossError("stored business date does not parse");
  ASSIGN_OR_RETURN(absl::CivilDay day, protoconv::DayFromProto(date, "stored business date"));
  return std::optional<int64_t>(core::DayNumber(day));
}

absl::StatusOr<std::optional<GroupView>> LoadGroupView(store::Store& store,
                                                       absl::string_view tenant,
                                                       const std::string& group,
                                                       const FxTable& fx) {
  if (group.empty()) return std::optional<GroupView>();
  ASSIGN_OR_RETURN(auto members, store.HGetAll(Keys::Group(tenant, group)));
  if (members.empty()) return std::optional<GroupView>();
  GroupView view;
  view.group = group;
  std::pair<int64_t, std::string> latest{INT64_MIN, ""};
  for (const auto& [account, value] : members) {
    std::pair<std::string, std::string> parts = absl::StrSplit(value, absl::MaxSplits(':', 1));
    int64_t set_at = 0;
    int64_t limit = 0;
    if (!absl::SimpleAtoi(parts.first, &set_at) || !absl::SimpleAtoi(parts.second, &limit)) {
      return absl::DataLossError(absl::StrCat("bad group member value under group ", group));
    }
    if (std::make_pair(set_at, account) > latest) {
      latest = {set_at, account};
      view.limit_minor = limit;
    }
    ASSIGN_OR_RETURN(std::optional<v1::CreditAccountState> state,
                     LoadAccountState(store, tenant, account));
    if (!state) continue;
    ASSIGN_OR_RETURN(Exposure exposure, ComputeExposure(*state, fx));
    view.exposure_minor += exposure.base_minor;
  }
  return std::optional<GroupView>(std::move(view));
}

}  // namespace ar::credit
