#include "services/collections/api/collections_api.h"

#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/command/read_consistency.h"
#include "libs/core/dates.h"
#include "libs/core/grpc_status.h"
#include "libs/core/ids.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "services/collections/domain/collections_domain.h"
#include "services/collections/history/aging_as_of.h"
#include "services/collections/projection/collections_projection.h"

namespace ar::collections {
namespace {

constexpr int64_t kScanChunk = 200;

CommandContext ContextFor(std::string command_id) {
  return {std::move(command_id), absl::ToUnixMicros(absl::Now()), ""};
}

// Page tokens: "<score>:<account>" of the last row returned, web-safe base64 so clients
// treat it as opaque.
std::string EncodePageToken(int64_t score, const std::string& member) {
  return absl::WebSafeBase64Escape(absl::StrCat(score, ":", member));
}

absl::Status DecodePageToken(const std::string& token, int64_t& score, std::string& member) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return absl::InvalidArgumentError("bad page_token");
  }
  std::pair<std::string, std::string> parts = absl::StrSplit(raw, absl::MaxSplits(':', 1));
  if (parts.second.empty() || !absl::SimpleAtoi(parts.first, &score)) {
    return absl::InvalidArgumentError("bad page_token");
  }
  member = std::move(parts.second);
  return absl::OkStatus();
}

bool RowMatches(const v1::OverdueRow& row, const v1::ListOverdueAccountsRequest& request) {
  if (row.total_overdue().minor_units() <= 0) return false;
  if (!request.region().empty() && row.region() != request.region()) return false;
  if (!request.subsidiary().empty() && row.subsidiary() != request.subsidiary()) return false;
  if (!request.grade().empty() && row.risk_grade() != request.grade()) return false;
  if (row.total_overdue().minor_units() < request.min_amount_minor()) return false;
  if (!request.bucket().empty()) {
    bool found = false;
    for (const v1::BucketAmount& bucket : row.buckets())
      found |= bucket.bucket() == request.bucket();
    if (!found) return false;
  }
  return true;
}

}  // namespace

CollectionsApi::CollectionsApi(store::Store& store, eventlog::EventLog& log,
                               command::CommandExecutor& executor,
                               projection::ProjectionRunner& projection,
                               std::vector<std::string> topics, v1::CollectionsPolicy policy,
                               ApiOptions options)
    : store_(store),
      log_(log),
      executor_(executor),
      projection_(projection),
      topics_(std::move(topics)),
      policy_(std::move(policy)),
      options_(options) {}

absl::Status CollectionsApi::AwaitConsistency(const v1::ReadConsistency& consistency) {
  return command::AwaitReadConsistency(projection_, consistency, topics_, "collections",
                                       options_.read_wait_timeout);
}

absl::StatusOr<int32_t> CollectionsApi::PageSize(int32_t requested) const {
  if (requested < 0) return absl::InvalidArgumentError("page_size must not be negative");
  if (requested == 0) return options_.default_page_size;
  return std::min(requested, options_.max_page_size);
}

absl::StatusOr<v1::CommandResult> CollectionsApi::RecordPromise(
    const v1::RecordPromiseRequest& request) {
  const std::string& tenant = request.account().tenant();
  const std::string& account = request.account().account();
  // Ids are checked before they are used as lock keys; the domain checks everything else.
  RETURN_IF_ERROR(core::ValidateId(tenant, "account.tenant"));
  RETURN_IF_ERROR(core::ValidateId(account, "account.account"));
  RETURN_IF_ERROR(core::ValidateId(request.promise_id(), "promise_id"));
  // Payments acknowledged before the promise was asked for were made before it: the read
  // model applies them first, so the promise's baseline includes them (and only later
  // payments count towards it), however the two topics interleave.
  RETURN_IF_ERROR(executor_.CatchUp(log_, {topics::kPayments}, options_.read_wait_timeout));
  return executor_.Execute(tenant, account, [&]() -> absl::StatusOr<command::Decision> {
    ASSIGN_OR_RETURN(v1::CollectionsAccount state, LoadAccount(store_, tenant, account));
    const std::string& region =
        request.account().region().empty() ? state.region() : request.account().region();
    std::optional<absl::CivilDay> today;
    if (!region.empty()) {
      ASSIGN_OR_RETURN(today, LoadBusinessDate(store_, region));
    }
    command::Decision decision;
    decision.command_id = PromiseCommandId(request.promise_id());
    ASSIGN_OR_RETURN(decision.events,
                     DecideRecordPromise(request, state, today, ContextFor(decision.command_id)));
    if (decision.events.empty()) {
      v1::CommandResult duplicate;
      duplicate.set_duplicate(true);
      decision.duplicate_of = duplicate;
    }
    return decision;
  });
}

