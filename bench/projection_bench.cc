// Projection throughput: decode EventBatch records, apply each event through a handler
// that writes like a real read model (HINCRBY a balance, HSET a status, ZADD an index),
// and commit the batch with its checkpoint into the memory store or into Redis.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/projection/projection.h"
#include "libs/store/memory_store.h"
#include "libs/store/redis_store.h"
#include "libs/testing/redis_server.h"
#include "libs/testing/temp_dir.h"

namespace ar {
namespace {

constexpr char kTopic[] = "ar.bench.events";
constexpr int kEventsPerRecord = 4;
constexpr int kAccounts = 10000;

class ReadModelLikeHandler : public projection::Handler {
 public:
  absl::Status Apply(const v1::Event& event, const eventlog::Record&,
                     store::WriteBatch& batch) override {
    const v1::PaymentAllocated& allocated = event.payment_allocated();
    batch.HIncrBy(absl::StrCat("bal:", event.account()), allocated.amount().currency(),
                  -allocated.amount().minor_units());
    batch.HSet(absl::StrCat("inv:", allocated.invoice_id()), "status", "partially_paid");
    batch.ZAdd(absl::StrCat("open:", event.account()), allocated.invoice_id(),
               allocated.amount().minor_units());
    return absl::OkStatus();
  }
};

std::vector<eventlog::Record> MakeRecords(int count) {
  std::vector<eventlog::Record> records(count);
  for (int i = 0; i < count; ++i) {
    v1::EventBatch batch;
    std::string account = absl::StrCat("acct-", i % kAccounts);
    for (int e = 0; e < kEventsPerRecord; ++e) {
      v1::Event* event = batch.add_events();
      event->set_event_id(absl::StrCat("evt-", i, "-", e));
      event->set_tenant("t1");
      event->set_region("eu");
      event->set_subsidiary("de01");
      event->set_account(account);
      event->set_schema_version(1);
      v1::PaymentAllocated* body = event->mutable_payment_allocated();
      body->set_payment_id(absl::StrCat("pay-", i));
      body->set_invoice_id(absl::StrCat("inv-", i, "-", e));
      body->mutable_amount()->set_minor_units(1000 + e);
      body->mutable_amount()->set_currency("EUR");
    }
    records[i].topic = kTopic;
    records[i].partition = 0;
    records[i].key = account;
    records[i].value = batch.SerializeAsString();
  }
  return records;
}

void RunProjection(benchmark::State& state, store::Store& store) {
  testing::TempDir dir;
  eventlog::EmbeddedLogOptions log_options;
  log_options.data_dir = dir.path();
  auto log = eventlog::OpenEmbeddedLog(log_options);
  if (!log.ok() || !(*log)->CreateTopic({kTopic, 1}).ok()) {
    state.SkipWithError("cannot open the embedded log");
    return;
  }
  ReadModelLikeHandler handler;
  projection::ProjectionOptions options;
  options.name = "bench";
  options.topics = {kTopic};
  options.use_consumer_group = false;
  projection::ProjectionRunner runner(**log, store, handler, options);
  if (!runner.Open().ok()) {
    state.SkipWithError("cannot open the projection");
    return;
  }
  const int batch_records = static_cast<int>(state.range(0));
  std::vector<eventlog::Record> records = MakeRecords(batch_records * 8);
  int64_t offset = 0;
  size_t next = 0;
  std::vector<eventlog::Record> batch(batch_records);
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < batch_records; ++i) {
      batch[i] = records[next++ % records.size()];
      batch[i].offset = offset++;
    }
    state.ResumeTiming();
    auto applied = runner.ApplyAndCommit(batch);
    if (!applied.ok() || *applied != batch_records) {
      state.SkipWithError(applied.status().ToString().c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * batch_records * kEventsPerRecord);
  state.counters["records_per_commit"] = batch_records;
}

void BM_ProjectionIntoMemory(benchmark::State& state) {
  std::unique_ptr<store::Store> store = store::NewMemoryStore();
  RunProjection(state, *store);
}
BENCHMARK(BM_ProjectionIntoMemory)->Arg(500)->Arg(2000)->Unit(benchmark::kMillisecond);

void BM_ProjectionIntoRedis(benchmark::State& state) {
  testing::RedisServer redis;
  if (!redis.Start().ok()) {
    state.SkipWithError("cannot start redis-server");
    return;
  }
  store::RedisStoreOptions options;
  options.host = redis.host();
  options.port = redis.port();
  auto store = store::OpenRedisStore(options);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  RunProjection(state, **store);
}
// Real time: the work happens in redis-server, not on this thread.
BENCHMARK(BM_ProjectionIntoRedis)
    ->Arg(100)
    ->Arg(500)
    ->Arg(2000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace ar
