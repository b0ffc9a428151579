#include "libs/projection/projection.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "libs/eventlog/embedded_log.h"
#include "libs/projection/counting_handler.h"
#include "libs/store/memory_store.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"

namespace ar::projection {
namespace {

constexpr char kTopic[] = "ar.test.events";

class ProjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eventlog::EmbeddedLogOptions options;
    options.data_dir = dir_.path();
    auto log = eventlog::OpenEmbeddedLog(options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    ASSERT_TRUE(log_->CreateTopic({kTopic, 4}).ok());
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    store_ = store::NewMemoryStore();
  }

  eventlog::LogPosition Append(const std::string& key, const std::string& value) {
    auto position = producer_->AppendAndWait(kTopic, key, value);
    EXPECT_TRUE(position.ok()) << position.status();
    return position.ok() ? *position : eventlog::LogPosition{};
  }

  // Appends `records` records of `events_per_record` events spread over `accounts`
  // accounts; returns the expected count per account.
  std::map<std::string, int64_t> AppendCountingRecords(int records, int events_per_record,
                                                       int accounts) {
    std::map<std::string, int64_t> expected;
    for (int i = 0; i < records; ++i) {
      std::string account = "acct-" + std::to_string(i % accounts);
      Append(account, MakeCountingRecord(account, events_per_record, i));
      expected[account] += events_per_record;
    }
    return expected;
  }

  std::map<std::string, int64_t> Counts() {
    auto all = store_->HGetAll(CountingHandler::kCountsKey);
    EXPECT_TRUE(all.ok()) << all.status();
    std::map<std::string, int64_t> counts;
    if (all.ok()) {
      for (const auto& [account, value] : *all) counts[account] = std::stoll(value);
    }
    return counts;
  }

  ProjectionOptions Options(bool group = false) {
    ProjectionOptions options;
    options.name = "counting";
    options.topics = {kTopic};
    options.use_consumer_group = group;
    options.max_records_per_batch = 50;
    options.poll_timeout = absl::Milliseconds(20);
    return options;
  }

  std::vector<v1::DeadLetter> ReadDeadLetters(size_t expected) {
    std::vector<v1::DeadLetter> letters;
    auto consumer = log_->NewConsumer({});
    EXPECT_TRUE(consumer.ok());
    if (!consumer.ok()) return letters;
    EXPECT_TRUE((*consumer)->Assign({{"ar.deadletter", 0, eventlog::kOffsetBeginning}}).ok());
    ar::testing::WaitFor(
        [&] {
          auto records = (*consumer)->Poll(100, absl::Milliseconds(50));
          if (records.ok()) {
            for (const auto& r : *records) {
              v1::DeadLetter letter;
              EXPECT_TRUE(letter.ParseFromString(r.value));
              letters.push_back(letter);
            }
          }
          return letters.size() >= expected;
        },
        absl::Seconds(20));
    return letters;
  }

