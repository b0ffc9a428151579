// Embedded-backend specifics the conformance suite cannot express: crash durability with
// a SIGKILLed child, clear errors for bad data directories, the directory lock, the
// in-process group hand-over, prompt wake-ups. Also the murmur2 partitioner, checked
// against the reference vectors and against librdkafka itself.

#include "libs/eventlog/embedded_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/eventlog/eventlog.h"
#include "libs/testing/child_process.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"

namespace ar::eventlog {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------
// PartitionForKey

// With partition_count = 2^31 - 1 the partition is the sign-cleared hash itself (except
// for the one hash equal to it), which exposes the raw murmur2 value.
int64_t MaskedHash(std::string_view key) {
  return PartitionForKey(key, std::numeric_limits<int32_t>::max());
}

TEST(PartitionForKeyTest, MatchesKafkasMurmur2ReferenceVectors) {
  // From librdkafka's rdmurmur2.c unit test, which checks them against the Java client.
  const std::vector<std::pair<std::string, uint32_t>> vectors = {
      {"kafka", 0xd067cf64},
      {"giberish123456789", 0x8f552b0c},
      {"1234", 0x9fc97b14},
      {"234", 0xe7c009ca},
      {"34", 0x873930da},
      {"4", 0x5a4b5ca1},
      {"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1c},
      {"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377},
      {"eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09e},
      {"AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43f},
      {"", 0x106e08d9},
  };
  for (const auto& [key, hash] : vectors) {
    EXPECT_EQ(MaskedHash(key), static_cast<int64_t>(hash & 0x7fffffff)) << "key \"" << key << "\"";
  }
  // And the older vectors of the same test (decimal, as the Java client prints them).
  EXPECT_EQ(MaskedHash("amqp"), 767747138);
}

TEST(PartitionForKeyTest, AgreesWithLibrdkafkasMurmur2Partitioner) {
  std::mt19937 random(42);
  for (int i = 0; i < 20000; ++i) {
    std::string key(random() % 64, '\0');
    for (char& c : key) c = static_cast<char>(random());
    const int32_t partitions = 1 + static_cast<int32_t>(random() % 100);
    const int32_t expected = rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(),
                                                              partitions, nullptr, nullptr);
    ASSERT_EQ(PartitionForKey(key, partitions), expected) << "key of " << key.size() << " bytes";
  }
}

TEST(PartitionForKeyTest, NonsensePartitionCountsDoNotCrash) {
  EXPECT_EQ(PartitionForKey("anything", 0), 0);
  EXPECT_EQ(PartitionForKey("anything", -3), 0);
  EXPECT_EQ(PartitionForKey("anything", 1), 0);
}

// ---------------------------------------------------------------------------------------
// Opening

absl::StatusOr<std::unique_ptr<EventLog>> Open(const std::string& dir, bool create = true) {
  EmbeddedLogOptions options;
  options.data_dir = dir;
  options.create_if_missing = create;
  return OpenEmbeddedLog(options);
}

TEST(EmbeddedLogOpenTest, MissingDirectoryIsNotFoundUnlessAskedToCreateIt) {
  testing::TempDir dir;
  const std::string missing = dir.Join("not/there");
  auto refused = Open(missing, /*create=*/false);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr(missing));
  EXPECT_FALSE(std::filesystem::exists(missing));

  auto created = Open(missing, /*create=*/true);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(std::filesystem::is_directory(missing));
}

TEST(EmbeddedLogOpenTest, EmptyDataDirAndAFileInsteadOfADirectoryAreRejected) {
  EXPECT_EQ(Open("").status().code(), absl::StatusCode::kInvalidArgument);
  testing::TempDir dir;
  const std::string file = dir.Join("plain-file");
  std::ofstream(file) << "not a directory";
  auto opened = Open(file);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition) << opened.status();
}

TEST(EmbeddedLogOpenTest, ASecondOpenOfTheSameDirectoryFailsUntilTheFirstCloses) {
  testing::TempDir dir;
  auto first = Open(dir.path());
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Open(dir.path());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr("already open"));
  first->reset();
  auto third = Open(dir.path());
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(EmbeddedLogOpenTest, GarbageInsteadOfADatabaseIsDataLoss) {
  testing::TempDir dir;
  std::mt19937 random(1);
  std::string garbage(64 * 1024, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  std::ofstream(EmbeddedLogDatabasePath(dir.path()), std::ios::binary) << garbage;
  auto opened = Open(dir.path());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
  EXPECT_THAT(opened.status().message(), HasSubstr("eventlog.db"));
}

TEST(EmbeddedLogOpenTest, DamagedPagesGiveErrorsNotCrashes) {
  testing::TempDir dir;
  {
    auto log = Open(dir.path());
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->CreateTopic({"t", 2}).ok());
    auto producer = (*log)->NewProducer();
    ASSERT_TRUE(producer.ok());
    for (int i = 0; i < 2000; ++i)
      (*producer)->Append("t", absl::StrCat(i), std::string(300, 'v'), nullptr);
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  }
  // Scribble over everything after the first page (the header stays plausible).
  const std::string path = EmbeddedLogDatabasePath(dir.path());
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 3 * 4096u);
  {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(4096);
    std::mt19937 random(2);
    for (uint64_t i = 4096; i < size; ++i) file.put(static_cast<char>(random()));
  }
  // The topics table lives on a scribbled page: opening reads it and must say so.
  auto log = Open(dir.path());
  ASSERT_FALSE(log.ok()) << "a log with destroyed pages opened";
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss) << log.status();
  EXPECT_THAT(log.status().message(), HasSubstr("malformed"));
}

