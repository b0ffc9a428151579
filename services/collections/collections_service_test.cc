// The collections service end to end on an embedded log and a memory store: other
// services' events and BusinessDayClosed records go in, decisions and read models come out.

#include "services/collections/collections_service.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/topics.h"
#include "services/collections/collections_test_harness.h"
#include "services/collections/domain/test_events.h"

namespace ar::collections {
namespace {

using namespace ar::collections::testing;  // NOLINT: test builders
using ::testing::SizeIs;

class CollectionsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { harness_.StartService(); }

  std::string AgingDump() {
    v1::GetAgingReportRequest request;
    request.set_tenant("t1");
    auto report = harness_.service().api().GetAgingReport(request);
    EXPECT_TRUE(report.ok()) << report.status();
    return report->DebugString();
  }

  ServiceHarness harness_;
  const Who a1_{.account = "acct-1"};
  const Who a2_{.account = "acct-2"};
  const Who a3_{.account = "acct-3"};
};

TEST_F(CollectionsServiceTest, DayClosesDecideOnceAndCureAtOnce) {
  harness_.Publish(topics::kInvoicing, Issued("inv-1", 10000, D(2027, 3, 10), a1_));
  harness_.Publish(topics::kInvoicing, Issued("inv-2", 5000, D(2027, 3, 20), a2_));
  // A payment for an invoice not seen yet: held, the invoice is never overdue.
  harness_.Publish(topics::kPayments, Allocated("p3", "inv-3", 7000, D(2027, 3, 1), a3_));
  harness_.Publish(topics::kInvoicing, Issued("inv-3", 7000, D(2027, 3, 5), a3_));
  harness_.Publish(topics::kCredit, Rated("C", a2_));

  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 10)));  // B = 03-11
  harness_.WaitIdle();
  std::vector<v1::Event> overdue = harness_.EventsOf("acct-1", v1::Event::kAccountOverdue);
  ASSERT_THAT(overdue, SizeIs(1));
  EXPECT_EQ(overdue[0].account_overdue().days_past_due(), 1);
  EXPECT_EQ(overdue[0].account_overdue().aging_bucket(), "1-30");
  EXPECT_EQ(overdue[0].tenant(), "t1");
  EXPECT_EQ(overdue[0].region(), "eu");
  EXPECT_THAT(harness_.EventsOf("acct-1", v1::Event::kDunningLevelRaised), SizeIs(1));
  EXPECT_THAT(harness_.EventsOf("acct-3", v1::Event::kAccountOverdue), SizeIs(0));

  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 11)));
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 12)));  // B = 03-13: 7 days
  harness_.WaitIdle();
  std::vector<v1::Event> reminders = harness_.EventsOf("acct-2", v1::Event::kReminderDue);
  ASSERT_THAT(reminders, SizeIs(1));
  EXPECT_EQ(reminders[0].reminder_due().days_before_due(), 7);

  // The same close again changes nothing.
  const size_t decided = harness_.CollectionsEvents().size();
  const std::string aging = AgingDump();
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 12)));
  harness_.WaitIdle();
  EXPECT_EQ(harness_.CollectionsEvents().size(), decided);
  EXPECT_EQ(AgingDump(), aging);

  // Paid: cured at once, without a day close.
  harness_.Publish(topics::kPayments, Allocated("p1", "inv-1", 10000, D(2027, 3, 13), a1_));
  harness_.WaitIdle();
  std::vector<v1::Event> cured = harness_.EventsOf("acct-1", v1::Event::kAccountCured);
  ASSERT_THAT(cured, SizeIs(1));
  EXPECT_EQ(cured[0].account_cured().cause(), "payment");

  // The read models.
  v1::GetAccountCollectionsRequest get;
  get.set_tenant("t1");
  get.set_account("acct-1");
  auto account = harness_.service().api().GetAccountCollections(get);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->row().total_overdue().minor_units(), 0);
  EXPECT_EQ(account->row().last_payment_amount().minor_units(), 10000);
  EXPECT_EQ(account->state().last_action(), "cured: payment");
  v1::GetAgingReportRequest aging_request;
  aging_request.set_tenant("t1");
  aging_request.set_region("eu");
  auto report = harness_.service().api().GetAgingReport(aging_request);
  ASSERT_TRUE(report.ok());
  ASSERT_THAT(report->lines(), SizeIs(1));
  EXPECT_EQ(report->lines(0).not_yet_due(), 5000);
  EXPECT_EQ(report->lines(0).open_balance(), 5000);

  // Days later acct-2 is overdue under grade C; a restart re-decides nothing.
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 21)));
  harness_.WaitIdle();
  std::vector<v1::Event> raised = harness_.EventsOf("acct-2", v1::Event::kDunningLevelRaised);
  ASSERT_THAT(raised, SizeIs(1));
  EXPECT_EQ(raised[0].dunning_level_raised().risk_grade(), "C");
  EXPECT_EQ(raised[0].dunning_level_raised().template_key(), "c.reminder");
  const size_t before_restart = harness_.CollectionsEvents().size();
  const std::string aging_before_restart = AgingDump();
  harness_.StartService();
  harness_.WaitIdle();
  EXPECT_EQ(harness_.CollectionsEvents().size(), before_restart);
  EXPECT_EQ(AgingDump(), aging_before_restart);
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 21)));
  harness_.WaitIdle();
  EXPECT_EQ(harness_.CollectionsEvents().size(), before_restart);
}