  ar::testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<eventlog::Producer> producer_;
  std::unique_ptr<store::Store> store_;
  CountingHandler handler_;
};

TEST_F(ProjectionTest, CountsEveryEventExactlyOnce) {
  auto expected = AppendCountingRecords(500, 3, 17);
  ProjectionRunner runner(*log_, *store_, handler_, Options());
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(ar::testing::WaitFor([&] { return runner.stats().records == 500; }));
  EXPECT_EQ(Counts(), expected);
  EXPECT_EQ(runner.stats().events_applied, 1500);
  auto checkpoints = store_->LoadCheckpoints("counting");
  ASSERT_TRUE(checkpoints.ok());
  int64_t total = 0;
  for (const auto& c : *checkpoints) total += c.next_offset;
  EXPECT_EQ(total, 500);
}

TEST_F(ProjectionTest, ResumesFromStoreCheckpointAfterRestart) {
  auto expected = AppendCountingRecords(200, 2, 5);
  {
    ProjectionRunner runner(*log_, *store_, handler_, Options());
    ASSERT_TRUE(runner.Start().ok());
    ASSERT_TRUE(ar::testing::WaitFor([&] { return runner.stats().records == 200; }));
  }
  auto more = AppendCountingRecords(100, 1, 5);
  for (const auto& [account, n] : more) expected[account] += n;
  ProjectionRunner runner(*log_, *store_, handler_, Options());
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(ar::testing::WaitFor([&] { return runner.stats().records == 100; }));
  EXPECT_EQ(Counts(), expected);
}

TEST_F(ProjectionTest, GroupModeCountsExactlyOnceAcrossTwoReplicas) {
  auto expected = AppendCountingRecords(400, 1, 9);
  ProjectionRunner a(*log_, *store_, handler_, Options(/*group=*/true));
  CountingHandler handler_b;
  ProjectionRunner b(*log_, *store_, handler_b, Options(/*group=*/true));
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(ar::testing::WaitFor([&] { return Counts() == expected; }));
  a.Stop();
  auto more = AppendCountingRecords(100, 1, 9);
  for (const auto& [account, n] : more) expected[account] += n;
  ASSERT_TRUE(ar::testing::WaitFor([&] { return Counts() == expected; }))
      << "the survivor must take over the stopped replica's partitions";
}

TEST_F(ProjectionTest, StaleWriterIsFencedAndNothingIsCountedTwice) {
  // Two runners reading the same partitions into one store, stepped by hand: B polls the
  // records A has just committed, but its commit names the checkpoint it started from, so
  // the store refuses it (ABORTED); B rewinds to the store's checkpoint and goes on.
  auto expected = AppendCountingRecords(300, 1, 7);
  CountingHandler handler_b;
  ProjectionOptions options = Options();
  options.topics = {kTopic};
  ProjectionRunner a(*log_, *store_, handler_, options);
  ProjectionRunner b(*log_, *store_, handler_b, options);
  ASSERT_TRUE(a.Open().ok());
  ASSERT_TRUE(b.Open().ok());
  auto first = a.RunOnce();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_GT(*first, 0);
  auto fenced = b.RunOnce();
  EXPECT_TRUE(absl::IsAborted(fenced.status())) << fenced.status();
  EXPECT_EQ(b.stats().failed_commits, 1);
  ASSERT_TRUE(ar::testing::WaitFor([&] {
    auto ran_a = a.RunOnce();
    auto ran_b = b.RunOnce();
    return a.stats().records + b.stats().records == 300;
  }));
  EXPECT_EQ(Counts(), expected);
}

TEST_F(ProjectionTest, PoisonAndUndecodableRecordsGoToDeadLetterTopic) {
  Append("acct-1", MakeCountingRecord("acct-1", 2, 1));
  Append("poison", MakeCountingRecord(CountingHandler::kPoisonAccount, 1, 2));
  Append("junk", std::string("\xff\xff\xff not a protobuf", 19));
  Append("acct-1", MakeCountingRecord("acct-1", 1, 3));
  ProjectionRunner runner(*log_, *store_, handler_, Options());
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(ar::testing::WaitFor([&] { return runner.stats().records == 4; }));
  EXPECT_EQ(Counts(), (std::map<std::string, int64_t>{{"acct-1", 3}}));
  EXPECT_EQ(runner.stats().dead_lettered, 2);

  auto letters = ReadDeadLetters(2);
  ASSERT_EQ(letters.size(), 2u);
  std::map<std::string, v1::DeadLetter> by_key;
  for (const auto& l : letters) by_key[l.key()] = l;
  ASSERT_TRUE(by_key.count("poison"));
  EXPECT_NE(by_key["poison"].reason().find("refused by the counting handler"), std::string::npos)
      << by_key["poison"].reason();
  EXPECT_EQ(by_key["poison"].source_topic(), kTopic);
  EXPECT_EQ(by_key["poison"].rejected_by(), "counting");
  ASSERT_TRUE(by_key.count("junk"));
  EXPECT_NE(by_key["junk"].reason().find("undecodable"), std::string::npos);
  EXPECT_EQ(by_key["junk"].value(), std::string("\xff\xff\xff not a protobuf", 19));
}

TEST_F(ProjectionTest, RunnersSharingDecodesDecodeEachRecordOnceAndCountEverything) {
  auto expected = AppendCountingRecords(300, 2, 11);
  Append("poison", MakeCountingRecord(CountingHandler::kPoisonAccount, 1, 300));
  Append("junk", std::string("\xff\xff\xff not a protobuf", 19));
  auto shared = std::make_shared<SharedDecodes>(/*readers=*/2);
  ProjectionOptions options_a = Options();
  options_a.shared_decodes = shared;
  ProjectionOptions options_b = options_a;
  options_b.name = "counting-b";
  CountingHandler handler_b;
  ProjectionRunner a(*log_, *store_, handler_, options_a);
  ProjectionRunner b(*log_, *store_, handler_b, options_b);
  ASSERT_TRUE(a.Open().ok());
  ASSERT_TRUE(b.Open().ok());
  ASSERT_TRUE(ar::testing::WaitFor([&] {
    EXPECT_TRUE(a.RunOnce().ok());
    EXPECT_TRUE(b.RunOnce().ok());
    return a.stats().records == 302 && b.stats().records == 302;
  }));
  // Both counted into the same hash: twice each event, and neither took the poison.
  for (auto& [account, n] : expected) n *= 2;
  EXPECT_EQ(Counts(), expected);
  EXPECT_EQ(a.stats().dead_lettered, 2);
  EXPECT_EQ(b.stats().dead_lettered, 2);
  EXPECT_EQ(shared->decoded(), 301);  // every decodable record once
}

TEST(SharedDecodesTest, ForgetsARecordOnceEveryReaderTookItAndBoundsWhatItHolds) {
  eventlog::Record record;
  record.topic = "t";
  record.value = MakeCountingRecord("acct", 1, 0);
  SharedDecodes decodes(/*readers=*/2, /*max_records=*/3);
  auto first = decodes.Decode(record);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->events_size(), 1);
  EXPECT_EQ(decodes.Decode(record), first);  // the second reader takes the same decoding
  EXPECT_NE(decodes.Decode(record), first);  // then it is gone: decoded again
  EXPECT_EQ(decodes.decoded(), 2);
  // Records one reader never asks for are dropped beyond max_records.
  for (int64_t offset = 1; offset <= 5; ++offset) {
    record.offset = offset;
    ASSERT_NE(decodes.Decode(record), nullptr);
  }
  record.offset = 1;
  decodes.Decode(record);
  EXPECT_EQ(decodes.decoded(), 8);  // offset 1 was dropped, so decoded again
  record.offset = 5;
  decodes.Decode(record);
  EXPECT_EQ(decodes.decoded(), 8);  // offset 5 was still held
  record.value = "\xff\xff";
  record.offset = 9;
  EXPECT_EQ(decodes.Decode(record), nullptr);
}

