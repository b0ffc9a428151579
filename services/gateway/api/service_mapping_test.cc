#include "services/gateway/api/service_mapping.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/protoconv/protoconv.h"

namespace ar::gateway {
namespace {

using ::testing::HasSubstr;

v1::Date D(int y, int m, int d) { return protoconv::DateProto(y, m, d); }

TEST(ServiceMappingTest, AdvanceBusinessDayMapsBothWays) {
  v1::GatewayAdvanceBusinessDayRequest request;
  request.set_region("eu");
  *request.mutable_close_through() = D(2027, 2, 20);
  v1::AdvanceBusinessDayRequest out = ToClockAdvance(request);
  EXPECT_EQ(out.region(), "eu");
  EXPECT_EQ(out.to_date().day(), 20);

  v1::AdvanceBusinessDayResponse response;
  *response.add_closed() = D(2027, 2, 19);
  *response.add_closed() = D(2027, 2, 20);
  *response.mutable_business_date() = D(2027, 2, 21);
  *response.mutable_closed_through() = D(2027, 2, 20);
  response.set_region("eu");
  response.mutable_result()->mutable_position()->set_offset(7);
  v1::GatewayAdvanceBusinessDayResponse mapped = FromClockAdvance(response);
  EXPECT_EQ(mapped.region(), "eu");
  EXPECT_EQ(mapped.closed_through().day(), 20);
  ASSERT_EQ(mapped.closed_dates_size(), 2);
  EXPECT_EQ(mapped.closed_dates(1).day(), 20);
  EXPECT_EQ(mapped.business_date().day(), 21);
  EXPECT_EQ(mapped.result().position().offset(), 7);
}

TEST(ServiceMappingTest, KpisPerRegionMonthAndCurrencyWithTheOverdueRatio) {
  v1::GatewayKpisRequest request;
  request.set_tenant("acme");
  request.add_regions("eu");
  *request.mutable_from_month() = D(2027, 1, 1);
  *request.mutable_to_month() = D(2027, 3, 1);
  v1::ListKpisRequest out = ToListKpis(request);
  EXPECT_EQ(out.tenant(), "acme");
  EXPECT_EQ(out.region(), "eu");
  EXPECT_EQ(out.from_month().month(), 1);
  EXPECT_EQ(out.to_month().month(), 3);
  request.add_regions("us");
  EXPECT_EQ(ToListKpis(request).region(), "");  // several: all are fetched

  v1::ListKpisResponse response;
  v1::Kpis* past = response.add_kpis();
  past->set_region("eu");
  past->set_year(2027);
  past->set_month(1);
  past->set_currency("EUR");
  past->set_sales(40000);
  past->set_collected(10000);
  v1::Kpis* current = response.add_kpis();
  *current = *past;
  current->set_month(2);
  current->set_receivables_known(true);
  current->set_closing_receivables(30000);
  current->set_closing_current(20000);
  current->set_dso_milli_days(21000);
  current->set_cei_basis_points(7500);
  v1::Kpis* elsewhere = response.add_kpis();
  *elsewhere = *current;
  elsewhere->set_region("apac");
  v1::GatewayKpis mapped = FromListKpis(request, response);
  EXPECT_EQ(mapped.tenant(), "acme");
  ASSERT_EQ(mapped.rows_size(), 2);  // apac was not asked for
  const v1::GatewayKpiRow& january = mapped.rows(0);
  EXPECT_EQ(january.month().month(), 1);
  EXPECT_EQ(january.month().day(), 1);
  EXPECT_EQ(january.currency(), "EUR");
  EXPECT_EQ(january.sales().minor_units(), 40000);
  EXPECT_EQ(january.collected().minor_units(), 10000);
  EXPECT_FALSE(january.receivables_known());
  EXPECT_FALSE(january.has_open_receivables());
  EXPECT_EQ(january.overdue_ratio_bp(), 0);
  const v1::GatewayKpiRow& february = mapped.rows(1);
  EXPECT_TRUE(february.receivables_known());
  EXPECT_EQ(february.open_receivables().minor_units(), 30000);
  EXPECT_EQ(february.overdue_receivables().minor_units(), 10000);
  EXPECT_EQ(february.overdue_ratio_bp(), 3333);
  EXPECT_EQ(february.dso_milli_days(), 21000);
  EXPECT_EQ(february.cei_bp(), 7500);
  // Nothing open: no ratio rather than a division by zero.
  current->set_closing_receivables(0);
  current->set_closing_current(0);
  EXPECT_EQ(FromListKpis(request, response).rows(1).overdue_ratio_bp(), 0);
}

TEST(ServiceMappingTest, CommandsCopyEveryField) {
  v1::GatewaySetCreditLimitRequest limit;
  limit.mutable_account()->set_account("C-1");
  limit.mutable_limit()->set_minor_units(500);
  limit.set_credit_group("G");
  limit.mutable_group_limit()->set_minor_units(900);
  limit.set_set_by("ann");
  limit.set_request_id("r1");
  v1::SetCreditLimitRequest credit = ToCreditLimit(limit);
  EXPECT_EQ(credit.account().account(), "C-1");
  EXPECT_EQ(credit.limit().minor_units(), 500);
  EXPECT_EQ(credit.group_limit().minor_units(), 900);
  EXPECT_EQ(credit.credit_group(), "G");
  EXPECT_EQ(credit.set_by(), "ann");
  EXPECT_EQ(credit.request_id(), "r1");

  v1::GatewaySetFxRateRequest fx;
  fx.set_tenant("acme");
  fx.set_from_currency("USD");
  fx.set_to_currency("EUR");
  fx.set_rate_nano(900000000);
  *fx.mutable_effective_date() = D(2027, 1, 1);
  v1::SetFxRateRequest rate = ToFxRate(fx);
  EXPECT_EQ(rate.from_currency(), "USD");
  EXPECT_EQ(rate.to_currency(), "EUR");
  EXPECT_EQ(rate.rate_nano(), 900000000);
  EXPECT_EQ(rate.effective_date().year(), 2027);

  v1::GatewayRecordPromiseRequest promise;
  promise.mutable_account()->set_account("C-1");
  promise.set_promise_id("P1");
  promise.mutable_amount()->set_minor_units(100);
  *promise.mutable_promised_date() = D(2027, 3, 1);
  promise.set_recorded_by("bob");
  v1::RecordPromiseRequest recorded = ToRecordPromise(promise);
  EXPECT_EQ(recorded.promise_id(), "P1");
  EXPECT_EQ(recorded.amount().minor_units(), 100);
  EXPECT_EQ(recorded.promised_date().month(), 3);
  EXPECT_EQ(recorded.recorded_by(), "bob");

  v1::GatewayWriteOffRequest write_off;
  write_off.set_tenant("acme");
  write_off.set_account("C-1");
  write_off.set_invoice_id("I1");
  write_off.set_reason("bankrupt");
  write_off.set_approver("cfo");
  auto written = ToWriteOff(write_off);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->invoice_id(), "I1");
  EXPECT_EQ(written->approver(), "cfo");
  write_off.mutable_amount()->set_minor_units(5);
  EXPECT_EQ(ToWriteOff(write_off).status().code(), absl::StatusCode::kUnimplemented);
}

TEST(ServiceMappingTest, CreditProfileKeepsTheDecidedGradeAndTopFactors) {
  v1::CreditProfile profile;
  profile.mutable_account()->set_tenant("acme");
  profile.mutable_account()->set_account("C-1");
  profile.set_grade("B");
  profile.set_rated_grade("");
  profile.set_score(810);
  for (int points : {-90, -40, -10, 0}) profile.add_factors()->set_points(points);
  profile.mutable_limit()->set_minor_units(1000);
  profile.mutable_exposure()->set_minor_units(250);
  profile.set_utilisation_bp(2500);
  profile.set_on_hold(true);
  profile.set_hold_rule("grade E");
  *profile.mutable_business_date() = D(2027, 2, 16);
  v1::GatewayCreditProfile out = FromCreditProfile(profile, 3);
  EXPECT_EQ(out.tenant(), "acme");
  EXPECT_EQ(out.account(), "C-1");
  EXPECT_EQ(out.grade(), "");
  EXPECT_EQ(out.score(), 810);
  ASSERT_EQ(out.top_factors_size(), 3);
  EXPECT_EQ(out.top_factors(0).points(), -90);
  EXPECT_EQ(out.credit_limit().minor_units(), 1000);
  EXPECT_EQ(out.exposure().minor_units(), 250);
  EXPECT_EQ(out.utilisation_bp(), 2500);
  EXPECT_TRUE(out.on_credit_hold());
  EXPECT_EQ(out.hold_reason(), "grade E");
  EXPECT_EQ(out.as_of().day(), 16);
}

TEST(ServiceMappingTest, ListOverdueMapsFiltersAndRefusesWhatCollectionsCannotDo) {
  v1::GatewayListOverdueAccountsRequest request;
  request.set_tenant("acme");
  request.add_regions("eu");
  request.add_grades("C");
  request.mutable_min_amount()->set_minor_units(100);
  request.mutable_min_amount()->set_currency("EUR");
  request.set_sort(v1::GATEWAY_OVERDUE_SORT_OVERDUE_AMOUNT);
  request.set_page_token("t");
  auto out = ToListOverdue(request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->region(), "eu");
  EXPECT_EQ(out->grade(), "C");
  EXPECT_EQ(out->min_amount_minor(), 100);
  EXPECT_EQ(out->sort(), v1::OVERDUE_SORT_AMOUNT_DESC);
  EXPECT_EQ(out->page_size(), 50);
  EXPECT_EQ(out->page_token(), "t");

  request.set_page_size(10000);
  EXPECT_EQ(ToListOverdue(request)->page_size(), 500);

  for (auto refuse : std::vector<void (*)(v1::GatewayListOverdueAccountsRequest&)>{
           [](auto& r) { r.add_regions("us"); },
           [](auto& r) { r.add_subsidiaries("a"), r.add_subsidiaries("b"); },
           [](auto& r) { r.set_min_bucket("31-60"); }, [](auto& r) { r.set_ascending(true); },
           [](auto& r) { r.set_sort(v1::GATEWAY_OVERDUE_SORT_ACCOUNT); }}) {
    v1::GatewayListOverdueAccountsRequest refused = request;
    refuse(refused);
    EXPECT_EQ(ToListOverdue(refused).status().code(), absl::StatusCode::kUnimplemented);
  }
  request.set_page_size(-1);
  EXPECT_EQ(ToListOverdue(request).status().code(), absl::StatusCode::kInvalidArgument);

  v1::ListOverdueAccountsResponse response;
  v1::OverdueRow* row = response.add_rows();
  row->set_tenant("acme");
  row->set_account("C-1");
  row->set_region("eu");
  row->set_subsidiary("acme-de");
  row->set_name("Customer 1");
  row->mutable_total_overdue()->set_minor_units(11900);
  row->mutable_total_overdue()->set_currency("EUR");
  row->set_max_days_past_due(6);
  row->set_worst_bucket("1-30");
  row->set_dunning_level(1);
  row->set_last_action("reminder_1");
  row->mutable_promise()->set_status("open");
  *row->mutable_promise()->mutable_promised_date() = D(2027, 3, 1);
  row->set_risk_grade("C");
  response.add_rows()->mutable_total_overdue()->set_currency("USD");
  response.set_next_page_token("next");
  v1::GatewayListOverdueAccountsResponse mapped = FromListOverdue(request, response);
  ASSERT_EQ(mapped.accounts_size(), 1);  // the USD row is not comparable to min_amount
  const v1::GatewayOverdueAccount& account = mapped.accounts(0);
  EXPECT_EQ(account.account().subsidiary(), "acme-de");
  EXPECT_EQ(account.account_name(), "Customer 1");
  EXPECT_EQ(account.overdue().amounts(0).minor_units(), 11900);
  EXPECT_EQ(account.days_past_due(), 6);
  EXPECT_EQ(account.aging_bucket(), "1-30");
  EXPECT_EQ(account.dunning_level(), 1);
  EXPECT_EQ(account.collection_status(), "reminder_1");
  EXPECT_EQ(account.promised_date().month(), 3);
  EXPECT_EQ(account.risk_grade(), "C");
  EXPECT_EQ(mapped.next_page_token(), "next");
}

v1::AgingLine* Line(v1::AgingReport& report, const std::string& region,
                    const std::string& subsidiary, const std::string& currency, int64_t not_due,
                    int64_t first_bucket) {
  v1::AgingLine* line = report.add_lines();
  line->set_region(region);
  line->set_subsidiary(subsidiary);
  line->set_currency(currency);
  line->set_not_yet_due(not_due);
  v1::BucketAmount* bucket = line->add_buckets();
  bucket->set_bucket("1-30");
  *bucket->mutable_amount() = protoconv::MoneyProto(first_bucket, currency);
  line->set_open_balance(not_due + first_bucket);
  return line;
}

TEST(ServiceMappingTest, AgingReportGroupsAndFiltersLinesWithoutMixingCurrencies) {
  v1::AgingReport report;
  Line(report, "eu", "acme-de", "EUR", 100, 10);
  Line(report, "eu", "acme-fr", "EUR", 200, 20);
  Line(report, "eu", "acme-fr", "USD", 5, 0);
  Line(report, "us", "acme-us", "USD", 300, 30);

  v1::GatewayAgingReportRequest request;
  request.set_tenant("acme");
  request.add_regions("eu");
  request.add_regions("apac");
  EXPECT_EQ(ToAgingReport(request).region(), "");  // several: all fetched, then filtered
  v1::GatewayAgingReport by_region = FromAgingReport(request, report);
  ASSERT_EQ(by_region.rows_size(), 2);
  EXPECT_EQ(by_region.rows(0).region(), "eu");
  EXPECT_EQ(by_region.rows(0).currency(), "EUR");
  EXPECT_EQ(by_region.rows(0).subsidiary(), "");
  ASSERT_EQ(by_region.rows(0).buckets_size(), 2);
  EXPECT_EQ(by_region.rows(0).buckets(0).label(), "not_yet_due");
  EXPECT_EQ(by_region.rows(0).buckets(0).amount().minor_units(), 300);
  EXPECT_EQ(by_region.rows(0).buckets(1).amount().minor_units(), 30);
  EXPECT_EQ(by_region.rows(0).total().minor_units(), 330);
  EXPECT_EQ(by_region.rows(1).currency(), "USD");

  request.clear_regions();
  request.add_regions("eu");
  EXPECT_EQ(ToAgingReport(request).region(), "eu");
  request.add_group_by(v1::GATEWAY_AGING_GROUP_BY_CURRENCY);
  v1::GatewayAgingReport by_currency = FromAgingReport(request, report);
  ASSERT_EQ(by_currency.rows_size(), 2);
  EXPECT_EQ(by_currency.rows(0).region(), "");
  EXPECT_EQ(by_currency.rows(0).total().minor_units(), 330);

  request.clear_regions();
  request.add_group_by(v1::GATEWAY_AGING_GROUP_BY_SUBSIDIARY);
  EXPECT_EQ(FromAgingReport(request, report).rows_size(), 4);
}

TEST(ServiceMappingTest, AgingAsOfBeforeTheBusinessDateIsReplayed) {
  v1::GetBusinessDatesResponse dates;
  v1::RegionBusinessDate* eu = dates.add_regions();
  eu->set_region("eu");
  *eu->mutable_business_date() = D(2027, 2, 16);
  v1::GatewayAgingReportRequest request;
  request.add_regions("eu");
  *request.mutable_as_of() = D(2027, 2, 16);
  EXPECT_EQ(AgingAsOfIsPast(request, dates).value_or(true), false);
  *request.mutable_as_of() = D(2027, 2, 15);
  EXPECT_EQ(AgingAsOfIsPast(request, dates).value_or(false), true);
  *request.mutable_as_of() = D(2027, 2, 17);
  EXPECT_EQ(AgingAsOfIsPast(request, dates).status().code(), absl::StatusCode::kInvalidArgument);
  dates.add_regions()->set_region("us");  // no business date, but not asked for
  *request.mutable_as_of() = D(2027, 2, 16);
  EXPECT_EQ(AgingAsOfIsPast(request, dates).value_or(true), false);
  request.clear_regions();
  EXPECT_EQ(AgingAsOfIsPast(request, dates).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ServiceMappingTest, CollectionStatusAndOpenPromise) {
  v1::AccountCollections collections;
  v1::OverdueRow& row = *collections.mutable_row();
  row.set_dunning_level(2);
  row.set_last_action("dunning_2");
  row.set_max_days_past_due(35);
  row.set_worst_bucket("31-60");
  *row.mutable_total_overdue() = protoconv::MoneyProto(11900, "EUR");
  row.set_risk_grade("D");
  v1::CollectionsInvoice* invoice = collections.mutable_state()->add_invoices();
  invoice->set_dunning_level(2);
  invoice->set_last_channel(v1::DunningChannel_MAX);
  v1::GatewayCollectionStatus status = FromAccountCollections(collections);
  EXPECT_EQ(status.dunning_level(), 2);
  EXPECT_EQ(status.channel(), v1::DunningChannel_MAX);
  EXPECT_EQ(status.last_action(), "dunning_2");
  EXPECT_EQ(status.days_past_due(), 35);
  EXPECT_EQ(status.aging_bucket(), "31-60");
  EXPECT_EQ(status.overdue().amounts(0).minor_units(), 11900);
  EXPECT_EQ(status.risk_grade(), "D");

  EXPECT_EQ(OpenPromise(collections).promise_id(), "");
  v1::CollectionsPromise& promise = *collections.mutable_state()->mutable_promise();
  promise.set_promise_id("P1");
  promise.set_status("kept");
  EXPECT_EQ(OpenPromise(collections).promise_id(), "");
  promise.set_status("open");
  *promise.mutable_amount() = protoconv::MoneyProto(500, "EUR");
  EXPECT_EQ(OpenPromise(collections).promise_id(), "P1");
  EXPECT_EQ(OpenPromise(collections).amount().minor_units(), 500);
  EXPECT_EQ(OpenPromise(collections).state(), "open");
}

}  // namespace
}  // namespace ar::gateway
