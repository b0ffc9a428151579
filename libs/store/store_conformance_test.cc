// One conformance suite for every Store backend: written once, instantiated for the
// memory store and for the Redis store (against a real redis-server this test starts).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "libs/store/memory_store.h"
#include "libs/store/redis_store.h"
#include "libs/store/store.h"
#include "libs/testing/redis_server.h"

namespace ar::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

struct Backend {
  std::string name;
  // Opens a store whose keys no other test sees.
  std::function<absl::StatusOr<std::unique_ptr<Store>>(const std::string& namespace_name)> open;
};

// One redis-server per test process, started on first use; its destructor kills it at exit.
absl::StatusOr<testing::RedisServer*> SharedRedis() {
  static testing::RedisServer server;
  static const absl::Status started = server.Start();
  if (!started.ok()) return started;
  return &server;
}

std::vector<Backend> Backends() {
  return {
      {"Memory",
       [](const std::string&) -> absl::StatusOr<std::unique_ptr<Store>> {
         return NewMemoryStore();
       }},
      {"Redis",
       [](const std::string& namespace_name) -> absl::StatusOr<std::unique_ptr<Store>> {
         auto redis = SharedRedis();
         if (!redis.ok()) return redis.status();
         RedisStoreOptions options;
         options.host = (*redis)->host();
         options.port = (*redis)->port();
         options.key_prefix = namespace_name;
         return OpenRedisStore(options);
       }},
  };
}

class StoreConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto store = GetParam().open(absl::StrCat(info->test_suite_name(), ".", info->name(), ":"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void MustCommit(const WriteBatch& batch, const std::vector<CheckpointAdvance>& advances = {}) {
    absl::Status status = store_->Commit(batch, advances);
    ASSERT_TRUE(status.ok()) << status;
  }

  std::optional<std::string> MustGet(std::string_view key) {
    auto value = store_->Get(key);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : std::nullopt;
  }

  std::optional<std::string> MustHGet(std::string_view key, std::string_view field) {
    auto value = store_->HGet(key, field);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : std::nullopt;
  }

  std::map<std::string, std::string> MustHGetAll(std::string_view key) {
    auto value = store_->HGetAll(key);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : std::map<std::string, std::string>{};
  }

  std::vector<ScoredMember> MustRange(std::string_view key, RangeOptions range = {}) {
    auto value = store_->ZRange(key, range);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : std::vector<ScoredMember>{};
  }

  std::optional<int64_t> MustZScore(std::string_view key, std::string_view member) {
    auto value = store_->ZScore(key, member);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : std::nullopt;
  }

  std::vector<Checkpoint> MustLoad(std::string_view projection) {
    auto value = store_->LoadCheckpoints(projection);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : std::vector<Checkpoint>{};
  }

  // A state the failing batches below try to change: afterwards it must be exactly this.
  void WriteBaseline() {
    WriteBatch batch;
    batch.Set("text", "original");
    batch.HSet("hash", "name", "original");
    batch.HSet("hash", "count", "5");
    batch.ZAdd("zset", "a", 1);
    batch.ZAdd("zset", "b", 2);
    MustCommit(batch, {{"projection", "topic", 0, 0, 10}});
  }

  void ExpectBaseline() {
    EXPECT_THAT(MustGet("text"), Optional(std::string("original")));
    EXPECT_THAT(MustHGetAll("hash"),
                UnorderedElementsAre(Pair("name", "original"), Pair("count", "5")));
    EXPECT_THAT(MustRange("zset"), ElementsAre(ScoredMember{"a", 1}, ScoredMember{"b", 2}));
    EXPECT_EQ(MustGet("new-key"), std::nullopt);
    EXPECT_THAT(MustLoad("projection"), ElementsAre(Checkpoint{"projection", "topic", 0, 10}));
  }

  // Ops that touch every key of the baseline, to precede a failing op.
  static void ChangeEverything(WriteBatch& batch) {
    batch.Set("text", "changed");
    batch.Set("new-key", "new");
    batch.HSet("hash", "name", "changed");
    batch.HIncrBy("hash", "count", 10);
    batch.HDel("hash", "count");
    batch.ZAdd("zset", "a", 100);
    batch.ZRem("zset", "b");
    batch.ZAdd("zset", "c", 3);
    batch.Del("hash");
  }

  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, StringsSetGetDelete) {
  EXPECT_EQ(MustGet("greeting"), std::nullopt);
  WriteBatch batch;
  batch.Set("greeting", "hello");
  ASSERT_TRUE(store_->Apply(batch).ok());
  EXPECT_THAT(MustGet("greeting"), Optional(std::string("hello")));

  batch.Clear();
  batch.Set("greeting", "hi");
  MustCommit(batch);
  EXPECT_THAT(MustGet("greeting"), Optional(std::string("hi")));

  batch.Clear();
  batch.Del("greeting");
  batch.Del("never-existed");
  MustCommit(batch);
  EXPECT_EQ(MustGet("greeting"), std::nullopt);
}

TEST_P(StoreConformanceTest, HashesSetGetDeleteGetAll) {
  EXPECT_EQ(MustHGet("customer:1", "name"), std::nullopt);
  EXPECT_THAT(MustHGetAll("customer:1"), IsEmpty());
  WriteBatch batch;
  batch.HSet("customer:1", "name", "ACME");
  batch.HSet("customer:1", "region", "EU");
  batch.HSet("customer:1", "region", "US");
  MustCommit(batch);
  EXPECT_THAT(MustHGet("customer:1", "name"), Optional(std::string("ACME")));
  EXPECT_EQ(MustHGet("customer:1", "missing"), std::nullopt);
  EXPECT_THAT(MustHGetAll("customer:1"),
              UnorderedElementsAre(Pair("name", "ACME"), Pair("region", "US")));

  batch.Clear();
  batch.HDel("customer:1", "name");
  batch.HDel("customer:1", "missing");
  batch.HDel("no-such-hash", "field");
  MustCommit(batch);
  EXPECT_THAT(MustHGetAll("customer:1"), UnorderedElementsAre(Pair("region", "US")));

  // Like Redis, a hash whose last field goes is deleted: the key can then take any type.
  batch.Clear();
  batch.HDel("customer:1", "region");
  batch.ZAdd("customer:1", "now-a-zset", 1);
  MustCommit(batch);
  EXPECT_THAT(MustRange("customer:1"), ElementsAre(ScoredMember{"now-a-zset", 1}));
}

TEST_P(StoreConformanceTest, HashIncrements) {
  WriteBatch batch;
  batch.HIncrBy("balance", "EUR", 100);  // a missing field counts from 0
  batch.HIncrBy("balance", "EUR", -250);
  batch.HIncrBy("balance", "USD", -7);
  batch.HSet("balance", "GBP", "41");
  batch.HIncrBy("balance", "GBP", 1);  // sees the HSet before it in the same batch
  MustCommit(batch);
  EXPECT_THAT(MustHGetAll("balance"),
              UnorderedElementsAre(Pair("EUR", "-150"), Pair("USD", "-7"), Pair("GBP", "42")));

  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  batch.Clear();
  batch.HIncrBy("big", "up", kMax - 1);
  batch.HIncrBy("big", "up", 1);
  batch.HIncrBy("big", "down", kMin + 1);
  batch.HIncrBy("big", "down", -1);
  batch.HIncrBy("big", "swing", kMax);
  batch.HIncrBy("big", "swing", kMin);  // exactly -1, no overflow on the way
  MustCommit(batch);
  EXPECT_THAT(MustHGetAll("big"),
              UnorderedElementsAre(Pair("up", std::to_string(kMax)),
                                   Pair("down", std::to_string(kMin)), Pair("swing", "-1")));

  for (int64_t delta : {int64_t{1}, kMax}) {
    batch.Clear();
    batch.Set("untouched", "x");
    batch.HIncrBy("big", "up", delta);
    absl::Status overflow = store_->Commit(batch, {});
    EXPECT_TRUE(absl::IsInvalidArgument(overflow)) << overflow;
  }
  batch.Clear();
  batch.HIncrBy("big", "down", -1);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Commit(batch, {})));
  batch.Clear();
  batch.HIncrBy("big", "fresh", kMax);  // overflow inside one batch
  batch.HIncrBy("big", "fresh", kMax);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Commit(batch, {})));
  EXPECT_EQ(MustGet("untouched"), std::nullopt);
  EXPECT_THAT(MustHGet("big", "up"), Optional(std::to_string(kMax)));
  EXPECT_EQ(MustHGet("big", "fresh"), std::nullopt);
}