TEST_F(ProjectionTest, RejectedRecordLeavesNoPartialWrites) {
  // One record with a good event followed by a poison one: the good event's write must
  // not survive, since the events of one command land together or not at all.
  v1::EventBatch mixed;
  mixed.ParseFromString(MakeCountingRecord("acct-9", 1, 1));
  v1::EventBatch poison;
  poison.ParseFromString(MakeCountingRecord(CountingHandler::kPoisonAccount, 1, 2));
  *mixed.add_events() = poison.events(0);
  Append("acct-9", mixed.SerializeAsString());
  ProjectionRunner runner(*log_, *store_, handler_, Options());
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(ar::testing::WaitFor([&] { return runner.stats().records == 1; }));
  EXPECT_TRUE(Counts().empty());
  EXPECT_EQ(runner.stats().dead_lettered, 1);
}

TEST_F(ProjectionTest, UnknownEventBodiesAreCountedAndSkipped) {
  v1::EventBatch batch;
  batch.ParseFromString(MakeCountingRecord("acct-2", 1, 1));
  v1::Event* future = batch.add_events();
  future->set_event_id("from-a-newer-producer");
  future->set_account("acct-2");
  // A body tag this build does not know, as a newer producer would write it.
  future->GetReflection()->MutableUnknownFields(future)->AddLengthDelimited(999, "new body");
  Append("acct-2", batch.SerializeAsString());
  ProjectionRunner runner(*log_, *store_, handler_, Options());
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(ar::testing::WaitFor([&] { return runner.stats().records == 1; }));
  EXPECT_EQ(runner.stats().unknown_events, 1);
  EXPECT_EQ(runner.stats().dead_lettered, 0);
  EXPECT_EQ(Counts(), (std::map<std::string, int64_t>{{"acct-2", 1}}));
}

TEST_F(ProjectionTest, WaitForPositionReturnsOnceTheRecordIsCommitted) {
  ProjectionRunner runner(*log_, *store_, handler_, Options());
  ASSERT_TRUE(runner.Start().ok());
  eventlog::LogPosition position = Append("acct-3", MakeCountingRecord("acct-3", 1, 1));
  ASSERT_TRUE(runner.WaitForPosition(position, absl::Seconds(20)));
  EXPECT_EQ(Counts()["acct-3"], 1);
  eventlog::LogPosition later = position;
  later.offset += 1000;
  EXPECT_FALSE(runner.WaitForPosition(later, absl::Milliseconds(50)));
}

// A handler whose dependency is not ready for account "late" until `ready` is set.
class NotReadyYetHandler : public CountingHandler {
 public:
  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override {
    if (event.account() == "late" && !ready) return absl::UnavailableError("not ready yet");
    return CountingHandler::Apply(event, source, batch);
  }
  bool ready = false;
};

TEST_F(ProjectionTest, UnavailableFromTheHandlerRetriesInsteadOfDeadLettering) {
  Append("early", MakeCountingRecord("early", 2, 0));
  const eventlog::LogPosition late = Append("late", MakeCountingRecord("late", 3, 1));
  NotReadyYetHandler handler;
  ProjectionRunner runner(*log_, *store_, handler, Options());
  ASSERT_TRUE(runner.Open().ok());
  // Until the dependency is ready, the record is retried: never dead-lettered, never
  // counted, and what came before it is committed.
  for (int i = 0; i < 3; ++i) {
    auto ran = runner.RunOnce();
    if (!ran.ok()) {
      EXPECT_TRUE(absl::IsUnavailable(ran.status())) << ran.status();
    }
  }
  EXPECT_FALSE(runner.WaitForPosition(late, absl::Milliseconds(1)));
  EXPECT_EQ(runner.stats().dead_lettered, 0);
  EXPECT_EQ(Counts().count("late"), 0u);
  handler.ready = true;
  ASSERT_TRUE(ar::testing::WaitFor([&] {
    runner.RunOnce().IgnoreError();
    return runner.WaitForPosition(late, absl::Milliseconds(1));
  }));
  EXPECT_EQ(Counts(), (std::map<std::string, int64_t>{{"early", 2}, {"late", 3}}));
  EXPECT_EQ(runner.stats().dead_lettered, 0);
}