absl::StatusOr<v1::CommandResult> CollectionsApi::WriteOffDebt(
    const v1::WriteOffDebtRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.account(), "account"));
  RETURN_IF_ERROR(core::ValidateId(request.invoice_id(), "invoice_id"));
  return executor_.Execute(
      request.tenant(), request.account(), [&]() -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(v1::CollectionsAccount state,
                         LoadAccount(store_, request.tenant(), request.account()));
        ASSIGN_OR_RETURN(BusinessDates dates, LoadBusinessDates(store_, state));
        command::Decision decision;
        decision.command_id = WriteOffCommandId(request.invoice_id());
        ASSIGN_OR_RETURN(decision.events,
                         DecideWriteOff(request, state, dates, ContextFor(decision.command_id)));
        return decision;
      });
}

absl::StatusOr<v1::ListOverdueAccountsResponse> CollectionsApi::ListOverdueAccounts(
    const v1::ListOverdueAccountsRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  ASSIGN_OR_RETURN(const int32_t page_size, PageSize(request.page_size()));
  if (!v1::OverdueSort_IsValid(request.sort())) return absl::InvalidArgumentError("bad sort");
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));
  // By amount: largest first. By days past due: oldest overdue due date first.
  const bool by_amount = request.sort() == v1::OVERDUE_SORT_AMOUNT_DESC;
  const std::string key =
      by_amount ? Keys::OverdueByAmount(request.tenant()) : Keys::OverdueByAge(request.tenant());
  store::RangeOptions range;
  range.descending = by_amount;
  std::optional<std::pair<int64_t, std::string>> after;
  if (!request.page_token().empty()) {
    int64_t score = 0;
    std::string member;
    RETURN_IF_ERROR(DecodePageToken(request.page_token(), score, member));
    (by_amount ? range.max_score : range.min_score) = score;
    after.emplace(score, std::move(member));
  }
  range.limit = kScanChunk;
  v1::ListOverdueAccountsResponse response;
  std::map<std::string, BusinessDates> dates_by_region;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<store::ScoredMember> chunk, store_.ZRange(key, range));
    for (const store::ScoredMember& entry : chunk) {
      // Ties are ordered by member (reversed when descending): skip up to the cursor.
      if (after && entry.score == after->first &&
          (by_amount ? entry.member >= after->second : entry.member <= after->second)) {
        continue;
      }
      ASSIGN_OR_RETURN(v1::CollectionsAccount account,
                       LoadAccount(store_, request.tenant(), entry.member));
      ASSIGN_OR_RETURN(BusinessDates dates, LoadBusinessDates(store_, account));
      v1::OverdueRow row = OverdueRowOf(policy_, account, dates);
      if (!RowMatches(row, request)) continue;
      *response.add_rows() = std::move(row);
      if (response.rows_size() == page_size) {
        response.set_next_page_token(EncodePageToken(entry.score, entry.member));
        return response;
      }
    }
    if (static_cast<int64_t>(chunk.size()) < kScanChunk) return response;
    range.offset += kScanChunk;
  }
}

absl::StatusOr<v1::AccountCollections> CollectionsApi::GetAccountCollections(
    const v1::GetAccountCollectionsRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.account(), "account"));
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));
  ASSIGN_OR_RETURN(v1::CollectionsAccount account,
                   LoadAccount(store_, request.tenant(), request.account()));
  if (account.account().empty()) {
    return absl::NotFoundError(absl::StrCat("account ", request.account(), " not found"));
  }
  ASSIGN_OR_RETURN(BusinessDates dates, LoadBusinessDates(store_, account));
  v1::AccountCollections response;
  *response.mutable_row() = OverdueRowOf(policy_, account, dates);
  if (auto today = dates.find(account.region()); today != dates.end()) {
    *response.mutable_business_date() = protoconv::DayToProto(today->second);
  }
  account.clear_applied_commands();
  *response.mutable_state() = std::move(account);
  return response;
}