TEST_P(StoreConformanceTest, IncrementOfNonIntegerIsRejected) {
  // Redis's integer spelling only: no sign '+', spaces, leading zeros, fractions, or
  // values beyond int64.
  for (const std::string& bad : std::vector<std::string>{
           "abc", "1.5", "+5", " 5", "5 ", "007", "-0", "", "1e3", "9223372036854775808",
           "-9223372036854775809", std::string("1\0", 2)}) {
    WriteBatch batch;
    batch.HSet("h", "f", bad);
    MustCommit(batch);
    batch.Clear();
    batch.Set("marker", "x");
    batch.HIncrBy("h", "f", 1);
    absl::Status status = store_->Commit(batch, {});
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << "value \"" << bad << "\": " << status;
    EXPECT_THAT(MustHGet("h", "f"), Optional(bad));
    EXPECT_EQ(MustGet("marker"), std::nullopt);
  }
  for (const std::string good : {"0", "-5", "9223372036854775806", "-9223372036854775808"}) {
    WriteBatch batch;
    batch.HSet("h", "f", good);
    batch.HIncrBy("h", "f", 1);
    absl::Status status = store_->Commit(batch, {});
    EXPECT_TRUE(status.ok()) << "value \"" << good << "\": " << status;
  }
  // A non-integer written earlier in the same batch is caught too.
  WriteBatch batch;
  batch.HSet("h2", "f", "12");
  batch.HSet("h2", "f", "twelve");
  batch.HIncrBy("h2", "f", 1);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Commit(batch, {})));
  EXPECT_THAT(MustHGetAll("h2"), IsEmpty());
}

