// Kafka-only behaviour of the event log, against librdkafka's mock cluster (3 brokers on
// loopback TCP): broker failures mid-stream, unreachable clusters, delivery callbacks
// exactly once, Stop with records in flight. The shared behaviour of every backend is in
// eventlog_conformance_test.cc.

#include "libs/eventlog/kafka_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafka_mock.h"
#include "libs/eventlog/eventlog.h"
#include "libs/eventlog/kafka_mock_cluster.h"
#include "libs/testing/ports.h"
#include "libs/testing/wait.h"

namespace ar::eventlog {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;

class KafkaLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = KafkaMockCluster::Start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    log_ = Open(FastOptions());
    ASSERT_NE(log_, nullptr);
  }

  KafkaLogOptions FastOptions() {
    KafkaLogOptions options = cluster_->ClientOptions();
    options.request_timeout = absl::Seconds(5);
    return options;
  }

  std::unique_ptr<EventLog> Open(const KafkaLogOptions& options) {
    auto log = OpenKafkaLog(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  std::unique_ptr<Producer> NewProducer() {
    auto producer = log_->NewProducer();
    EXPECT_TRUE(producer.ok()) << producer.status();
    return producer.ok() ? std::move(*producer) : nullptr;
  }

  std::unique_ptr<Consumer> NewConsumer(ConsumerOptions options = {}) {
    auto consumer = log_->NewConsumer(std::move(options));
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return consumer.ok() ? std::move(*consumer) : nullptr;
  }

  // Reads every partition of `topic` from the beginning until `count` records arrived.
  std::vector<Record> ReadAll(const std::string& topic, int32_t partitions, size_t count,
                              absl::Duration timeout = absl::Seconds(60)) {
    auto consumer = NewConsumer();
    std::vector<TopicPartitionOffset> all;
    for (int32_t p = 0; p < partitions; ++p) all.push_back({topic, p, kOffsetBeginning});
    EXPECT_TRUE(consumer->Assign(all).ok());
    std::vector<Record> records;
    const absl::Time deadline = absl::Now() + timeout;
    while (records.size() < count && absl::Now() < deadline) {
      auto batch = consumer->Poll(1000, absl::Milliseconds(200));
      EXPECT_TRUE(batch.ok()) << batch.status();
      if (!batch.ok()) break;
      for (auto& r : *batch) records.push_back(std::move(r));
    }
    // Anything beyond `count` would be a duplicate: give it a moment to show up.
    auto extra = consumer->Poll(1000, absl::Milliseconds(300));
    if (extra.ok()) {
      for (auto& r : *extra) records.push_back(std::move(r));
    }
    consumer->Close();
    return records;
  }

  std::unique_ptr<KafkaMockCluster> cluster_;
  std::unique_ptr<EventLog> log_;
};

// Counts delivery callbacks per record so tests can prove "exactly once".
class DeliveryTracker {
 public:
  explicit DeliveryTracker(size_t records) : calls_(records) {
    for (auto& c : calls_) c.store(0);
  }

  DeliveryCallback For(size_t index) {
    return [this, index](absl::StatusOr<LogPosition> result) {
      calls_[index].fetch_add(1);
      absl::MutexLock lock(&mu_);
      if (result.ok()) {
        ++ok_;
        positions_[index] = *result;
      } else {
        ++failed_;
        codes_[result.status().code()]++;
      }
    };
  }

  size_t Called() const {
    size_t n = 0;
    for (const auto& c : calls_) n += c.load() > 0 ? 1 : 0;
    return n;
  }
  bool EachCalledExactlyOnce() const {
    for (const auto& c : calls_) {
      if (c.load() != 1) return false;
    }
    return true;
  }
  size_t ok() const {
    absl::MutexLock lock(&mu_);
    return ok_;
  }
  size_t failed() const {
    absl::MutexLock lock(&mu_);
    return failed_;
  }
  std::map<absl::StatusCode, int> codes() const {
    absl::MutexLock lock(&mu_);
    return codes_;
  }
  std::map<size_t, LogPosition> positions() const {
    absl::MutexLock lock(&mu_);
    return positions_;
  }

 private:
  std::vector<std::atomic<int>> calls_;
  mutable absl::Mutex mu_;
  size_t ok_ = 0;
  size_t failed_ = 0;
  std::map<absl::StatusCode, int> codes_;
  std::map<size_t, LogPosition> positions_;
};

TEST_F(KafkaLogTest, RejectsSettingsThatBreakItsGuarantees) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"enable.idempotence", "false"},
                                                        {"acks", "1"},
                                                        {"enable.auto.commit", "true"},
                                                        {"enable.auto.offset.store", "true"},
                                                        {"partitioner", "consistent_random"}}) {
    KafkaLogOptions options = FastOptions();
    options.properties[key] = value;
    EXPECT_EQ(OpenKafkaLog(options).status().code(), absl::StatusCode::kInvalidArgument) << key;
  }
  KafkaLogOptions options = FastOptions();
  options.properties["no.such.setting"] = "1";
  EXPECT_EQ(OpenKafkaLog(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = FastOptions();
  options.properties["acks"] = "-1";  // same as "all"
  EXPECT_TRUE(OpenKafkaLog(options).ok());
  EXPECT_EQ(OpenKafkaLog(KafkaLogOptions{}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(KafkaLogTest, CreateTopicChecksExistingPartitionCount) {
  EXPECT_EQ(log_->PartitionCount("t.missing").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(log_->CreateTopic({"t.create", 5}).ok());
  EXPECT_TRUE(log_->CreateTopic({"t.create", 5}).ok());
  EXPECT_EQ(log_->CreateTopic({"t.create", 3}).code(), absl::StatusCode::kFailedPrecondition);
  auto count = log_->PartitionCount("t.create");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 5);
  EXPECT_EQ(log_->CreateTopic({"", 1}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->CreateTopic({"t.zero", 0}).code(), absl::StatusCode::kInvalidArgument);
  // Asking about a missing topic must not create it.
  EXPECT_EQ(log_->EndOffset({"t.missing", 0}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->PartitionCount("t.missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->EndOffset({"t.create", 7}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KafkaLogTest, RecordsLandWherePartitionForKeySaysWithDenseOffsets) {
  constexpr int32_t kPartitions = 4;
  constexpr size_t kRecords = 2000;
  ASSERT_TRUE(log_->CreateTopic({"t.keys", kPartitions}).ok());
  auto producer = NewProducer();
  DeliveryTracker tracker(kRecords);
  for (size_t i = 0; i < kRecords; ++i) {
    producer->Append("t.keys", absl::StrCat("account-", i % 97), absl::StrCat("value-", i),
                     tracker.For(i));
  }
  ASSERT_TRUE(producer->Flush(absl::Seconds(30)).ok());
  EXPECT_TRUE(tracker.EachCalledExactlyOnce());
  ASSERT_EQ(tracker.ok(), kRecords) << "failures: " << tracker.failed();

  std::map<int32_t, std::vector<int64_t>> offsets_by_partition;
  for (const auto& [index, position] : tracker.positions()) {
    EXPECT_EQ(position.topic, "t.keys");
    EXPECT_EQ(position.partition,
              PartitionForKey(absl::StrCat("account-", index % 97), kPartitions));
    offsets_by_partition[position.partition].push_back(position.offset);
  }
  for (auto& [partition, offsets] : offsets_by_partition) {
    std::sort(offsets.begin(), offsets.end());
    for (size_t i = 0; i < offsets.size(); ++i) ASSERT_EQ(offsets[i], static_cast<int64_t>(i));
    auto end = log_->EndOffset({"t.keys", partition});
    ASSERT_TRUE(end.ok()) << end.status();
    EXPECT_EQ(*end, static_cast<int64_t>(offsets.size()));
  }
  producer->Stop(absl::Seconds(5));
  EXPECT_TRUE(tracker.EachCalledExactlyOnce());
}

// One of three brokers goes down and comes back while a producer keeps producing and a
// group consumer keeps consuming: every acknowledged record is in the log exactly once,
// in per-key order (the idempotent producer retries without duplicating or reordering).
TEST_F(KafkaLogTest, BrokerDownAndUpMidStreamLosesAndDuplicatesNothing) {
  constexpr int32_t kPartitions = 6;  // leaders spread over all three brokers
  constexpr int kKeys = 50;
  constexpr size_t kPerPhase = 3000;
  ASSERT_TRUE(log_->CreateTopic({"t.outage", kPartitions}).ok());
  // The mock places leaders as it likes (sometimes none on broker 2); place them so the
  // broker taken down below leads two partitions.
  for (int32_t p = 0; p < kPartitions; ++p) {
    ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster_->raw(), "t.outage", p, (p % 3) + 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  absl::Mutex consumed_mu;
  std::vector<Record> consumed;
  ConsumerOptions consumer_options;
  consumer_options.group_id = "outage-group";
  auto consumer = NewConsumer(consumer_options);
  ASSERT_TRUE(consumer->Subscribe({"t.outage"}).ok());
  auto poll_some = [&] {
    auto batch = consumer->Poll(500, absl::Milliseconds(50));
    ASSERT_TRUE(batch.ok()) << batch.status();
    absl::MutexLock lock(&consumed_mu);
    for (auto& r : *batch) consumed.push_back(std::move(r));
  };
  auto consumed_count = [&] {
    absl::MutexLock lock(&consumed_mu);
    return consumed.size();
  };

  auto producer = NewProducer();
  DeliveryTracker tracker(3 * kPerPhase);
  std::vector<int> next_seq(kKeys, 0);
  size_t appended = 0;
  auto produce_phase = [&] {
    for (size_t i = 0; i < kPerPhase; ++i, ++appended) {
      const int key = static_cast<int>(appended % kKeys);
      producer->Append("t.outage", absl::StrCat("key-", key), absl::StrCat(next_seq[key]++),
                       tracker.For(appended));
    }
  };

  produce_phase();
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] {
        poll_some();
        return consumed_count() >= kPerPhase / 2;
      },
      absl::Seconds(60)))
      << "consumer never got going: " << consumed_count();

  ASSERT_TRUE(cluster_->BrokerDown(2).ok());
  const size_t ok_before_outage = tracker.ok();
  const size_t consumed_before_outage = consumed_count();
  produce_phase();
  // Partitions led by brokers 1 and 3 keep taking records and serving them.
  EXPECT_TRUE(ar::testing::WaitFor(
      [&] {
        poll_some();
        return tracker.ok() > ok_before_outage + kPerPhase / 3 &&
               consumed_count() > consumed_before_outage + kPerPhase / 3;
      },
      absl::Seconds(60)))
      << "no progress while one broker was down";
  // ...while the partitions broker 2 leads wait for it (the mock never moves leadership).
  EXPECT_LT(tracker.Called(), appended) << "the outage held nothing back";
  ASSERT_TRUE(cluster_->BrokerUp(2).ok());
  produce_phase();

  ASSERT_TRUE(ar::testing::WaitFor(
      [&] {
        poll_some();
        return tracker.Called() == appended;
      },
      absl::Seconds(90)));
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());
  EXPECT_TRUE(tracker.EachCalledExactlyOnce());
  EXPECT_EQ(tracker.ok(), appended) << "delivery failures by code: " << tracker.failed();

  // The live group consumer saw everything (possibly some twice after a rebalance, as it
  // never commits; never out of order per key).
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] {
        poll_some();
        std::set<std::pair<int32_t, int64_t>> distinct;
        absl::MutexLock lock(&consumed_mu);
        for (const auto& r : consumed) distinct.insert({r.partition, r.offset});
        return distinct.size() >= appended;
      },
      absl::Seconds(60)))
      << "consumer saw " << consumed_count() << " of " << appended;
  consumer->Close();

  // The log itself: each key's values are exactly 0..n-1, in order, nothing twice.
  std::vector<Record> log = ReadAll("t.outage", kPartitions, appended);
  EXPECT_EQ(log.size(), appended);
  std::map<std::string, std::vector<int>> values_by_key;
  for (const auto& r : log) values_by_key[r.key].push_back(std::stoi(r.value));
  ASSERT_EQ(values_by_key.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, values] : values_by_key) {
    std::vector<int> expected(values.size());
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i);
    EXPECT_EQ(values, expected) << key;
    EXPECT_EQ(values.size(), appended / kKeys) << key;
  }
  producer->Stop(absl::Seconds(5));
}