absl::StatusOr<v1::AgingReport> CollectionsApi::GetAgingReport(
    const v1::GetAgingReportRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));
  if (!request.has_as_of()) return LoadAgingReport(store_, policy_, request);
  ASSIGN_OR_RETURN(const absl::CivilDay as_of, protoconv::DayFromProto(request.as_of(), "as_of"));
  if (!request.region().empty()) {
    ASSIGN_OR_RETURN(std::optional<absl::CivilDay> today,
                     LoadBusinessDate(store_, request.region()));
    if (!today) {
      return absl::FailedPreconditionError(
          absl::StrCat("region ", request.region(), " has no business date yet"));
    }
    if (as_of > *today) {
      return absl::InvalidArgumentError(
          absl::StrCat("as_of ", core::FormatDate(as_of), " is after region ", request.region(),
                       "'s business date ", core::FormatDate(*today)));
    }
    if (as_of == *today) {  // the aggregates stand for it
      ASSIGN_OR_RETURN(v1::AgingReport report, LoadAgingReport(store_, policy_, request));
      *report.mutable_as_of() = request.as_of();
      return report;
    }
  }
  return ReplayAgingReport(log_, policy_, request, as_of, options_.as_of_replay_timeout);
}

absl::StatusOr<v1::ListWriteOffCandidatesResponse> CollectionsApi::ListWriteOffCandidates(
    const v1::ListWriteOffCandidatesRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.region(), "region"));
  ASSIGN_OR_RETURN(const int32_t page_size, PageSize(request.page_size()));
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));
  v1::ListWriteOffCandidatesResponse response;
  const int32_t min_days = policy_.write_off_candidate_days();
  response.set_min_days_past_due(min_days);
  if (min_days <= 0) return response;
  ASSIGN_OR_RETURN(std::optional<absl::CivilDay> today, LoadBusinessDate(store_, request.region()));
  if (!today) return response;
  store::RangeOptions range;
  range.max_score = core::DayNumber(*today) - min_days;
  range.limit = kScanChunk;
  std::string tenant, account, invoice_id;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<store::ScoredMember> chunk,
                     store_.ZRange(Keys::DueIndex(request.region()), range));
    for (const store::ScoredMember& entry : chunk) {
      if (!Keys::ParseMember(entry.member, tenant, account, invoice_id) ||
          tenant != request.tenant()) {
        continue;
      }
      ASSIGN_OR_RETURN(v1::CollectionsAccount state, LoadAccount(store_, tenant, account));
      const v1::CollectionsInvoice* invoice = FindInvoice(state, invoice_id);
      if (invoice == nullptr || OpenAmount(*invoice) == 0) continue;
      v1::WriteOffCandidate* candidate = response.add_candidates();
      candidate->set_account(account);
      candidate->set_invoice_id(invoice_id);
      *candidate->mutable_open_amount() =
          protoconv::MoneyProto(OpenAmount(*invoice), invoice->currency());
      candidate->set_days_past_due(static_cast<int32_t>(core::DayNumber(*today) - entry.score));
      if (response.candidates_size() == page_size) return response;
    }
    if (static_cast<int64_t>(chunk.size()) < kScanChunk) return response;
    range.offset += kScanChunk;
  }
}