TEST_P(StoreConformanceTest, SortedSetsAddUpdateRemoveScoreCount) {
  WriteBatch batch;
  batch.ZAdd("due", "inv-1", 30);
  batch.ZAdd("due", "inv-2", 10);
  batch.ZAdd("due", "inv-3", 20);
  batch.ZAdd("due", "inv-1", 5);  // updates the score
  MustCommit(batch);
  EXPECT_THAT(MustZScore("due", "inv-1"), Optional(int64_t{5}));
  EXPECT_EQ(MustZScore("due", "inv-9"), std::nullopt);
  EXPECT_EQ(MustZScore("no-such-zset", "inv-1"), std::nullopt);
  EXPECT_THAT(MustRange("due"), ElementsAre(ScoredMember{"inv-1", 5}, ScoredMember{"inv-2", 10},
                                            ScoredMember{"inv-3", 20}));
  EXPECT_EQ(*store_->ZCount("due", 5, 10), 2);
  EXPECT_EQ(*store_->ZCount("due", kMinScore, kMaxScore), 3);
  EXPECT_EQ(*store_->ZCount("due", std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::max()),
            3);
  EXPECT_EQ(*store_->ZCount("due", 11, 19), 0);
  EXPECT_EQ(*store_->ZCount("due", 20, 10), 0);
  EXPECT_EQ(*store_->ZCount("no-such-zset", 0, 100), 0);

  batch.Clear();
  batch.ZRem("due", "inv-2");
  batch.ZRem("due", "never-there");
  batch.ZRem("no-such-zset", "x");
  MustCommit(batch);
  EXPECT_THAT(MustRange("due"), ElementsAre(ScoredMember{"inv-1", 5}, ScoredMember{"inv-3", 20}));

  // A sorted set whose last member goes is deleted.
  batch.Clear();
  batch.ZRem("due", "inv-1");
  batch.ZRem("due", "inv-3");
  batch.HSet("due", "now", "a hash");
  MustCommit(batch);
  EXPECT_THAT(MustHGetAll("due"), UnorderedElementsAre(Pair("now", "a hash")));

  // Scores Redis cannot hold exactly (beyond 2^53) are refused, the extremes kept exactly.
  batch.Clear();
  batch.ZAdd("extremes", "min", kMinScore);
  batch.ZAdd("extremes", "max", kMaxScore);
  batch.ZAdd("extremes", "minus-one", -1);
  MustCommit(batch);
  EXPECT_THAT(MustRange("extremes"),
              ElementsAre(ScoredMember{"min", kMinScore}, ScoredMember{"minus-one", -1},
                          ScoredMember{"max", kMaxScore}));
  batch.Clear();
  batch.ZAdd("extremes", "too-big", kMaxScore + 1);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Commit(batch, {})));
  batch.Clear();
  batch.ZAdd("extremes", "too-small", kMinScore - 1);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Commit(batch, {})));
  EXPECT_EQ(*store_->ZCount("extremes", kMinScore, kMaxScore), 3);
}

TEST_P(StoreConformanceTest, RangesByScoreBothDirectionsWithOffsetAndLimit) {
  WriteBatch batch;
  // Ties order by member bytes (unsigned, like memcmp), reversed when descending.
  batch.ZAdd("z", "b", 1);
  batch.ZAdd("z", "a", 1);
  batch.ZAdd("z", std::string("\xff", 1), 1);
  batch.ZAdd("z", std::string("a\0", 2), 1);
  batch.ZAdd("z", "c", 2);
  batch.ZAdd("z", "low", -5);
  batch.ZAdd("z", "high", 9);
  MustCommit(batch);
  const ScoredMember low{"low", -5}, a{"a", 1}, a0{std::string("a\0", 2), 1}, b{"b", 1},
      ff{std::string("\xff", 1), 1}, c{"c", 2}, high{"high", 9};

  EXPECT_THAT(MustRange("z"), ElementsAre(low, a, a0, b, ff, c, high));
  RangeOptions range;
  range.descending = true;
  EXPECT_THAT(MustRange("z", range), ElementsAre(high, c, ff, b, a0, a, low));

  range = {};
  range.min_score = 1;  // bounds are inclusive
  range.max_score = 2;
  EXPECT_THAT(MustRange("z", range), ElementsAre(a, a0, b, ff, c));
  range.offset = 1;
  range.limit = 2;
  EXPECT_THAT(MustRange("z", range), ElementsAre(a0, b));
  range.descending = true;
  EXPECT_THAT(MustRange("z", range), ElementsAre(ff, b));
  range.offset = 4;
  range.limit = 10;
  EXPECT_THAT(MustRange("z", range), ElementsAre(a));
  range.offset = 5;
  EXPECT_THAT(MustRange("z", range), IsEmpty());
  range.offset = 0;
  range.limit = 0;
  EXPECT_THAT(MustRange("z", range), IsEmpty());

  range = {};
  range.min_score = 3;
  range.max_score = 8;
  EXPECT_THAT(MustRange("z", range), IsEmpty());
  range.min_score = 9;
  range.max_score = 1;
  EXPECT_THAT(MustRange("z", range), IsEmpty());
  range.min_score = std::numeric_limits<int64_t>::min();
  range.max_score = std::numeric_limits<int64_t>::max();
  range.descending = true;
  range.limit = 1;
  EXPECT_THAT(MustRange("z", range), ElementsAre(high));
  EXPECT_THAT(MustRange("no-such-zset"), IsEmpty());

  range = {};
  range.offset = -1;
  EXPECT_TRUE(absl::IsInvalidArgument(store_->ZRange("z", range).status()));
}