TEST(EmbeddedLogOpenTest, AForeignSqliteDatabaseIsRefusedAndLeftUntouched) {
  testing::TempDir dir;
  const std::string path = EmbeddedLogDatabasePath(dir.path());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE invoices(id INTEGER PRIMARY KEY, amount INTEGER);"
                           "INSERT INTO invoices VALUES (1, 100);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  const auto size_before = std::filesystem::file_size(path);
  auto opened = Open(dir.path());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition) << opened.status();
  EXPECT_THAT(opened.status().message(), HasSubstr("another application"));
  // Not even switched to WAL: the other application's file is exactly as it was.
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_EQ(std::filesystem::file_size(path), size_before);
}

TEST(EmbeddedLogOpenTest, ADatabaseWithAnotherApplicationIdIsRefused) {
  testing::TempDir dir;
  const std::string path = EmbeddedLogDatabasePath(dir.path());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA application_id=1234;", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto opened = Open(dir.path());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition) << opened.status();
}

TEST(EmbeddedLogOpenTest, ReopenKeepsTopicsRecordsAndOffsets) {
  testing::TempDir dir;
  {
    auto log = Open(dir.path());
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->CreateTopic({"kept", 3}).ok());
    auto producer = (*log)->NewProducer();
    ASSERT_TRUE(producer.ok());
    for (int i = 0; i < 30; ++i)
      ASSERT_TRUE((*producer)->AppendAndWait("kept", "one-key", absl::StrCat(i)).ok());
  }
  auto log = Open(dir.path());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->PartitionCount("kept").value_or(-1), 3);
  EXPECT_EQ((*log)->CreateTopic({"kept", 4}).code(), absl::StatusCode::kFailedPrecondition);
  const int32_t partition = PartitionForKey("one-key", 3);
  EXPECT_EQ((*log)->EndOffset({"kept", partition}).value_or(-1), 30);
  auto producer = (*log)->NewProducer();
  ASSERT_TRUE(producer.ok());
  auto next = (*producer)->AppendAndWait("kept", "one-key", "30");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->offset, 30);
}

// ---------------------------------------------------------------------------------------
// Producing and consuming

class EmbeddedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = Open(dir_.path());
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
  }

  std::unique_ptr<Consumer> NewConsumer(const std::string& group, RebalanceListener listener = {}) {
    ConsumerOptions options;
    options.group_id = group;
    options.listener = std::move(listener);
    auto consumer = log_->NewConsumer(std::move(options));
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return consumer.ok() ? std::move(*consumer) : nullptr;
  }

  testing::TempDir dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(EmbeddedLogTest, AppendToAMissingTopicReportsNotFound) {
  auto result = producer_->AppendAndWait("no-such-topic", "k", "v");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound) << result.status();
}

TEST_F(EmbeddedLogTest, AppendAfterStopFailsWithUnavailable) {
  producer_->Stop(absl::Seconds(5));
  auto result = producer_->AppendAndWait("t", "k", "v");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
}

TEST_F(EmbeddedLogTest, APollingConsumerWakesPromptlyWhenARecordArrives) {
  ASSERT_TRUE(log_->CreateTopic({"wake", 1}).ok());
  auto consumer = NewConsumer("");
  ASSERT_TRUE(consumer->Assign({{"wake", 0, kOffsetEnd}}).ok());
  std::atomic<bool> polling{false};
  absl::Duration waited;
  size_t received = 0;
  std::thread poller([&] {
    polling = true;
    const absl::Time start = absl::Now();
    auto records = consumer->Poll(10, absl::Seconds(20));
    waited = absl::Now() - start;
    if (records.ok()) received = records->size();
  });
  ASSERT_TRUE(testing::WaitFor([&] { return polling.load(); }));
  const absl::Time appended_at = absl::Now();
  ASSERT_TRUE(producer_->AppendAndWait("wake", "k", "v").ok());
  poller.join();
  EXPECT_EQ(received, 1u);
  // Far below the 20 s poll timeout: the append woke it (no polling interval involved).
  EXPECT_LT(waited, absl::Seconds(5));
  EXPECT_LT(absl::Now() - appended_at, absl::Seconds(5));
}

