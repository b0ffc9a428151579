#include "services/credit_risk/projection/credit_projection.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/dates.h"
#include "libs/core/topics.h"
#include "libs/store/memory_store.h"
#include "services/credit_risk/domain/test_events.h"

namespace ar::credit {
namespace {

using namespace ar::credit::testing;  // NOLINT: test builders
using ::testing::ElementsAre;

constexpr char kAccount[] = "C-1";
const absl::CivilDay kDay(2027, 3, 1);

struct LoggedRecord {
  std::string topic;
  int64_t offset;
  std::vector<v1::Event> events;
};

// A memory store fed record by record through the handler, committing after each record
// like the runner does.
class ReadModel {
 public:
  ReadModel() : store_(store::NewMemoryStore()), handler_(*store_) {}

  void Apply(const LoggedRecord& record) {
    eventlog::Record source;
    source.topic = record.topic;
    source.offset = record.offset;
    store::WriteBatch batch;
    for (const v1::Event& event : record.events) {
      ASSERT_TRUE(handler_.Apply(event, source, batch).ok()) << event.DebugString();
    }
    ASSERT_TRUE(store_->Commit(batch, {}).ok());
    handler_.Committed();
  }

  v1::CreditAccountState State(const std::string& account = kAccount) {
    auto state = LoadAccountState(*store_, kTenant, account);
    EXPECT_TRUE(state.ok() && state->has_value());
    return state.ok() && state->has_value() ? **state : v1::CreditAccountState();
  }

  std::vector<store::ScoredMember> Range(const std::string& key) {
    auto members = store_->ZRange(key, store::RangeOptions{});
    EXPECT_TRUE(members.ok());
    return members.ok() ? *members : std::vector<store::ScoredMember>{};
  }

  store::Store& store() { return *store_; }
  CreditProjection& handler() { return handler_; }

