#include "services/collections/projection/collections_projection.h"

#include <map>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/dates.h"
#include "libs/core/topics.h"
#include "libs/store/memory_store.h"
#include "services/collections/domain/test_events.h"

namespace ar::collections {
namespace {

using namespace ar::collections::testing;  // NOLINT: test builders

class ReadModel {
 public:
  ReadModel() : store_(store::NewMemoryStore()), handler_(*store_, DefaultPolicy()) {}

  // One record per call, committed like the runner does.
  void Apply(const std::vector<v1::Event>& events, const std::string& topic = topics::kInvoicing) {
    eventlog::Record source;
    source.topic = topic;
    source.offset = next_offset_++;
    store::WriteBatch batch;
    for (const v1::Event& event : events) {
      ASSERT_TRUE(handler_.Apply(event, source, batch).ok()) << event.DebugString();
    }
    handler_.BeforeCommit(batch);
    ASSERT_TRUE(store_->Commit(batch, {}).ok());
    handler_.Committed();
  }
  void Apply(const v1::Event& event, const std::string& topic = topics::kInvoicing) {
    Apply(std::vector<v1::Event>{event}, topic);
  }

  // Aging of one region from the aggregates: "<subsidiary> <currency> <label>" -> amount.
  std::map<std::string, int64_t> Aging(const std::string& tenant, const std::string& region) {
    auto fields = store_->HGetAll(Keys::AgingRegion(tenant, region));
    EXPECT_TRUE(fields.ok());
    std::map<std::string, int64_t> aging;
    for (const auto& [field, value] : *fields) {
      int64_t amount = 0;
      EXPECT_TRUE(absl::SimpleAtoi(value, &amount));
      if (amount != 0) aging[field] = amount;
    }
    return aging;
  }

  // The same computed from every account's state, the slow way.
  std::map<std::string, int64_t> AgingFromAccounts(const std::string& tenant,
                                                   const std::vector<std::string>& accounts) {
    std::map<std::string, int64_t> aging;
    const v1::CollectionsPolicy policy = DefaultPolicy();
    for (const std::string& id : accounts) {
      auto account = LoadAccount(*store_, tenant, id);
      EXPECT_TRUE(account.ok());
      auto dates = LoadBusinessDates(*store_, *account);
      EXPECT_TRUE(dates.ok());
      for (const v1::CollectionsInvoice& invoice : account->invoices()) {
        const int64_t open = OpenAmount(invoice);
        if (open == 0) continue;
        const std::string prefix = absl::StrCat(invoice.subsidiary(), " ", invoice.currency(), " ");
        aging[prefix + AgingLabel(policy, invoice, *dates)] += open;
        aging[prefix + "open"] += open;
      }
    }
    return aging;
  }

  std::string Dump() {
    std::string dump;
    for (const std::string& key :
         {Keys::AgingRegion("t1", "eu"), Keys::AgingTenant("t1"), Keys::Account("t1", "acct-1")}) {
      auto value = store_->Get(key);
      if (value.ok() && *value) dump += **value;
      auto hash = store_->HGetAll(key);
      if (hash.ok()) {
        for (const auto& [f, v] : *hash) dump += f + "=" + v + "\n";
      }
    }
    for (const std::string& key : {Keys::DueIndex("eu"), Keys::Attention("eu"),
                                   Keys::OverdueByAmount("t1"), Keys::Promises("eu")}) {
      auto members = store_->ZRange(key, {});
      for (const auto& m : *members) dump += absl::StrCat(key, " ", m.member, " ", m.score, "\n");
    }
    return dump;
  }

  store::Store& store() { return *store_; }
  CollectionsProjection& handler() { return handler_; }

