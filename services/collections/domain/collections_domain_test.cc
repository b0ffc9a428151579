#include "services/collections/domain/collections_domain.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/dates.h"
#include "services/collections/domain/test_events.h"

namespace ar::collections {
namespace {

using namespace ar::collections::testing;  // NOLINT: test builders
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class DomainTest : public ::testing::Test {
 protected:
  void Apply(const v1::Event& event) { EvolveAccount(account_, event); }

  // Runs the close that makes `business_date` the region's date, applies its events and
  // returns their body cases.
  std::vector<v1::Event> Close(absl::CivilDay business_date, const std::string& region = "eu") {
    std::vector<v1::Event> events =
        DecideDayClose(policy_, account_, region, business_date, {"dayclose:test", 1, ""});
    for (const v1::Event& event : events) Apply(event);
    return events;
  }
  std::vector<v1::Event> Immediate(absl::CivilDay business_date, const std::string& cause) {
    std::vector<v1::Event> events =
        DecideImmediate(account_, {{"eu", business_date}}, cause, {"react:test", 1, ""});
    for (const v1::Event& event : events) Apply(event);
    return events;
  }

  static v1::RecordPromiseRequest Promise(const std::string& id, int64_t amount,
                                          const v1::Date& date) {
    v1::RecordPromiseRequest request;
    request.mutable_account()->set_tenant("t1");
    request.mutable_account()->set_account("acct-1");
    request.set_promise_id(id);
    *request.mutable_amount() = Eur(amount);
    *request.mutable_promised_date() = date;
    return request;
  }

  static std::vector<v1::Event::BodyCase> Cases(const std::vector<v1::Event>& events) {
    std::vector<v1::Event::BodyCase> cases;
    for (const v1::Event& event : events) cases.push_back(event.body_case());
    return cases;
  }

  v1::CollectionsPolicy policy_ = DefaultPolicy();
  v1::CollectionsAccount account_;
};

TEST_F(DomainTest, DefaultPolicyIsValidAndIsTheConfigFile) {
  EXPECT_TRUE(ValidatePolicy(policy_).ok());
  std::ifstream file(std::string(AR_SOURCE_DIR) + "/config/collections.textproto");
  ASSERT_TRUE(file) << "config/collections.textproto";
  std::stringstream text;
  text << file.rdbuf();
  auto parsed = ParsePolicy(text.str());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), policy_.SerializeAsString());
}

TEST_F(DomainTest, BucketEdges) {
  EXPECT_EQ(BucketFor(policy_, -3), kNotYetDue);
  EXPECT_EQ(BucketFor(policy_, 0), kNotYetDue);
  EXPECT_EQ(BucketFor(policy_, 1), "1-30");
  EXPECT_EQ(BucketFor(policy_, 30), "1-30");
  EXPECT_EQ(BucketFor(policy_, 31), "31-60");
  EXPECT_EQ(BucketFor(policy_, 60), "31-60");
  EXPECT_EQ(BucketFor(policy_, 61), "61-90");
  EXPECT_EQ(BucketFor(policy_, 90), "61-90");
  EXPECT_EQ(BucketFor(policy_, 91), "91-180");
  EXPECT_EQ(BucketFor(policy_, 180), "91-180");
  EXPECT_EQ(BucketFor(policy_, 181), ">180");
}

TEST_F(DomainTest, DueOnTheClosedDayIsOneDayPastDue) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 31)));
  // On the due day itself only the due-day reminder; BusinessDayClosed(2027-03-31) makes
  // B = 2027-04-01, one day past due.
  EXPECT_THAT(Cases(Close(absl::CivilDay(2027, 3, 31))), ElementsAre(v1::Event::kReminderDue));
  std::vector<v1::Event> events = Close(absl::CivilDay(2027, 4, 1));
  ASSERT_THAT(Cases(events),
              ElementsAre(v1::Event::kAccountOverdue, v1::Event::kDunningLevelRaised));
  const v1::AccountOverdue& overdue = events[0].account_overdue();
  EXPECT_EQ(overdue.days_past_due(), 1);
  EXPECT_EQ(overdue.aging_bucket(), "1-30");
  EXPECT_EQ(overdue.overdue_amount().minor_units(), 10000);
  EXPECT_EQ(overdue.dunning_level(), 1);
  EXPECT_EQ(overdue.policy_version(), policy_.version());
  EXPECT_EQ(events[0].causation_id(), "dayclose:test");
  EXPECT_TRUE(account_.overdue());
  // Deciding the same close again on the state that shows it decides nothing.
  EXPECT_THAT(Close(absl::CivilDay(2027, 4, 1)), IsEmpty());
}