 private:
  std::unique_ptr<store::Store> store_;
  CreditProjection handler_;
};

v1::Event Decision(const std::string& command_id, const std::string& new_grade, int score) {
  v1::Event event = Envelope(command_id + "/0", kAccount);
  event.set_causation_id(command_id);
  event.mutable_credit_rating_changed()->set_new_grade(new_grade);
  event.mutable_credit_rating_changed()->set_score(score);
  return event;
}

v1::Event HoldPlaced(const std::string& command_id) {
  v1::Event event = Envelope(command_id + "/1", kAccount);
  event.set_causation_id(command_id);
  event.mutable_credit_hold_placed()->set_policy_rule("grade=E");
  return event;
}

v1::Event LimitSet(const std::string& account, int64_t limit, const std::string& group,
                   int64_t group_limit, int64_t set_at) {
  v1::Event event = Envelope("limit-" + account + std::to_string(set_at), account);
  event.set_causation_id("limit:" + account + std::to_string(set_at));
  event.set_recorded_at_unix_micros(set_at);
  v1::CreditLimitSet* set = event.mutable_credit_limit_set();
  *set->mutable_limit() = protoconv::MoneyProto(limit, "EUR");
  set->set_credit_group(group);
  *set->mutable_group_limit() = protoconv::MoneyProto(group_limit, "EUR");
  return event;
}

TEST(CreditProjectionTest, TheSameFactsInAnyTopicOrderGiveTheSameReadModel) {
  const std::vector<LoggedRecord> invoicing = {
      {topics::kInvoicing, 0, {Issued(kAccount, "I1", 1000, kDay, kDay + 10)}},
      {topics::kInvoicing, 1, {Issued(kAccount, "I2", 500, kDay, kDay + 20, "USD")}},
      {topics::kInvoicing, 2, {CreditNote(kAccount, "CN1", "I1", 100)}},
  };
  const std::vector<LoggedRecord> payments = {
      {topics::kPayments, 0, {Allocated(kAccount, "P1", "I1", 900, kDay + 5)}},
      {topics::kPayments, 1, {Reversed(kAccount, "P1", "I1", 900)}},
      {topics::kPayments, 2, {Allocated(kAccount, "P2", "I2", 200, kDay + 6, "USD")}},
  };
  const std::vector<LoggedRecord> collections = {
      {topics::kCollections, 0, {PromiseBroken(kAccount, "PR1")}},
  };
  std::string first_dump;
  // Every interleaving that keeps each topic's own order.
  std::vector<int> order = {0, 0, 0, 1, 1, 1, 2};
  int interleavings = 0;
  do {
    ReadModel model;
    size_t next[3] = {0, 0, 0};
    const std::vector<LoggedRecord>* sources[3] = {&invoicing, &payments, &collections};
    for (int source : order) model.Apply((*sources[source])[next[source]++]);
    std::string dump = model.State().SerializeAsString();
    for (const auto& member : model.Range(Keys::DueIndex(kRegion))) {
      dump += member.member + "=" + std::to_string(member.score) + ";";
    }
    if (first_dump.empty()) first_dump = dump;
    EXPECT_EQ(dump, first_dump);
    ++interleavings;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(interleavings, 140);

  ReadModel model;
  for (const auto* topic : {&invoicing, &payments, &collections}) {
    for (const LoggedRecord& record : *topic) model.Apply(record);
  }
  const v1::CreditAccountState state = model.State();
  EXPECT_EQ(OpenAmount(state.invoices(0)), 900);  // 1000 - 100 credited; payment reversed
  EXPECT_EQ(OpenAmount(state.invoices(1)), 300);
  EXPECT_THAT(state.bounced_payment_ids(), ElementsAre("P1"));
  EXPECT_THAT(state.broken_promise_ids(), ElementsAre("PR1"));
  EXPECT_EQ(state.account().region(), kRegion);
  EXPECT_THAT(model.Range(Keys::DueIndex(kRegion)),
              ElementsAre(store::ScoredMember{Keys::DueMember(kTenant, kAccount),
                                              core::DayNumber(kDay + 10)}));
}

TEST(CreditProjectionTest, DueIndexFollowsTheEarliestOpenInvoice) {
  ReadModel model;
  model.Apply({topics::kInvoicing, 0, {Issued(kAccount, "I1", 1000, kDay, kDay + 10)}});
  model.Apply({topics::kInvoicing, 1, {Issued(kAccount, "I2", 1000, kDay, kDay + 20)}});
  EXPECT_EQ(model.Range(Keys::DueIndex(kRegion))[0].score, core::DayNumber(kDay + 10));
  model.Apply({topics::kPayments, 0, {Allocated(kAccount, "P1", "I1", 1000, kDay)}});
  EXPECT_EQ(model.Range(Keys::DueIndex(kRegion))[0].score, core::DayNumber(kDay + 20));
  EXPECT_EQ(model.Range(Keys::CurrencyIndex(kTenant, "EUR")).size(), 1u);
  model.Apply({topics::kCollections, 0, {WrittenOff(kAccount, "I2")}});
  EXPECT_TRUE(model.Range(Keys::DueIndex(kRegion)).empty());
  EXPECT_TRUE(model.Range(Keys::CurrencyIndex(kTenant, "EUR")).empty());
  std::string tenant, account;
  ASSERT_TRUE(Keys::ParseDueMember(Keys::DueMember("t:1", "a:b"), tenant, account));
  EXPECT_EQ(tenant, "t:1");
  EXPECT_EQ(account, "a:b");
  EXPECT_FALSE(Keys::ParseDueMember("9:abc", tenant, account));
}

TEST(CreditProjectionTest, LatestEffectiveFxRateWins) {
  ReadModel model;
  model.Apply({topics::kCredit, 0, {FxRate("USD", "EUR", 900'000'000, kDay + 1, "fx1")}});
  model.Apply({topics::kCredit, 1, {FxRate("USD", "EUR", 800'000'000, kDay, "fx2")}});  // older
  model.Apply({topics::kCredit, 2, {FxRate("GBP", "USD", 1'300'000'000, kDay, "fx3")}});
  auto fx = LoadFxTable(model.store(), kTenant, "EUR");
  ASSERT_TRUE(fx.ok());
  EXPECT_EQ(fx->rate_to_base.size(), 1u);  // GBP->USD does not convert into EUR
  EXPECT_EQ(fx->rate_to_base.at("USD"), 900'000'000);
  model.Apply({topics::kCredit, 3, {FxRate("USD", "EUR", 950'000'000, kDay + 1, "fx4")}});
  EXPECT_EQ(LoadFxTable(model.store(), kTenant, "EUR")->rate_to_base.at("USD"), 950'000'000);
}

TEST(CreditProjectionTest, BusinessDateOnlyMovesForward) {
  ReadModel model;
  EXPECT_EQ(*LoadBusinessDay(model.store(), kRegion), std::nullopt);
  model.Apply({topics::kClock, 0, {DayClosed(kDay)}});
  EXPECT_EQ(*LoadBusinessDay(model.store(), kRegion), core::DayNumber(kDay + 1));
  model.Apply({topics::kClock, 1, {DayClosed(kDay - 3)}});  // older: no-op
  model.Apply({topics::kClock, 2, {DayClosed(kDay)}});      // duplicate: no-op
  EXPECT_EQ(*LoadBusinessDay(model.store(), kRegion), core::DayNumber(kDay + 1));
  model.Apply({topics::kClock, 3, {DayClosed(kDay + 1)}});
  EXPECT_EQ(*LoadBusinessDay(model.store(), kRegion), core::DayNumber(kDay + 2));
  EXPECT_EQ(*LoadBusinessDay(model.store(), "us"), std::nullopt);
}

TEST(CreditProjectionTest, DecisionsUpdateTheIndexesAndARepeatedBatchIsSkipped) {
  ReadModel model;
  model.Apply({topics::kInvoicing, 0, {Issued(kAccount, "I1", 1000, kDay, kDay + 10)}});
  model.Apply({topics::kCredit, 0, {Decision("review:a", "A", 1000)}});
  model.Apply({topics::kCredit, 1, {Decision("review:b", "E", 300), HoldPlaced("review:b")}});
  // The same decision batch published again after a crash: skipped whole.
  model.Apply({topics::kCredit, 2, {Decision("review:b", "E", 300), HoldPlaced("review:b")}});
  EXPECT_EQ(model.handler().skipped_repeats(), 1);
  const v1::CreditAccountState state = model.State();
  EXPECT_EQ(state.rated_grade(), "E");
  EXPECT_TRUE(state.on_hold());
  EXPECT_EQ(state.hold_rule(), "grade=E");
  EXPECT_THAT(state.applied_commands(), ElementsAre("review:a", "review:b"));
  EXPECT_TRUE(model.Range(Keys::Grade(kTenant, "A")).empty());
  EXPECT_THAT(model.Range(Keys::Grade(kTenant, "E")),
              ElementsAre(store::ScoredMember{kAccount, 300}));
}

TEST(CreditProjectionTest, GroupLimitIsTheLatestSetAcrossSubsidiaries) {
  ReadModel model;
  model.Apply({topics::kCredit, 0, {LimitSet("C-1", 1000, "G", 5000, 200)}});
  model.Apply({topics::kCredit, 1, {LimitSet("C-2", 1000, "G", 7000, 100)}});  // set earlier
  model.Apply({topics::kInvoicing, 0, {Issued("C-1", "I1", 3000, kDay, kDay + 10)}});
  model.Apply({topics::kInvoicing, 1, {Issued("C-2", "I2", 2500, kDay, kDay + 10)}});
  FxTable fx;
  auto group = LoadGroupView(model.store(), kTenant, "G", fx);
  ASSERT_TRUE(group.ok() && group->has_value());
  EXPECT_EQ((*group)->limit_minor, 5000);
  EXPECT_EQ((*group)->exposure_minor, 5500);
  EXPECT_EQ(model.State("C-1").limit_position().topic(), topics::kCredit);
  // C-2 leaves the group.
  model.Apply({topics::kCredit, 2, {LimitSet("C-2", 1000, "", 0, 300)}});
  group = LoadGroupView(model.store(), kTenant, "G", fx);
  EXPECT_EQ((*group)->exposure_minor, 3000);
  EXPECT_EQ(model.Range(Keys::Limited(kTenant)).size(), 2u);
  EXPECT_EQ(*LoadGroupView(model.store(), kTenant, "", fx), std::nullopt);
}

TEST(CreditProjectionTest, RejectsEventsWithoutTenant) {
  auto store = store::NewMemoryStore();
  CreditProjection handler(*store);
  v1::Event event = Issued(kAccount, "I1", 1000, kDay, kDay);
  event.clear_tenant();
  eventlog::Record source;
  source.topic = topics::kInvoicing;
  store::WriteBatch batch;
  EXPECT_EQ(handler.Apply(event, source, batch).code(), absl::StatusCode::kInvalidArgument);
  v1::Event no_region = DayClosed(kDay);
  no_region.clear_region();
  source.offset = 1;
  EXPECT_EQ(handler.Apply(no_region, source, batch).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ar::credit
