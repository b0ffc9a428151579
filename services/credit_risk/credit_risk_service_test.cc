// The credit-risk service end to end in one process: embedded log, memory store, the
// projection and the reactor. Events of invoicing, payments, clock and collections are
// published as those services would; the test checks what credit-risk decided.

#include "services/credit_risk/credit_risk_service.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/dates.h"
#include "services/credit_risk/credit_test_harness.h"
#include "services/credit_risk/domain/test_events.h"

namespace ar::credit {
namespace {

using namespace ar::credit::testing;  // NOLINT: test builders
using ::testing::ElementsAre;

const absl::CivilDay kDay(2027, 3, 1);

v1::SetCreditLimitRequest LimitRequest(const std::string& account, const std::string& subsidiary,
                                       int64_t limit, const std::string& group, int64_t group_limit,
                                       const std::string& request_id) {
  v1::SetCreditLimitRequest request;
  request.mutable_account()->set_tenant(kTenant);
  request.mutable_account()->set_region(kRegion);
  request.mutable_account()->set_subsidiary(subsidiary);
  request.mutable_account()->set_account(account);
  *request.mutable_limit() = protoconv::MoneyProto(limit, "EUR");
  request.set_credit_group(group);
  if (!group.empty()) *request.mutable_group_limit() = protoconv::MoneyProto(group_limit, "EUR");
  request.set_request_id(request_id);
  request.set_set_by("controller");
  return request;
}

// "<account> <body>[ detail]" per credit decision, sorted: partitions have no common order.
std::vector<std::string> Decisions(const std::vector<v1::Event>& events) {
  std::vector<std::string> out;
  for (const v1::Event& event : events) {
    std::string line = event.account() + " ";
    switch (event.body_case()) {
      case v1::Event::kCreditRatingChanged:
        line += "rating " + event.credit_rating_changed().old_grade() + "->" +
                event.credit_rating_changed().new_grade() + " " +
                std::to_string(event.credit_rating_changed().score());
        break;
      case v1::Event::kCreditLimitExceeded:
        line += "exceeded " + event.credit_limit_exceeded().invoice_id() +
                " group=" + event.credit_limit_exceeded().credit_group() + " " +
                std::to_string(event.credit_limit_exceeded().exposure().minor_units());
        break;
      case v1::Event::kCreditHoldPlaced:
        line += "hold " + event.credit_hold_placed().policy_rule();
        break;
      case v1::Event::kCreditHoldReleased:
        line += "release";
        break;
      default:
        continue;
    }
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class CreditRiskServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { harness_.Start(); }

  v1::CreditProfile Profile(const std::string& account) {
    v1::GetCreditProfileRequest request;
    request.set_tenant(kTenant);
    request.set_account(account);
    auto profile = harness_.api().GetCreditProfile(request);
    EXPECT_TRUE(profile.ok()) << profile.status();
    return profile.ok() ? *profile : v1::CreditProfile();
  }

  ar::testing::TempDir dir_;
  CreditHarness harness_{dir_.Join("log")};
};

TEST_F(CreditRiskServiceTest, DecidesOnTheHistoryAndNeverTwice) {
  // Limits: A and B (another subsidiary) share group G.
  auto set_a = harness_.api().SetCreditLimit(LimitRequest("A", "sub-1", 100000, "G", 150000, "a1"));
  ASSERT_TRUE(set_a.ok()) << set_a.status();
  ASSERT_TRUE(
      harness_.api().SetCreditLimit(LimitRequest("B", "sub-2", 100000, "G", 150000, "b1")).ok());
  auto again = harness_.api().SetCreditLimit(LimitRequest("A", "sub-1", 100000, "G", 150000, "a1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate());
  EXPECT_EQ(again->position().offset(), set_a->position().offset());
  v1::SetFxRateRequest fx;
  fx.set_tenant(kTenant);
  fx.set_from_currency("USD");
  fx.set_to_currency("EUR");
  fx.set_rate_nano(900'000'000);
  *fx.mutable_effective_date() = protoconv::DayToProto(kDay);
  ASSERT_TRUE(harness_.api().SetFxRate(fx).ok());

  harness_.Publish(topics::kInvoicing, {Issued("A", "I1", 80000, kDay, kDay + 10)});
  harness_.WaitIdle();
  // B: the allocation arrives before its invoice (another topic) and waits for it.
  harness_.Publish(topics::kPayments, {Allocated("B", "P9", "I2", 10000, kDay + 1, "USD")});
  harness_.WaitIdle();
  harness_.Publish(topics::kInvoicing, {Issued("B", "I2", 100000, kDay, kDay + 30, "USD")});
  harness_.WaitIdle();
  EXPECT_THAT(Decisions(harness_.CreditEvents()),
              ElementsAre("A rating ->A 1000",
                          // USD 900.00 open at 0.9 = EUR 810.00; group 800 + 810 > 1500
                          "B exceeded I2 group=G 161000", "B rating ->A 998"));

  // Day 60 past due for A (grade C), 40 for B (grade B); then 61 for A: hold.
  harness_.Publish(topics::kClock, {DayClosed(kDay + 69)});
  harness_.WaitIdle();
  harness_.Publish(topics::kClock, {DayClosed(kDay + 70)});
  harness_.WaitIdle();
  const std::vector<std::string> after_close = Decisions(harness_.CreditEvents());
  EXPECT_THAT(after_close,
              ElementsAre("A hold max_days_past_due>60", "A rating ->A 1000", "A rating A->C 610",
                          "B exceeded I2 group=G 161000", "B rating ->A 998", "B rating A->B 688"));
  // A duplicate day close changes nothing.
  const int64_t reviews = harness_.service().reactor_handler().reviews();
  harness_.Publish(topics::kClock, {DayClosed(kDay + 70)});
  harness_.WaitIdle();
  EXPECT_EQ(Decisions(harness_.CreditEvents()), after_close);
  EXPECT_EQ(harness_.service().reactor_handler().reviews(), reviews + 2);  // A and B, no events

  v1::CreditProfile a = Profile("A");
  EXPECT_TRUE(a.on_hold());
  EXPECT_EQ(a.hold_rule(), "max_days_past_due>60");
  EXPECT_EQ(a.max_days_past_due(), 61);
  EXPECT_EQ(a.score(), 606);
  EXPECT_EQ(a.grade(), "C");
  EXPECT_EQ(a.rated_grade(), "C");
  EXPECT_EQ(a.exposure().minor_units(), 80000);
  EXPECT_EQ(a.group_exposure().minor_units(), 161000);
  EXPECT_EQ(a.group_limit().minor_units(), 150000);
  EXPECT_EQ(a.factors(0).name(), kFactorMaxDaysPastDue);
  EXPECT_EQ(protoconv::DescribeDay(a.business_date()), "2027-05-11");

  // A pays 61 days late: cured (hold released), graded on its payment history.
  harness_.Publish(topics::kPayments, {Allocated("A", "P1", "I1", 80000, kDay + 71)});
  // B breaks a promise: 1000 - 164 - 150 - 2 - 50 = 634 -> C.
  harness_.Publish(topics::kCollections, {PromiseBroken("B", "PR1")});
  harness_.WaitIdle();
  const std::vector<std::string> final_decisions = Decisions(harness_.CreditEvents());
  EXPECT_THAT(final_decisions,
              ElementsAre("A hold max_days_past_due>60", "A rating ->A 1000", "A rating A->C 610",
                          "A rating C->B 750", "A release", "B exceeded I2 group=G 161000",
                          "B rating ->A 998", "B rating A->B 688", "B rating B->C 634"));
  a = Profile("A");
  EXPECT_FALSE(a.on_hold());
  EXPECT_EQ(a.rated_grade(), "B");
  EXPECT_EQ(a.factors(0).name(), kFactorDaysBeyondTerms);
  EXPECT_EQ(a.factors(0).points(), -250);

  // Every decision carries what it was decided on.
  for (const v1::Event& event : harness_.CreditEvents()) {
    if (event.has_credit_hold_released()) {
      const v1::CreditDecisionInputs& inputs = event.credit_hold_released().inputs();
      EXPECT_EQ(inputs.policy_version(), DefaultPolicy().version());
      EXPECT_EQ(inputs.grade(), "B");
      EXPECT_EQ(inputs.max_days_past_due(), 0);
      EXPECT_EQ(inputs.trigger_event_id(), "ev-alloc-P1-I1");
      EXPECT_EQ(protoconv::DescribeDay(event.credit_hold_released().as_of()), "2027-05-11");
    }
  }

  // A restart over the same log (fresh store: the read model and the reactor's position
  // are rebuilt from the log) re-decides nothing.
  const size_t events_before = harness_.CreditEvents().size();
  harness_.Stop();
  harness_.Start();
  harness_.WaitIdle();
  EXPECT_EQ(harness_.CreditEvents().size(), events_before);
  EXPECT_EQ(Decisions(harness_.CreditEvents()), final_decisions);
  EXPECT_EQ(Profile("A").rated_grade(), "B");
  EXPECT_EQ(Profile("B").rated_grade(), "C");
}

TEST_F(CreditRiskServiceTest, UtilisationHoldsFollowBouncesAndWriteOffs) {
  ASSERT_TRUE(harness_.api().SetCreditLimit(LimitRequest("C", "sub-1", 100000, "", 0, "")).ok());
  harness_.Publish(topics::kInvoicing, {Issued("C", "I1", 90000, kDay, kDay + 30)});
  harness_.WaitIdle();
  // 1300 of 1000: over the limit and over 120 %.
  harness_.Publish(topics::kInvoicing, {Issued("C", "I2", 40000, kDay, kDay + 30)});
  harness_.WaitIdle();
  EXPECT_THAT(
      Decisions(harness_.CreditEvents()),
      ElementsAre("C exceeded I2 group= 130000", "C hold utilisation>12000bp", "C rating ->A 975"));
  harness_.Publish(topics::kPayments, {Allocated("C", "P1", "I2", 40000, kDay + 2)});
  harness_.WaitIdle();
  EXPECT_FALSE(Profile("C").on_hold());
  // The payment bounces: the invoice re-opens, the hold comes back.
  harness_.Publish(topics::kPayments, {Reversed("C", "P1", "I2", 40000)});
  harness_.WaitIdle();
  v1::CreditProfile profile = Profile("C");
  EXPECT_TRUE(profile.on_hold());
  EXPECT_EQ(profile.score(), 1000 - 75 - 100);
  harness_.Publish(topics::kCollections, {WrittenOff("C", "I2")});
  harness_.WaitIdle();
  EXPECT_THAT(
      Decisions(harness_.CreditEvents()),
      ElementsAre("C exceeded I2 group= 130000", "C hold utilisation>12000bp",
                  "C hold utilisation>12000bp", "C rating ->A 975", "C release", "C release"));
  profile = Profile("C");
  EXPECT_FALSE(profile.on_hold());
  EXPECT_EQ(profile.exposure().minor_units(), 90000);
  EXPECT_EQ(profile.score(), 1000 - 75 - 25);
}

TEST_F(CreditRiskServiceTest, AnFxMoveReviewsTheAccountsHoldingThatCurrency) {
  auto fx = [&](int64_t rate_nano) {
    v1::SetFxRateRequest request;
    request.set_tenant(kTenant);
    request.set_from_currency("USD");
    request.set_to_currency("EUR");
    request.set_rate_nano(rate_nano);
    *request.mutable_effective_date() = protoconv::DayToProto(kDay);
    ASSERT_TRUE(harness_.api().SetFxRate(request).ok());
    harness_.WaitIdle();
  };
  fx(1'000'000'000);
  ASSERT_TRUE(harness_.api().SetCreditLimit(LimitRequest("U", "sub-1", 100000, "", 0, "")).ok());
  ASSERT_TRUE(harness_.api().SetCreditLimit(LimitRequest("E", "sub-1", 100000, "", 0, "")).ok());
  harness_.Publish(topics::kInvoicing, {Issued("U", "I1", 100000, kDay, kDay + 30, "USD")});
  harness_.Publish(topics::kInvoicing, {Issued("E", "I2", 100000, kDay, kDay + 30)});
  harness_.WaitIdle();
  const int64_t reviews = harness_.service().reactor_handler().reviews();
  fx(1'300'000'000);  // USD 1000.00 is now EUR 1300.00: 130 % of U's limit
  EXPECT_EQ(harness_.service().reactor_handler().reviews(), reviews + 1);  // U only
  EXPECT_THAT(Decisions(harness_.CreditEvents()),
              ElementsAre("E rating ->A 950", "U hold utilisation>12000bp", "U rating ->A 950"));
  EXPECT_EQ(Profile("U").utilisation_bp(), 13000);
}

}  // namespace
}  // namespace ar::credit
