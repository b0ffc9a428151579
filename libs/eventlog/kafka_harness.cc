// The conformance harness for the Kafka backend: a 3-broker librdkafka mock cluster on
// loopback TCP, and KafkaLog clients on it tuned for fast tests.

#include <memory>
#include <utility>

#include "libs/eventlog/conformance_harness.h"
#include "libs/eventlog/kafka_log.h"
#include "libs/eventlog/kafka_mock_cluster.h"

namespace ar::eventlog {
namespace {

class KafkaHarness final : public EventLogHarness {
 public:
  KafkaHarness() {
    auto cluster = KafkaMockCluster::Start(3);
    if (cluster.ok()) {
      cluster_ = std::move(*cluster);
    } else {
      start_error_ = cluster.status();
    }
  }

  absl::StatusOr<std::unique_ptr<EventLog>> Open() override {
    if (cluster_ == nullptr) return start_error_;
    KafkaLogOptions options;
    options.bootstrap_servers = cluster_->bootstraps();
    options.properties = {
        // Short group timings so joins, leaves and rebalances take seconds, not minutes.
        {"session.timeout.ms", "6000"},
        {"heartbeat.interval.ms", "500"},
        // The mock broker holds an empty fetch for the full wait: keep it short so new
        // records reach consumers promptly.
        {"fetch.wait.max.ms", "100"},
        {"fetch.error.backoff.ms", "100"},
        {"topic.metadata.refresh.interval.ms", "1000"},
        {"reconnect.backoff.ms", "50"},
        {"reconnect.backoff.max.ms", "500"},
        {"retry.backoff.ms", "50"},
        // librdkafka 2.0.2's mock coordinator refuses OffsetCommit while a rebalance is
        // pending (real brokers accept commits of the current generation then), so an
        // eager member that commits in on_revoked would fail and re-deliver. With
        // cooperative rebalancing, members keep their partitions when others join or leave.
        {"partition.assignment.strategy", "cooperative-sticky"},
        // The mock keeps only the last 5 MiB of each partition (rdkafka_mock.c,
        // mpart->max_size, not configurable): compressed batches keep big tests within it.
        {"compression.type", "zstd"},
    };
    options.request_timeout = absl::Seconds(10);
    options.delivery_timeout = absl::Seconds(60);
    KafkaMockCluster* cluster = cluster_.get();
    options.create_topic_override = [cluster](const TopicSpec& spec) {
      return cluster->CreateTopic(spec.name, spec.partitions);
    };
    return OpenKafkaLog(options);
  }

 private:
  std::unique_ptr<KafkaMockCluster> cluster_;
  absl::Status start_error_;
};

}  // namespace

HarnessFactory KafkaHarnessFactory() {
  return {"Kafka", [] { return std::make_unique<KafkaHarness>(); }};
}

}  // namespace ar::eventlog