TEST(KafkaLogUnreachableTest, ClosedPortGivesClearErrorsInBoundedTime) {
  KafkaLogOptions options =
      FastTestClientOptions(absl::StrCat("127.0.0.1:", ar::testing::FreeLoopbackPort()));
  options.request_timeout = absl::Seconds(2);
  options.delivery_timeout = absl::Seconds(2);
  auto opened = OpenKafkaLog(options);
  ASSERT_TRUE(opened.ok()) << opened.status();  // opening does not wait for the cluster
  std::unique_ptr<EventLog> log = std::move(*opened);
  const auto unreachable =
      AnyOf(Eq(absl::StatusCode::kUnavailable), Eq(absl::StatusCode::kDeadlineExceeded));

  absl::Time start = absl::Now();
  absl::Status created = log->CreateTopic({"t.unreachable", 3});
  EXPECT_THAT(created.code(), unreachable) << created;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  start = absl::Now();
  EXPECT_THAT(log->PartitionCount("t.unreachable").status().code(), unreachable);
  EXPECT_THAT(log->EndOffset({"t.unreachable", 0}).status().code(), unreachable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  start = absl::Now();
  auto producer = log->NewProducer();
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto delivered = (*producer)->AppendAndWait("t.unreachable", "k", "v");
  EXPECT_THAT(delivered.status().code(), unreachable) << delivered.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  (*producer)->Stop(absl::Seconds(1));

  start = absl::Now();
  ConsumerOptions consumer_options;
  consumer_options.group_id = "unreachable-group";
  auto consumer = log->NewConsumer(consumer_options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE((*consumer)->Subscribe({"t.unreachable"}).ok());
  // Poll reports the dead cluster (or nothing), never hangs.
  bool reported = false;
  for (int i = 0; i < 10 && !reported; ++i) {
    auto batch = (*consumer)->Poll(10, absl::Milliseconds(200));
    if (!batch.ok()) {
      EXPECT_THAT(batch.status().code(), unreachable) << batch.status();
      reported = true;
    } else {
      EXPECT_TRUE(batch->empty());
    }
  }
  EXPECT_TRUE(reported) << "Poll never said the cluster is unreachable";
  EXPECT_THAT((*consumer)->Committed({{"t.unreachable", 0}}).status().code(), unreachable);
  EXPECT_THAT((*consumer)->Commit({{"t.unreachable", 0, 1}}).code(), unreachable);
  (*consumer)->Close();
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

TEST_F(KafkaLogTest, DeliveryCallbacksFireExactlyOnceForManyRecordsInFlight) {
  constexpr size_t kRecords = 20000;
  ASSERT_TRUE(log_->CreateTopic({"t.once", 3}).ok());
  auto producer = NewProducer();
  DeliveryTracker tracker(kRecords);
  const std::string value(200, 'x');
  for (size_t i = 0; i < kRecords; ++i) {
    producer->Append("t.once", absl::StrCat(i), value, tracker.For(i));
  }
  ASSERT_TRUE(producer->Flush(absl::Seconds(60)).ok());
  EXPECT_TRUE(tracker.EachCalledExactlyOnce());
  EXPECT_EQ(tracker.ok(), kRecords);
  producer->Stop(absl::Seconds(1));
  producer.reset();
  EXPECT_TRUE(tracker.EachCalledExactlyOnce());
}

TEST_F(KafkaLogTest, StopWithRecordsInFlightFiresEveryCallback) {
  ASSERT_TRUE(log_->CreateTopic({"t.stop", 3}).ok());
  constexpr size_t kRecords = 500;

  // Healthy cluster, Stop right away: each record is delivered or failed, once.
  {
    auto producer = NewProducer();
    DeliveryTracker tracker(kRecords);
    for (size_t i = 0; i < kRecords; ++i)
      producer->Append("t.stop", absl::StrCat(i), "v", tracker.For(i));
    producer->Stop(absl::ZeroDuration());
    EXPECT_TRUE(tracker.EachCalledExactlyOnce());
    for (const auto& [code, n] : tracker.codes()) {
      EXPECT_EQ(code, absl::StatusCode::kUnavailable) << n;
    }
  }

  // Every broker down: nothing can be delivered; Stop fails all of it with UNAVAILABLE,
  // within its timeout (plus a bounded drain), and the producer can be destroyed.
  for (int32_t broker = 1; broker <= 3; ++broker) ASSERT_TRUE(cluster_->BrokerDown(broker).ok());
  auto producer = NewProducer();
  DeliveryTracker tracker(kRecords);
  for (size_t i = 0; i < kRecords; ++i)
    producer->Append("t.stop", absl::StrCat(i), "v", tracker.For(i));
  const absl::Time start = absl::Now();
  producer->Stop(absl::Milliseconds(500));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_TRUE(tracker.EachCalledExactlyOnce());
  EXPECT_EQ(tracker.failed(), kRecords);
  EXPECT_EQ(tracker.codes()[absl::StatusCode::kUnavailable], static_cast<int>(kRecords));

  // Stop is idempotent; appending afterwards fails at once, still exactly once.
  producer->Stop(absl::Seconds(1));
  DeliveryTracker late(1);
  producer->Append("t.stop", "k", "v", late.For(0));
  EXPECT_TRUE(late.EachCalledExactlyOnce());
  EXPECT_EQ(late.codes()[absl::StatusCode::kUnavailable], 1);
  producer.reset();
  for (int32_t broker = 1; broker <= 3; ++broker) ASSERT_TRUE(cluster_->BrokerUp(broker).ok());
}

TEST_F(KafkaLogTest, ListenerStartOffsetsAndPauseResume) {
  ASSERT_TRUE(log_->CreateTopic({"t.listen", 1}).ok());
  auto producer = NewProducer();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(producer->AppendAndWait("t.listen", "k", absl::StrCat(i)).ok());
  }

  ConsumerOptions options;
  options.group_id = "listen-group";
  std::vector<TopicPartition> revoked;
  options.listener.on_assigned = [](std::vector<TopicPartitionOffset>& assigned) {
    for (auto& p : assigned) {
      EXPECT_EQ(p.offset, kOffsetCommitted);
      p.offset = 40;  // e.g. a checkpoint kept beside a read model
    }
  };
  options.listener.on_revoked = [&](const std::vector<TopicPartition>& partitions) {
    revoked = partitions;
  };
  auto consumer = NewConsumer(options);
  ASSERT_TRUE(consumer->Subscribe({"t.listen"}).ok());
  std::vector<Record> records;
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] {
        auto batch = consumer->Poll(10, absl::Milliseconds(100));
        EXPECT_TRUE(batch.ok());
        if (batch.ok()) records.insert(records.end(), batch->begin(), batch->end());
        return records.size() >= 10;
      },
      absl::Seconds(30)));
  EXPECT_EQ(records.front().offset, 40);
  EXPECT_EQ(consumer->Assignment(), (std::vector<TopicPartition>{{"t.listen", 0}}));

  // Paused: nothing comes back, though records are waiting; resumed: exactly the next ones.
  ASSERT_TRUE(consumer->Pause({{"t.listen", 0}}).ok());
  auto while_paused = consumer->Poll(100, absl::Milliseconds(500));
  ASSERT_TRUE(while_paused.ok());
  EXPECT_TRUE(while_paused->empty());
  ASSERT_TRUE(consumer->Resume({{"t.listen", 0}}).ok());
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] {
        auto batch = consumer->Poll(100, absl::Milliseconds(100));
        EXPECT_TRUE(batch.ok());
        if (batch.ok()) records.insert(records.end(), batch->begin(), batch->end());
        return records.size() >= 60;
      },
      absl::Seconds(30)));
  ASSERT_EQ(records.size(), 60u);
  for (size_t i = 0; i < records.size(); ++i)
    EXPECT_EQ(records[i].offset, 40 + static_cast<int64_t>(i));

  // Commit, read it back, seek backwards.
  ASSERT_TRUE(consumer->Commit({{"t.listen", 0, 100}}).ok());
  auto committed = consumer->Committed({{"t.listen", 0}});
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ((*committed)[0].offset, 100);
  ASSERT_TRUE(consumer->Seek({"t.listen", 0, 5}).ok());
  std::vector<Record> again;
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] {
        auto batch = consumer->Poll(1, absl::Milliseconds(100));
        if (batch.ok()) again.insert(again.end(), batch->begin(), batch->end());
        return !again.empty();
      },
      absl::Seconds(30)));
  EXPECT_EQ(again.front().offset, 5);
  EXPECT_EQ(consumer->Seek({"t.other", 0, 5}).code(), absl::StatusCode::kFailedPrecondition);

  consumer->Close();
  EXPECT_EQ(revoked, (std::vector<TopicPartition>{{"t.listen", 0}}));
  EXPECT_TRUE(consumer->Assignment().empty());
  consumer->Close();  // idempotent
  EXPECT_EQ(consumer->Poll(1, absl::Milliseconds(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace ar::eventlog
