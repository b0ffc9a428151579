#pragma once
// librdkafka's mock Kafka cluster: N brokers speaking the real Kafka protocol on loopback
// TCP, inside this process, with broker failures on demand. Used by the Kafka tests and
// benchmarks, and by end-to-end tests that run it in a process of its own.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/eventlog/kafka_log.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace ar::eventlog {

// Client settings for test clusters: short group, fetch and retry timings so joins,
// rebalances and reconnects take seconds, not minutes.
KafkaLogOptions FastTestClientOptions(std::string bootstrap_servers);

class KafkaMockCluster {
 public:
  // Starts `broker_count` brokers (ids 1..broker_count) on free loopback ports.
  static absl::StatusOr<std::unique_ptr<KafkaMockCluster>> Start(int broker_count = 3);

  ~KafkaMockCluster();
  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  // "host:port,host:port,...": the bootstrap.servers for clients.
  const std::string& bootstraps() const { return bootstraps_; }
  int broker_count() const { return broker_count_; }

  // Disconnects the broker and refuses new connections, or accepts them again. Neither
  // moves partition leadership (the mock cluster never elects a new leader).
  absl::Status BrokerDown(int32_t broker_id);
  absl::Status BrokerUp(int32_t broker_id);

  // Creates a topic (the mock cluster does not implement the CreateTopics Admin API).
  // OK when it already exists with the same partition count; FAILED_PRECONDITION when
  // with another. replication_factor -1: min(3, broker_count).
  absl::Status CreateTopic(const std::string& topic, int32_t partitions,
                           int replication_factor = -1);

  // FastTestClientOptions for this cluster, creating topics through CreateTopic (the mock
  // has no CreateTopics API).
  KafkaLogOptions ClientOptions();

  // For error injection in tests (rdkafka_mock.h).
  rd_kafka_mock_cluster_s* raw() const { return cluster_; }

 private:
  KafkaMockCluster() = default;
  absl::Status CheckBroker(int32_t broker_id) const;

  rd_kafka_s* handle_ = nullptr;  // the mock cluster's own client handle (book keeping)
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  std::string bootstraps_;
  int broker_count_ = 0;
};

}  // namespace ar::eventlog
