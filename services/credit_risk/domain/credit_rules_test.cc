#include "services/credit_risk/domain/credit_rules.h"

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "libs/core/dates.h"
#include "libs/core/ids.h"
#include "services/credit_risk/domain/test_events.h"

namespace ar::credit {
namespace {

using namespace ar::credit::testing;  // NOLINT: test builders
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAccount[] = "C-1";
const absl::CivilDay kDay(2027, 3, 1);

int64_t Day(absl::CivilDay day) { return core::DayNumber(day); }

v1::CreditAccountState StateOf(const std::vector<v1::Event>& events) {
  v1::CreditAccountState state;
  for (const v1::Event& event : events) EvolveAccount(state, event);
  return state;
}

ScoreInputs InputsOf(const v1::CreditAccountState& state, std::optional<int64_t> business_day,
                     const FxTable& fx = FxTable{}) {
  absl::StatusOr<ScoreInputs> inputs = ComputeInputs(state, fx, business_day);
  EXPECT_TRUE(inputs.ok()) << inputs.status();
  return inputs.ok() ? *inputs : ScoreInputs{};
}

v1::Event LimitSet(int64_t limit, const std::string& group = "", int64_t group_limit = 0) {
  v1::Event event = Envelope("ev-limit", kAccount);
  event.set_causation_id("limit:r1");
  v1::CreditLimitSet* set = event.mutable_credit_limit_set();
  *set->mutable_limit() = protoconv::MoneyProto(limit, "EUR");
  set->set_credit_group(group);
  *set->mutable_group_limit() = protoconv::MoneyProto(group_limit, "EUR");
  return event;
}

// ---- policy ----

TEST(CreditPolicyTest, ConfigFileIsTheBuiltInDefault) {
  std::ifstream file(std::string(AR_SOURCE_DIR) + "/config/credit_policy.textproto");
  ASSERT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<v1::CreditPolicy> parsed = ParsePolicy(text.str());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*parsed, DefaultPolicy()))
      << parsed->DebugString();
}

TEST(CreditPolicyTest, RejectsBadPolicies) {
  EXPECT_EQ(ParsePolicy("version: ").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePolicy("nonsense { }").status().code(), absl::StatusCode::kInvalidArgument);
  v1::CreditPolicy policy = DefaultPolicy();
  policy.mutable_grades()->set_b(900);  // above a
  EXPECT_THAT(ValidatePolicy(policy).message(), HasSubstr("grades"));
  policy = DefaultPolicy();
  policy.mutable_utilisation()->set_step(0);
  EXPECT_THAT(ValidatePolicy(policy).message(), HasSubstr("utilisation"));
  policy = DefaultPolicy();
  policy.mutable_hold()->add_hold_at_grades("F");
  EXPECT_FALSE(ValidatePolicy(policy).ok());
  EXPECT_TRUE(ValidatePolicy(DefaultPolicy()).ok());
}

// ---- factors and grades ----

TEST(CreditScoreTest, FactorPenaltyEdges) {
  v1::CreditFactorWeight weight;
  weight.set_allowance(8000);
  weight.set_points_per_step(100);
  weight.set_step(4000);
  weight.set_max_points(100);
  EXPECT_EQ(FactorPenalty(0, weight), 0);
  EXPECT_EQ(FactorPenalty(8000, weight), 0);  // at the allowance: free
  EXPECT_EQ(FactorPenalty(8039, weight), 0);  // 39 * 100 / 4000 floors to 0
  EXPECT_EQ(FactorPenalty(8040, weight), -1);
  EXPECT_EQ(FactorPenalty(12000, weight), -100);
  EXPECT_EQ(FactorPenalty(1'000'000, weight), -100);  // capped
  EXPECT_EQ(FactorPenalty(INT64_MAX, weight), -100);  // no overflow
}

