// The collections service's day close and aging report at 1M open invoices (issue 4,
// "Performance"). The decision and read-model work, measured on the domain/index layer
// with the memory store; no log in the way.
//
// Setup (once, not measured): 1'000'000 open invoices on 250'000 accounts (4 each, grades
// A..E and none, 10 subsidiaries, region "eu") with due dates spread evenly over 1700 days
// around the business date, pushed through the CollectionsProjection handler as the
// services publish them, and every decision due so far applied (the steady state of a
// running system: nothing left undecided).
//
// BM_DayClose: one iteration = one BusinessDayClosed for "eu":
//   1. the projection applies it (due-date index ranges -> the accounts that change state;
//      their aging moves, attention marks),
//   2. the reactor's decision: DayCloseCandidates + DecideDayClose for each account,
//   3. the projection applies the decisions (records of 500 accounts per commit).
//   Counters: invoices_changing (their state changed at this close), accounts decided,
//   decision events, and the wall and CPU time of phase 1 (projection_ms,
//   projection_cpu_ms) and of phases 2+3 (decisions_ms, decisions_cpu_ms). On a shared
//   machine read the CPU figures: the wall time is mostly other processes' load.
//   "setup done" goes to stderr when the timed part starts (attach a profiler then).
// BM_AgingReport: LoadAgingReport for region "eu" (one HGETALL of the region's aggregates,
//   summed per subsidiary and currency).
//
//   collections_bench --benchmark_filter=DayClose

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/dates.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "libs/store/memory_store.h"
#include "services/collections/domain/collections_domain.h"
#include "services/collections/domain/test_events.h"
#include "services/collections/projection/collections_projection.h"

namespace ar::collections {
namespace {

using namespace ar::collections::testing;  // NOLINT: test builders

// AR_COLLECTIONS_BENCH_INVOICES overrides the size (quick runs).
const int kInvoices = [] {
  const char* text = std::getenv("AR_COLLECTIONS_BENCH_INVOICES");
  return text != nullptr ? std::atoi(text) : 1'000'000;
}();
constexpr int kInvoicesPerAccount = 4;
constexpr int kDueDateSpread = 1700;
constexpr int kRecordsPerCommit = 500;

double ThreadCpuMs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

class World {
 public:
  World() : store_(store::NewMemoryStore()), policy_(DefaultPolicy()), handler_(*store_, policy_) {
    Apply({DayClosed("eu", protoconv::DayToProto(closed_))}, topics::kClock);
    const char* grades[] = {"A", "B", "C", "D", "E", ""};
    const absl::CivilDay first_due = business_date() - 1200;
    std::vector<v1::Event> pending;
    for (int a = 0; a < kInvoices / kInvoicesPerAccount; ++a) {
      Who who{.subsidiary = absl::StrCat("sub-", a % 10), .account = absl::StrCat("acct-", a)};
      if (*grades[a % 6] != '\0') Queue(Rated(grades[a % 6], who), topics::kCredit);
      for (int i = 0; i < kInvoicesPerAccount; ++i) {
        const int n = a * kInvoicesPerAccount + i;
        // Spread so that every due day holds the same number of invoices.
        const absl::CivilDay due = first_due + (static_cast<int64_t>(n) * 7919) % kDueDateSpread;
        Queue(Issued(absl::StrCat("inv-", n), 10'000 + n % 9'000, protoconv::DayToProto(due), who),
              topics::kInvoicing);
      }
    }
    Flush();
    // Everything due so far decided, as the reactor would have.
    DecideAll(DayCloseCandidatesNow(std::nullopt));
  }

  absl::CivilDay business_date() const { return closed_ + 1; }

  // One business day closes: projection, decisions, their application.
  void CloseDay(benchmark::State& state) {
    const int64_t previous = core::DayNumber(business_date());
    closed_ += 1;
    const int64_t visited_before = handler_.accounts_visited_by_closes();
    const absl::Time start = absl::Now();
    const double start_cpu = ThreadCpuMs();
    Apply({DayClosed("eu", protoconv::DayToProto(closed_))}, topics::kClock);
    const absl::Time projected = absl::Now();
    const double projected_cpu = ThreadCpuMs();
    const std::set<std::string> candidates = DayCloseCandidatesNow(previous);
    const int64_t events = DecideAll(candidates);
    // Wall and CPU time of the projection's part (1.) and of decisions + their application
    // (2.+3.); CPU is the figure to read on a shared machine.
    state.counters["projection_ms"] = absl::ToDoubleMilliseconds(projected - start);
    state.counters["decisions_ms"] = absl::ToDoubleMilliseconds(absl::Now() - projected);
    state.counters["projection_cpu_ms"] = projected_cpu - start_cpu;
    state.counters["decisions_cpu_ms"] = ThreadCpuMs() - projected_cpu;
    state.counters["accounts_visited"] =
        static_cast<double>(handler_.accounts_visited_by_closes() - visited_before);
    state.counters["accounts_decided"] = static_cast<double>(candidates.size());
    state.counters["decision_events"] = static_cast<double>(events);
  }

