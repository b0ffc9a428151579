// arctl promise, writeoff, overdue, aging and kpis: the collections service's commands
// and reports, through the gateway.

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status_macros.h"
#include "tools/arctl/command_support.h"
#include "tools/arctl/commands.h"
#include "tools/arctl/text.h"

namespace ar::arctl {
namespace {

absl::Status RecordPromise(Invocation& invocation) {
  v1::GatewayRecordPromiseRequest request;
  *request.mutable_account() = AccountFrom(invocation);
  request.set_promise_id(invocation.subject());
  const std::string currency = absl::AsciiStrToUpper(*invocation.Get("currency"));
  ASSIGN_OR_RETURN(*request.mutable_amount(),
                   ParseAmount(*invocation.Get("amount"), currency, "amount"));
  ASSIGN_OR_RETURN(*request.mutable_promised_date(), ParseDate(*invocation.Get("date"), "date"));
  request.set_recorded_by(invocation.GetOr("by", "arctl"));
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->RecordPromiseToPay(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "recorded",
                     absl::StrCat("promise ", request.promise_id()));
  return absl::OkStatus();
}

absl::Status WriteOff(Invocation& invocation) {
  v1::GatewayWriteOffRequest request;
  request.set_tenant(invocation.tenant());
  request.set_account(*invocation.Get("account"));
  request.set_invoice_id(invocation.subject());
  if (auto amount = invocation.Get("amount")) {
    const std::optional<std::string> currency = invocation.Get("currency");
    if (!currency) return UsageError("--amount needs --currency");
    ASSIGN_OR_RETURN(*request.mutable_amount(),
                     ParseAmount(*amount, absl::AsciiStrToUpper(*currency), "amount"));
  }
  request.set_reason(*invocation.Get("reason"));
  request.set_approver(*invocation.Get("approver"));
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->WriteOffDebt(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "wrote off",
                     absl::StrCat("invoice ", request.invoice_id()));
  return absl::OkStatus();
}

absl::StatusOr<v1::GatewayOverdueSort> ParseSort(const std::string& text) {
  static const auto* sorts = new std::map<std::string, v1::GatewayOverdueSort>{
      {"days", v1::GATEWAY_OVERDUE_SORT_DAYS_PAST_DUE},
      {"amount", v1::GATEWAY_OVERDUE_SORT_OVERDUE_AMOUNT},
      {"first-overdue", v1::GATEWAY_OVERDUE_SORT_FIRST_OVERDUE_DATE},
      {"account", v1::GATEWAY_OVERDUE_SORT_ACCOUNT}};
  auto it = sorts->find(text);
  if (it == sorts->end()) {
    return UsageError(
        absl::StrCat("--sort: unknown '", text, "' (days, amount, first-overdue, account)"));
  }
  return it->second;
}

std::string Amounts(const v1::MoneyByCurrency& amounts) {
  std::vector<std::string> parts;
  for (const v1::Money& money : amounts.amounts()) parts.push_back(FormatAmount(money));
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

absl::Status ListOverdue(Invocation& invocation) {
  v1::GatewayListOverdueAccountsRequest request;
  request.set_tenant(invocation.tenant());
  for (const std::string& region : invocation.GetAll("region")) request.add_regions(region);
  for (const std::string& sub : invocation.GetAll("subsidiary")) request.add_subsidiaries(sub);
  for (const std::string& grade : invocation.GetAll("grade")) {
    request.add_grades(absl::AsciiStrToUpper(grade));
  }
  request.set_min_bucket(invocation.GetOr("min-bucket", ""));
  if (auto amount = invocation.Get("min-amount")) {
    const std::optional<std::string> currency = invocation.Get("currency");
    if (!currency) return UsageError("--min-amount needs --currency");
    ASSIGN_OR_RETURN(*request.mutable_min_amount(),
                     ParseAmount(*amount, absl::AsciiStrToUpper(*currency), "min-amount"));
  }
  ASSIGN_OR_RETURN(const v1::GatewayOverdueSort sort, ParseSort(invocation.GetOr("sort", "days")));
  request.set_sort(sort);
  request.set_ascending(invocation.Has("ascending"));
  if (auto size = invocation.Get("page-size")) {
    ASSIGN_OR_RETURN(int64_t page_size, ParseScaledDecimal(*size, 0, "--page-size"));
    request.set_page_size(static_cast<int32_t>(std::min<int64_t>(page_size, 1'000'000)));
  }
  request.set_page_token(invocation.GetOr("page-token", ""));
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::GatewayListOverdueAccountsResponse response;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(
      FromGrpc(Gateway(invocation)->ListOverdueAccounts(call.get(), request, &response)));
  if (invocation.json()) {
    invocation.out() << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  if (response.accounts_size() == 0) {
    invocation.out() << "no overdue accounts match\n";
    return absl::OkStatus();
  }
  Table table({"ACCOUNT", "NAME", "REGION", "SUBSIDIARY", "OVERDUE", "DPD", "BUCKET", "LEVEL",
               "GRADE", "PROMISED", "LAST PAYMENT"},
              {5, 7});
  for (const v1::GatewayOverdueAccount& row : response.accounts()) {
    table.AddRow({row.account().account(), row.account_name(), row.account().region(),
                  row.account().subsidiary(), Amounts(row.overdue()),
                  absl::StrCat(row.days_past_due()), row.aging_bucket(),
                  absl::StrCat(row.dunning_level()),
                  row.risk_grade().empty() ? "-" : row.risk_grade(),
                  FormatDate(row.promised_date()), FormatDate(row.last_payment_date())});
  }
  table.Print(invocation.out());
  if (!response.next_page_token().empty()) {
    invocation.out() << "\nmore: --page-token " << response.next_page_token() << "\n";
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GatewayAgingGroupBy> ParseGroupBy(const std::string& text) {
  if (text == "region") return v1::GATEWAY_AGING_GROUP_BY_REGION;
  if (text == "subsidiary") return v1::GATEWAY_AGING_GROUP_BY_SUBSIDIARY;
  if (text == "currency") return v1::GATEWAY_AGING_GROUP_BY_CURRENCY;
  return UsageError(
      absl::StrCat("--group-by: unknown '", text, "' (region, subsidiary, currency)"));
}

absl::Status AgingReport(Invocation& invocation) {
  v1::GatewayAgingReportRequest request;
  request.set_tenant(invocation.tenant());
  for (const std::string& group : invocation.GetAll("group-by")) {
    ASSIGN_OR_RETURN(const v1::GatewayAgingGroupBy group_by, ParseGroupBy(group));
    request.add_group_by(group_by);
  }
  for (const std::string& region : invocation.GetAll("region")) request.add_regions(region);
  if (auto as_of = invocation.Get("as-of")) {
    ASSIGN_OR_RETURN(*request.mutable_as_of(), ParseDate(*as_of, "as-of"));
  }
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::GatewayAgingReport report;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetAgingReport(call.get(), request, &report)));
  if (invocation.json()) {
    invocation.out() << ToJson(report) << "\n";
    return absl::OkStatus();
  }
  invocation.out() << "aging of tenant " << report.tenant() << " as of "
                   << FormatDate(report.as_of()) << (report.replayed() ? " (replayed)" : "")
                   << "\n";
  if (report.rows_size() == 0) {
    invocation.out() << "nothing open\n";
    return absl::OkStatus();
  }
  // The bucket labels of the first row head the columns (every row has the same buckets).
  std::vector<std::string> headers = {"REGION", "SUBSIDIARY", "CURRENCY"};
  std::set<size_t> right;
  for (const v1::GatewayAgingBucket& bucket : report.rows(0).buckets()) {
    right.insert(headers.size());
    headers.push_back(absl::AsciiStrToUpper(bucket.label()));
  }
  right.insert(headers.size());
  headers.push_back("TOTAL");
  Table table(headers, right);
  for (const v1::GatewayAgingRow& row : report.rows()) {
    std::vector<std::string> cells = {row.region().empty() ? "*" : row.region(),
                                      row.subsidiary().empty() ? "*" : row.subsidiary(),
                                      row.currency()};
    for (const v1::GatewayAgingBucket& bucket : row.buckets()) {
      cells.push_back(FormatDecimal(bucket.amount().minor_units(), row.currency()));
    }
    cells.push_back(FormatDecimal(row.total().minor_units(), row.currency()));
    table.AddRow(std::move(cells));
  }
  table.Print(invocation.out());
  return absl::OkStatus();
}

absl::Status Kpis(Invocation& invocation) {
  v1::GatewayKpisRequest request;
  request.set_tenant(invocation.tenant());
  for (const std::string& region : invocation.GetAll("region")) request.add_regions(region);
  for (const char* flag : {"from", "to"}) {
    if (auto month = invocation.Get(flag)) {
      ASSIGN_OR_RETURN(v1::Date date, ParseDate(absl::StrCat(*month, "-01"), flag));
      *(std::string(flag) == "from" ? request.mutable_from_month() : request.mutable_to_month()) =
          date;
    }
  }
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::GatewayKpis kpis;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetKpis(call.get(), request, &kpis)));
  if (invocation.json()) {
    invocation.out() << ToJson(kpis) << "\n";
    return absl::OkStatus();
  }
  if (kpis.rows_size() == 0) {
    invocation.out() << "no figures for these regions and months\n";
    return absl::OkStatus();
  }
  // Receivables, hence DSO, CEI and the overdue ratio, are known for each region's
  // current month only: "-" elsewhere.
  Table table({"REGION", "MONTH", "CURRENCY", "SALES", "COLLECTED", "OPEN", "OVERDUE", "DSO (DAYS)",
               "CEI %", "OVERDUE %"},
              {3, 4, 5, 6, 7, 8, 9});
  for (const v1::GatewayKpiRow& row : kpis.rows()) {
    const bool known = row.receivables_known();
    auto amount = [&](const v1::Money& money) {
      return FormatDecimal(money.minor_units(), row.currency());
    };
    table.AddRow(
        {row.region(), FormatDate(row.month()).substr(0, 7), row.currency(), amount(row.sales()),
         amount(row.collected()), known ? amount(row.open_receivables()) : "-",
         known ? amount(row.overdue_receivables()) : "-",
         known && row.sales().minor_units() > 0 ? FormatScaledDecimal(row.dso_milli_days() / 100, 1)
                                                : "-",
         known ? FormatScaledDecimal(row.cei_bp(), 2) : "-",
         known ? FormatScaledDecimal(row.overdue_ratio_bp(), 2) : "-"});
  }
  table.Print(invocation.out());
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> CollectionsCommands() {
  std::vector<FlagSpec> promise_flags = AccountFlags();
  promise_flags.push_back({"amount", "AMOUNT", "promised amount", true});
  promise_flags.push_back({"currency", "CODE", "ISO 4217 currency", true});
  promise_flags.push_back({"date", "YYYY-MM-DD", "promised payment date", true});
  promise_flags.push_back({"by", "NAME", "collector who took the promise (default arctl)"});
  return {
      {"promise record", "Record a customer's promise to pay (pauses escalation while it is open)",
       "PROMISE_ID", promise_flags,
       "example:\n  arctl promise record PTP-1 --account ACME --amount 5000 --currency EUR "
       "--date 2027-04-15",
       RecordPromise},
      {"writeoff",
       "Write off an invoice's uncollectable debt",
       "INVOICE_ID",
       {{"account", "ID", "customer account id", true},
        {"reason", "TEXT", "why it is uncollectable", true},
        {"approver", "NAME", "who approved the write-off", true},
        {"amount", "AMOUNT", "part to write off (default: the whole open balance)"},
        {"currency", "CODE", "currency of --amount"}},
       "",
       WriteOff},
      {"overdue",
       "The overdue-customer table: who owes what, how late, what was done",
       "",
       {{"region", "ID", "only these regions", false, true},
        {"subsidiary", "ID", "only these subsidiaries", false, true},
        {"grade", "A-E", "only these risk grades", false, true},
        {"min-bucket", "LABEL", "only accounts in this aging bucket or later, e.g. 31-60"},
        {"min-amount", "AMOUNT", "only accounts owing at least this much overdue"},
        {"currency", "CODE", "currency of --min-amount"},
        {"sort", "KEY", "days (default), amount, first-overdue or account"},
        {"ascending", "", "smallest first"},
        {"page-size", "N", "rows per page (default 50)"},
        {"page-token", "TOKEN", "the next page, as printed"},
        MinPositionFlag()},
       "",
       ListOverdue},
      {"aging",
       "Aging report: open receivables by days past due",
       "",
       {{"group-by", "KEY", "region (default), subsidiary or currency", false, true},
        {"region", "ID", "only these regions", false, true},
        {"as-of", "YYYY-MM-DD", "as at the end of a past business day (replays the log)"},
        MinPositionFlag()},
       "",
       AgingReport},
      {"kpis",
       "DSO, collection effectiveness (CEI) and overdue ratio by region and month",
       "",
       {{"region", "ID", "only these regions", false, true},
        {"from", "YYYY-MM", "first month"},
        {"to", "YYYY-MM", "last month"},
        MinPositionFlag()},
       "One row per region, month and currency. Sales and collections are kept for every\n"
       "month; receivables (open, overdue) and so DSO, CEI and the overdue ratio only for\n"
       "each region's current month (its business date's): '-' for the other months.\n"
       "example:\n"
       "  arctl kpis --region eu --from 2027-01 --to 2027-03",
       Kpis},
  };
}

}  // namespace ar::arctl
