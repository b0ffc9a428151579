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
    KafkaLogOptions options = cluster_->ClientOptions();
    // librdkafka 2.0.2's mock coordinator refuses OffsetCommit while a rebalance is
    // pending (real brokers accept commits of the current generation then), so an eager
    // member that commits in on_revoked would fail and re-deliver. With cooperative
    // rebalancing, members keep their partitions when others join or leave.
    options.properties["partition.assignment.strategy"] = "cooperative-sticky";
    // The mock keeps only the last 5 MiB of each partition (rdkafka_mock.c,
    // mpart->max_size, not configurable): compressed batches keep big tests within it.
    options.properties["compression.type"] = "zstd";
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
