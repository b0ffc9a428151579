#pragma once
// Pure mappings between the gateway's `Gateway*` messages and the credit-risk,
// collections and clock services' own requests and responses (no I/O). A gateway field
// without a counterpart is either refused (UNIMPLEMENTED, when ignoring it would answer
// something else than asked) or left unset; services/gateway/README.md lists them.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ar/v1/clock.pb.h"
#include "ar/v1/collections.pb.h"
#include "ar/v1/credit_risk.pb.h"
#include "ar/v1/gateway.pb.h"

namespace ar::gateway {

// ---- clock ----
v1::AdvanceBusinessDayRequest ToClockAdvance(const v1::GatewayAdvanceBusinessDayRequest& request);
v1::GatewayAdvanceBusinessDayResponse FromClockAdvance(
    const v1::AdvanceBusinessDayResponse& response);

// ---- credit-risk ----
v1::SetCreditLimitRequest ToCreditLimit(const v1::GatewaySetCreditLimitRequest& request);
// The gateway's request_id has no counterpart: an FX rate is keyed by its currencies and
// effective date, so a repeat is already harmless.
v1::SetFxRateRequest ToFxRate(const v1::GatewaySetFxRateRequest& request);
v1::GetCreditProfileRequest ToCreditProfileRequest(const v1::GatewayCreditProfileRequest& request);
// `top_factors_limit` of the profile's factors (most negative first) become top_factors.
v1::GatewayCreditProfile FromCreditProfile(const v1::CreditProfile& profile, int top_factors_limit);

// ---- collections ----
v1::RecordPromiseRequest ToRecordPromise(const v1::GatewayRecordPromiseRequest& request);
// UNIMPLEMENTED for a partial amount: collections writes off an invoice's whole open amount.
absl::StatusOr<v1::WriteOffDebtRequest> ToWriteOff(const v1::GatewayWriteOffRequest& request);

// UNIMPLEMENTED for what collections cannot filter or sort by (several regions,
// subsidiaries or grades at once, min_bucket, ascending, the first-overdue-date and account
// orders) rather than answering another question.
absl::StatusOr<v1::ListOverdueAccountsRequest> ToListOverdue(
    const v1::GatewayListOverdueAccountsRequest& request);
// Rows whose overdue total is in another currency than request.min_amount's (when set) are
// left out: collections compares minor units only.
v1::GatewayListOverdueAccountsResponse FromListOverdue(
    const v1::GatewayListOverdueAccountsRequest& request,
    const v1::ListOverdueAccountsResponse& response);

v1::GetAgingReportRequest ToAgingReport(const v1::GatewayAgingReportRequest& request);
// Sums collections' lines (region x subsidiary x currency) into the requested grouping;
// amounts never mix currencies. "not_yet_due" is the first bucket of each row.
v1::GatewayAgingReport FromAgingReport(const v1::GatewayAgingReportRequest& request,
                                       const v1::AgingReport& report);
// Whether an aging report as_of needs collections to replay the log: true when as_of is
// before a requested region's business date (the aggregates stand for that date only).
// After it: INVALID_ARGUMENT; a requested region without a business date:
// FAILED_PRECONDITION.
absl::StatusOr<bool> AgingAsOfIsPast(const v1::GatewayAgingReportRequest& request,
                                     const v1::GetBusinessDatesResponse& dates);

// Several regions: every region is fetched and FromListKpis keeps the asked ones.
v1::ListKpisRequest ToListKpis(const v1::GatewayKpisRequest& request);
// One row per region, month and currency; overdue ratio = overdue / open receivables, for
// the months whose receivables collections knows (its regions' current months).
v1::GatewayKpis FromListKpis(const v1::GatewayKpisRequest& request,
                             const v1::ListKpisResponse& response);

v1::GetAccountCollectionsRequest ToAccountCollections(const v1::GetCustomer360Request& request);
v1::GatewayCollectionStatus FromAccountCollections(const v1::AccountCollections& collections);
// Unset (default instance) when the account has no open promise.
v1::GatewayPromiseToPay OpenPromise(const v1::AccountCollections& collections);

}  // namespace ar::gateway