TEST_P(StoreConformanceTest, DelRemovesAnyType) {
  WriteBatch batch;
  batch.Set("s", "v");
  batch.HSet("h", "f", "v");
  batch.ZAdd("z", "m", 1);
  MustCommit(batch);
  batch.Clear();
  batch.Del("s");
  batch.Del("h");
  batch.Del("z");
  MustCommit(batch);
  EXPECT_EQ(MustGet("s"), std::nullopt);
  EXPECT_THAT(MustHGetAll("h"), IsEmpty());
  EXPECT_THAT(MustRange("z"), IsEmpty());
  // Gone for good: each key can take another type now.
  batch.Clear();
  batch.ZAdd("s", "m", 1);
  batch.Set("h", "v");
  batch.HSet("z", "f", "v");
  MustCommit(batch);
}

TEST_P(StoreConformanceTest, CommitAppliesOpsInOrder) {
  WriteBatch batch;
  batch.Set("set-then-del", "v");
  batch.Del("set-then-del");
  batch.Del("del-then-set");
  batch.Set("del-then-set", "v");
  batch.HSet("h", "old", "1");
  batch.Del("h");
  batch.HSet("h", "new", "2");
  batch.Set("retyped", "text");
  batch.Del("retyped");
  batch.ZAdd("retyped", "m", 7);
  batch.HSet("emptied", "only", "1");
  batch.HDel("emptied", "only");
  batch.ZAdd("emptied", "m", 1);
  batch.ZAdd("z", "m", 1);
  batch.ZRem("z", "m");
  batch.ZAdd("z", "m", 2);
  MustCommit(batch);
  EXPECT_EQ(MustGet("set-then-del"), std::nullopt);
  EXPECT_THAT(MustGet("del-then-set"), Optional(std::string("v")));
  EXPECT_THAT(MustHGetAll("h"), UnorderedElementsAre(Pair("new", "2")));
  EXPECT_THAT(MustRange("retyped"), ElementsAre(ScoredMember{"m", 7}));
  EXPECT_THAT(MustRange("emptied"), ElementsAre(ScoredMember{"m", 1}));
  EXPECT_THAT(MustZScore("z", "m"), Optional(int64_t{2}));
}

TEST_P(StoreConformanceTest, WrongTypeIsRejectedWithNothingApplied) {
  WriteBaseline();
  const std::vector<std::function<void(WriteBatch&)>> failing_ops = {
      [](WriteBatch& b) { b.HSet("text", "f", "v"); },
      [](WriteBatch& b) { b.HIncrBy("zset", "f", 1); },
      [](WriteBatch& b) { b.HDel("text", "f"); },
      [](WriteBatch& b) { b.ZAdd("hash-2", "m", 1); },
      [](WriteBatch& b) { b.ZRem("text", "m"); },
      // Order matters: SET makes a string, on which HSET then fails.
      [](WriteBatch& b) {
        b.Set("fresh", "v");
        b.HSet("fresh", "f", "v");
      },
      // A hash that only loses some of its fields is still a hash.
      [](WriteBatch& b) {
        b.HSet("hash-2", "extra", "v");
        b.HDel("hash-2", "f");
        b.ZAdd("hash-2", "m", 1);
      },
  };
  WriteBatch setup;
  setup.HSet("hash-2", "f", "v");
  MustCommit(setup);
  for (size_t i = 0; i < failing_ops.size(); ++i) {
    WriteBatch batch;
    ChangeEverything(batch);
    failing_ops[i](batch);
    absl::Status status = store_->Commit(batch, {{"projection", "topic", 0, 10, 20}});
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << "case " << i << ": " << status;
    ExpectBaseline();
    EXPECT_THAT(MustHGetAll("hash-2"), UnorderedElementsAre(Pair("f", "v")));
    EXPECT_EQ(MustGet("fresh"), std::nullopt);
  }
  // Reads of a key of another type fail the same way.
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Get("hash").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->HGet("text", "f").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->HGetAll("zset").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->ZRange("hash", {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->ZCount("text", 0, 1).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->ZScore("hash", "m").status()));
}