// Counts like CountingHandler, but keeps the counts of the batch in memory and writes them
// in BeforeCommit, with nothing kept to undo a rejected record with (like a handler that
// changes cached states in place): the runner must start the batch again instead.
class DeferringCountingHandler : public Handler {
 public:
  absl::Status Apply(const v1::Event& event, const eventlog::Record&, store::WriteBatch&) override {
    if (event.account() == "late" && !ready) return absl::UnavailableError("not ready yet");
    if (event.account() == CountingHandler::kPoisonAccount) {
      return absl::FailedPreconditionError("account 'poison' is refused");
    }
    ++pending_[event.account()];
    return absl::OkStatus();
  }
  bool UndoesRejectedRecords() const override { return false; }
  void BeforeCommit(store::WriteBatch& batch) override {
    for (const auto& [account, count] : pending_) {
      batch.HIncrBy(CountingHandler::kCountsKey, account, count);
    }
    pending_.clear();
  }
  void Discard() override {
    pending_.clear();
    ++discards;
  }
  void Committed() override { pending_.clear(); }

  bool ready = false;
  int discards = 0;

 private:
  std::map<std::string, int64_t> pending_;
};

TEST_F(ProjectionTest, HandlerThatCannotUndoHasItsBatchAppliedAgainAfterARejection) {
  // In one batch: counted events, then a record whose good event is followed by a poison
  // one (its good event is already in the handler's pending counts), then more.
  Append("acct-1", MakeCountingRecord("acct-1", 2, 1));
  v1::EventBatch mixed;
  mixed.ParseFromString(MakeCountingRecord("acct-9", 1, 2));
  v1::EventBatch poison;
  poison.ParseFromString(MakeCountingRecord(CountingHandler::kPoisonAccount, 1, 3));
  *mixed.add_events() = poison.events(0);
  Append("acct-1", mixed.SerializeAsString());
  Append("acct-1", MakeCountingRecord("acct-1", 1, 4));
  DeferringCountingHandler handler;
  ProjectionRunner runner(*log_, *store_, handler, Options());
  ASSERT_TRUE(runner.Open().ok());
  ASSERT_TRUE(ar::testing::WaitFor([&] {
    runner.RunOnce().IgnoreError();
    return runner.stats().records == 3;
  }));
  EXPECT_EQ(Counts(), (std::map<std::string, int64_t>{{"acct-1", 3}}));
  EXPECT_EQ(runner.stats().dead_lettered, 1);
  EXPECT_EQ(runner.stats().events_applied, 3);
  EXPECT_GE(handler.discards, 1);
}

TEST_F(ProjectionTest, HandlerThatCannotUndoCommitsWhatCameBeforeAnUnavailableRecord) {
  Append("early", MakeCountingRecord("early", 2, 0));
  v1::EventBatch mixed;
  mixed.ParseFromString(MakeCountingRecord("early", 1, 1));
  v1::EventBatch late;
  late.ParseFromString(MakeCountingRecord("late", 3, 2));
  for (const v1::Event& event : late.events()) *mixed.add_events() = event;
  const eventlog::LogPosition position = Append("early", mixed.SerializeAsString());
  DeferringCountingHandler handler;
  ProjectionRunner runner(*log_, *store_, handler, Options());
  ASSERT_TRUE(runner.Open().ok());
  for (int i = 0; i < 3; ++i) runner.RunOnce().IgnoreError();
  // The record's first event was counted in memory before the second was refused: only
  // the record before it may be committed.
  EXPECT_EQ(Counts(), (std::map<std::string, int64_t>{{"early", 2}}));
  EXPECT_FALSE(runner.WaitForPosition(position, absl::Milliseconds(1)));
  handler.ready = true;
  ASSERT_TRUE(ar::testing::WaitFor([&] {
    runner.RunOnce().IgnoreError();
    return runner.WaitForPosition(position, absl::Milliseconds(1));
  }));
  EXPECT_EQ(Counts(), (std::map<std::string, int64_t>{{"early", 3}, {"late", 3}}));
  EXPECT_EQ(runner.stats().dead_lettered, 0);
}

}  // namespace
}  // namespace ar::projection
