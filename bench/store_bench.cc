// Store Commit throughput for realistic projection batches: per event one HINCRBY (an
// account balance), one HSET (an invoice's status) and one ZADD (a due-date index), plus
// the checkpoint move, into the memory store and into Redis (a redis-server the benchmark
// starts). A raw MULTI/EXEC pipeline of the same writes shows what the all-or-nothing
// Lua commit costs over Redis's fastest (but not all-or-nothing) transaction.

#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/store/memory_store.h"
#include "libs/store/redis_store.h"
#include "libs/store/store.h"
#include "libs/testing/redis_server.h"

namespace ar {
namespace {

constexpr int kWritesPerEvent = 3;
constexpr int kDistinctBatches = 64;  // keys repeat after this many, so state stays bounded
constexpr int kAccounts = 10000;

std::vector<store::WriteBatch> MakeBatches(int events_per_batch) {
  std::vector<store::WriteBatch> batches(kDistinctBatches);
  int64_t event = 0;
  for (store::WriteBatch& batch : batches) {
    for (int i = 0; i < events_per_batch; ++i, ++event) {
      const std::string invoice = absl::StrCat("inv-", event);
      batch.HIncrBy(absl::StrCat("acct:", (event * 7919) % kAccounts), "open_minor", 12345);
      batch.HSet(absl::StrCat("invoice:", invoice), "status", "open");
      batch.ZAdd("due-index:EU", invoice, 20000 + event % 365);
    }
  }
  return batches;
}

void RunCommits(benchmark::State& state, store::Store& store) {
  const int events_per_batch = static_cast<int>(state.range(0));
  const std::vector<store::WriteBatch> batches = MakeBatches(events_per_batch);
  // Google Benchmark runs this function several times on one store: resume its checkpoint.
  auto stored = store.LoadCheckpoints("bench");
  if (!stored.ok()) {
    state.SkipWithError(stored.status().ToString().c_str());
    return;
  }
  int64_t offset = stored->empty() ? 0 : stored->front().next_offset;
  size_t next = 0;
  for (auto _ : state) {
    const int64_t end = offset + events_per_batch;
    absl::Status status =
        store.Commit(batches[next], {{"bench", "ar.invoicing.events", 0, offset, end}});
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      return;
    }
    offset = end;
    next = (next + 1) % batches.size();
  }
  const int64_t events = state.iterations() * events_per_batch;
  state.SetItemsProcessed(events * kWritesPerEvent);  // items/s = writes/s
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

void BM_CommitIntoMemory(benchmark::State& state) {
  std::unique_ptr<store::Store> store = store::NewMemoryStore();
  RunCommits(state, *store);
}
BENCHMARK(BM_CommitIntoMemory)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMicrosecond);

testing::RedisServer* SharedRedis() {
  static testing::RedisServer server;
  static const bool started = server.Start().ok();
  return started ? &server : nullptr;
}

void BM_CommitIntoRedis(benchmark::State& state) {
  testing::RedisServer* redis = SharedRedis();
  if (redis == nullptr) {
    state.SkipWithError("cannot start redis-server");
    return;
  }
  store::RedisStoreOptions options;
  options.host = redis->host();
  options.port = redis->port();
  options.key_prefix = absl::StrCat("bench", state.range(0), ":");
  auto store = store::OpenRedisStore(options);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  RunCommits(state, **store);
}
BENCHMARK(BM_CommitIntoRedis)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(5000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The same writes as MULTI ... EXEC in one pipelined round trip, through hiredis directly:
// no fencing, no validation, and a failing command would not undo the others.
void BM_RedisMultiExecBaseline(benchmark::State& state) {
  testing::RedisServer* redis = SharedRedis();
  if (redis == nullptr) {
    state.SkipWithError("cannot start redis-server");
    return;
  }
  redisContext* context = redisConnect(redis->host().c_str(), redis->port());
  if (context == nullptr || context->err != 0) {
    state.SkipWithError("cannot connect");
    return;
  }
  const int events_per_batch = static_cast<int>(state.range(0));
  const std::vector<store::WriteBatch> batches = MakeBatches(events_per_batch);
  const std::string prefix = absl::StrCat("baseline", events_per_batch, ":");
  int64_t offset = 0;
  size_t next = 0;
  for (auto _ : state) {
    int replies = 0;
    redisAppendCommand(context, "MULTI");
    ++replies;
    for (const store::WriteBatch::Op& op : batches[next].ops()) {
      std::visit(
          [&](const auto& o) {
            using T = std::decay_t<decltype(o)>;
            const std::string key = prefix + o.key;
            if constexpr (std::is_same_v<T, struct store::WriteBatch::HIncrBy>) {
              redisAppendCommand(context, "HINCRBY %b %b %lld", key.data(), key.size(),
                                 o.field.data(), o.field.size(), static_cast<long long>(o.delta));
            } else if constexpr (std::is_same_v<T, struct store::WriteBatch::HSet>) {
              redisAppendCommand(context, "HSET %b %b %b", key.data(), key.size(), o.field.data(),
                                 o.field.size(), o.value.data(), o.value.size());
            } else if constexpr (std::is_same_v<T, struct store::WriteBatch::ZAdd>) {
              redisAppendCommand(context, "ZADD %b %lld %b", key.data(), key.size(),
                                 static_cast<long long>(o.score), o.member.data(), o.member.size());
            }
          },
          op);
      ++replies;
    }
    offset += events_per_batch;
    redisAppendCommand(context, "HSET %sckpt t:0 %lld", prefix.c_str(),
                       static_cast<long long>(offset));
    redisAppendCommand(context, "EXEC");
    replies += 2;
    for (int i = 0; i < replies; ++i) {
      void* reply = nullptr;
      if (redisGetReply(context, &reply) != REDIS_OK) {
        state.SkipWithError(context->errstr);
        redisFree(context);
        return;
      }
      freeReplyObject(reply);
    }
    next = (next + 1) % batches.size();
  }
  redisFree(context);
  const int64_t events = state.iterations() * events_per_batch;
  state.SetItemsProcessed(events * kWritesPerEvent);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RedisMultiExecBaseline)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ar

BENCHMARK_MAIN();