TEST(CreditScoreTest, CleanHistoryIsAWithNoTopFactors) {
  const v1::CreditPolicy policy = DefaultPolicy();
  const Score score = ComputeScore(ScoreInputs{}, policy);
  EXPECT_EQ(score.score, 1000);
  EXPECT_EQ(GradeFor(score.score, policy), "A");
  EXPECT_EQ(score.factors.size(), 6u);
  EXPECT_TRUE(TopFactors(score, policy).empty());
}

TEST(CreditScoreTest, GradeThresholds) {
  const v1::CreditPolicy policy = DefaultPolicy();
  EXPECT_EQ(GradeFor(1000, policy), "A");
  EXPECT_EQ(GradeFor(800, policy), "A");
  EXPECT_EQ(GradeFor(799, policy), "B");
  EXPECT_EQ(GradeFor(650, policy), "B");
  EXPECT_EQ(GradeFor(649, policy), "C");
  EXPECT_EQ(GradeFor(500, policy), "C");
  EXPECT_EQ(GradeFor(499, policy), "D");
  EXPECT_EQ(GradeFor(350, policy), "D");
  EXPECT_EQ(GradeFor(349, policy), "E");
  EXPECT_EQ(GradeFor(0, policy), "E");
}

TEST(CreditScoreTest, ScoreNeverGoesBelowZero) {
  ScoreInputs inputs;
  inputs.days_beyond_terms = 1000;
  inputs.max_days_past_due = 1000;
  inputs.overdue_share_bp = 10000;
  inputs.broken_promises = 10;
  inputs.bounced_payments = 10;
  inputs.utilisation_bp = 50000;
  const Score score = ComputeScore(inputs, DefaultPolicy());
  EXPECT_EQ(score.score, 0);                                       // 1000 - 1100, clamped
  EXPECT_EQ(score.factors.front().name(), kFactorMaxDaysPastDue);  // -300 first
}

TEST(CreditScoreTest, DaysBeyondTermsIsAmountWeightedOverPaidInvoices) {
  const v1::CreditAccountState state = StateOf({
      Issued(kAccount, "I1", 1000, kDay, kDay),
      Issued(kAccount, "I2", 3000, kDay, kDay),
      Issued(kAccount, "I3", 5000, kDay, kDay),       // partly paid: not in the average
      Issued(kAccount, "I4", 9000, kDay, kDay + 30),  // paid early: counts as 0 days
      Allocated(kAccount, "P1", "I1", 1000, kDay + 10),
      Allocated(kAccount, "P2", "I2", 1000, kDay + 1),
      Allocated(kAccount, "P3", "I2", 2000, kDay + 2),  // I2 paid on its last allocation
      Allocated(kAccount, "P4", "I3", 4999, kDay + 50),
      Allocated(kAccount, "P5", "I4", 9000, kDay + 20),
  });
  const ScoreInputs inputs = InputsOf(state, std::nullopt);
  // (1000*10 + 3000*2 + 9000*0) / 13000 = 1.23 -> 1
  EXPECT_EQ(inputs.paid_invoices, 3);
  EXPECT_EQ(inputs.days_beyond_terms, 1);
  EXPECT_EQ(PaidDay(state.invoices(2)), std::nullopt);
  EXPECT_EQ(OpenAmount(state.invoices(2)), 1);
}

TEST(CreditScoreTest, DaysPastDueStartTheDayAfterTheDueDate) {
  const v1::CreditAccountState state = StateOf({
      Issued(kAccount, "I1", 1000, kDay, kDay + 10),
      Issued(kAccount, "I2", 3000, kDay, kDay + 20),
  });
  EXPECT_EQ(InputsOf(state, std::nullopt).max_days_past_due, 0);    // no business date yet
  EXPECT_EQ(InputsOf(state, Day(kDay + 10)).max_days_past_due, 0);  // due today
  ScoreInputs one_day = InputsOf(state, Day(kDay + 11));
  EXPECT_EQ(one_day.max_days_past_due, 1);
  EXPECT_EQ(one_day.overdue_share_bp, 2500);  // 1000 of 4000
  ScoreInputs both = InputsOf(state, Day(kDay + 31));
  EXPECT_EQ(both.max_days_past_due, 21);
  EXPECT_EQ(both.overdue_share_bp, 10000);
}

