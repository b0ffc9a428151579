// The event log conformance suite: written once against the EventLog interface and run
// against every backend through its harness (conformance_harness.h). A behaviour the
// services rely on belongs here, so that no backend can quietly differ.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/eventlog/conformance_harness.h"
#include "libs/eventlog/eventlog.h"
#include "libs/eventlog/scan.h"

namespace ar::eventlog {

// Readable parameter names in gtest output instead of raw bytes.
void PrintTo(const HarnessFactory& factory, std::ostream* os) { *os << factory.name; }

namespace {

constexpr absl::Duration kDeadline = absl::Seconds(60);
constexpr absl::Duration kPollStep = absl::Milliseconds(100);

struct KeyValue {
  std::string key;
  std::string value;
};

class EventLogConformanceTest : public ::testing::TestWithParam<HarnessFactory> {
 protected:
  void SetUp() override {
    harness_ = GetParam().make();
    ASSERT_NE(harness_, nullptr);
    Reopen();
  }

  void TearDown() override { CloseClients(); }

  // Drops every client and opens a new one on the same backend state (a restart).
  void Reopen() {
    CloseClients();
    auto log = harness_->Open();
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
  }

  void CloseClients() {
    if (producer_) producer_->Stop(absl::Seconds(10));
    producer_.reset();
    log_.reset();
  }

  void CreateTopic(const std::string& name, int32_t partitions) {
    ASSERT_TRUE(log_->CreateTopic({name, partitions}).ok()) << name;
  }

  // Appends every record (asynchronously, all in flight together), waits for all of
  // them and returns their positions, asserting each callback came exactly once.
  std::vector<LogPosition> AppendAll(const std::string& topic,
                                     const std::vector<KeyValue>& records) {
    struct Deliveries {
      std::mutex mu;
      std::vector<int> calls;
      std::vector<absl::StatusOr<LogPosition>> results;
    };
    auto deliveries = std::make_shared<Deliveries>();
    deliveries->calls.assign(records.size(), 0);
    deliveries->results.assign(records.size(), absl::UnknownError("no callback"));
    for (size_t i = 0; i < records.size(); ++i) {
      producer_->Append(topic, records[i].key, records[i].value,
                        [deliveries, i](absl::StatusOr<LogPosition> result) {
                          std::lock_guard lock(deliveries->mu);
                          ++deliveries->calls[i];
                          deliveries->results[i] = std::move(result);
                        });
    }
    EXPECT_TRUE(producer_->Flush(kDeadline).ok());
    std::vector<LogPosition> positions;
    std::lock_guard lock(deliveries->mu);
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(deliveries->calls[i], 1) << "record " << i;
      EXPECT_TRUE(deliveries->results[i].ok())
          << "record " << i << ": " << deliveries->results[i].status();
      positions.push_back(deliveries->results[i].ok() ? *deliveries->results[i] : LogPosition{});
    }
    return positions;
  }

  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(const std::string& group,
                                                        RebalanceListener listener = {}) {
    ConsumerOptions options;
    options.group_id = group;
    options.client_id = group.empty() ? "reader" : group + "-member";
    options.auto_offset_reset = kOffsetBeginning;
    options.listener = std::move(listener);
    return log_->NewConsumer(std::move(options));
  }

  // Polls until `count` records arrived (or the deadline), returning them in arrival order.
  static std::vector<Record> PollRecords(Consumer& consumer, size_t count,
                                         absl::Duration deadline = kDeadline) {
    std::vector<Record> records;
    const absl::Time give_up = absl::Now() + deadline;
    while (records.size() < count && absl::Now() < give_up) {
      auto polled = consumer.Poll(static_cast<int>(std::min<size_t>(count - records.size(), 5000)),
                                  kPollStep);
      EXPECT_TRUE(polled.ok()) << polled.status();
      if (!polled.ok()) break;
      for (Record& record : *polled) records.push_back(std::move(record));
    }
    return records;
  }

  std::vector<TopicPartitionOffset> AllPartitionsFrom(const std::string& topic, int32_t partitions,
                                                      int64_t offset) {
    std::vector<TopicPartitionOffset> all;
    for (int32_t p = 0; p < partitions; ++p) all.push_back({topic, p, offset});
    return all;
  }

