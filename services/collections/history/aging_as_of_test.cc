// The aging report as of a past date: the fold alone (dates, order, tenants), and the
// replay from the log against what the live aggregates answered on each of those dates.

#include "services/collections/history/aging_as_of.h"

#include <algorithm>
#include <map>

#include "gtest/gtest.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "services/collections/collections_test_harness.h"
#include "services/collections/domain/collections_domain.h"
#include "services/collections/domain/test_events.h"

namespace ar::collections {
namespace {

using namespace ar::collections::testing;  // NOLINT: test builders

v1::Event IssuedOn(const std::string& id, int64_t total, const v1::Date& issue, const v1::Date& due,
                   const Who& who) {
  v1::Event event = Issued(id, total, due, who);
  *event.mutable_invoice_issued()->mutable_issue_date() = issue;
  return event;
}
v1::Event CreditNoteOn(const std::string& id, const std::string& invoice, int64_t amount,
                       const v1::Date& date, const Who& who) {
  v1::Event event = CreditNote(id, invoice, amount, who);
  *event.mutable_credit_note_issued()->mutable_issue_date() = date;
  return event;
}
v1::Event ReversedOn(const std::string& payment, const std::string& invoice, int64_t amount,
                     const v1::Date& date, const Who& who) {
  v1::Event event = Reversed(payment, invoice, amount, who);
  *event.mutable_payment_reversed()->mutable_reversal_date() = date;
  return event;
}
v1::Event WrittenOffOn(const std::string& invoice, int64_t amount, const v1::Date& date,
                       const Who& who) {
  v1::Event event = Envelope("writeoff-" + invoice, who);
  v1::DebtWrittenOff* written_off = event.mutable_debt_written_off();
  written_off->set_invoice_id(invoice);
  *written_off->mutable_amount() = Eur(amount);
  *written_off->mutable_as_of() = date;
  return event;
}

v1::GetAgingReportRequest Tenant(const std::string& tenant) {
  v1::GetAgingReportRequest request;
  request.set_tenant(tenant);
  return request;
}

TEST(AgingAsOfTest, FoldsOnlyWhatWasDatedByThenInAnyOrder) {
  const Who a1{.account = "acct-1"};
  const Who a2{.account = "acct-2"};
  const Who other{.tenant = "t2", .account = "acct-9"};
  std::vector<v1::Event> history = {
      IssuedOn("inv-1", 1000, D(2027, 1, 1), D(2027, 2, 1), a1),
      IssuedOn("inv-2", 500, D(2027, 3, 5), D(2027, 4, 4), a2),
      Allocated("p1", "inv-1", 400, D(2027, 2, 10), a1),
      Allocated("p2", "inv-1", 600, D(2027, 3, 20), a1),  // after the date
      CreditNoteOn("cn-1", "inv-2", 100, D(2027, 3, 10), a2),
      IssuedOn("inv-3", 700, D(2027, 3, 16), D(2027, 3, 30), a2),  // after the date
      IssuedOn("inv-9", 900, D(2027, 1, 1), D(2027, 2, 1), other),
  };
  const v1::CollectionsPolicy policy = DefaultPolicy();
  std::string first;
  std::sort(history.begin(), history.end(),
            [](const v1::Event& a, const v1::Event& b) { return a.event_id() < b.event_id(); });
  int orders = 0;
  do {
    AgingAsOf fold("t1", absl::CivilDay(2027, 3, 15));
    for (const v1::Event& event : history) fold.Add(event);
    const v1::AgingReport report = fold.Report(policy, Tenant("t1"));
    if (first.empty()) {
      first = report.SerializeAsString();
      ASSERT_EQ(report.lines_size(), 1);
      const v1::AgingLine& line = report.lines(0);
      EXPECT_EQ(line.open_balance(), 1000);  // inv-1 600 (42 days past due) + inv-2 400
      EXPECT_EQ(line.not_yet_due(), 400);
      for (const v1::BucketAmount& bucket : line.buckets()) {
        EXPECT_EQ(bucket.amount().minor_units(), bucket.bucket() == "31-60" ? 600 : 0)
            << bucket.bucket();
      }
    }
    EXPECT_EQ(report.SerializeAsString(), first) << "order " << orders;
    ++orders;
  } while (std::next_permutation(history.begin(), history.end(),
                                 [](const v1::Event& a, const v1::Event& b) {
                                   return a.event_id() < b.event_id();
                                 }) &&
           orders < 2000);
  EXPECT_EQ(orders, 2000);
}

// Day by day through the live service: the report the aggregates gave at each business
// date is what the replay gives for that date afterwards, when much more has happened.
TEST(AgingAsOfTest, ReplayEqualsWhatTheLiveAggregatesAnsweredOnThatDate) {
  ServiceHarness harness;
  harness.StartService();
  const Who a1{.account = "acct-1"};
  const Who a2{.subsidiary = "fr", .account = "acct-2"};
  const Who a3{.region = "us", .subsidiary = "us-inc", .account = "acct-3"};
  std::map<int, std::vector<std::pair<std::string, v1::Event>>> by_day = {
      {1,
       {{topics::kInvoicing, IssuedOn("inv-1", 10000, D(2027, 3, 1), D(2027, 3, 5), a1)},
        {topics::kInvoicing, IssuedOn("inv-2", 20000, D(2027, 3, 1), D(2027, 3, 20), a2)},
        {topics::kInvoicing, IssuedOn("inv-3", 5000, D(2027, 3, 1), D(2027, 3, 3), a3)}}},
      {4, {{topics::kPayments, Allocated("p1", "inv-1", 3000, D(2027, 3, 4), a1)}}},
      {8,
       {{topics::kInvoicing, CreditNoteOn("cn-1", "inv-2", 2500, D(2027, 3, 8), a2)},
        {topics::kPayments, Allocated("p2", "inv-3", 5000, D(2027, 3, 8), a3)}}},
      {12, {{topics::kPayments, ReversedOn("p2", "inv-3", 5000, D(2027, 3, 12), a3)}}},
      {20, {{topics::kInvoicing, IssuedOn("inv-4", 7000, D(2027, 3, 20), D(2027, 4, 19), a1)}}},
      {40, {{topics::kCollections, WrittenOffOn("inv-3", 5000, D(2027, 4, 9), a3)}}},
  };
  std::map<int, std::string> live;  // day of March (past 31: into April) -> live report
  for (int day = 1; day <= 45; ++day) {
    const absl::CivilDay date = absl::CivilDay(2027, 3, 1) + (day - 1);
    for (const auto& [topic, event] : by_day[day]) harness.Publish(topic, event);
    for (const std::string region : {"eu", "us"}) {
      harness.Publish(topics::kClock, DayClosed(region, protoconv::DayToProto(date - 1)));
    }
    harness.WaitIdle();
    auto report = harness.service().api().GetAgingReport(Tenant("t1"));
    ASSERT_TRUE(report.ok()) << report.status();
    live[day] = report->SerializeAsString();
  }
  for (const auto& [day, answered] : live) {
    const absl::CivilDay date = absl::CivilDay(2027, 3, 1) + (day - 1);
    auto replayed =
        ReplayAgingReport(harness.log(), DefaultPolicy(), Tenant("t1"), date, absl::Seconds(30));
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(protoconv::DescribeDay(replayed->as_of()),
              protoconv::DescribeDay(protoconv::DayToProto(date)));
    EXPECT_TRUE(replayed->replayed());
    replayed->clear_as_of();
    replayed->clear_replayed();
    v1::AgingReport expected;
    ASSERT_TRUE(expected.ParseFromString(answered));
    EXPECT_EQ(replayed->DebugString(), expected.DebugString()) << "as of " << date;
  }
  // Filters apply as they do to the live report.
  v1::GetAgingReportRequest us = Tenant("t1");
  us.set_region("us");
  auto replayed = ReplayAgingReport(harness.log(), DefaultPolicy(), us, absl::CivilDay(2027, 3, 10),
                                    absl::Seconds(30));
  ASSERT_TRUE(replayed.ok());
  ASSERT_EQ(replayed->lines_size(), 0);  // inv-3 was paid on 03-08
  replayed = ReplayAgingReport(harness.log(), DefaultPolicy(), us, absl::CivilDay(2027, 3, 13),
                               absl::Seconds(30));
  ASSERT_TRUE(replayed.ok());
  ASSERT_EQ(replayed->lines_size(), 1);  // reopened by the bounce on 03-12
  EXPECT_EQ(replayed->lines(0).open_balance(), 5000);
}

}  // namespace
}  // namespace ar::collections