TEST(CreditScoreTest, PaidCancelledAndWrittenOffInvoicesAreNotOverdue) {
  const v1::CreditAccountState state = StateOf({
      Issued(kAccount, "I1", 1000, kDay, kDay),
      Issued(kAccount, "I2", 1000, kDay, kDay),
      Issued(kAccount, "I3", 1000, kDay, kDay),
      Allocated(kAccount, "P1", "I1", 1000, kDay + 3),
      WrittenOff(kAccount, "I2"),
      CreditNote(kAccount, "CN1", "I3", 1000),
  });
  const ScoreInputs inputs = InputsOf(state, Day(kDay + 40));
  EXPECT_EQ(inputs.max_days_past_due, 0);
  EXPECT_EQ(inputs.exposure_base_minor, 0);
  EXPECT_EQ(inputs.days_beyond_terms, 3);
  EXPECT_EQ(EarliestOpenDueDay(state), std::nullopt);
}

TEST(CreditScoreTest, ReversalReopensAndCountsAsBouncedOnce) {
  v1::CreditAccountState state = StateOf({
      Issued(kAccount, "I1", 1000, kDay, kDay),
      Allocated(kAccount, "P1", "I1", 1000, kDay),
  });
  EXPECT_EQ(OpenAmount(state.invoices(0)), 0);
  EvolveAccount(state, Reversed(kAccount, "P1", "I1", 1000));
  EvolveAccount(state, Reversed(kAccount, "P1", "I1", 1000));  // a repeat counts once
  EXPECT_EQ(OpenAmount(state.invoices(0)), 1000);
  EXPECT_EQ(PaidDay(state.invoices(0)), std::nullopt);
  const ScoreInputs inputs = InputsOf(state, std::nullopt);
  EXPECT_EQ(inputs.bounced_payments, 1);
  EXPECT_EQ(inputs.paid_invoices, 0);
}

TEST(CreditScoreTest, BrokenPromisesCountOncePerPromise) {
  const v1::CreditAccountState state = StateOf({
      PromiseBroken(kAccount, "PR1"),
      PromiseBroken(kAccount, "PR2"),
      PromiseBroken(kAccount, "PR1"),
  });
  EXPECT_EQ(InputsOf(state, std::nullopt).broken_promises, 2);
  EXPECT_EQ(FactorPenalty(4, DefaultPolicy().broken_promises()), -150);  // capped at 3
}

TEST(CreditScoreTest, AllocationBeforeItsInvoiceGivesTheSameState) {
  const std::vector<v1::Event> in_order = {Issued(kAccount, "I1", 1000, kDay, kDay),
                                           Allocated(kAccount, "P1", "I1", 400, kDay + 5)};
  const v1::CreditAccountState a = StateOf(in_order);
  const v1::CreditAccountState b = StateOf({in_order[1], in_order[0]});
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_EQ(OpenAmount(a.invoices(0)), 600);
  // An allocation of an invoice not seen yet is not exposure.
  const v1::CreditAccountState pending = StateOf({in_order[1]});
  EXPECT_EQ(OpenAmount(pending.invoices(0)), 0);
}

TEST(CreditScoreTest, RepeatedAllocationEventCountsOnce) {
  const v1::Event allocation = Allocated(kAccount, "P1", "I1", 400, kDay);
  const v1::CreditAccountState state =
      StateOf({Issued(kAccount, "I1", 1000, kDay, kDay), allocation, allocation});
  EXPECT_EQ(OpenAmount(state.invoices(0)), 600);
}

// ---- FX ----