TEST_F(EmbeddedLogTest, AJoiningMemberGetsPartitionsOnlyAfterTheOwnerRevokedThem) {
  ASSERT_TRUE(log_->CreateTopic({"handover", 4}).ok());
  std::vector<TopicPartition> revoked_from_a;
  std::vector<TopicPartitionOffset> assigned_to_b;
  RebalanceListener a_listener;
  a_listener.on_revoked = [&](const std::vector<TopicPartition>& revoked) {
    revoked_from_a.insert(revoked_from_a.end(), revoked.begin(), revoked.end());
  };
  RebalanceListener b_listener;
  b_listener.on_assigned = [&](std::vector<TopicPartitionOffset>& assigned) {
    // The revocation must have happened before B is told about the partitions.
    EXPECT_EQ(revoked_from_a.size(), 2u);
    assigned_to_b.insert(assigned_to_b.end(), assigned.begin(), assigned.end());
  };
  auto a = NewConsumer("g", a_listener);
  auto b = NewConsumer("g", b_listener);
  ASSERT_TRUE(a->Subscribe({"handover"}).ok());
  ASSERT_TRUE(a->Poll(10, absl::ZeroDuration()).ok());
  EXPECT_EQ(a->Assignment().size(), 4u);

  ASSERT_TRUE(b->Subscribe({"handover"}).ok());
  ASSERT_TRUE(b->Poll(10, absl::ZeroDuration()).ok());
  EXPECT_TRUE(b->Assignment().empty()) << "B got partitions A still holds";
  EXPECT_TRUE(assigned_to_b.empty());

  ASSERT_TRUE(a->Poll(10, absl::ZeroDuration()).ok());  // A revokes its surplus here
  EXPECT_EQ(revoked_from_a.size(), 2u);
  EXPECT_EQ(a->Assignment().size(), 2u);
  ASSERT_TRUE(b->Poll(10, absl::ZeroDuration()).ok());  // and B takes it over
  EXPECT_EQ(b->Assignment().size(), 2u);
  ASSERT_EQ(assigned_to_b.size(), 2u);
  for (const TopicPartitionOffset& tpo : assigned_to_b) EXPECT_EQ(tpo.offset, kOffsetCommitted);
}

TEST_F(EmbeddedLogTest, AListenerChosenStartOffsetIsHonoured) {
  ASSERT_TRUE(log_->CreateTopic({"chosen", 1}).ok());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(producer_->AppendAndWait("chosen", "k", absl::StrCat(i)).ok());
  RebalanceListener listener;
  listener.on_assigned = [](std::vector<TopicPartitionOffset>& assigned) {
    for (TopicPartitionOffset& tpo : assigned) tpo.offset = 7;
  };
  auto consumer = NewConsumer("chooser", listener);
  ASSERT_TRUE(consumer->Subscribe({"chosen"}).ok());
  auto records = consumer->Poll(100, absl::Seconds(10));
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ(records->front().offset, 7);
  EXPECT_EQ(records->front().value, "7");
}