 private:
  std::unique_ptr<store::Store> store_;
  CollectionsProjection handler_;
  int64_t next_offset_ = 0;
};

void ExpectInvariant(ReadModel& model, const std::vector<std::string>& accounts) {
  const std::map<std::string, int64_t> aging = model.Aging("t1", "eu");
  EXPECT_EQ(aging, model.AgingFromAccounts("t1", accounts));
  // not yet due + every bucket == open, per subsidiary and currency.
  std::map<std::string, int64_t> buckets, open;
  for (const auto& [field, amount] : aging) {
    std::vector<std::string> parts = absl::StrSplit(field, ' ');
    ASSERT_EQ(parts.size(), 3u) << field;
    (parts[2] == "open" ? open : buckets)[parts[0] + " " + parts[1]] += amount;
  }
  EXPECT_EQ(buckets, open);
}

TEST(CollectionsProjectionTest, AgingAggregatesFollowEveryChange) {
  ReadModel model;
  Who a{.account = "a"}, b{.subsidiary = "fr", .account = "b"};
  model.Apply(Issued("a1", 10000, D(2027, 3, 1), a));
  model.Apply(Issued("a2", 5000, D(2027, 1, 15), a));
  model.Apply(Issued("b1", 7000, D(2027, 2, 10), b));
  ExpectInvariant(model, {"a", "b"});
  EXPECT_EQ(model.Aging("t1", "eu")["de EUR not_yet_due"], 15000);  // no business date yet

  model.Apply(DayClosed("eu", D(2027, 3, 1)), topics::kClock);  // B = 03-02
  ExpectInvariant(model, {"a", "b"});
  auto aging = model.Aging("t1", "eu");
  EXPECT_EQ(aging["de EUR 1-30"], 10000);
  EXPECT_EQ(aging["de EUR 31-60"], 5000);  // 46 days
  EXPECT_EQ(aging["fr EUR 1-30"], 7000);   // 20 days

  model.Apply(Allocated("p1", "a1", 4000, D(2027, 3, 2), a), topics::kPayments);
  model.Apply(CreditNote("cn", "b1", 7000, b));
  ExpectInvariant(model, {"a", "b"});
  EXPECT_EQ(model.Aging("t1", "eu")["de EUR 1-30"], 6000);
  EXPECT_EQ(model.Aging("t1", "eu").count("fr EUR 1-30"), 0u);

  for (int day = 2; day <= 31; ++day) {
    model.Apply(DayClosed("eu", D(2027, 3, day)), topics::kClock);
    ExpectInvariant(model, {"a", "b"});
  }
  aging = model.Aging("t1", "eu");
  EXPECT_EQ(aging["de EUR 31-60"], 6000);  // a1: 31 days on 04-01
  EXPECT_EQ(aging["de EUR 61-90"], 5000);  // a2: 76 days
  model.Apply(Reversed("p1", "a1", 4000, a), topics::kPayments);
  ExpectInvariant(model, {"a", "b"});
  EXPECT_EQ(model.Aging("t1", "eu")["de EUR 31-60"], 10000);
}

TEST(CollectionsProjectionTest, DayCloseVisitsOnlyAccountsThatChange) {
  ReadModel model;
  model.Apply(DayClosed("eu", D(2027, 1, 1)), topics::kClock);
  std::vector<std::string> accounts;
  for (int i = 0; i < 400; ++i) {
    Who who{.account = absl::StrCat("acct-", i)};
    accounts.push_back(who.account);
    // Due dates spread over 400 days before and after the closes below.
    model.Apply(Issued(absl::StrCat("inv-", i), 1000 + i,
                       protoconv::DayToProto(absl::CivilDay(2026, 6, 1) + i), who));
  }
  model.Apply(DayClosed("eu", D(2027, 1, 2)), topics::kClock);
  // What the reactor does: every account's decisions for B = 01-03 applied.
  const v1::CollectionsPolicy policy = DefaultPolicy();
  for (const std::string& id : accounts) {
    auto account = LoadAccount(model.store(), "t1", id);
    ASSERT_TRUE(account.ok());
    std::vector<v1::Event> events = DecideDayClose(
        policy, *account, "eu", absl::CivilDay(2027, 1, 3), {"dayclose:" + id, 1, ""});
    if (!events.empty()) model.Apply(events, topics::kCollections);
  }
  EXPECT_TRUE(model.store().ZRange(Keys::Attention("eu"), {})->empty());
  const int64_t before = model.handler().accounts_visited_by_closes();
  model.Apply(DayClosed("eu", D(2027, 1, 3)), topics::kClock);
  const int64_t visited = model.handler().accounts_visited_by_closes() - before;
  // Overdue edges (1, 31, 61, 91, 181 and the ladder steps) and reminders: ~20 due dates.
  EXPECT_GT(visited, 5);
  EXPECT_LT(visited, 40);
  ExpectInvariant(model, accounts);
}

TEST(CollectionsProjectionTest, DuplicateDayCloseChangesNothing) {
  ReadModel model;
  model.Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  model.Apply(DayClosed("eu", D(2027, 3, 5)), topics::kClock);
  const std::string dump = model.Dump();
  model.Apply(DayClosed("eu", D(2027, 3, 5)), topics::kClock);
  model.Apply(DayClosed("eu", D(2027, 3, 1)), topics::kClock);
  EXPECT_EQ(model.Dump(), dump);
}

TEST(CollectionsProjectionTest, SameReadModelWhateverTheInterleaving) {
  std::vector<std::pair<v1::Event, std::string>> history = {
      {Issued("inv-1", 10000, D(2027, 3, 1)), topics::kInvoicing},
      {Allocated("p1", "inv-1", 3000, D(2027, 3, 3)), topics::kPayments},
      {Issued("inv-2", 2000, D(2027, 3, 20)), topics::kInvoicing},
      {Allocated("p2", "inv-2", 2000, D(2027, 3, 4)), topics::kPayments},
      {Disputed("inv-1", 1000), topics::kInvoicing},
      {Rated("C"), topics::kCredit},
  };
  ReadModel ordered;
  for (const auto& [event, topic] : history) ordered.Apply(event, topic);
  ordered.Apply(DayClosed("eu", D(2027, 3, 10)), topics::kClock);
  std::mt19937 random(7);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(history.begin(), history.end(), random);
    ReadModel shuffled;
    for (const auto& [event, topic] : history) shuffled.Apply(event, topic);
    shuffled.Apply(DayClosed("eu", D(2027, 3, 10)), topics::kClock);
    auto a = LoadAccount(ordered.store(), "t1", "acct-1");
    auto b = LoadAccount(shuffled.store(), "t1", "acct-1");
    // Invoices and amounts agree (last payment and name do too: dated facts).
    EXPECT_EQ(a->invoices_size(), b->invoices_size());
    for (int i = 0; i < a->invoices_size(); ++i) {
      EXPECT_EQ(OpenAmount(a->invoices(i)), OpenAmount(b->invoices(i)));
      EXPECT_EQ(a->invoices(i).disputed(), b->invoices(i).disputed());
    }
    EXPECT_EQ(ordered.Aging("t1", "eu"), shuffled.Aging("t1", "eu"));
  }
}

TEST(CollectionsProjectionTest, RepublishedCommandIsSkipped) {
  ReadModel model;
  model.Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  model.Apply(DayClosed("eu", D(2027, 3, 5)), topics::kClock);
  v1::Event fee = Envelope("fee-1");
  fee.set_causation_id("dayclose:eu:2027-03-05:2:t1acct-1");
  fee.mutable_dunning_fee_assessed()->set_invoice_id("inv-1");
  fee.mutable_dunning_fee_assessed()->set_level(3);
  *fee.mutable_dunning_fee_assessed()->mutable_fee() = Eur(1000);
  model.Apply(fee, topics::kCollections);
  model.Apply(fee, topics::kCollections);
  EXPECT_EQ(model.handler().skipped_repeats(), 1);
  auto account = LoadAccount(model.store(), "t1", "acct-1");
  EXPECT_EQ(account->invoices(0).fees_assessed(), 1000);
}

TEST(CollectionsProjectionTest, AttentionAndOverdueIndexes) {
  ReadModel model;
  model.Apply(Issued("inv-1", 10000, D(2027, 3, 1)));
  model.Apply(DayClosed("eu", D(2027, 3, 5)), topics::kClock);
  const std::string member = Keys::AccountMember("t1", "acct-1");
  // Overdue and not yet announced: the next close must decide for it.
  EXPECT_TRUE(model.store().ZScore(Keys::Attention("eu"), member)->has_value());
  EXPECT_EQ(*model.store().ZScore(Keys::OverdueByAmount("t1"), "acct-1").value(), 10000);
  // The decisions applied: nothing left to decide.
  v1::Event overdue = Envelope("ov-1");
  overdue.set_causation_id("dayclose:x");
  overdue.mutable_account_overdue()->set_invoice_id("inv-1");
  overdue.mutable_account_overdue()->set_aging_bucket("1-30");
  v1::Event raised = Envelope("ra-1");
  raised.set_causation_id("dayclose:x");
  raised.mutable_dunning_level_raised()->set_invoice_id("inv-1");
  raised.mutable_dunning_level_raised()->set_level(1);
  model.Apply({overdue, raised}, topics::kCollections);
  EXPECT_FALSE(model.store().ZScore(Keys::Attention("eu"), member)->has_value());
  model.Apply(Allocated("p1", "inv-1", 10000, D(2027, 3, 6)), topics::kPayments);
  EXPECT_FALSE(model.store().ZScore(Keys::OverdueByAmount("t1"), "acct-1")->has_value());
  EXPECT_TRUE(model.store().ZRange(Keys::DueIndex("eu"), {})->empty());
}

}  // namespace
}  // namespace ar::collections