TEST(CreditFxTest, ConvertsEachCurrencySumOnceHalfEven) {
  FxTable fx;
  fx.rate_to_base["USD"] = 500'000'000;  // 0.5
  const v1::CreditAccountState state = StateOf({
      Issued(kAccount, "I1", 5, kDay, kDay, "USD"),  // 0.05 USD
      Issued(kAccount, "I2", 5, kDay, kDay, "USD"),
      Issued(kAccount, "I3", 100, kDay, kDay, "GBP"),  // no rate
      Issued(kAccount, "I4", 700, kDay, kDay, "EUR"),
  });
  absl::StatusOr<Exposure> exposure = ComputeExposure(state, fx);
  ASSERT_TRUE(exposure.ok());
  // 0.10 USD * 0.5 = 0.05 EUR (per invoice it would be 2 + 2 = 4 cents after rounding).
  EXPECT_EQ(exposure->base_minor, 5 + 700);
  EXPECT_THAT(exposure->missing_rates, ElementsAre("GBP"));
  // Ties go to the even cent: 2.5 -> 2, 7.5 -> 8.
  EXPECT_EQ(*ToBase(5, "USD", fx).value(), 2);
  EXPECT_EQ(*ToBase(15, "USD", fx).value(), 8);
  EXPECT_EQ(*ToBase(123, "EUR", fx).value(), 123);
  EXPECT_FALSE(ToBase(1, "GBP", fx).value().has_value());
}