TEST_F(DomainTest, LeapDayAndMonthEnds) {
  Apply(Issued("leap", 5000, D(2028, 2, 28)));
  BusinessDates dates = {{"eu", absl::CivilDay(2028, 3, 1)}};
  EXPECT_EQ(DaysPastDue(account_.invoices(0), dates), 2);  // 02-29 exists in 2028
  Apply(Issued("jan", 5000, D(2027, 1, 31)));
  dates = {{"eu", absl::CivilDay(2027, 3, 2)}};
  EXPECT_EQ(AgingLabel(policy_, *FindInvoice(account_, "jan"), dates), "1-30");  // 30 days
  dates = {{"eu", absl::CivilDay(2027, 3, 3)}};
  EXPECT_EQ(AgingLabel(policy_, *FindInvoice(account_, "jan"), dates), "31-60");
  // No business date yet: nothing is overdue.
  EXPECT_EQ(OverdueAmount(*FindInvoice(account_, "jan"), {}), 0);
  EXPECT_EQ(AgingLabel(policy_, *FindInvoice(account_, "jan"), {}), kNotYetDue);
}

TEST_F(DomainTest, BucketChangeAnnouncedAgain) {
  Apply(Issued("inv-1", 10000, D(2027, 1, 31)));
  Close(absl::CivilDay(2027, 2, 1));
  // Day 30: still 1-30; the default ladder's final notice (+30, with a fee).
  EXPECT_THAT(Cases(Close(absl::CivilDay(2027, 3, 2))),
              ElementsAre(v1::Event::kDunningLevelRaised, v1::Event::kDunningFeeAssessed));
  std::vector<v1::Event> events = Close(absl::CivilDay(2027, 3, 3));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].account_overdue().aging_bucket(), "31-60");
}

TEST_F(DomainTest, RemindersAtEachOffsetOnce) {
  Apply(Issued("inv-1", 10000, D(2027, 4, 10)));
  EXPECT_THAT(Close(absl::CivilDay(2027, 4, 2)), IsEmpty());
  std::vector<v1::Event> week = Close(absl::CivilDay(2027, 4, 3));
  ASSERT_THAT(Cases(week), ElementsAre(v1::Event::kReminderDue));
  EXPECT_EQ(week[0].reminder_due().days_before_due(), 7);
  EXPECT_THAT(Close(absl::CivilDay(2027, 4, 3)), IsEmpty());
  EXPECT_THAT(Close(absl::CivilDay(2027, 4, 4)), IsEmpty());
  EXPECT_EQ(Close(absl::CivilDay(2027, 4, 9))[0].reminder_due().days_before_due(), 1);
  EXPECT_EQ(Close(absl::CivilDay(2027, 4, 10))[0].reminder_due().days_before_due(), 0);
  EXPECT_THAT(account_.invoices(0).reminders_sent(), ElementsAre(7, 1, 0));
}

TEST_F(DomainTest, PartialPaymentKeepsOverduePaymentReversalReopens) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  Close(absl::CivilDay(2027, 3, 2));
  Apply(Allocated("p1", "inv-1", 4000, D(2027, 3, 2)));
  EXPECT_THAT(Immediate(absl::CivilDay(2027, 3, 2), "payment"), IsEmpty());
  const BusinessDates dates = {{"eu", absl::CivilDay(2027, 3, 2)}};
  EXPECT_EQ(OverdueAmount(account_.invoices(0), dates), 6000);
  Apply(Allocated("p2", "inv-1", 6000, D(2027, 3, 2)));
  std::vector<v1::Event> cured = Immediate(absl::CivilDay(2027, 3, 2), "payment");
  ASSERT_THAT(Cases(cured), ElementsAre(v1::Event::kAccountCured));
  EXPECT_EQ(cured[0].account_cured().cause(), "payment");
  EXPECT_FALSE(account_.overdue());
  EXPECT_EQ(account_.last_payment_amount().minor_units(), 6000);
  // The second payment bounces: the invoice is open and overdue again, announced at the
  // next close in the bucket it is in by then.
  Apply(Reversed("p2", "inv-1", 6000));
  EXPECT_EQ(OverdueAmount(account_.invoices(0), dates), 6000);
  std::vector<v1::Event> again = Close(absl::CivilDay(2027, 4, 5));
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].account_overdue().aging_bucket(), "31-60");
  EXPECT_EQ(again[0].account_overdue().overdue_amount().minor_units(), 6000);
}