TEST_F(EmbeddedLogTest, MisuseGivesStatusesNotCrashes) {
  ASSERT_TRUE(log_->CreateTopic({"misuse", 2}).ok());
  EXPECT_EQ(log_->CreateTopic({"bad", 0}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->EndOffset({"misuse", 2}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->EndOffset({"missing", 0}).status().code(), absl::StatusCode::kNotFound);
  auto loner = NewConsumer("");
  EXPECT_EQ(loner->Subscribe({"misuse"}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(loner->Commit({{"misuse", 0, 1}}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(loner->Assign({{"misuse", 5, 0}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(loner->Assign({{"missing", 0, 0}}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(loner->Seek({"misuse", 0, 0}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(loner->Poll(0, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  loner->Close();
  loner->Close();  // idempotent
  EXPECT_EQ(loner->Poll(1, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(EmbeddedLogTest, ConsumersOutlivingTheLogGetUnavailable) {
  ASSERT_TRUE(log_->CreateTopic({"t", 1}).ok());
  auto consumer = NewConsumer("");
  ASSERT_TRUE(consumer->Assign({{"t", 0, kOffsetBeginning}}).ok());
  producer_.reset();
  log_.reset();
  EXPECT_EQ(consumer->Poll(1, absl::Seconds(5)).status().code(), absl::StatusCode::kUnavailable);
}

// ---------------------------------------------------------------------------------------
// Crash durability

// What the child tells the parent for every acknowledged record (a pipe write of this
// size is atomic).
struct Acknowledgement {
  int32_t round;
  int32_t index;
  int32_t partition;
  int32_t reserved;
  int64_t offset;
};

std::string CrashKey(int index) { return absl::StrCat("account-", index % 17); }

std::string CrashValue(int round, int index) {
  // 200 bytes, zero bytes included, different for every (round, index).
  std::mt19937 random(static_cast<uint32_t>(round * 10'000'019 + index));
  std::string value(200, '\0');
  for (char& c : value) c = static_cast<char>(random() % 5 == 0 ? 0 : random());
  return value;
}

// Runs in the child: appends without end, acknowledging every durable record.
int AppendUntilKilled(const std::string& dir, int round, int ack_fd) {
  auto log = Open(dir);
  if (!log.ok()) return 2;
  if (!(*log)->CreateTopic({"crash", 3}).ok()) return 3;
  auto producer = (*log)->NewProducer();
  if (!producer.ok()) return 4;
  std::atomic<int64_t> in_flight{0};
  for (int index = 0;; ++index) {
    // Keep a few thousand in flight: several group commits happen, so the kill lands at
    // an arbitrary point of one of them.
    while (in_flight.load() > 5000) std::this_thread::yield();
    in_flight.fetch_add(1);
    (*producer)->Append(
        "crash", CrashKey(index), CrashValue(round, index),
        [&in_flight, round, index, ack_fd](absl::StatusOr<LogPosition> position) {
          in_flight.fetch_sub(1);
          if (!position.ok()) return;
          Acknowledgement ack{round, index, position->partition, 0, position->offset};
          if (::write(ack_fd, &ack, sizeof(ack)) != sizeof(ack)) _exit(5);
        });
  }
}

TEST(EmbeddedLogCrashTest, EveryAcknowledgedRecordSurvivesSigkill) {
  testing::TempDir dir;
  const std::string data_dir = dir.Join("log");
  std::mt19937 random(99);
  std::vector<Acknowledgement> acknowledged;
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    testing::ChildProcess child = testing::ChildProcess::Fork([&] {
      ::close(fds[0]);
      return AppendUntilKilled(data_dir, round, fds[1]);
    });
    ::close(fds[1]);
    // Let it get a varying distance in, then kill it mid-stream.
    const size_t kill_after = 1000 + random() % 20000;
    size_t this_round = 0;
    Acknowledgement ack{};
    bool killed = false;
    while (true) {
      const ssize_t n = ::read(fds[0], &ack, sizeof(ack));
      if (n == 0) break;  // the child is gone and every acknowledgement is read
      if (n < 0 && errno == EINTR) continue;
      ASSERT_EQ(n, static_cast<ssize_t>(sizeof(ack))) << "short read from the child";
      acknowledged.push_back(ack);
      if (++this_round >= kill_after && !killed) {
        child.Kill(SIGKILL);
        killed = true;
      }
    }
    ::close(fds[0]);
    EXPECT_EQ(child.Wait(), 128 + SIGKILL) << "the child ended on its own (round " << round << ")";
    ASSERT_GE(this_round, kill_after);
  }

  // Every acknowledged record is there, byte-exact, where its acknowledgement said.
  auto log = Open(data_dir);
  ASSERT_TRUE(log.ok()) << log.status();
  auto consumer = (*log)->NewConsumer({});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  std::vector<TopicPartitionOffset> all;
  int64_t total = 0;
  for (int32_t p = 0; p < 3; ++p) {
    all.push_back({"crash", p, kOffsetBeginning});
    total += (*log)->EndOffset({"crash", p}).value_or(0);
  }
  ASSERT_TRUE((*consumer)->Assign(all).ok());
  std::map<std::pair<int32_t, int64_t>, Record> stored;
  while (static_cast<int64_t>(stored.size()) < total) {
    auto polled = (*consumer)->Poll(10000, absl::Seconds(5));
    ASSERT_TRUE(polled.ok()) << polled.status();
    ASSERT_FALSE(polled->empty()) << "records below the end offset could not be read";
    for (Record& record : *polled) stored[{record.partition, record.offset}] = std::move(record);
  }
  ASSERT_GE(stored.size(), acknowledged.size());
  size_t wrong = 0;
  for (const Acknowledgement& ack : acknowledged) {
    auto it = stored.find({ack.partition, ack.offset});
    if (it == stored.end() || it->second.key != CrashKey(ack.index) ||
        it->second.value != CrashValue(ack.round, ack.index)) {
      ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0u) << "of " << acknowledged.size() << " acknowledged records";
}

}  // namespace
}  // namespace ar::eventlog