TEST(CreditFxTest, RespectsCurrencyExponents) {
  FxTable fx;
  fx.rate_to_base["JPY"] = 6'191'950;                   // 1 JPY = 0.00619195 EUR
  EXPECT_EQ(*ToBase(10'000, "JPY", fx).value(), 6192);  // 61.9195 EUR -> 61.92
}

TEST(CreditFxTest, UtilisationBp) {
  EXPECT_EQ(UtilisationBp(0, 0), 0);
  EXPECT_EQ(UtilisationBp(12000, 10000), 12000);
  EXPECT_EQ(UtilisationBp(12001, 10000), 12001);
  EXPECT_EQ(UtilisationBp(1, 3), 3333);  // floor
  EXPECT_EQ(UtilisationBp(5, 0), kMaxUtilisationBp);
  EXPECT_EQ(UtilisationBp(kMaxAmountMinor, 1), kMaxUtilisationBp);
}

// ---- the worked example of docs/credit-scoring.md ----

TEST(CreditScoreTest, WorkedExampleOfTheDocs) {
  const absl::CivilDay jan31(2027, 1, 31), feb28(2027, 2, 28);
  v1::CreditAccountState state = StateOf({
      Issued(kAccount, "I1", 100000, jan31 - 30, jan31),
      Issued(kAccount, "I2", 300000, feb28 - 30, feb28),
      Issued(kAccount, "I3", 200000, absl::CivilDay(2027, 2, 8), absl::CivilDay(2027, 3, 10)),
      Issued(kAccount, "I4", 100000, absl::CivilDay(2027, 3, 31), absl::CivilDay(2027, 4, 30),
             "USD"),
      Allocated(kAccount, "P1", "I1", 100000, absl::CivilDay(2027, 2, 20)),
      Allocated(kAccount, "P2", "I2", 300000, absl::CivilDay(2027, 3, 2)),
      PromiseBroken(kAccount, "PR1"),
      Issued(kAccount, "I5", 50000, jan31, jan31),
      Allocated(kAccount, "P3", "I5", 50000, absl::CivilDay(2027, 2, 1)),
      Reversed(kAccount, "P3", "I5", 50000),
      CreditNote(kAccount, "CN1", "I5", 50000),  // the bounced invoice was credited away
      LimitSet(250000),
  });
  FxTable fx;
  fx.rate_to_base["USD"] = 920'000'000;
  const ScoreInputs inputs = InputsOf(state, Day(absl::CivilDay(2027, 4, 1)), fx);
  EXPECT_EQ(inputs.days_beyond_terms, 6);  // (100000*20 + 300000*2) / 400000 = 6.5
  EXPECT_EQ(inputs.max_days_past_due, 22);
  EXPECT_EQ(inputs.exposure_base_minor, 292000);
  EXPECT_EQ(inputs.overdue_share_bp, 6849);
  EXPECT_EQ(inputs.broken_promises, 1);
  EXPECT_EQ(inputs.bounced_payments, 1);
  EXPECT_EQ(inputs.utilisation_bp, 11680);
  const v1::CreditPolicy policy = DefaultPolicy();
  const Score score = ComputeScore(inputs, policy);
  EXPECT_EQ(score.score, 563);
  EXPECT_EQ(GradeFor(score.score, policy), "C");
  std::vector<std::pair<std::string, int>> top;
  for (const v1::ScoreFactor& factor : TopFactors(score, policy)) {
    top.emplace_back(factor.name(), factor.points());
  }
  EXPECT_THAT(top, ElementsAre(std::pair<std::string, int>(kFactorOverdueShare, -102),
                               std::pair<std::string, int>(kFactorUtilisation, -92),
                               std::pair<std::string, int>(kFactorMaxDaysPastDue, -88)));
  EXPECT_EQ(EvaluateHold("C", inputs, policy), std::nullopt);
}

// ---- hold policy ----

TEST(CreditHoldTest, EachRuleAndItsEdge) {
  const v1::CreditPolicy policy = DefaultPolicy();
  ScoreInputs inputs;
  EXPECT_EQ(EvaluateHold("A", inputs, policy), std::nullopt);
  EXPECT_EQ(EvaluateHold("", inputs, policy), std::nullopt);
  EXPECT_EQ(EvaluateHold("E", inputs, policy)->rule, "grade=E");
  inputs.max_days_past_due = 60;
  EXPECT_EQ(EvaluateHold("D", inputs, policy), std::nullopt);
  inputs.max_days_past_due = 61;
  EXPECT_EQ(EvaluateHold("D", inputs, policy)->rule, "max_days_past_due>60");
  inputs.max_days_past_due = 0;
  inputs.utilisation_bp = 12000;
  EXPECT_EQ(EvaluateHold("B", inputs, policy), std::nullopt);
  inputs.utilisation_bp = 12001;
  EXPECT_EQ(EvaluateHold("B", inputs, policy)->rule, "utilisation>12000bp");
  v1::CreditPolicy off = policy;
  off.mutable_hold()->set_utilisation_above_bp(0);
  EXPECT_EQ(EvaluateHold("B", inputs, off), std::nullopt);
}

// ---- the review decision ----

std::vector<v1::Event> ReviewOf(const v1::CreditAccountState& state,
                                std::optional<int64_t> business_day,
                                const std::string& issued_invoice = "",
                                std::optional<GroupView> group = std::nullopt) {
  static const v1::CreditPolicy policy = DefaultPolicy();
  static const FxTable fx;
  Review review;
  review.state = &state;
  review.fx = &fx;
  review.policy = &policy;
  review.business_day = business_day;
  review.group = std::move(group);
  review.issued_invoice_id = issued_invoice;
  review.trigger_event_id = "trigger-1";
  absl::StatusOr<Outcome> outcome = DecideReview(review, CommandContext{"review:x", 7, "corr"});
  EXPECT_TRUE(outcome.ok()) << outcome.status();
  return outcome.ok() ? outcome->events : std::vector<v1::Event>{};
}

TEST(CreditReviewTest, FirstRatingThenNothingUntilTheGradeChanges) {
  v1::CreditAccountState state;
  EXPECT_TRUE(ReviewOf(state, std::nullopt).empty());  // nothing issued: no rating
  EvolveAccount(state, Issued(kAccount, "I1", 1000, kDay, kDay + 30));
  std::vector<v1::Event> first = ReviewOf(state, Day(kDay));
  ASSERT_EQ(first.size(), 1u);
  const v1::CreditRatingChanged& rating = first[0].credit_rating_changed();
  EXPECT_EQ(rating.old_grade(), "");
  EXPECT_EQ(rating.new_grade(), "A");
  EXPECT_EQ(rating.score(), 1000);
  EXPECT_EQ(rating.inputs().policy_version(), DefaultPolicy().version());
  EXPECT_EQ(rating.inputs().trigger_event_id(), "trigger-1");
  EXPECT_EQ(rating.inputs().factors_size(), 6);
  EXPECT_EQ(first[0].account(), kAccount);
  EXPECT_EQ(first[0].causation_id(), "review:x");
  EXPECT_EQ(first[0].event_id(), core::DerivedEventId("review:x", "/0"));
  EvolveAccount(state, first[0]);
  EXPECT_TRUE(ReviewOf(state, Day(kDay)).empty());
  // 45 days past due: -180 (dpd) -150 (all overdue) = 670 -> B.
  std::vector<v1::Event> later = ReviewOf(state, Day(kDay + 75));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].credit_rating_changed().old_grade(), "A");
  EXPECT_EQ(later[0].credit_rating_changed().new_grade(), "B");
  EXPECT_EQ(later[0].credit_rating_changed().score(), 670);
  EXPECT_EQ(later[0].credit_rating_changed().top_factors(0).name(), kFactorMaxDaysPastDue);
  EXPECT_EQ(protoconv::DescribeDay(later[0].credit_rating_changed().as_of()), "2027-05-15");
}