TEST_F(DomainTest, CreditNoteCuresAccount) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  Close(absl::CivilDay(2027, 3, 5));
  Apply(CreditNote("cn-1", "inv-1", 10000));
  std::vector<v1::Event> cured = Immediate(absl::CivilDay(2027, 3, 5), "credit_note");
  ASSERT_THAT(Cases(cured), ElementsAre(v1::Event::kAccountCured));
  EXPECT_EQ(cured[0].account_cured().cause(), "credit_note");
  EXPECT_THAT(Immediate(absl::CivilDay(2027, 3, 5), "credit_note"), IsEmpty());
}

TEST_F(DomainTest, AllocationBeforeInvoiceIsCounted) {
  Apply(Allocated("p1", "inv-1", 10000, D(2027, 2, 1)));
  EXPECT_EQ(OpenAmount(account_.invoices(0)), 0);  // not issued yet
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  EXPECT_EQ(OpenAmount(account_.invoices(0)), 0);
  EXPECT_THAT(Close(absl::CivilDay(2027, 3, 10)), IsEmpty());
}

TEST_F(DomainTest, LadderPerGrade) {
  Apply(Rated("A"));
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  // A: nothing at +1 but the overdue notice; level 1 at +5, level 2 at +20.
  EXPECT_THAT(Cases(Close(absl::CivilDay(2027, 3, 2))), ElementsAre(v1::Event::kAccountOverdue));
  std::vector<v1::Event> five = Close(absl::CivilDay(2027, 3, 6));
  ASSERT_THAT(Cases(five), ElementsAre(v1::Event::kDunningLevelRaised));
  EXPECT_EQ(five[0].dunning_level_raised().level(), 1);
  EXPECT_EQ(five[0].dunning_level_raised().risk_grade(), "A");
  EXPECT_EQ(five[0].dunning_level_raised().template_key(), "a.friendly_reminder");
  EXPECT_EQ(five[0].dunning_level_raised().days_past_due(), 5);
  EXPECT_EQ(Close(absl::CivilDay(2027, 3, 21))[0].dunning_level_raised().level(), 2);

  // E: letter at +1, final notice with fee and interest at +7, agency at +15, legal at +30.
  account_.Clear();
  Apply(Rated("E"));
  Apply(Issued("inv-2", 100000, D(2027, 3, 1)));
  std::vector<v1::Event> one = Close(absl::CivilDay(2027, 3, 2));
  ASSERT_THAT(Cases(one), ElementsAre(v1::Event::kAccountOverdue, v1::Event::kDunningLevelRaised));
  EXPECT_EQ(one[1].dunning_level_raised().channel(), v1::DUNNING_CHANNEL_LETTER);
  std::vector<v1::Event> seven = Close(absl::CivilDay(2027, 3, 8));
  ASSERT_THAT(Cases(seven),
              ElementsAre(v1::Event::kDunningLevelRaised, v1::Event::kDunningFeeAssessed));
  const v1::DunningFeeAssessed& fee = seven[1].dunning_fee_assessed();
  EXPECT_EQ(fee.level(), 2);
  EXPECT_EQ(fee.fee().minor_units(), 2500);
  // 100000 * 10 % * 7 / 365 = 191.78 -> 192 minor units.
  EXPECT_EQ(fee.interest().minor_units(), 192);
  EXPECT_EQ(fee.days_past_due(), 7);
  EXPECT_EQ(Close(absl::CivilDay(2027, 3, 16))[0].dunning_level_raised().channel(),
            v1::DUNNING_CHANNEL_AGENCY);
  // Skipping straight to +40 raises to the highest step reached, once.
  std::vector<v1::Event> legal = Close(absl::CivilDay(2027, 4, 10));
  ASSERT_THAT(Cases(legal),
              ElementsAre(v1::Event::kAccountOverdue, v1::Event::kDunningLevelRaised));
  EXPECT_EQ(legal[1].dunning_level_raised().channel(), v1::DUNNING_CHANNEL_LEGAL);
  EXPECT_EQ(legal[1].dunning_level_raised().level(), 4);

  // No grade: the default ladder.
  EXPECT_EQ(LadderFor(policy_, "").grade(), kDefaultLadder);
  EXPECT_EQ(LadderFor(policy_, "Z").grade(), kDefaultLadder);
}