TEST_P(StoreConformanceTest, InvalidIncrementLeavesNoTraceOfALargeBatch) {
  WriteBaseline();
  WriteBatch batch;
  for (int i = 0; i < 3000; ++i) {
    batch.HIncrBy(absl::StrCat("acct:", i % 100), "balance", i);
    batch.ZAdd("zset", absl::StrCat("m", i), i);
    batch.Set(absl::StrCat("new:", i), "v");
  }
  ChangeEverything(batch);
  batch.HSet("bad", "f", "not a number");
  batch.HIncrBy("bad", "f", 1);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Commit(batch, {{"projection", "topic", 0, 10, 20}})));
  ExpectBaseline();
  EXPECT_THAT(MustHGetAll("acct:7"), IsEmpty());
  EXPECT_EQ(MustGet("new:5"), std::nullopt);
  EXPECT_THAT(MustHGetAll("bad"), IsEmpty());
}

TEST_P(StoreConformanceTest, CheckpointsSaveLoadAndFence) {
  EXPECT_THAT(MustLoad("invoicing"), IsEmpty());
  WriteBatch batch;
  batch.Set("k", "1");
  MustCommit(batch, {{"invoicing", "ar.invoicing.events", 0, 0, 10},
                     {"invoicing", "ar.invoicing.events", 3, 0, 7},
                     {"invoicing", "topic:with:colons", 2, 0, 1},
                     {"payments", "ar.invoicing.events", 0, 0, 99}});
  EXPECT_THAT(MustLoad("invoicing"),
              ElementsAre(Checkpoint{"invoicing", "ar.invoicing.events", 0, 10},
                          Checkpoint{"invoicing", "ar.invoicing.events", 3, 7},
                          Checkpoint{"invoicing", "topic:with:colons", 2, 1}));
  EXPECT_THAT(MustLoad("payments"),
              ElementsAre(Checkpoint{"payments", "ar.invoicing.events", 0, 99}));

  // A stale writer (expects 0, but 10 is stored) changes nothing, not even the other
  // checkpoints of its call.
  batch.Clear();
  batch.Set("k", "stale");
  batch.Set("stale-only", "x");
  absl::Status fenced = store_->Commit(batch, {{"invoicing", "ar.invoicing.events", 3, 7, 8},
                                               {"invoicing", "ar.invoicing.events", 0, 0, 5}});
  EXPECT_TRUE(absl::IsAborted(fenced)) << fenced;
  EXPECT_THAT(MustGet("k"), Optional(std::string("1")));
  EXPECT_EQ(MustGet("stale-only"), std::nullopt);
  EXPECT_THAT(MustLoad("invoicing"),
              ElementsAre(Checkpoint{"invoicing", "ar.invoicing.events", 0, 10},
                          Checkpoint{"invoicing", "ar.invoicing.events", 3, 7},
                          Checkpoint{"invoicing", "topic:with:colons", 2, 1}));
  // A partition never stored counts as 0.
  EXPECT_TRUE(
      absl::IsAborted(store_->Commit(batch, {{"invoicing", "ar.invoicing.events", 1, 5, 6}})));

  // The current writer moves on; a checkpoint-only commit works too.
  batch.Clear();
  batch.Set("k", "2");
  MustCommit(batch, {{"invoicing", "ar.invoicing.events", 0, 10, 25}});
  MustCommit(WriteBatch(), {{"invoicing", "ar.invoicing.events", 1, 0, 4}});
  EXPECT_THAT(MustGet("k"), Optional(std::string("2")));
  EXPECT_THAT(MustLoad("invoicing"),
              ElementsAre(Checkpoint{"invoicing", "ar.invoicing.events", 0, 25},
                          Checkpoint{"invoicing", "ar.invoicing.events", 1, 4},
                          Checkpoint{"invoicing", "ar.invoicing.events", 3, 7},
                          Checkpoint{"invoicing", "topic:with:colons", 2, 1}));
}