  std::unique_ptr<EventLogHarness> harness_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<Producer> producer_;
};

std::vector<KeyValue> SequencedRecords(int count, int keys) {
  std::vector<KeyValue> records;
  for (int i = 0; i < count; ++i) {
    records.push_back({absl::StrCat("account-", i % keys), absl::StrCat("event-", i)});
  }
  return records;
}

TEST_P(EventLogConformanceTest, CreateTopicIsIdempotentAndRejectsAnotherPartitionCount) {
  EXPECT_TRUE(log_->CreateTopic({"ar.test.topics", 3}).ok());
  EXPECT_TRUE(log_->CreateTopic({"ar.test.topics", 3}).ok());
  absl::Status mismatch = log_->CreateTopic({"ar.test.topics", 5});
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kFailedPrecondition) << mismatch;
  auto count = log_->PartitionCount("ar.test.topics");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 3);
  EXPECT_EQ(log_->PartitionCount("ar.test.never-created").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(EventLogConformanceTest, SameKeyLandsInThePartitionThatPartitionForKeyNames) {
  constexpr int32_t kPartitions = 5;
  CreateTopic("ar.test.keys", kPartitions);
  std::vector<KeyValue> records = SequencedRecords(300, 40);
  records.push_back({"", "empty key"});
  records.push_back({std::string("\0\x01\xff", 3), "binary key"});
  std::vector<LogPosition> positions = AppendAll("ar.test.keys", records);
  ASSERT_EQ(positions.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(positions[i].topic, "ar.test.keys");
    EXPECT_EQ(positions[i].partition, PartitionForKey(records[i].key, kPartitions))
        << "key " << records[i].key;
  }
}

TEST_P(EventLogConformanceTest, DeliveryPositionsAreDenseAndKeyOrderHoldsOnRead) {
  constexpr int32_t kPartitions = 3;
  CreateTopic("ar.test.order", kPartitions);
  const std::vector<KeyValue> records = SequencedRecords(3000, 50);
  std::vector<LogPosition> positions = AppendAll("ar.test.order", records);

  // Delivery positions: per partition exactly 0..n-1, and in append order per key.
  std::map<int32_t, std::set<int64_t>> offsets_by_partition;
  std::map<std::string, int64_t> last_offset_by_key;
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_TRUE(offsets_by_partition[positions[i].partition].insert(positions[i].offset).second)
        << "offset delivered twice";
    auto [it, first] = last_offset_by_key.try_emplace(records[i].key, positions[i].offset);
    if (!first) {
      EXPECT_GT(positions[i].offset, it->second) << "key " << records[i].key;
      it->second = positions[i].offset;
    }
  }
  size_t total = 0;
  for (const auto& [partition, offsets] : offsets_by_partition) {
    EXPECT_EQ(*offsets.begin(), 0);
    EXPECT_EQ(*offsets.rbegin(), static_cast<int64_t>(offsets.size()) - 1)
        << "gap in " << partition;
    auto end = log_->EndOffset({"ar.test.order", partition});
    ASSERT_TRUE(end.ok()) << end.status();
    EXPECT_EQ(*end, static_cast<int64_t>(offsets.size()));
    total += offsets.size();
  }
  EXPECT_EQ(total, records.size());

  // Reading: per partition offsets come 0,1,2,... and each key's events in append order.
  auto consumer = NewConsumer("");
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(
      (*consumer)->Assign(AllPartitionsFrom("ar.test.order", kPartitions, kOffsetBeginning)).ok());
  std::vector<Record> read = PollRecords(**consumer, records.size());
  ASSERT_EQ(read.size(), records.size());
  std::map<int32_t, int64_t> next_offset;
  std::map<std::string, int> last_sequence;
  for (const Record& record : read) {
    EXPECT_EQ(record.offset, next_offset[record.partition]++) << "partition " << record.partition;
    const int sequence = std::stoi(record.value.substr(std::string("event-").size()));
    auto [it, first] = last_sequence.try_emplace(record.key, sequence);
    if (!first) {
      EXPECT_GT(sequence, it->second) << "key " << record.key;
      it->second = sequence;
    }
  }
  (*consumer)->Close();
}