TEST_F(DomainTest, FeeNeverChargedTwice) {
  Apply(Rated("E"));
  Apply(Issued("inv-1", 100000, D(2027, 3, 1)));
  Close(absl::CivilDay(2027, 3, 2));
  std::vector<v1::Event> seven = Close(absl::CivilDay(2027, 3, 8));
  ASSERT_EQ(seven.size(), 2u);
  // The fee event replayed (a duplicate record) does not count twice.
  Apply(seven[1]);
  EXPECT_THAT(account_.invoices(0).fee_levels(), ElementsAre(2));
  EXPECT_EQ(account_.invoices(0).fees_assessed(), 2500 + 192);
  // A re-decided close assesses nothing.
  EXPECT_THAT(Close(absl::CivilDay(2027, 3, 8)), IsEmpty());
  EXPECT_THAT(Close(absl::CivilDay(2027, 3, 9)), IsEmpty());
}

TEST_F(DomainTest, DisputedAmountsExcludedAndDunningPaused) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  Apply(Disputed("inv-1", 3000));
  std::vector<v1::Event> events = Close(absl::CivilDay(2027, 3, 2));
  ASSERT_THAT(Cases(events), ElementsAre(v1::Event::kAccountOverdue));
  EXPECT_EQ(events[0].account_overdue().overdue_amount().minor_units(), 7000);
  Apply(Resolved("inv-1"));
  std::vector<v1::Event> resumed = Close(absl::CivilDay(2027, 3, 3));
  ASSERT_THAT(Cases(resumed), ElementsAre(v1::Event::kDunningLevelRaised));
  // Fully disputed: nothing overdue, the account is cured.
  Apply(Disputed("inv-1", 10000));
  EXPECT_THAT(Cases(Immediate(absl::CivilDay(2027, 3, 3), "dispute")),
              ElementsAre(v1::Event::kAccountCured));
}

TEST_F(DomainTest, PromiseKeptPausesThenReleases) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  Close(absl::CivilDay(2027, 3, 2));
  v1::RecordPromiseRequest request = Promise("pr-1", 6000, D(2027, 3, 20));
  auto recorded =
      DecideRecordPromise(request, account_, absl::CivilDay(2027, 3, 2), {"promise:pr-1", 1, ""});
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_EQ(recorded->size(), 1u);
  Apply(recorded->front());
  EXPECT_TRUE(PromiseLive(account_));
  // Paused: day 15 (default ladder level 2) raises nothing while the promise is live.
  EXPECT_THAT(Close(absl::CivilDay(2027, 3, 16)), IsEmpty());
  Apply(Received("p1", 6000, D(2027, 3, 17)));
  Apply(Allocated("p1", "inv-1", 6000, D(2027, 3, 17)));
  std::vector<v1::Event> kept = Immediate(absl::CivilDay(2027, 3, 17), "payment");
  ASSERT_THAT(Cases(kept), ElementsAre(v1::Event::kPromiseToPayKept));
  EXPECT_EQ(kept[0].promise_to_pay_kept().amount_paid().minor_units(), 6000);
  EXPECT_FALSE(PromiseLive(account_));
  // Escalation resumes at the next close.
  EXPECT_THAT(Cases(Close(absl::CivilDay(2027, 3, 18))),
              ElementsAre(v1::Event::kDunningLevelRaised));
}

// A rebuild applies the payments and collections topics in another interleaving than the
// first run: what counts towards a promise must not depend on it. The promise carries the
// net paid it was recorded after; only payments (minus reversals) above it count.
TEST_F(DomainTest, WhatCountsTowardsAPromiseDoesNotDependOnTheOrderOfTopics) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  const v1::Event before = Received("p-before", 2000, D(2027, 3, 2));
  Apply(before);
  auto recorded = DecideRecordPromise(Promise("pr-1", 5000, D(2027, 3, 20)), account_,
                                      absl::CivilDay(2027, 3, 2), {"promise:pr-1", 1, ""});
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_TRUE(recorded->front().promise_to_pay_recorded().has_paid_baseline());
  EXPECT_EQ(recorded->front().promise_to_pay_recorded().paid_baseline(), 2000);
  const v1::Event issued = Issued("inv-1", 10000, D(2027, 3, 1));
  const v1::Event after = Received("p-after", 3000, D(2027, 3, 5));
  const v1::Event bounced = Reversed("p-before", "inv-1", 2000);
  std::vector<v1::Event> history = {issued, before, recorded->front(), after, bounced};
  std::sort(history.begin(), history.end(),
            [](const v1::Event& a, const v1::Event& b) { return a.event_id() < b.event_id(); });
  int orders = 0;
  do {
    v1::CollectionsAccount account;
    for (const v1::Event& event : history) EvolveAccount(account, event);
    // 3000 paid after the promise, 2000 bounced after it: a net 1000 since the promise.
    EXPECT_EQ(account.promise().paid(), 1000) << "order " << orders;
    ++orders;
  } while (std::next_permutation(
      history.begin(), history.end(),
      [](const v1::Event& a, const v1::Event& b) { return a.event_id() < b.event_id(); }));
  EXPECT_EQ(orders, 120);
}