  // Invoices whose state changes at the next close: due dates on an edge or reminder day.
  int64_t InvoicesChangingNext() {
    int64_t count = 0;
    const int64_t current = core::DayNumber(business_date());
    for (const DayRange& range : DueDateRangesToVisit(policy_, current, current + 1)) {
      count += *store_->ZCount(Keys::DueIndex("eu"), range.min, range.max);
    }
    return count;
  }

  store::Store& store() { return *store_; }
  const v1::CollectionsPolicy& policy() const { return policy_; }

 private:
  std::set<std::string> DayCloseCandidatesNow(std::optional<int64_t> previous) {
    auto candidates =
        DayCloseCandidates(*store_, policy_, "eu", previous, core::DayNumber(business_date()));
    if (!candidates.ok()) std::abort();
    return *candidates;
  }

  int64_t DecideAll(const std::set<std::string>& members) {
    int64_t events = 0;
    std::string tenant, account, rest;
    v1::CollectionsAccount state;  // reused, as the reactor's workers do
    for (const std::string& member : members) {
      if (!Keys::ParseMember(member, tenant, account, rest)) std::abort();
      if (!LoadAccountInto(*store_, tenant, account, state).ok()) std::abort();
      const std::string command_id = DayCloseCommandId("eu", closed_, tenant, account);
      std::vector<v1::Event> decided =
          DecideDayClose(policy_, state, "eu", business_date(), {command_id, 1, ""});
      events += static_cast<int64_t>(decided.size());
      if (!decided.empty()) Queue(std::move(decided), topics::kCollections);
    }
    Flush();
    return events;
  }

  void Queue(v1::Event event, const char* topic) {
    Queue(std::vector<v1::Event>{std::move(event)}, topic);
  }
  void Queue(std::vector<v1::Event> events, const char* topic) {
    queued_.push_back({topic, std::move(events)});
    if (queued_.size() >= kRecordsPerCommit) Flush();
  }
  void Flush() {
    store::WriteBatch batch;
    for (auto& [topic, events] : queued_) AddRecord(events, topic, batch);
    queued_.clear();
    Commit(batch);
  }
  void Apply(const std::vector<v1::Event>& events, const char* topic) {
    store::WriteBatch batch;
    AddRecord(events, topic, batch);
    Commit(batch);
  }
  // As the ProjectionRunner commits a batch.
  void Commit(store::WriteBatch& batch) {
    handler_.BeforeCommit(batch);
    if (!store_->Commit(batch, {}).ok()) std::abort();
    handler_.Committed();
  }
  void AddRecord(const std::vector<v1::Event>& events, const char* topic,
                 store::WriteBatch& batch) {
    eventlog::Record source;
    source.topic = topic;
    source.offset = next_offset_++;
    for (const v1::Event& event : events) {
      if (!handler_.Apply(event, source, batch).ok()) std::abort();
    }
  }

  std::unique_ptr<store::Store> store_;
  v1::CollectionsPolicy policy_;
  CollectionsProjection handler_;
  absl::CivilDay closed_ = absl::CivilDay(2027, 6, 30);
  int64_t next_offset_ = 0;
  std::vector<std::pair<const char*, std::vector<v1::Event>>> queued_;
};

World& TheWorld() {
  static World* world = [] {
    const absl::Time start = absl::Now();
    World* built = new World();
    // Tells a profiler attached from outside that the measured part starts now.
    std::fprintf(stderr, "setup done in %.1f s\n", absl::ToDoubleSeconds(absl::Now() - start));
    return built;
  }();
  return *world;
}

void BM_DayClose(benchmark::State& state) {
  World& world = TheWorld();
  for (auto _ : state) {
    state.PauseTiming();
    const int64_t changing = world.InvoicesChangingNext();
    state.counters["invoices_changing"] = static_cast<double>(changing);
    state.ResumeTiming();
    world.CloseDay(state);
  }
}
BENCHMARK(BM_DayClose)->Unit(benchmark::kMillisecond)->Iterations(10);

void BM_AgingReport(benchmark::State& state) {
  World& world = TheWorld();
  v1::GetAgingReportRequest request;
  request.set_tenant("t1");
  request.set_region("eu");
  int64_t open = 0;
  for (auto _ : state) {
    auto report = LoadAgingReport(world.store(), world.policy(), request);
    if (!report.ok()) std::abort();
    open = 0;
    for (const v1::AgingLine& line : report->lines()) open += line.open_balance();
    benchmark::DoNotOptimize(open);
  }
  state.counters["open_invoices"] = static_cast<double>(
      *world.store().ZCount(Keys::DueIndex("eu"), store::kMinScore, store::kMaxScore));
}
BENCHMARK(BM_AgingReport)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ar::collections

BENCHMARK_MAIN();