namespace {

std::string MonthKey(int year, int month) {
  return absl::StrCat(year, "-", month < 10 ? "0" : "", month);
}

int64_t Counter(const std::map<std::string, std::string>& hash, const std::string& field) {
  int64_t value = 0;
  auto it = hash.find(field);
  if (it != hash.end()) (void)absl::SimpleAtoi(it->second, &value);
  return value;
}

// Open and not-yet-due receivables now, per (region, currency), from the tenant's aging.
using Receivables = std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>>;

absl::StatusOr<Receivables> LoadReceivables(store::Store& store, const std::string& tenant) {
  ASSIGN_OR_RETURN(auto aging, store.HGetAll(Keys::AgingTenant(tenant)));
  Receivables receivables;
  for (const auto& [field, value] : aging) {
    std::vector<std::string> parts = absl::StrSplit(field, ' ');
    if (parts.size() != 4)
      return absl::DataLossError(absl::StrCat("bad aging field '", field, "'"));
    auto& [open, current] = receivables[{parts[0], parts[2]}];
    if (parts[3] == "open") open += Counter(aging, field);
    if (parts[3] == kNotYetDue) current += Counter(aging, field);
  }
  return receivables;
}

// Fills the receivables-based figures of `kpis` (region, month, currency, sales and
// collected already set) from the receivables now, standing for the month's closing ones.
void FillReceivables(int64_t open, int64_t current, v1::Kpis& kpis) {
  kpis.set_closing_receivables(open);
  kpis.set_closing_current(current);
  kpis.set_opening_receivables(std::max<int64_t>(0, open - kpis.sales() + kpis.collected()));
  const absl::CivilDay first(kpis.year(), kpis.month(), 1);
  const int64_t days = core::DaysBetween(first, core::EndOfMonth(first)) + 1;
  if (kpis.sales() > 0) {
    kpis.set_dso_milli_days(
        static_cast<int64_t>(static_cast<__int128>(open) * days * 1000 / kpis.sales()));
  }
  const int64_t collectible = kpis.opening_receivables() + kpis.sales() - current;
  if (collectible > 0) {
    const int64_t collected = kpis.opening_receivables() + kpis.sales() - open;
    kpis.set_cei_basis_points(
        static_cast<int64_t>(static_cast<__int128>(collected) * 10'000 / collectible));
  }
}

v1::Kpis KpisOf(const std::string& region, int year, int month, const std::string& currency,
                const std::map<std::string, std::string>& counters) {
  v1::Kpis kpis;
  kpis.set_region(region);
  kpis.set_year(year);
  kpis.set_month(month);
  kpis.set_currency(currency);
  const std::string prefix = absl::StrCat(MonthKey(year, month), " ", currency, " ");
  kpis.set_sales(Counter(counters, prefix + "sales"));
  kpis.set_collected(Counter(counters, prefix + "collected"));
  return kpis;
}

absl::StatusOr<std::optional<std::string>> MonthBound(const v1::ListKpisRequest& request,
                                                      bool from) {
  if (from ? !request.has_from_month() : !request.has_to_month()) return std::nullopt;
  const v1::Date& date = from ? request.from_month() : request.to_month();
  if (date.month() < 1 || date.month() > 12 || date.year() < 1 || date.year() > 9999) {
    return absl::InvalidArgumentError(
        absl::StrCat(from ? "from_month" : "to_month", " must name a month"));
  }
  return MonthKey(date.year(), date.month());
}

}  // namespace

absl::StatusOr<v1::Kpis> CollectionsApi::GetKpis(const v1::GetKpisRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.region(), "region"));
  if (request.month() < 1 || request.month() > 12 || request.year() < 1 || request.year() > 9999) {
    return absl::InvalidArgumentError("year and month must name a month");
  }
  if (request.currency().empty()) return absl::InvalidArgumentError("currency is required");
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));
  ASSIGN_OR_RETURN(auto counters, store_.HGetAll(Keys::Kpi(request.tenant(), request.region())));
  ASSIGN_OR_RETURN(Receivables receivables, LoadReceivables(store_, request.tenant()));
  ASSIGN_OR_RETURN(std::optional<absl::CivilDay> today, LoadBusinessDate(store_, request.region()));
  v1::Kpis kpis =
      KpisOf(request.region(), request.year(), request.month(), request.currency(), counters);
  // Receivables now stand for the month's closing ones (see README: current month).
  const auto [open, current] = receivables[{request.region(), request.currency()}];
  FillReceivables(open, current, kpis);
  kpis.set_receivables_known(today && today->year() == request.year() &&
                             today->month() == request.month());
  return kpis;
}