TEST_P(EventLogConformanceTest, DeliveryCallbacksComeExactlyOnceEvenAcrossStop) {
  CreateTopic("ar.test.callbacks", 2);
  constexpr int kRecords = 2000;
  std::vector<std::atomic<int>> calls(kRecords);
  std::atomic<int> failures{0};
  for (int i = 0; i < kRecords; ++i) {
    producer_->Append("ar.test.callbacks", absl::StrCat("k", i % 7), absl::StrCat(i),
                      [&calls, &failures, i](absl::StatusOr<LogPosition> result) {
                        calls[static_cast<size_t>(i)].fetch_add(1);
                        if (!result.ok()) failures.fetch_add(1);
                      });
  }
  // Stop flushes first: nothing is left to fail, and every callback has run on return.
  producer_->Stop(kDeadline);
  for (int i = 0; i < kRecords; ++i) EXPECT_EQ(calls[static_cast<size_t>(i)].load(), 1) << i;
  EXPECT_EQ(failures.load(), 0);
  producer_->Stop(kDeadline);  // idempotent
  producer_.reset();
  for (int i = 0; i < kRecords; ++i) EXPECT_EQ(calls[static_cast<size_t>(i)].load(), 1) << i;
}

TEST_P(EventLogConformanceTest, HundredThousandRecordsRoundTripByteExact) {
  constexpr int32_t kPartitions = 4;
  constexpr int kRecords = 100'000;
  CreateTopic("ar.test.bytes", kPartitions);
  std::mt19937_64 random(20240611);
  std::vector<KeyValue> records(kRecords);
  for (int i = 0; i < kRecords; ++i) {
    // Keys and values are arbitrary bytes, zero bytes included; the index is embedded in
    // the key so that every record is distinct.
    std::string key(8, '\0');
    for (int b = 0; b < 4; ++b) key[static_cast<size_t>(b)] = static_cast<char>(i >> (8 * b));
    for (int b = 4; b < 8; ++b) key[static_cast<size_t>(b)] = static_cast<char>(random() % 4);
    std::string value(random() % 400, '\0');
    for (char& c : value) c = static_cast<char>(random() % 3 == 0 ? 0 : random());
    records[static_cast<size_t>(i)] = {std::move(key), std::move(value)};
  }
  std::vector<LogPosition> positions = AppendAll("ar.test.bytes", records);
  std::map<std::pair<int32_t, int64_t>, size_t> index_at;
  for (size_t i = 0; i < positions.size(); ++i)
    index_at[{positions[i].partition, positions[i].offset}] = i;
  ASSERT_EQ(index_at.size(), records.size());

  auto consumer = NewConsumer("");
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(
      (*consumer)->Assign(AllPartitionsFrom("ar.test.bytes", kPartitions, kOffsetBeginning)).ok());
  std::vector<Record> read = PollRecords(**consumer, records.size());
  ASSERT_EQ(read.size(), records.size());
  size_t mismatches = 0;
  std::set<size_t> seen;
  for (const Record& record : read) {
    auto it = index_at.find({record.partition, record.offset});
    ASSERT_NE(it, index_at.end()) << record.partition << "/" << record.offset;
    const KeyValue& expected = records[it->second];
    if (record.key != expected.key || record.value != expected.value ||
        record.topic != "ar.test.bytes") {
      ++mismatches;
    }
    seen.insert(it->second);
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(seen.size(), records.size());
  (*consumer)->Close();
}

TEST_P(EventLogConformanceTest, AssignedFromAnExplicitOffsetStartsExactlyThere) {
  CreateTopic("ar.test.assign", 1);
  std::vector<LogPosition> positions = AppendAll("ar.test.assign", SequencedRecords(50, 3));
  ASSERT_EQ(positions.back().offset, 49);

  auto consumer = NewConsumer("");
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE((*consumer)->Assign({{"ar.test.assign", 0, 17}}).ok());
  EXPECT_THAT((*consumer)->Assignment(),
              ::testing::ElementsAre(TopicPartition{"ar.test.assign", 0}));
  std::vector<Record> read = PollRecords(**consumer, 50 - 17);
  ASSERT_EQ(read.size(), 50u - 17u);
  EXPECT_EQ(read.front().offset, 17);
  EXPECT_EQ(read.front().value, "event-17");
  EXPECT_EQ(read.back().offset, 49);

  // Seek moves an assigned partition's read position, again exactly.
  ASSERT_TRUE((*consumer)->Seek({"ar.test.assign", 0, 5}).ok());
  read = PollRecords(**consumer, 3);
  ASSERT_GE(read.size(), 3u);
  EXPECT_EQ(read[0].offset, 5);
  EXPECT_EQ(read[0].value, "event-5");
  (*consumer)->Close();
}

TEST_P(EventLogConformanceTest, PausedPartitionsYieldNothingUntilResumed) {
  CreateTopic("ar.test.pause", 2);
  // Keys chosen so that both partitions get records.
  std::vector<KeyValue> records = SequencedRecords(40, 10);
  std::vector<LogPosition> positions = AppendAll("ar.test.pause", records);
  std::map<int32_t, int> per_partition;
  for (const LogPosition& p : positions) ++per_partition[p.partition];
  ASSERT_EQ(per_partition.size(), 2u) << "the keys should spread over both partitions";

  auto consumer = NewConsumer("");
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE((*consumer)->Assign(AllPartitionsFrom("ar.test.pause", 2, kOffsetBeginning)).ok());
  ASSERT_TRUE((*consumer)->Pause({{"ar.test.pause", 0}}).ok());
  // Partition 1 flows; partition 0 must not, for as long as we keep polling.
  std::vector<Record> read = PollRecords(**consumer, static_cast<size_t>(per_partition[1]));
  ASSERT_EQ(read.size(), static_cast<size_t>(per_partition[1]));
  for (const Record& record : read) EXPECT_EQ(record.partition, 1);
  std::vector<Record> nothing = PollRecords(**consumer, 1, absl::Milliseconds(500));
  EXPECT_TRUE(nothing.empty()) << "a paused partition returned records";

  ASSERT_TRUE((*consumer)->Resume({{"ar.test.pause", 0}}).ok());
  read = PollRecords(**consumer, static_cast<size_t>(per_partition[0]));
  ASSERT_EQ(read.size(), static_cast<size_t>(per_partition[0]));
  for (const Record& record : read) EXPECT_EQ(record.partition, 0);
  EXPECT_EQ(read.front().offset, 0);
  (*consumer)->Close();
}

TEST_P(EventLogConformanceTest, ScanToEndReadsEveryRecordUpToTheEndsAsOfTheCall) {
  CreateTopic("ar.test.scan-a", 3);
  CreateTopic("ar.test.scan-b", 2);
  CreateTopic("ar.test.scan-empty", 2);
  const std::vector<KeyValue> a = SequencedRecords(500, 20);
  const std::vector<KeyValue> b = SequencedRecords(300, 7);
  AppendAll("ar.test.scan-a", a);
  AppendAll("ar.test.scan-b", b);
  std::map<TopicPartition, int64_t> next;  // per partition: the offset expected next
  size_t seen = 0;
  std::set<std::string> values;
  auto producer = log_->NewProducer();
  ASSERT_TRUE(producer.ok());
  absl::Status scanned =
      ScanToEnd(*log_, {"ar.test.scan-a", "ar.test.scan-b", "ar.test.scan-empty"},
                absl::Seconds(60), [&](const Record& record) {
                  int64_t& expected = next[{record.topic, record.partition}];
                  EXPECT_EQ(record.offset, expected) << record.topic << "/" << record.partition;
                  expected = record.offset + 1;
                  values.insert(record.topic + record.value);
                  // Appended during the scan: after the ends it reads up to.
                  if (++seen == 1) {
                    EXPECT_TRUE((*producer)->AppendAndWait("ar.test.scan-a", "late", "late").ok());
                  }
                  return absl::OkStatus();
                });
  (*producer)->Stop(absl::Seconds(5));
  ASSERT_TRUE(scanned.ok()) << scanned;
  EXPECT_EQ(seen, a.size() + b.size());
  EXPECT_EQ(values.size(), a.size() + b.size());
  EXPECT_FALSE(values.count("ar.test.scan-alate"));
  // The visitor's error stops the scan; a missing topic is NOT_FOUND.
  int calls = 0;
  EXPECT_EQ(ScanToEnd(*log_, {"ar.test.scan-a"}, absl::Seconds(60),
                      [&](const Record&) {
                        ++calls;
                        return absl::DataLossError("stop");
                      })
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ScanToEnd(*log_, {"ar.test.scan-missing"}, absl::Seconds(5),
                      [](const Record&) { return absl::OkStatus(); })
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_P(EventLogConformanceTest, EndOffsetIsTheNextOffsetToBeWritten) {
  CreateTopic("ar.test.end", 2);
  for (int32_t p = 0; p < 2; ++p) {
    auto end = log_->EndOffset({"ar.test.end", p});
    ASSERT_TRUE(end.ok()) << end.status();
    EXPECT_EQ(*end, 0);
  }
  std::vector<LogPosition> positions = AppendAll("ar.test.end", SequencedRecords(25, 5));
  std::map<int32_t, int64_t> expected;
  for (const LogPosition& p : positions)
    expected[p.partition] = std::max(expected[p.partition], p.offset + 1);
  for (int32_t p = 0; p < 2; ++p) {
    auto end = log_->EndOffset({"ar.test.end", p});
    ASSERT_TRUE(end.ok()) << end.status();
    EXPECT_EQ(*end, expected[p]) << "partition " << p;
  }
}

TEST_P(EventLogConformanceTest, CommittedOffsetsResumeAfterARestart) {
  constexpr int32_t kPartitions = 2;
  constexpr int kRecords = 100;
  CreateTopic("ar.test.resume", kPartitions);
  AppendAll("ar.test.resume", SequencedRecords(kRecords, 10));

  std::set<std::pair<int32_t, int64_t>> processed;
  std::map<int32_t, int64_t> committed;
  {
    auto consumer = NewConsumer("resumers");
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    ASSERT_TRUE((*consumer)->Subscribe({"ar.test.resume"}).ok());
    // Process about half, commit exactly what was processed, go away.
    std::vector<Record> read = PollRecords(**consumer, kRecords / 2);
    ASSERT_FALSE(read.empty());
    std::vector<TopicPartitionOffset> offsets;
    for (const Record& record : read) {
      processed.insert({record.partition, record.offset});
      committed[record.partition] = std::max(committed[record.partition], record.offset + 1);
    }
    for (const auto& [partition, next] : committed)
      offsets.push_back({"ar.test.resume", partition, next});
    ASSERT_TRUE((*consumer)->Commit(offsets).ok());
    auto answer = (*consumer)->Committed({{"ar.test.resume", 0}, {"ar.test.resume", 1}});
    ASSERT_TRUE(answer.ok()) << answer.status();
    for (const TopicPartitionOffset& tpo : *answer) {
      auto it = committed.find(tpo.partition);
      EXPECT_EQ(tpo.offset, it == committed.end() ? kNoOffset : it->second);
    }
    (*consumer)->Close();
  }

  Reopen();  // a restart: new clients on the same log
  auto consumer = NewConsumer("resumers");
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE((*consumer)->Subscribe({"ar.test.resume"}).ok());
  std::vector<Record> rest = PollRecords(**consumer, kRecords - processed.size());
  std::map<int32_t, int64_t> first_offset;
  for (const Record& record : rest) {
    first_offset.try_emplace(record.partition, record.offset);
    EXPECT_TRUE(processed.insert({record.partition, record.offset}).second)
        << "record " << record.partition << "/" << record.offset << " delivered again";
  }
  EXPECT_EQ(processed.size(), static_cast<size_t>(kRecords));
  for (const auto& [partition, offset] : first_offset) {
    auto it = committed.find(partition);
    EXPECT_EQ(offset, it == committed.end() ? 0 : it->second) << "partition " << partition;
  }

  // Another group has committed nothing.
  auto stranger = NewConsumer("strangers");
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  auto none = (*stranger)->Committed({{"ar.test.resume", 0}});
  ASSERT_TRUE(none.ok()) << none.status();
  ASSERT_EQ(none->size(), 1u);
  EXPECT_EQ((*none)[0].offset, kNoOffset);
  (*stranger)->Close();
  (*consumer)->Close();
}

// One member of a group as the test drives it: it processes every record it polls,
// commits what it processed when partitions are revoked, and starts from the committed
// offsets when partitions are assigned. That is the exactly-once discipline.
struct GroupMemberUnderTest {
  std::unique_ptr<Consumer> consumer;
  std::map<TopicPartition, int64_t> processed_next;  // next offset after what we processed
  std::vector<std::pair<int32_t, int64_t>> seen;
  int revocations = 0;
};

void PollMember(GroupMemberUnderTest& member) {
  auto polled = member.consumer->Poll(1000, absl::Milliseconds(50));
  ASSERT_TRUE(polled.ok()) << polled.status();
  for (const Record& record : *polled) {
    member.seen.push_back({record.partition, record.offset});
    member.processed_next[{record.topic, record.partition}] = record.offset + 1;
  }
}

RebalanceListener CommittingListener(GroupMemberUnderTest* member) {
  RebalanceListener listener;
  listener.on_revoked = [member](const std::vector<TopicPartition>& revoked) {
    ++member->revocations;
    std::vector<TopicPartitionOffset> offsets;
    for (const TopicPartition& tp : revoked) {
      auto it = member->processed_next.find(tp);
      if (it != member->processed_next.end())
        offsets.push_back({tp.topic, tp.partition, it->second});
      member->processed_next.erase(tp);
    }
    if (!offsets.empty()) {
      absl::Status committed = member->consumer->Commit(offsets);
      EXPECT_TRUE(committed.ok()) << committed;
    }
  };
  return listener;
}

TEST_P(EventLogConformanceTest, GroupMembersSplitPartitionsAndTheSurvivorTakesOverWithNothingLost) {
  constexpr int32_t kPartitions = 4;
  const std::string topic = "ar.test.group";
  CreateTopic(topic, kPartitions);
  AppendAll(topic, SequencedRecords(400, 40));

  GroupMemberUnderTest a;
  GroupMemberUnderTest b;
  {
    auto consumer = NewConsumer("splitters", CommittingListener(&a));
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    a.consumer = std::move(*consumer);
    consumer = NewConsumer("splitters", CommittingListener(&b));
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    b.consumer = std::move(*consumer);
  }
  ASSERT_TRUE(a.consumer->Subscribe({topic}).ok());
  ASSERT_TRUE(b.consumer->Subscribe({topic}).ok());

  // Both poll (from this one thread, in turns) until the group has settled on a split.
  auto split = [&] {
    std::vector<TopicPartition> in_a = a.consumer->Assignment();
    std::vector<TopicPartition> in_b = b.consumer->Assignment();
    std::set<TopicPartition> all(in_a.begin(), in_a.end());
    all.insert(in_b.begin(), in_b.end());
    return !in_a.empty() && !in_b.empty() && all.size() == static_cast<size_t>(kPartitions) &&
           in_a.size() + in_b.size() == static_cast<size_t>(kPartitions);
  };
  const absl::Time give_up = absl::Now() + kDeadline;
  while (!split() && absl::Now() < give_up) {
    PollMember(a);
    PollMember(b);
  }
  ASSERT_TRUE(split()) << "the group never split the partitions between its two members";

  // More records while both are members; both keep polling for a while.
  AppendAll(topic, SequencedRecords(200, 40));
  for (int i = 0; i < 5; ++i) {
    PollMember(a);
    PollMember(b);
  }

  // A leaves (committing what it processed as its partitions are revoked); B must take
  // over every partition and see everything that A did not process.
  a.consumer->Close();
  AppendAll(topic, SequencedRecords(200, 40));
  constexpr size_t kTotal = 800;
  auto everything_seen = [&] {
    std::set<std::pair<int32_t, int64_t>> distinct(a.seen.begin(), a.seen.end());
    distinct.insert(b.seen.begin(), b.seen.end());
    return distinct.size() >= kTotal;
  };
  while (
      (b.consumer->Assignment().size() != static_cast<size_t>(kPartitions) || !everything_seen()) &&
      absl::Now() < give_up) {
    PollMember(b);
  }
  EXPECT_EQ(b.consumer->Assignment().size(), static_cast<size_t>(kPartitions));
  EXPECT_GE(a.revocations, 1) << "leaving must revoke the member's partitions";

  std::map<std::pair<int32_t, int64_t>, int> times_seen;
  for (const auto& position : a.seen) ++times_seen[position];
  for (const auto& position : b.seen) ++times_seen[position];
  EXPECT_EQ(times_seen.size(), kTotal) << "records were lost";
  for (const auto& [position, times] : times_seen) {
    EXPECT_EQ(times, 1) << "record " << position.first << "/" << position.second
                        << " processed more than once despite commits before revoke";
  }
  b.consumer->Close();
}

std::vector<HarnessFactory> Backends() { return {EmbeddedHarnessFactory(), KafkaHarnessFactory()}; }

INSTANTIATE_TEST_SUITE_P(Backends, EventLogConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<HarnessFactory>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace ar::eventlog
