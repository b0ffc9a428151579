// Embedded event log throughput: durable appends of 200-byte records with many records in
// flight (so the writer thread group-commits them), and consumption of a written topic.
//
//   eventlog_bench --benchmark_filter=Embedded
//
// Real time is what counts (the work happens on the log's writer thread), so every
// benchmark here uses it; items/s is records/s.

#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/eventlog/eventlog.h"
#include "libs/testing/temp_dir.h"

namespace ar::eventlog {
namespace {

constexpr char kTopic[] = "bench.events";
constexpr int32_t kPartitions = 8;
constexpr size_t kRecordBytes = 200;
constexpr int kAccounts = 10'000;

// Bounds the records in flight: Append blocks the benchmark thread once `limit` records
// await their delivery callback, the way a service bounds its own outstanding commands.
class InFlightWindow {
 public:
  explicit InFlightWindow(int64_t limit) : limit_(limit) {}

  void Acquire() {
    std::unique_lock lock(mu_);
    room_.wait(lock, [this] { return in_flight_ < limit_; });
    ++in_flight_;
  }
  void Release(bool ok) {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (!ok) ++failures_;
    if (in_flight_ < limit_) room_.notify_one();
  }
  int64_t failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  std::mutex mu_;
  std::condition_variable room_;
  const int64_t limit_;
  int64_t in_flight_ = 0;
  int64_t failures_ = 0;
};

std::vector<std::string> MakeKeys() {
  std::vector<std::string> keys;
  for (int i = 0; i < kAccounts; ++i) keys.push_back(absl::StrCat("account-", i));
  return keys;
}

std::string MakeValue(std::mt19937& random) {
  std::string value(kRecordBytes, '\0');
  for (char& c : value) c = static_cast<char>(random());
  return value;
}

struct OpenedLog {
  testing::TempDir dir;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<Producer> producer;
};

std::unique_ptr<OpenedLog> OpenLog(benchmark::State& state) {
  auto opened = std::make_unique<OpenedLog>();
  EmbeddedLogOptions options;
  options.data_dir = opened->dir.Join("log");
  options.create_if_missing = true;
  auto log = OpenEmbeddedLog(options);
  if (!log.ok()) {
    state.SkipWithError(std::string(log.status().message()).c_str());
    return nullptr;
  }
  opened->log = std::move(*log);
  if (!opened->log->CreateTopic({kTopic, kPartitions}).ok()) {
    state.SkipWithError("CreateTopic failed");
    return nullptr;
  }
  auto producer = opened->log->NewProducer();
  if (!producer.ok()) {
    state.SkipWithError("NewProducer failed");
    return nullptr;
  }
  opened->producer = std::move(*producer);
  return opened;
}

// Arg: records in flight. Each iteration appends a batch and waits until all of it is
// durable (fsynced), so the time covers the whole round trip.
void BM_EmbeddedAppendDurable(benchmark::State& state) {
  constexpr int kBatch = 100'000;
  std::unique_ptr<OpenedLog> opened = OpenLog(state);
  if (opened == nullptr) return;
  const std::vector<std::string> keys = MakeKeys();
  std::mt19937 random(7);
  std::vector<std::string> values;
  for (int i = 0; i < 1024; ++i) values.push_back(MakeValue(random));

  InFlightWindow window(state.range(0));
  int64_t appended = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i, ++appended) {
      window.Acquire();
      opened->producer->Append(
          kTopic, keys[static_cast<size_t>(appended % kAccounts)],
          values[static_cast<size_t>(appended % 1024)],
          [&window](absl::StatusOr<LogPosition> position) { window.Release(position.ok()); });
    }
    if (!opened->producer->Flush(absl::Minutes(5)).ok()) {
      state.SkipWithError("Flush timed out");
      break;
    }
  }
  if (window.failures() != 0) state.SkipWithError("some appends failed");
  state.SetItemsProcessed(appended);
  state.SetBytesProcessed(appended * static_cast<int64_t>(kRecordBytes));
  opened->producer->Stop(absl::Seconds(30));
}
BENCHMARK(BM_EmbeddedAppendDurable)
    ->Arg(256)
    ->Arg(4096)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

// One record at a time, each waited for: the latency floor (one fsync per record).
void BM_EmbeddedAppendOneByOne(benchmark::State& state) {
  std::unique_ptr<OpenedLog> opened = OpenLog(state);
  if (opened == nullptr) return;
  std::mt19937 random(7);
  const std::string value = MakeValue(random);
  int64_t appended = 0;
  for (auto _ : state) {
    auto position =
        opened->producer->AppendAndWait(kTopic, absl::StrCat("account-", appended % 97), value);
    if (!position.ok()) {
      state.SkipWithError("append failed");
      break;
    }
    ++appended;
  }
  state.SetItemsProcessed(appended);
}
BENCHMARK(BM_EmbeddedAppendOneByOne)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Reads a topic of 200k records from the beginning through one consumer.
void BM_EmbeddedConsume(benchmark::State& state) {
  constexpr int kRecords = 200'000;
  std::unique_ptr<OpenedLog> opened = OpenLog(state);
  if (opened == nullptr) return;
  const std::vector<std::string> keys = MakeKeys();
  std::mt19937 random(7);
  const std::string value = MakeValue(random);
  for (int i = 0; i < kRecords; ++i) {
    opened->producer->Append(kTopic, keys[static_cast<size_t>(i % kAccounts)], value, nullptr);
  }
  if (!opened->producer->Flush(absl::Minutes(5)).ok()) {
    state.SkipWithError("Flush timed out");
    return;
  }
  int64_t consumed = 0;
  for (auto _ : state) {
    auto consumer = opened->log->NewConsumer({});
    if (!consumer.ok()) {
      state.SkipWithError("NewConsumer failed");
      break;
    }
    std::vector<TopicPartitionOffset> all;
    for (int32_t p = 0; p < kPartitions; ++p) all.push_back({kTopic, p, kOffsetBeginning});
    if (!(*consumer)->Assign(all).ok()) {
      state.SkipWithError("Assign failed");
      break;
    }
    int64_t read = 0;
    while (read < kRecords) {
      auto records = (*consumer)->Poll(static_cast<int>(state.range(0)), absl::Seconds(10));
      if (!records.ok() || records->empty()) {
        state.SkipWithError("Poll failed or ran dry");
        return;
      }
      read += static_cast<int64_t>(records->size());
      benchmark::DoNotOptimize(records->back().value.data());
    }
    consumed += read;
    (*consumer)->Close();
  }
  state.SetItemsProcessed(consumed);
  state.SetBytesProcessed(consumed * static_cast<int64_t>(kRecordBytes));
}
BENCHMARK(BM_EmbeddedConsume)->Arg(500)->Arg(5000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ar::eventlog