absl::StatusOr<v1::ListKpisResponse> CollectionsApi::ListKpis(const v1::ListKpisRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  if (!request.region().empty()) RETURN_IF_ERROR(core::ValidateId(request.region(), "region"));
  ASSIGN_OR_RETURN(const std::optional<std::string> from, MonthBound(request, /*from=*/true));
  ASSIGN_OR_RETURN(const std::optional<std::string> to, MonthBound(request, /*from=*/false));
  if (from && to && *from > *to) {
    return absl::InvalidArgumentError("from_month is after to_month");
  }
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));
  ASSIGN_OR_RETURN(Receivables receivables, LoadReceivables(store_, request.tenant()));
  // Every region the tenant ever had an invoice in has aging fields (they stay at zero).
  std::set<std::string> regions;
  for (const auto& [where, amounts] : receivables) {
    if (request.region().empty() || where.first == request.region()) regions.insert(where.first);
  }
  v1::ListKpisResponse response;
  for (const std::string& region : regions) {
    ASSIGN_OR_RETURN(auto counters, store_.HGetAll(Keys::Kpi(request.tenant(), region)));
    ASSIGN_OR_RETURN(std::optional<absl::CivilDay> today, LoadBusinessDate(store_, region));
    // (month, currency) with figures; "yyyy-mm" sorts as months do.
    std::set<std::pair<std::string, std::string>> months;
    for (const auto& [field, value] : counters) {
      std::vector<std::string> parts = absl::StrSplit(field, ' ');
      if (parts.size() != 3)
        return absl::DataLossError(absl::StrCat("bad kpi field '", field, "'"));
      months.insert({parts[0], parts[1]});
    }
    const std::string current_month =
        today ? MonthKey(static_cast<int>(today->year()), today->month()) : "";
    if (today) {
      for (const auto& [where, amounts] : receivables) {
        if (where.first == region && amounts.first != 0)
          months.insert({current_month, where.second});
      }
    }
    for (const auto& [month, currency] : months) {
      if ((from && month < *from) || (to && month > *to)) continue;
      int year = 0, month_number = 0;
      const std::pair<std::string, std::string> year_month = absl::StrSplit(month, '-');
      if (!absl::SimpleAtoi(year_month.first, &year) ||
          !absl::SimpleAtoi(year_month.second, &month_number)) {
        return absl::DataLossError(absl::StrCat("bad kpi month '", month, "'"));
      }
      v1::Kpis& kpis = *response.add_kpis();
      kpis = KpisOf(region, year, month_number, currency, counters);
      if (month == current_month) {
        const auto [open, current] = receivables[{region, currency}];
        FillReceivables(open, current, kpis);
        kpis.set_receivables_known(true);
      }
    }
  }
  return response;
}

grpc::Status CollectionsGrpcService::RecordPromise(grpc::ServerContext*,
                                                   const v1::RecordPromiseRequest* request,
                                                   v1::CommandResult* response) {
  return core::ReplyWith(api_.RecordPromise(*request), response);
}
grpc::Status CollectionsGrpcService::WriteOffDebt(grpc::ServerContext*,
                                                  const v1::WriteOffDebtRequest* request,
                                                  v1::CommandResult* response) {
  return core::ReplyWith(api_.WriteOffDebt(*request), response);
}
grpc::Status CollectionsGrpcService::ListOverdueAccounts(
    grpc::ServerContext*, const v1::ListOverdueAccountsRequest* request,
    v1::ListOverdueAccountsResponse* response) {
  return core::ReplyWith(api_.ListOverdueAccounts(*request), response);
}
grpc::Status CollectionsGrpcService::GetAccountCollections(
    grpc::ServerContext*, const v1::GetAccountCollectionsRequest* request,
    v1::AccountCollections* response) {
  return core::ReplyWith(api_.GetAccountCollections(*request), response);
}
grpc::Status CollectionsGrpcService::GetAgingReport(grpc::ServerContext*,
                                                    const v1::GetAgingReportRequest* request,
                                                    v1::AgingReport* response) {
  return core::ReplyWith(api_.GetAgingReport(*request), response);
}
grpc::Status CollectionsGrpcService::ListWriteOffCandidates(
    grpc::ServerContext*, const v1::ListWriteOffCandidatesRequest* request,
    v1::ListWriteOffCandidatesResponse* response) {
  return core::ReplyWith(api_.ListWriteOffCandidates(*request), response);
}
grpc::Status CollectionsGrpcService::GetKpis(grpc::ServerContext*,
                                             const v1::GetKpisRequest* request,
                                             v1::Kpis* response) {
  return core::ReplyWith(api_.GetKpis(*request), response);
}
grpc::Status CollectionsGrpcService::ListKpis(grpc::ServerContext*,
                                              const v1::ListKpisRequest* request,
                                              v1::ListKpisResponse* response) {
  return core::ReplyWith(api_.ListKpis(*request), response);
}

}  // namespace ar::collections