TEST_F(DomainTest, AnEarlierPromiseSentAgainLaterIsARepeat) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  Close(absl::CivilDay(2027, 3, 2));
  const v1::RecordPromiseRequest first = Promise("pr-1", 3000, D(2027, 3, 10));
  Apply(DecideRecordPromise(first, account_, absl::CivilDay(2027, 3, 3), {"promise:pr-1", 1, ""})
            ->front());
  const v1::RecordPromiseRequest second = Promise("pr-2", 4000, D(2027, 3, 25));
  Apply(DecideRecordPromise(second, account_, absl::CivilDay(2027, 3, 12), {"promise:pr-2", 2, ""})
            ->front());
  // pr-1 replayed after pr-2 replaced it, and after its date: a repeat, not a rule breach.
  auto repeat =
      DecideRecordPromise(first, account_, absl::CivilDay(2027, 3, 20), {"promise:pr-1", 3, ""});
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_THAT(*repeat, IsEmpty());
  v1::RecordPromiseRequest changed = first;
  *changed.mutable_amount() = Eur(3500);
  EXPECT_EQ(DecideRecordPromise(changed, account_, absl::CivilDay(2027, 3, 20), {}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(account_.promise().promise_id(), "pr-2");
}

// The reactor may meet the close of the promised date before its reaction to the payment
// that covered the promise: the close finds it covered and keeps it.
TEST_F(DomainTest, APromiseCoveredBeforeItsDateIsKeptByTheCloseIfNotYet) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  Close(absl::CivilDay(2027, 3, 2));
  Apply(DecideRecordPromise(Promise("pr-1", 6000, D(2027, 3, 20)), account_, std::nullopt,
                            {"promise:pr-1", 1, ""})
            ->front());
  Apply(Received("p1", 6000, D(2027, 3, 19)));
  Apply(Allocated("p1", "inv-1", 6000, D(2027, 3, 19)));
  std::vector<v1::Event> closed = Close(absl::CivilDay(2027, 3, 21));
  ASSERT_FALSE(closed.empty());
  EXPECT_EQ(closed[0].body_case(), v1::Event::kPromiseToPayKept);
  EXPECT_EQ(closed[0].promise_to_pay_kept().amount_paid().minor_units(), 6000);
  EXPECT_EQ(account_.promise().status(), "kept");
  for (const v1::Event& event : closed) EXPECT_FALSE(event.has_promise_to_pay_broken());
}

