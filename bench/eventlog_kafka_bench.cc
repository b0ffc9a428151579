// Kafka event log append throughput: 200-byte keyed records through KafkaLog (idempotent
// producer, acks=all) into librdkafka's mock cluster (3 brokers on loopback TCP, in this
// process), with a whole batch in flight before waiting for the delivery callbacks.
//
//   eventlog_bench --benchmark_filter=Kafka
//
// The mock cluster runs in the same process and shares the cores with the client, so the
// figures are a floor for the client, not a statement about a real Kafka cluster.
// Real time is what counts (the work happens on librdkafka's threads); items/s is records/s.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/eventlog/eventlog.h"
#include "libs/eventlog/kafka_log.h"
#include "libs/eventlog/kafka_mock_cluster.h"

namespace ar::eventlog {
namespace {

constexpr char kTopic[] = "bench.kafka.events";
constexpr int32_t kPartitions = 8;
constexpr size_t kRecordBytes = 200;
constexpr int kAccounts = 10'000;

// A producer on a fresh 3-broker mock cluster with the bench topic; members are destroyed
// in reverse order (producer, log, then the cluster they talk to).
struct MockClusterProducer {
  std::unique_ptr<KafkaMockCluster> cluster;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<Producer> producer;
};

absl::StatusOr<MockClusterProducer> OpenMockClusterProducer(
    const std::map<std::string, std::string>& extra_properties) {
  MockClusterProducer opened;
  auto cluster = KafkaMockCluster::Start(3);
  if (!cluster.ok()) return cluster.status();
  opened.cluster = std::move(*cluster);
  KafkaLogOptions options = opened.cluster->ClientOptions();
  for (const auto& [key, value] : extra_properties) options.properties[key] = value;
  auto log = OpenKafkaLog(options);
  if (!log.ok()) return log.status();
  opened.log = std::move(*log);
  if (absl::Status created = opened.log->CreateTopic({kTopic, kPartitions}); !created.ok()) {
    return created;
  }
  auto producer = opened.log->NewProducer();
  if (!producer.ok()) return producer.status();
  opened.producer = std::move(*producer);
  return opened;
}

void BM_KafkaAppendBatched(benchmark::State& state) {
  const int64_t batch = state.range(0);
  auto opened =
      OpenMockClusterProducer({{"linger.ms", "5"}, {"queue.buffering.max.messages", "1000000"}});
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return;
  }
  Producer* producer = opened->producer.get();
  std::vector<std::string> keys;
  for (int i = 0; i < kAccounts; ++i) keys.push_back(absl::StrCat("account-", i));
  const std::string value(kRecordBytes, 'v');
  std::atomic<int64_t> failures{0};
  auto on_delivery = [&failures](absl::StatusOr<LogPosition> result) {
    if (!result.ok()) failures.fetch_add(1, std::memory_order_relaxed);
  };

  int64_t appended = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < batch; ++i, ++appended) {
      producer->Append(kTopic, keys[appended % kAccounts], value, on_delivery);
    }
    if (absl::Status flushed = producer->Flush(absl::Seconds(60)); !flushed.ok()) {
      state.SkipWithError(flushed.ToString().c_str());
      break;
    }
  }
  producer->Stop(absl::Seconds(5));
  if (failures.load() > 0) state.SkipWithError("some appends failed");
  state.SetItemsProcessed(appended);
  state.SetBytesProcessed(appended * static_cast<int64_t>(kRecordBytes));
  state.counters["in_flight"] = static_cast<double>(batch);
}
BENCHMARK(BM_KafkaAppendBatched)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One produce round trip: AppendAndWait of a single record (what a command waits for),
// against the same mock cluster. Real time per iteration is the round-trip latency.
void BM_KafkaAppendOneByOne(benchmark::State& state) {
  auto opened = OpenMockClusterProducer({});
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return;
  }
  Producer* producer = opened->producer.get();
  const std::string value(kRecordBytes, 'v');
  // The first append fetches metadata and connects: not part of the round trip.
  if (!producer->AppendAndWait(kTopic, "warm-up", value).ok()) {
    state.SkipWithError("warm-up append failed");
    return;
  }
  int64_t appended = 0;
  for (auto _ : state) {
    auto position =
        producer->AppendAndWait(kTopic, absl::StrCat("account-", appended % kAccounts), value);
    if (!position.ok()) {
      state.SkipWithError(position.status().ToString().c_str());
      break;
    }
    ++appended;
  }
  producer->Stop(absl::Seconds(5));
  state.SetItemsProcessed(appended);
}
BENCHMARK(BM_KafkaAppendOneByOne)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ar::eventlog