TEST_P(StoreConformanceTest, ConcurrentCommittersWithFencingApplyEachOffsetOnce) {
  // Every thread tries to apply every offset, each claiming it with the checkpoint's
  // expected value. Exactly one commit per offset may win; every other attempt must be
  // ABORTED with nothing applied. (Whoever applies offset k tries k + 1 next, so no
  // offset is left unclaimed.)
  constexpr int kThreads = 6;
  constexpr int64_t kTarget = 300;
  std::atomic<int> wins{0}, aborted{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t at = 0; at < kTarget; ++at) {
        WriteBatch batch;
        batch.HIncrBy("counter", "applied", 1);
        batch.HSet("owners", std::to_string(at), std::to_string(t));
        absl::Status status = store_->Commit(batch, {{"race", "topic", 0, at, at + 1}});
        if (status.ok()) {
          ++wins;
        } else if (absl::IsAborted(status)) {
          ++aborted;
        } else {
          ++failures;
          ADD_FAILURE() << status;
          return;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(wins.load(), kTarget);
  EXPECT_EQ(aborted.load(), (kThreads - 1) * kTarget);
  EXPECT_THAT(MustHGet("counter", "applied"), Optional(std::to_string(kTarget)));
  EXPECT_EQ(MustHGetAll("owners").size(), static_cast<size_t>(kTarget));
  EXPECT_THAT(MustLoad("race"), ElementsAre(Checkpoint{"race", "topic", 0, kTarget}));
}

TEST_P(StoreConformanceTest, EmptyHugeAndBinaryDataRoundTrip) {
  const std::string binary("\0a\r\n\0\xff$*-:", 11);
  std::string huge(8 << 20, '\0');
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = static_cast<char>((i * 131) % 256);
  WriteBatch batch;
  batch.Set("", "empty key");
  batch.Set("empty-value", "");
  batch.Set(binary, binary);
  batch.Set("huge", huge);
  batch.HSet(binary + "h", binary, binary);
  batch.HSet("h", "", "");
  batch.ZAdd(binary + "z", binary, -3);
  batch.ZAdd(binary + "z", "", 4);
  MustCommit(batch, {{binary, binary, 7, 0, 1}});
  EXPECT_THAT(MustGet(""), Optional(std::string("empty key")));
  EXPECT_THAT(MustGet("empty-value"), Optional(std::string()));
  EXPECT_THAT(MustGet(binary), Optional(binary));
  auto big = store_->Get("huge");
  ASSERT_TRUE(big.ok()) << big.status();
  ASSERT_TRUE(big->has_value());
  EXPECT_EQ(big->value().size(), huge.size());
  EXPECT_TRUE(big->value() == huge);
  EXPECT_THAT(MustHGetAll(binary + "h"), UnorderedElementsAre(Pair(binary, binary)));
  EXPECT_THAT(MustHGetAll("h"), UnorderedElementsAre(Pair("", "")));
  EXPECT_THAT(MustRange(binary + "z"), ElementsAre(ScoredMember{binary, -3}, ScoredMember{"", 4}));
  EXPECT_THAT(MustZScore(binary + "z", binary), Optional(int64_t{-3}));
  EXPECT_THAT(MustLoad(binary), ElementsAre(Checkpoint{binary, binary, 7, 1}));
}

TEST_P(StoreConformanceTest, LargeBatchAppliesWhole) {
  WriteBatch batch;
  constexpr int kEvents = 20000;
  for (int i = 0; i < kEvents; ++i) {
    const std::string account = absl::StrCat("account:", i % 500);
    batch.HIncrBy(account, "open", 100);
    batch.HSet(absl::StrCat("invoice:", i), "status", "open");
    batch.ZAdd("due-index", absl::StrCat("invoice:", i), i % 365);
  }
  MustCommit(batch, {{"bulk", "t", 0, 0, kEvents}});
  EXPECT_THAT(MustHGet("account:499", "open"), Optional(std::string("4000")));
  EXPECT_THAT(MustHGet("invoice:19999", "status"), Optional(std::string("open")));
  EXPECT_EQ(*store_->ZCount("due-index", kMinScore, kMaxScore), kEvents);
  EXPECT_THAT(MustLoad("bulk"), ElementsAre(Checkpoint{"bulk", "t", 0, kEvents}));
}

TEST_P(StoreConformanceTest, CommitTakingValuesAppliesLikeCommit) {
  WriteBatch setup;
  setup.Set("replaced", "short");
  setup.Set("retyped", "text");
  setup.HSet("hash", "kept", "1");
  setup.HSet("hash", "replaced", "old");
  MustCommit(setup);
  // Values longer than any small-string buffer, so a moved value is really taken.
  const std::string long_value(1000, 'x');
  WriteBatch batch;
  batch.Set("new", long_value + "new");
  batch.Set("replaced", long_value + "replaced");
  batch.Del("retyped");
  batch.Set("retyped", long_value + "retyped");
  batch.HSet("hash", "replaced", long_value + "field");
  batch.HSet("hash", "added", "small");
  batch.ZAdd("zset", "m", 1);
  ASSERT_TRUE(store_->CommitTakingValues(batch, {{"projection", "topic", 0, 0, 5}}).ok());
  // The store holds its own values: the batch reused with other ones changes nothing.
  batch.Clear();
  batch.Set("other", long_value + "other");
  ASSERT_TRUE(store_->CommitTakingValues(batch, {{"projection", "topic", 0, 5, 6}}).ok());
  EXPECT_THAT(MustGet("new"), Optional(long_value + "new"));
  EXPECT_THAT(MustGet("replaced"), Optional(long_value + "replaced"));
  EXPECT_THAT(MustGet("retyped"), Optional(long_value + "retyped"));
  EXPECT_THAT(MustGet("other"), Optional(long_value + "other"));
  EXPECT_THAT(MustHGetAll("hash"),
              UnorderedElementsAre(Pair("kept", "1"), Pair("replaced", long_value + "field"),
                                   Pair("added", "small")));
  EXPECT_THAT(MustZScore("zset", "m"), Optional(int64_t{1}));
  EXPECT_THAT(MustLoad("projection"), ElementsAre(Checkpoint{"projection", "topic", 0, 6}));
}

TEST_P(StoreConformanceTest, CommitTakingValuesThatFailsLeavesNoTrace) {
  WriteBaseline();
  const std::string long_value(1000, 'y');
  WriteBatch batch;
  ChangeEverything(batch);
  batch.Set("text", long_value);
  batch.HSet("hash", "name", long_value);
  batch.Set("fresh", long_value);
  batch.HSet("fresh", "f", "v");  // WRONGTYPE: the whole batch goes
  EXPECT_TRUE(absl::IsInvalidArgument(
      store_->CommitTakingValues(batch, {{"projection", "topic", 0, 10, 20}})));
  ExpectBaseline();
  EXPECT_EQ(MustGet("fresh"), std::nullopt);
  // A fenced one changes nothing either.
  batch.Clear();
  batch.Set("text", long_value);
  EXPECT_TRUE(
      absl::IsAborted(store_->CommitTakingValues(batch, {{"projection", "topic", 0, 0, 20}})));
  ExpectBaseline();
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace ar::store
