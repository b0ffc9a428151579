#pragma once
// The Kafka backend of the event log, on librdkafka's C API. Every librdkafka setting
// can be passed through `properties`; the backend only insists on what its semantics
// need (idempotent producer with acks=all, murmur2_random partitioner so records land
// where PartitionForKey says, manual offset storage and commits on the consumer).

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/eventlog/eventlog.h"

namespace ar::eventlog {

struct KafkaLogOptions {
  // host:port[,host:port...]
  std::string bootstrap_servers;

  // Passed straight to librdkafka for every client this log creates (producers,
  // consumers and the admin client), applied after the backend's defaults so they can
  // override them (for example "message.timeout.ms", "security.protocol", or
  // "session.timeout.ms"). Settings that contradict the backend's guarantees
  // (enable.idempotence, acks, enable.auto.commit, enable.auto.offset.store,
  // partitioner) are rejected by OpenKafkaLog with INVALID_ARGUMENT.
  std::map<std::string, std::string> properties;

  // Replication factor for CreateTopic; -1 uses the broker's default.
  int replication_factor = -1;

  // Bound on each admin/metadata/offset request (CreateTopic, PartitionCount, EndOffset,
  // Commit, Committed, Seek). An unreachable cluster yields UNAVAILABLE or
  // DEADLINE_EXCEEDED after at most about this long.
  absl::Duration request_timeout = absl::Seconds(10);

  // How long a record may wait for its delivery before its callback fails with
  // DEADLINE_EXCEEDED (librdkafka's message.timeout.ms).
  absl::Duration delivery_timeout = absl::Seconds(30);

  // For clusters that cannot create topics through the Admin API (librdkafka's mock
  // cluster has no controller, so CreateTopics never completes there): when set,
  // CreateTopic calls this to create a missing topic instead of the Admin API.
  std::function<absl::Status(const TopicSpec&)> create_topic_override;
};

// Validates the options and creates the admin client. Does not wait for the cluster:
// an unreachable cluster shows up as errors from the operations, within their timeouts.
absl::StatusOr<std::unique_ptr<EventLog>> OpenKafkaLog(const KafkaLogOptions& options);

// Maps a librdkafka error code to the closest absl status code.
absl::StatusCode KafkaErrorToStatusCode(int rd_kafka_resp_err);

}  // namespace ar::eventlog