TEST(CreditReviewTest, LimitExceededForTheAccountAndTheGroup) {
  v1::CreditAccountState state =
      StateOf({LimitSet(1800, "G", 5000), Issued(kAccount, "I1", 1000, kDay, kDay + 30)});
  state.set_rated_grade("A");
  // Under both limits: nothing.
  EXPECT_TRUE(ReviewOf(state, std::nullopt, "I1", GroupView{"G", 5000, 4000}).empty());
  EvolveAccount(state, Issued(kAccount, "I2", 1000, kDay, kDay + 30));
  std::vector<v1::Event> events = ReviewOf(state, std::nullopt, "I2", GroupView{"G", 5000, 6000});
  ASSERT_EQ(events.size(), 2u);
  const v1::CreditLimitExceeded& account = events[0].credit_limit_exceeded();
  EXPECT_EQ(account.invoice_id(), "I2");
  EXPECT_EQ(account.exposure().minor_units(), 2000);
  EXPECT_EQ(account.limit().minor_units(), 1800);
  EXPECT_EQ(account.credit_group(), "");
  EXPECT_EQ(account.invoice_amount().minor_units(), 1000);
  const v1::CreditLimitExceeded& group = events[1].credit_limit_exceeded();
  EXPECT_EQ(group.credit_group(), "G");
  EXPECT_EQ(group.exposure().minor_units(), 6000);
  EXPECT_EQ(group.limit().minor_units(), 5000);
  // Only the group over its limit.
  v1::CreditAccountState roomy =
      StateOf({LimitSet(100000, "G", 5000), Issued(kAccount, "I1", 1000, kDay, kDay + 30)});
  roomy.set_rated_grade("A");
  events = ReviewOf(roomy, std::nullopt, "I1", GroupView{"G", 5000, 5001});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].credit_limit_exceeded().credit_group(), "G");
}