TEST_F(CollectionsServiceTest, PromiseKeptAndBrokenThroughTheLog) {
  harness_.Publish(topics::kInvoicing, Issued("inv-1", 10000, D(2027, 3, 1), a1_));
  harness_.Publish(topics::kInvoicing, Issued("inv-2", 10000, D(2027, 3, 1), a2_));
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 2)));
  harness_.WaitIdle();
  for (const std::string account : {"acct-1", "acct-2"}) {
    v1::RecordPromiseRequest promise;
    promise.mutable_account()->set_tenant("t1");
    promise.mutable_account()->set_account(account);
    promise.set_promise_id("pr-" + account);
    *promise.mutable_amount() = Eur(10000);
    *promise.mutable_promised_date() = D(2027, 3, 10);
    auto result = harness_.service().api().RecordPromise(promise);
    ASSERT_TRUE(result.ok()) << result.status();
  }
  harness_.Publish(topics::kPayments,
                   {Received("p1", 10000, D(2027, 3, 5), a1_),
                    Allocated("p1", "inv-1", 10000, D(2027, 3, 5), a1_)},
                   "p1");
  harness_.WaitIdle();
  EXPECT_THAT(harness_.EventsOf("acct-1", v1::Event::kPromiseToPayKept), SizeIs(1));
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 10)));
  harness_.WaitIdle();
  EXPECT_THAT(harness_.EventsOf("acct-2", v1::Event::kPromiseToPayBroken), SizeIs(1));
  EXPECT_THAT(harness_.EventsOf("acct-1", v1::Event::kPromiseToPayBroken), SizeIs(0));
}

TEST_F(CollectionsServiceTest, CrashInTheMiddleOfACloseRedecidesNothing) {
  harness_.Publish(topics::kInvoicing, Issued("inv-1", 10000, D(2027, 3, 1), a1_));
  harness_.Publish(topics::kInvoicing, Issued("inv-2", 20000, D(2027, 3, 1), a2_));
  harness_.WaitIdle();
  auto state = LoadAccount(harness_.store(), "t1", "acct-1");
  ASSERT_TRUE(state.ok());
  harness_.StopService();
  // The close, and what a reactor that crashed after acct-1's command had published
  // (twice: the record was re-published before the crash).
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 5)));
  const std::string command_id =
      DayCloseCommandId("eu", absl::CivilDay(2027, 3, 5), "t1", "acct-1");
  std::vector<v1::Event> decided = DecideDayClose(DefaultPolicy(), *state, "eu",
                                                  absl::CivilDay(2027, 3, 6), {command_id, 1, ""});
  ASSERT_FALSE(decided.empty());
  harness_.Publish(topics::kCollections, decided, command_id);
  harness_.Publish(topics::kCollections, decided, command_id);
  harness_.StartService();
  harness_.WaitIdle();
  EXPECT_THAT(harness_.EventsOf("acct-1", v1::Event::kAccountOverdue),
              SizeIs(2));  // the two copies
  EXPECT_THAT(harness_.EventsOf("acct-2", v1::Event::kAccountOverdue), SizeIs(1));
  EXPECT_GE(harness_.service().projection_handler().skipped_repeats(), 1);
  auto after = LoadAccount(harness_.store(), "t1", "acct-1");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->invoices(0).dunning_level(), 1);
  EXPECT_EQ(after->applied_commands_size(), 1);
}

// The read model is rebuilt from the log at every start of a memory-store service. The
// reactor meets every old close again, and today's state holds invoices and bucket changes
// those closes never saw: deciding them again would remind of an invoice 7 days before a
// due date that was 6 days away when it arrived, and announce a bucket already left.
TEST_F(CollectionsServiceTest, RebuildingFromTheLogDecidesNoOldCloseAgain) {
  harness_.Publish(topics::kInvoicing, Issued("inv-1", 10000, D(2027, 3, 10), a1_));
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, 10)));  // B = 03-11
  harness_.WaitIdle();
  // Arrives after the 03-10 close, due 03-18 = that close's B + 7.
  harness_.Publish(topics::kInvoicing, Issued("inv-late", 5000, D(2027, 3, 18), a2_));
  for (int day = 11; day <= 31; ++day) {
    harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 3, day)));
  }
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 4, 10)));  // acct-1: 31-60
  harness_.WaitIdle();
  std::vector<v1::Event> reminders = harness_.EventsOf("acct-2", v1::Event::kReminderDue);
  ASSERT_THAT(reminders, SizeIs(2));  // 1 day before and on the due day; never 7
  EXPECT_EQ(reminders[0].reminder_due().days_before_due(), 1);
  EXPECT_THAT(harness_.EventsOf("acct-1", v1::Event::kAccountOverdue), SizeIs(2));
  std::vector<v1::Event> completed =
      harness_.EventsOf("eu", v1::Event::kCollectionsDayCloseCompleted);
  ASSERT_THAT(completed, SizeIs(23));
  EXPECT_EQ(completed.back().collections_day_close_completed().date().month(), 4);
  EXPECT_EQ(completed.back().tenant(), "");
  const size_t decided = harness_.CollectionsEvents().size();
  const std::string aging = AgingDump();

  harness_.StartService();  // a fresh memory store: everything is rebuilt from the log
  harness_.WaitIdle();
  EXPECT_EQ(harness_.CollectionsEvents().size(), decided);
  EXPECT_THAT(harness_.EventsOf("acct-2", v1::Event::kReminderDue), SizeIs(2));
  EXPECT_EQ(AgingDump(), aging);
  EXPECT_EQ(harness_.service().reactor_handler().day_close_commands(), 0);

  // The next close is decided as usual after the rebuild.
  harness_.Publish(topics::kClock, DayClosed("eu", D(2027, 4, 11)));
  harness_.WaitIdle();
  EXPECT_THAT(harness_.EventsOf("eu", v1::Event::kCollectionsDayCloseCompleted), SizeIs(24));
}

}  // namespace
}  // namespace ar::collections
