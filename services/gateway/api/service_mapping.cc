#include "services/gateway/api/service_mapping.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/protoconv/protoconv.h"

namespace ar::gateway {
namespace {

constexpr int32_t kDefaultOverduePageSize = 50;
constexpr int32_t kMaxOverduePageSize = 500;
constexpr char kNotYetDue[] = "not_yet_due";

absl::Status NotSupported(const std::string& what) {
  return absl::UnimplementedError(
      absl::StrCat(what, " is not supported by the collections service yet"));
}

// The single value of a repeated filter collections takes one of ("" = all).
absl::StatusOr<std::string> OneOf(const google::protobuf::RepeatedPtrField<std::string>& values,
                                  const std::string& what) {
  if (values.size() > 1) return NotSupported(absl::StrCat("more than one of ", what));
  return values.empty() ? std::string() : values[0];
}

}  // namespace

v1::AdvanceBusinessDayRequest ToClockAdvance(const v1::GatewayAdvanceBusinessDayRequest& request) {
  v1::AdvanceBusinessDayRequest out;
  out.set_region(request.region());
  if (request.has_close_through()) *out.mutable_to_date() = request.close_through();
  return out;
}

v1::GatewayAdvanceBusinessDayResponse FromClockAdvance(
    const v1::AdvanceBusinessDayResponse& response) {
  v1::GatewayAdvanceBusinessDayResponse out;
  if (response.has_result()) *out.mutable_result() = response.result();
  *out.mutable_closed_dates() = response.closed();
  if (response.has_business_date()) *out.mutable_business_date() = response.business_date();
  out.set_region(response.region());
  if (response.has_closed_through()) *out.mutable_closed_through() = response.closed_through();
  return out;
}

v1::SetCreditLimitRequest ToCreditLimit(const v1::GatewaySetCreditLimitRequest& request) {
  v1::SetCreditLimitRequest out;
  if (request.has_account()) *out.mutable_account() = request.account();
  if (request.has_limit()) *out.mutable_limit() = request.limit();
  out.set_credit_group(request.credit_group());
  if (request.has_group_limit()) *out.mutable_group_limit() = request.group_limit();
  out.set_set_by(request.set_by());
  out.set_request_id(request.request_id());
  return out;
}

v1::SetFxRateRequest ToFxRate(const v1::GatewaySetFxRateRequest& request) {
  v1::SetFxRateRequest out;
  out.set_tenant(request.tenant());
  out.set_from_currency(request.from_currency());
  out.set_to_currency(request.to_currency());
  out.set_rate_nano(request.rate_nano());
  if (request.has_effective_date()) *out.mutable_effective_date() = request.effective_date();
  return out;
}

v1::GetCreditProfileRequest ToCreditProfileRequest(const v1::GatewayCreditProfileRequest& request) {
  v1::GetCreditProfileRequest out;
  out.set_tenant(request.tenant());
  out.set_account(request.account());
  if (request.has_consistency()) *out.mutable_consistency() = request.consistency();
  return out;
}

v1::GatewayCreditProfile FromCreditProfile(const v1::CreditProfile& profile,
                                           int top_factors_limit) {
  v1::GatewayCreditProfile out;
  out.set_tenant(profile.account().tenant());
  out.set_account(profile.account().account());
  // The decided grade: "" until credit-risk has rated the account, as the gateway promises.
  out.set_grade(profile.rated_grade());
  out.set_score(profile.score());
  for (int i = 0; i < profile.factors_size() && i < top_factors_limit; ++i) {
    *out.add_top_factors() = profile.factors(i);
  }
  if (profile.has_limit()) *out.mutable_credit_limit() = profile.limit();
  if (profile.has_exposure()) *out.mutable_exposure() = profile.exposure();
  out.set_utilisation_bp(profile.utilisation_bp());
  out.set_credit_group(profile.credit_group());
  if (profile.has_group_limit()) *out.mutable_group_limit() = profile.group_limit();
  if (profile.has_group_exposure()) *out.mutable_group_exposure() = profile.group_exposure();
  out.set_on_credit_hold(profile.on_hold());
  out.set_hold_reason(profile.hold_rule());
  if (profile.has_business_date()) *out.mutable_as_of() = profile.business_date();
  return out;
}

v1::RecordPromiseRequest ToRecordPromise(const v1::GatewayRecordPromiseRequest& request) {
  v1::RecordPromiseRequest out;
  if (request.has_account()) *out.mutable_account() = request.account();
  out.set_promise_id(request.promise_id());
  if (request.has_amount()) *out.mutable_amount() = request.amount();
  if (request.has_promised_date()) *out.mutable_promised_date() = request.promised_date();
  out.set_recorded_by(request.recorded_by());
  return out;
}

absl::StatusOr<v1::WriteOffDebtRequest> ToWriteOff(const v1::GatewayWriteOffRequest& request) {
  if (request.has_amount()) {
    return NotSupported(
        "a write-off amount (collections writes off the whole open amount; "
        "leave amount unset)");
  }
  v1::WriteOffDebtRequest out;
  out.set_tenant(request.tenant());
  out.set_account(request.account());
  out.set_invoice_id(request.invoice_id());
  out.set_reason(request.reason());
  out.set_approver(request.approver());
  return out;
}

absl::StatusOr<v1::ListOverdueAccountsRequest> ToListOverdue(
    const v1::GatewayListOverdueAccountsRequest& request) {
  v1::ListOverdueAccountsRequest out;
  out.set_tenant(request.tenant());
  auto region = OneOf(request.regions(), "regions");
  if (!region.ok()) return region.status();
  out.set_region(*region);
  auto subsidiary = OneOf(request.subsidiaries(), "subsidiaries");
  if (!subsidiary.ok()) return subsidiary.status();
  out.set_subsidiary(*subsidiary);
  auto grade = OneOf(request.grades(), "grades");
  if (!grade.ok()) return grade.status();
  out.set_grade(*grade);
  // Collections' bucket filter means "has an amount in this bucket", not "at least".
  if (!request.min_bucket().empty()) return NotSupported("min_bucket");
  if (request.min_amount().minor_units() < 0) {
    return absl::InvalidArgumentError("min_amount must not be negative");
  }
  out.set_min_amount_minor(request.min_amount().minor_units());
  if (request.ascending()) return NotSupported("ascending order");
  switch (request.sort()) {
    case v1::GATEWAY_OVERDUE_SORT_UNSPECIFIED:
    case v1::GATEWAY_OVERDUE_SORT_DAYS_PAST_DUE:
      out.set_sort(v1::OVERDUE_SORT_DAYS_PAST_DUE_DESC);
      break;
    case v1::GATEWAY_OVERDUE_SORT_OVERDUE_AMOUNT:
      out.set_sort(v1::OVERDUE_SORT_AMOUNT_DESC);
      break;
    case v1::GATEWAY_OVERDUE_SORT_FIRST_OVERDUE_DATE:
    case v1::GATEWAY_OVERDUE_SORT_ACCOUNT:
      return NotSupported(absl::StrCat("sort ", v1::GatewayOverdueSort_Name(request.sort())));
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown sort ", request.sort()));
  }
  if (request.page_size() < 0) return absl::InvalidArgumentError("page_size must not be negative");
  out.set_page_size(request.page_size() == 0 ? kDefaultOverduePageSize
                                             : std::min(request.page_size(), kMaxOverduePageSize));
  out.set_page_token(request.page_token());
  if (request.has_consistency()) *out.mutable_consistency() = request.consistency();
  return out;
}

v1::GatewayListOverdueAccountsResponse FromListOverdue(
    const v1::GatewayListOverdueAccountsRequest& request,
    const v1::ListOverdueAccountsResponse& response) {
  v1::GatewayListOverdueAccountsResponse out;
  const std::string& currency = request.min_amount().currency();
  for (const v1::OverdueRow& row : response.rows()) {
    if (!currency.empty() && request.min_amount().minor_units() > 0 &&
        row.total_overdue().currency() != currency) {
      continue;
    }
    v1::GatewayOverdueAccount& account = *out.add_accounts();
    v1::AccountRef& ref = *account.mutable_account();
    ref.set_tenant(row.tenant());
    ref.set_region(row.region());
    ref.set_subsidiary(row.subsidiary());
    ref.set_account(row.account());
    account.set_account_name(row.name());
    if (row.has_total_overdue()) *account.mutable_overdue()->add_amounts() = row.total_overdue();
    account.set_days_past_due(row.max_days_past_due());
    account.set_aging_bucket(row.worst_bucket());
    if (row.has_first_overdue_date()) {
      *account.mutable_first_overdue_date() = row.first_overdue_date();
    }
    if (row.has_last_payment_date()) {
      *account.mutable_last_payment_date() = row.last_payment_date();
    }
    account.set_dunning_level(row.dunning_level());
    account.set_collection_status(row.last_action());
    if (row.promise().status() == "open") {
      *account.mutable_promised_date() = row.promise().promised_date();
    }
    account.set_risk_grade(row.risk_grade());
  }
  out.set_next_page_token(response.next_page_token());
  return out;
}

v1::GetAgingReportRequest ToAgingReport(const v1::GatewayAgingReportRequest& request) {
  v1::GetAgingReportRequest out;
  out.set_tenant(request.tenant());
  // Several regions: all of them are fetched and FromAgingReport keeps the asked ones.
  if (request.regions_size() == 1) out.set_region(request.regions(0));
  if (request.has_consistency()) *out.mutable_consistency() = request.consistency();
  return out;
}

v1::GatewayAgingReport FromAgingReport(const v1::GatewayAgingReportRequest& request,
                                       const v1::AgingReport& report) {
  bool by_region = request.group_by().empty(), by_subsidiary = false;
  for (int group_by : request.group_by()) {
    by_region |= group_by == v1::GATEWAY_AGING_GROUP_BY_REGION ||
                 group_by == v1::GATEWAY_AGING_GROUP_BY_UNSPECIFIED;
    by_subsidiary |= group_by == v1::GATEWAY_AGING_GROUP_BY_SUBSIDIARY;
  }
  struct Row {
    std::vector<std::string> labels;  // in the order collections gave them
    std::map<std::string, int64_t> amounts;
    int64_t total = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Row> rows;
  for (const v1::AgingLine& line : report.lines()) {
    if (!request.regions().empty() && std::find(request.regions().begin(), request.regions().end(),
                                                line.region()) == request.regions().end()) {
      continue;
    }
    Row& row = rows[{by_region ? line.region() : "", by_subsidiary ? line.subsidiary() : "",
                     line.currency()}];
    auto add = [&row](const std::string& label, int64_t amount) {
      auto [it, inserted] = row.amounts.emplace(label, 0);
      if (inserted) row.labels.push_back(label);
      it->second += amount;
    };
    add(kNotYetDue, line.not_yet_due());
    for (const v1::BucketAmount& bucket : line.buckets()) {
      add(bucket.bucket(), bucket.amount().minor_units());
    }
    row.total += line.open_balance();
  }
  v1::GatewayAgingReport out;
  out.set_tenant(request.tenant());
  if (request.has_as_of()) *out.mutable_as_of() = request.as_of();
  out.set_replayed(report.replayed());
  for (const auto& [key, row] : rows) {
    const auto& [region, subsidiary, currency] = key;
    v1::GatewayAgingRow& out_row = *out.add_rows();
    out_row.set_region(region);
    out_row.set_subsidiary(subsidiary);
    out_row.set_currency(currency);
    for (const std::string& label : row.labels) {
      v1::GatewayAgingBucket& bucket = *out_row.add_buckets();
      bucket.set_label(label);
      *bucket.mutable_amount() = protoconv::MoneyProto(row.amounts.at(label), currency);
    }
    *out_row.mutable_total() = protoconv::MoneyProto(row.total, currency);
  }
  return out;
}

absl::StatusOr<bool> AgingAsOfIsPast(const v1::GatewayAgingReportRequest& request,
                                     const v1::GetBusinessDatesResponse& dates) {
  bool past = false;
  auto as_of = protoconv::DayFromProto(request.as_of(), "as_of");
  if (!as_of.ok()) return as_of.status();
  for (const v1::RegionBusinessDate& region : dates.regions()) {
    if (!request.regions().empty() && std::find(request.regions().begin(), request.regions().end(),
                                                region.region()) == request.regions().end()) {
      continue;
    }
    if (!region.has_business_date()) {
      return absl::FailedPreconditionError(
          absl::StrCat("region ", region.region(), " has no business date yet"));
    }
    auto business_date = protoconv::DayFromProto(region.business_date(), "business_date");
    if (!business_date.ok()) return business_date.status();
    past |= *as_of < *business_date;
    if (*as_of > *business_date) {
      return absl::InvalidArgumentError(absl::StrCat(
          "as_of ", protoconv::DescribeDay(request.as_of()), " is after region ", region.region(),
          "'s business date ", protoconv::DescribeDay(region.business_date())));
    }
  }
  return past;
}

v1::GetAccountCollectionsRequest ToAccountCollections(const v1::GetCustomer360Request& request) {
  v1::GetAccountCollectionsRequest out;
  out.set_tenant(request.tenant());
  out.set_account(request.account());
  return out;
}

v1::GatewayCollectionStatus FromAccountCollections(const v1::AccountCollections& collections) {
  const v1::OverdueRow& row = collections.row();
  v1::GatewayCollectionStatus out;
  out.set_dunning_level(row.dunning_level());
  // The channel of the last dunning step: the latest one sent on any invoice of the account.
  int32_t channel_level = 0;
  for (const v1::CollectionsInvoice& invoice : collections.state().invoices()) {
    if (invoice.dunning_level() > channel_level) {
      channel_level = invoice.dunning_level();
      out.set_channel(invoice.last_channel());
    }
  }
  out.set_last_action(row.last_action());
  out.set_days_past_due(row.max_days_past_due());
  out.set_aging_bucket(row.worst_bucket());
  if (row.has_total_overdue()) *out.mutable_overdue()->add_amounts() = row.total_overdue();
  if (row.has_first_overdue_date()) *out.mutable_first_overdue_date() = row.first_overdue_date();
  if (row.has_last_payment_date()) *out.mutable_last_payment_date() = row.last_payment_date();
  out.set_risk_grade(row.risk_grade());
  return out;
}

v1::GatewayPromiseToPay OpenPromise(const v1::AccountCollections& collections) {
  const v1::CollectionsPromise& promise = collections.state().promise();
  v1::GatewayPromiseToPay out;
  if (promise.status() != "open") return out;
  out.set_promise_id(promise.promise_id());
  *out.mutable_amount() = promise.amount();
  *out.mutable_promised_date() = promise.promised_date();
  out.set_recorded_by(promise.recorded_by());
  out.set_state(promise.status());
  return out;
}

v1::ListKpisRequest ToListKpis(const v1::GatewayKpisRequest& request) {
  v1::ListKpisRequest out;
  out.set_tenant(request.tenant());
  // Several regions: all of them are fetched and FromListKpis keeps the asked ones.
  if (request.regions_size() == 1) out.set_region(request.regions(0));
  if (request.has_from_month()) *out.mutable_from_month() = request.from_month();
  if (request.has_to_month()) *out.mutable_to_month() = request.to_month();
  if (request.has_consistency()) *out.mutable_consistency() = request.consistency();
  return out;
}

v1::GatewayKpis FromListKpis(const v1::GatewayKpisRequest& request,
                             const v1::ListKpisResponse& response) {
  const std::set<std::string> regions(request.regions().begin(), request.regions().end());
  v1::GatewayKpis out;
  out.set_tenant(request.tenant());
  for (const v1::Kpis& kpis : response.kpis()) {
    if (!regions.empty() && !regions.contains(kpis.region())) continue;
    v1::GatewayKpiRow* row = out.add_rows();
    row->set_region(kpis.region());
    *row->mutable_month() = protoconv::DateProto(kpis.year(), kpis.month(), 1);
    row->set_currency(kpis.currency());
    *row->mutable_sales() = protoconv::MoneyProto(kpis.sales(), kpis.currency());
    *row->mutable_collected() = protoconv::MoneyProto(kpis.collected(), kpis.currency());
    row->set_receivables_known(kpis.receivables_known());
    if (!kpis.receivables_known()) continue;
    const int64_t open = kpis.closing_receivables();
    const int64_t overdue = open - kpis.closing_current();
    *row->mutable_open_receivables() = protoconv::MoneyProto(open, kpis.currency());
    *row->mutable_overdue_receivables() = protoconv::MoneyProto(overdue, kpis.currency());
    row->set_dso_milli_days(kpis.dso_milli_days());
    row->set_cei_bp(static_cast<int32_t>(kpis.cei_basis_points()));
    if (open > 0) {
      row->set_overdue_ratio_bp(
          static_cast<int32_t>(static_cast<__int128>(overdue) * 10'000 / open));
    }
  }
  return out;
}

}  // namespace ar::gateway