TEST_F(DomainTest, PromiseBrokenAtTheCloseOfItsDate) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  Close(absl::CivilDay(2027, 3, 2));
  v1::RecordPromiseRequest request = Promise("pr-1", 6000, D(2027, 3, 20));
  Apply(DecideRecordPromise(request, account_, std::nullopt, {"promise:pr-1", 1, ""})->front());
  Apply(Received("p1", 1000, D(2027, 3, 10)));
  Apply(Allocated("p1", "inv-1", 1000, D(2027, 3, 10)));
  EXPECT_THAT(Immediate(absl::CivilDay(2027, 3, 10), "payment"), IsEmpty());
  EXPECT_THAT(Close(absl::CivilDay(2027, 3, 20)), IsEmpty());  // still the promised day
  std::vector<v1::Event> broken = Close(absl::CivilDay(2027, 3, 21));
  ASSERT_THAT(Cases(broken),
              ElementsAre(v1::Event::kPromiseToPayBroken, v1::Event::kDunningLevelRaised));
  EXPECT_EQ(broken[0].promise_to_pay_broken().amount_paid().minor_units(), 1000);
  EXPECT_EQ(account_.promise().status(), "broken");

  // The same id again: identical -> nothing; other content -> ALREADY_EXISTS.
  auto repeat = DecideRecordPromise(request, account_, std::nullopt, {"promise:pr-1", 1, ""});
  ASSERT_TRUE(repeat.ok());
  EXPECT_THAT(*repeat, IsEmpty());
  *request.mutable_amount() = Eur(7000);
  EXPECT_EQ(DecideRecordPromise(request, account_, std::nullopt, {}).status().code(),
            absl::StatusCode::kAlreadyExists);
  request.set_promise_id("pr-2");
  EXPECT_EQ(DecideRecordPromise(request, account_, absl::CivilDay(2027, 3, 21), {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  *request.mutable_amount() = Eur(0);
  EXPECT_EQ(DecideRecordPromise(request, account_, std::nullopt, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(DomainTest, WriteOffClosesAndCures) {
  Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  Close(absl::CivilDay(2027, 3, 2));
  v1::WriteOffDebtRequest request;
  request.set_tenant("t1");
  request.set_account("acct-1");
  request.set_invoice_id("inv-1");
  request.set_reason("insolvent");
  request.set_approver("cfo");
  const BusinessDates dates = {{"eu", absl::CivilDay(2027, 3, 2)}};
  auto events = DecideWriteOff(request, account_, dates, {"writeoff:inv-1", 1, ""});
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_THAT(Cases(*events), ElementsAre(v1::Event::kDebtWrittenOff, v1::Event::kAccountCured));
  EXPECT_EQ((*events)[0].debt_written_off().amount().minor_units(), 10000);
  EXPECT_NE((*events)[0].event_id(), (*events)[1].event_id());
  for (const v1::Event& event : *events) Apply(event);
  EXPECT_EQ(DecideWriteOff(request, account_, dates, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  request.set_invoice_id("nope");
  EXPECT_EQ(DecideWriteOff(request, account_, dates, {}).status().code(),
            absl::StatusCode::kNotFound);
  request.set_reason("");
  EXPECT_EQ(DecideWriteOff(request, account_, dates, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(DomainTest, OnlyInvoicesThatChangeStateAreVisited) {
  const int64_t b = core::DayNumber(absl::CivilDay(2027, 5, 10));
  std::vector<DayRange> ranges = DueDateRangesToVisit(policy_, b - 1, b);
  auto visited = [&](int64_t due) {
    for (const DayRange& range : ranges) {
      if (due >= range.min && due <= range.max) return true;
    }
    return false;
  };
  EXPECT_TRUE(visited(b - 1));    // newly overdue
  EXPECT_TRUE(visited(b - 31));   // into 31-60
  EXPECT_TRUE(visited(b - 181));  // into >180
  EXPECT_TRUE(visited(b - 45));   // ladder C step
  EXPECT_TRUE(visited(b + 7));    // reminder
  EXPECT_TRUE(visited(b));        // reminder on the due day
  EXPECT_FALSE(visited(b - 2));
  EXPECT_FALSE(visited(b - 100));
  EXPECT_FALSE(visited(b + 3));
  // The first close of a region visits everything already overdue.
  ranges = DueDateRangesToVisit(policy_, std::nullopt, b);
  EXPECT_TRUE(visited(b - 100));
  const DayRange promises = PromiseDatesToVisit(b - 1, b);
  EXPECT_EQ(promises.min, b - 1);
  EXPECT_EQ(promises.max, b - 1);
}

TEST_F(DomainTest, PolicyParsingAndValidation) {
  auto parsed = ParsePolicy(R"pb(
    version: "t-1"
    buckets { label: "1-10" min_days_past_due: 1 }
    buckets { label: "11+" min_days_past_due: 11 }
    reminder_days_before_due: 3
    ladders {
      grade: "default"
      steps { days_past_due: 2 level: 1 channel: DUNNING_CHANNEL_EMAIL template_key: "x" }
    }
  )pb");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(BucketFor(*parsed, 11), "11+");
  EXPECT_THAT(ParsePolicy("version: ").status().message(), HasSubstr("text format"));
  v1::CollectionsPolicy bad = DefaultPolicy();
  bad.mutable_buckets(1)->set_min_days_past_due(1);
  EXPECT_FALSE(ValidatePolicy(bad).ok());
  bad = DefaultPolicy();
  bad.mutable_ladders()->RemoveLast();
  EXPECT_THAT(ValidatePolicy(bad).message(), HasSubstr("default"));
}

}  // namespace
}  // namespace ar::collections