TEST(CreditReviewTest, LimitExceededOnlyWhenTheLatestInvoicePushesOver) {
  v1::CreditAccountState state =
      StateOf({LimitSet(1800), Issued(kAccount, "I1", 1000, kDay, kDay + 30),
               Issued(kAccount, "I2", 1000, kDay, kDay + 30)});
  state.set_rated_grade("A");
  // I1 is not the latest invoice: a review of it replayed later decides nothing.
  EXPECT_TRUE(ReviewOf(state, std::nullopt, "I1").empty());
  ASSERT_EQ(ReviewOf(state, std::nullopt, "I2").size(), 1u);
  // Already over the limit before I3: I3 does not push it over.
  EvolveAccount(state, Issued(kAccount, "I3", 100, kDay, kDay + 30));
  EXPECT_TRUE(ReviewOf(state, std::nullopt, "I3").empty());
  EXPECT_EQ(state.invoices(2).issued_ordinal(), 3);
}

TEST(CreditReviewTest, HoldPlacedAndReleasedWhenCured) {
  v1::CreditAccountState state =
      StateOf({LimitSet(1000), Issued(kAccount, "I1", 1300, kDay, kDay + 30)});
  state.set_rated_grade("A");  // utilisation 13000 bp: -100 -> 900, still A
  std::vector<v1::Event> events = ReviewOf(state, Day(kDay));
  ASSERT_EQ(events.size(), 1u);
  const v1::CreditHoldPlaced& placed = events[0].credit_hold_placed();
  EXPECT_EQ(placed.policy_rule(), "utilisation>12000bp");
  EXPECT_EQ(placed.inputs().utilisation_bp(), 13000);
  EXPECT_EQ(placed.inputs().limit().minor_units(), 1000);
  EXPECT_EQ(protoconv::DescribeDay(placed.as_of()), "2027-03-01");
  EvolveAccount(state, events[0]);
  EXPECT_TRUE(state.on_hold());
  EXPECT_TRUE(ReviewOf(state, Day(kDay)).empty());  // already held
  EvolveAccount(state, Allocated(kAccount, "P1", "I1", 500, kDay + 1));
  events = ReviewOf(state, Day(kDay + 1));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].has_credit_hold_released());
  EXPECT_EQ(events[0].credit_hold_released().inputs().utilisation_bp(), 8000);
  EvolveAccount(state, events[0]);
  EXPECT_FALSE(state.on_hold());
}

TEST(CreditReviewTest, GradeEPlacesAHoldWithTheRating) {
  v1::CreditAccountState state =
      StateOf({Issued(kAccount, "I1", 1000, kDay, kDay), Reversed(kAccount, "P1", "I1", 0),
               Reversed(kAccount, "P2", "I1", 0), PromiseBroken(kAccount, "PR1"),
               PromiseBroken(kAccount, "PR2"), PromiseBroken(kAccount, "PR3")});
  state.set_rated_grade("A");
  // 55 dpd: -220, all overdue -150, promises -150, bounced -150 -> 330 (E).
  std::vector<v1::Event> events = ReviewOf(state, Day(kDay + 55));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].credit_rating_changed().new_grade(), "E");
  EXPECT_EQ(events[1].credit_hold_placed().policy_rule(), "grade=E");
  EXPECT_EQ(events[1].credit_hold_placed().inputs().grade(), "E");
}

// ---- commands ----

v1::SetCreditLimitRequest LimitRequest(int64_t limit, const std::string& request_id = "") {
  v1::SetCreditLimitRequest request;
  request.mutable_account()->set_tenant(kTenant);
  request.mutable_account()->set_region(kRegion);
  request.mutable_account()->set_account(kAccount);
  *request.mutable_limit() = protoconv::MoneyProto(limit, "EUR");
  request.set_request_id(request_id);
  request.set_set_by("controller");
  return request;
}

