#pragma once
// The event log: keyed records in partitioned topics, appended by producers and read by
// consumers, on one of two backends (Kafka through librdkafka, or the embedded durable
// log in a data directory). Service code sees only these interfaces.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ar::eventlog {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// Offsets are dense per partition: the first record is 0, the next 1, and so on.
// An "offset" stored or committed anywhere means the *next* offset to read.
inline constexpr int64_t kOffsetBeginning = -2;  // the oldest record in the partition
inline constexpr int64_t kOffsetEnd = -1;        // only records appended from now on
inline constexpr int64_t kOffsetCommitted =
    -1000;  // the group's committed offset, else per auto_offset_reset
inline constexpr int64_t kNoOffset = -1001;  // "nothing committed" in Committed() answers

struct TopicPartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = kOffsetCommitted;
  friend bool operator==(const TopicPartitionOffset&, const TopicPartitionOffset&) = default;
};

// Where an appended record landed.
struct LogPosition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  friend bool operator==(const LogPosition&, const LogPosition&) = default;
};

struct Record {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  int64_t timestamp_unix_micros = 0;  // when the log accepted it
};

// Called exactly once per Append: with the record's position once it is durable
// (acks=all on Kafka; fsynced on embedded), or with the reason it never will be.
// Called from a producer-owned thread: keep it short, never block on the producer.
using DeliveryCallback = std::function<void(absl::StatusOr<LogPosition>)>;

class Producer {
 public:
  virtual ~Producer() = default;

  // Queues a record. The partition is chosen by hashing `key` (same key, same partition).
  // Never blocks on the network; may block briefly when the local queue is full.
  virtual void Append(std::string_view topic, std::string_view key, std::string_view value,
                      DeliveryCallback on_delivery) = 0;

  // Waits until every record appended so far has had its callback, or the timeout.
  virtual absl::Status Flush(absl::Duration timeout) = 0;

  // Flushes (bounded by `timeout`), then fails whatever is left with UNAVAILABLE and
  // releases the backend. Idempotent; the destructor calls it with a short timeout.
  virtual void Stop(absl::Duration timeout) = 0;

  // Append + wait for the delivery result.
  absl::StatusOr<LogPosition> AppendAndWait(std::string_view topic, std::string_view key,
                                            std::string_view value);
};

// Rebalance callbacks run on the thread that calls Consumer::Poll, inside Poll.
struct RebalanceListener {
  // Partitions newly assigned to this consumer. Each offset arrives as kOffsetCommitted;
  // the listener may overwrite it with an explicit start offset (for example a
  // checkpoint kept beside a read model), which the consumer then starts from exactly.
  std::function<void(std::vector<TopicPartitionOffset>& assigned)> on_assigned;
  // Partitions taken away from this consumer; no record of them is returned after this.
  std::function<void(const std::vector<TopicPartition>& revoked)> on_revoked;
};

struct ConsumerOptions {
  // Empty group id: no group; use Assign() only.
  std::string group_id;
  std::string client_id;
  // Where to start when the group has no committed offset: kOffsetBeginning or kOffsetEnd.
  int64_t auto_offset_reset = kOffsetBeginning;
  RebalanceListener listener;
};

// Not thread-safe: one thread polls (and calls everything else); that is the design.
class Consumer {
 public:
  virtual ~Consumer() = default;

  // Joins `group_id` and receives a share of the topics' partitions; the share changes
  // as members join and leave (see RebalanceListener).
  virtual absl::Status Subscribe(const std::vector<std::string>& topics) = 0;

  // Reads exactly these partitions from these offsets, outside any group rebalancing.
  // kOffsetCommitted uses the group's committed offset (needs a group id).
  virtual absl::Status Assign(const std::vector<TopicPartitionOffset>& partitions) = 0;

  // Returns up to `max_records` records, waiting at most `timeout` for the first one.
  // An empty vector means nothing arrived in time. Records of one partition come in
  // offset order. Rebalance callbacks run inside this call.
  virtual absl::StatusOr<std::vector<Record>> Poll(int max_records, absl::Duration timeout) = 0;

  // Moves the read position of an assigned partition.
  virtual absl::Status Seek(const TopicPartitionOffset& position) = 0;

  // Stops returning records of these partitions until Resume; Poll keeps serving the
  // group (heartbeats, rebalances) meanwhile.
  virtual absl::Status Pause(const std::vector<TopicPartition>& partitions) = 0;
  virtual absl::Status Resume(const std::vector<TopicPartition>& partitions) = 0;

  // Commits next-offsets for the group, synchronously.
  virtual absl::Status Commit(const std::vector<TopicPartitionOffset>& offsets) = 0;

  // The group's committed next-offset for each partition; kNoOffset where the group has
  // never committed one.
  virtual absl::StatusOr<std::vector<TopicPartitionOffset>> Committed(
      const std::vector<TopicPartition>& partitions) = 0;

  // Partitions currently assigned.
  virtual std::vector<TopicPartition> Assignment() const = 0;

  // Leaves the group (revoking its partitions) and releases the backend. Idempotent.
  virtual void Close() = 0;
};

struct TopicSpec {
  std::string name;
  int32_t partitions = 1;
};

// A backend: creates topics, producers and consumers. Thread-safe.
class EventLog {
 public:
  virtual ~EventLog() = default;

  // Creates the topic when missing. An existing topic is OK only with the same
  // partition count (else FAILED_PRECONDITION).
  virtual absl::Status CreateTopic(const TopicSpec& spec) = 0;

  // Number of partitions of an existing topic; NOT_FOUND when missing.
  virtual absl::StatusOr<int32_t> PartitionCount(std::string_view topic) = 0;

  // The next offset that will be written to the partition (0 for an empty one).
  virtual absl::StatusOr<int64_t> EndOffset(const TopicPartition& partition) = 0;

  virtual absl::StatusOr<std::unique_ptr<Producer>> NewProducer() = 0;
  virtual absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(ConsumerOptions options) = 0;
};

// Same key -> same partition, on every backend: murmur2 as Kafka's Java client uses,
// so records keyed by account land where a Java or kcat producer would put them.
int32_t PartitionForKey(std::string_view key, int32_t partition_count);

}  // namespace ar::eventlog