TEST(CreditCommandTest, SetCreditLimitIsIdempotent) {
  v1::CreditAccountState state;
  const CommandContext context{SetCreditLimitCommandId("r1"), 1, ""};
  absl::StatusOr<Outcome> first =
      DecideSetCreditLimit(LimitRequest(1000, "r1"), state, "EUR", context);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->events.size(), 1u);
  EXPECT_EQ(first->events[0].credit_limit_set().limit().minor_units(), 1000);
  EvolveAccount(state, first->events[0]);
  state.mutable_limit_position()->set_offset(42);

  absl::StatusOr<Outcome> again =
      DecideSetCreditLimit(LimitRequest(1000, "r1"), state, "EUR", context);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->events.empty());
  ASSERT_TRUE(again->duplicate_of.has_value());
  EXPECT_EQ(again->duplicate_of->position().offset(), 42);
  EXPECT_TRUE(again->duplicate_of->duplicate());
  EXPECT_THAT(again->duplicate_of->event_ids(), ElementsAre(first->events[0].event_id()));

  EXPECT_EQ(DecideSetCreditLimit(LimitRequest(2000, "r1"), state, "EUR", context).status().code(),
            absl::StatusCode::kAlreadyExists);
  // No request id: the same content is a repeat, other content a change.
  const CommandContext auto_context{"limit:auto-1", 2, ""};
  EXPECT_TRUE(DecideSetCreditLimit(LimitRequest(1000), state, "EUR", auto_context)->duplicate_of);
  EXPECT_EQ(DecideSetCreditLimit(LimitRequest(2000), state, "EUR", auto_context)->events.size(),
            1u);
}

TEST(CreditCommandTest, SetCreditLimitRejectsBadInput) {
  v1::CreditAccountState state;
  const CommandContext context{"limit:x", 1, ""};
  auto code = [&](const v1::SetCreditLimitRequest& request) {
    return DecideSetCreditLimit(request, state, "EUR", context).status().code();
  };
  v1::SetCreditLimitRequest request = LimitRequest(1000);
  *request.mutable_limit() = protoconv::MoneyProto(1000, "USD");
  EXPECT_EQ(code(request), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(LimitRequest(-1)), absl::StatusCode::kInvalidArgument);
  request = LimitRequest(1000);
  *request.mutable_group_limit() = protoconv::MoneyProto(1000, "EUR");
  EXPECT_EQ(code(request), absl::StatusCode::kInvalidArgument);  // group limit without group
  request.set_credit_group("G");
  EXPECT_EQ(code(request), absl::StatusCode::kOk);
  request.clear_group_limit();
  EXPECT_EQ(code(request), absl::StatusCode::kInvalidArgument);
  request = LimitRequest(1000);
  request.mutable_account()->clear_region();
  EXPECT_EQ(code(request), absl::StatusCode::kInvalidArgument);
}

TEST(CreditCommandTest, SetFxRate) {
  v1::SetFxRateRequest request;
  request.set_tenant(kTenant);
  request.set_from_currency("USD");
  request.set_to_currency("EUR");
  request.set_rate_nano(920'000'000);
  *request.mutable_effective_date() = protoconv::DayToProto(kDay);
  absl::StatusOr<Outcome> outcome =
      DecideSetFxRate(request, std::nullopt, CommandContext{"fx:1", 1, ""});
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->events[0].account(), "fx:USD:EUR");
  EXPECT_EQ(outcome->events[0].fx_rate_set().rate_nano(), 920'000'000);
  // The rate recorded for that day, sent again: a repeat, nothing published.
  outcome = DecideSetFxRate(request, 920'000'000, CommandContext{"fx:2", 1, ""});
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome->events.empty());
  ASSERT_TRUE(outcome->duplicate_of.has_value());
  EXPECT_TRUE(outcome->duplicate_of->duplicate());
  // Another rate for that day corrects it: new.
  outcome = DecideSetFxRate(request, 910'000'000, CommandContext{"fx:3", 1, ""});
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->events.size(), 1u);
  request.set_rate_nano(0);
  EXPECT_EQ(DecideSetFxRate(request, std::nullopt, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_rate_nano(1);
  request.set_to_currency("XXX");
  EXPECT_EQ(DecideSetFxRate(request, std::nullopt, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_to_currency("USD");
  EXPECT_EQ(DecideSetFxRate(request, std::nullopt, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ar::credit
