// Credit-risk: the cost of one account review (inputs + score + grade, pure), the credit
// projection on invoicing and payments records, and a day close that re-scores every
// account of a region with an overdue invoice through the real service (embedded log,
// memory store, projection + reactor).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/dates.h"
#include "libs/core/topics.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/protoconv/protoconv.h"
#include "libs/store/memory_store.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/credit_risk/credit_risk_service.h"

namespace ar::credit {
namespace {

const absl::CivilDay kDay(2027, 3, 1);

v1::Event Envelope(const std::string& event_id, const std::string& account) {
  v1::Event event;
  event.set_event_id(event_id);
  event.set_tenant("t1");
  event.set_region("eu");
  event.set_subsidiary("de01");
  event.set_account(account);
  return event;
}

v1::Event Issued(const std::string& account, const std::string& invoice_id, int64_t total,
                 absl::CivilDay due) {
  v1::Event event = Envelope("iss-" + invoice_id, account);
  v1::InvoiceIssued* issued = event.mutable_invoice_issued();
  issued->set_invoice_id(invoice_id);
  *issued->mutable_issue_date() = protoconv::DayToProto(due - 30);
  *issued->mutable_due_date() = protoconv::DayToProto(due);
  *issued->mutable_total() = protoconv::MoneyProto(total, "EUR");
  return event;
}

v1::Event Allocated(const std::string& account, const std::string& invoice_id, int64_t amount,
                    absl::CivilDay day) {
  v1::Event event = Envelope("alloc-" + invoice_id, account);
  v1::PaymentAllocated* allocated = event.mutable_payment_allocated();
  allocated->set_payment_id("pay-" + invoice_id);
  allocated->set_invoice_id(invoice_id);
  *allocated->mutable_amount() = protoconv::MoneyProto(amount, "EUR");
  *allocated->mutable_allocation_date() = protoconv::DayToProto(day);
  return event;
}

// One review of an account with `invoices` invoices, half of them paid late.
void BM_ReviewScore(benchmark::State& state) {
  v1::CreditAccountState account;
  const int invoices = static_cast<int>(state.range(0));
  for (int i = 0; i < invoices; ++i) {
    const std::string id = absl::StrCat("inv-", i);
    EvolveAccount(account, Issued("a", id, 10000 + i, kDay + i));
    if (i % 2 == 0) EvolveAccount(account, Allocated("a", id, 10000 + i, kDay + i + (i % 17)));
  }
  account.set_has_limit(true);
  account.set_limit_minor(1'000'000);
  const v1::CreditPolicy policy = DefaultPolicy();
  FxTable fx;
  for (auto _ : state) {
    absl::StatusOr<ScoreInputs> inputs = ComputeInputs(account, fx, core::DayNumber(kDay + 90));
    Score score = ComputeScore(*inputs, policy);
    benchmark::DoNotOptimize(GradeFor(score.score, policy));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReviewScore)->Arg(10)->Arg(100)->Arg(1000);

eventlog::Record RecordOf(const std::string& topic, int64_t offset, std::vector<v1::Event> events) {
  v1::EventBatch batch;
  for (v1::Event& event : events) *batch.add_events() = std::move(event);
  eventlog::Record record;
  record.topic = topic;
  record.offset = offset;
  record.key = batch.events(0).account();
  record.value = batch.SerializeAsString();
  return record;
}

// The credit projection on 10k accounts x (4 invoices + 3 allocations), one record each,
// 500 records per commit, memory store.
void BM_CreditProjection(benchmark::State& state) {
  constexpr int kAccounts = 10000;
  std::vector<eventlog::Record> records;
  int64_t invoicing_offset = 0, payments_offset = 0;
  for (int a = 0; a < kAccounts; ++a) {
    const std::string account = absl::StrCat("acct-", a);
    for (int i = 0; i < 4; ++i) {
      const std::string id = absl::StrCat(account, "-inv-", i);
      records.push_back(RecordOf(topics::kInvoicing, invoicing_offset++,
                                 {Issued(account, id, 10000 + i, kDay + i * 10)}));
      if (i < 3) {
        records.push_back(RecordOf(topics::kPayments, payments_offset++,
                                   {Allocated(account, id, 10000 + i, kDay + i * 12)}));
      }
    }
  }
  for (auto _ : state) {
    state.PauseTiming();
    testing::TempDir dir;
    eventlog::EmbeddedLogOptions log_options;
    log_options.data_dir = dir.path();
    auto log = eventlog::OpenEmbeddedLog(log_options);
    if (!log.ok()) {
      state.SkipWithError("cannot open the embedded log");
      return;
    }
    for (const std::string& topic : CreditProjection::Topics()) {
      if (!(*log)->CreateTopic({topic, 1}).ok()) {
        state.SkipWithError("cannot create topics");
        return;
      }
    }
    std::unique_ptr<store::Store> store = store::NewMemoryStore();
    auto handler = std::make_unique<CreditProjection>(*store);
    projection::ProjectionOptions options;
    options.name = "credit";
    options.topics = CreditProjection::Topics();
    options.use_consumer_group = false;
    auto runner = std::make_unique<projection::ProjectionRunner>(**log, *store, *handler, options);
    if (!runner->Open().ok()) {
      state.SkipWithError("cannot open the runner");
      return;
    }
    state.ResumeTiming();
    for (size_t i = 0; i < records.size(); i += 500) {
      const std::vector<eventlog::Record> batch(
          records.begin() + i, records.begin() + std::min(records.size(), i + 500));
      auto applied = runner->ApplyAndCommit(batch);
      if (!applied.ok() || *applied != static_cast<int>(batch.size())) {
        state.SkipWithError("apply failed");
        return;
      }
    }
    state.PauseTiming();
    runner.reset();
    handler.reset();
    store.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * records.size());
}
BENCHMARK(BM_CreditProjection)->Unit(benchmark::kMillisecond)->MinTime(2);

// A day close in a region with `accounts` accounts holding an overdue invoice each: from
// publishing BusinessDayClosed until the reactor has reviewed every one of them (each
// review changes the grade, so each publishes a CreditRatingChanged). Setup (invoices,
// first ratings) is not timed.
void BM_DayCloseReviews(benchmark::State& state) {
  const int accounts = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    testing::TempDir dir;
    eventlog::EmbeddedLogOptions log_options;
    log_options.data_dir = dir.path();
    auto log = eventlog::OpenEmbeddedLog(log_options);
    std::unique_ptr<store::Store> store = store::NewMemoryStore();
    CreditRiskService::Options options;
    options.backend.topic_partitions = 4;
    options.use_consumer_group = false;
    auto service = CreditRiskService::Create(**log, *store, options);
    if (!service.ok() || !(*service)->Start().ok()) {
      state.SkipWithError("cannot start the service");
      return;
    }
    auto producer = (*log)->NewProducer();
    auto idle = [&] {
      return testing::WaitFor(
          [&] {
            for (const std::string& topic : CreditProjection::Topics()) {
              for (int32_t p = 0; p < 4; ++p) {
                auto end = (*log)->EndOffset({topic, p});
                if (!end.ok() || (*service)->reactor().CommittedOffset({topic, p}) < *end) {
                  return false;
                }
              }
            }
            return true;
          },
          absl::Minutes(10));
    };
    for (int a = 0; a < accounts; ++a) {
      const std::string account = absl::StrCat("acct-", a);
      v1::EventBatch batch;
      *batch.add_events() = Issued(account, account + "-inv", 10000, kDay);
      (*producer)->Append(topics::kInvoicing, account, batch.SerializeAsString(),
                          [](absl::StatusOr<eventlog::LogPosition>) {});
    }
    if (!(*producer)->Flush(absl::Minutes(1)).ok() || !idle()) {
      state.SkipWithError("setup did not settle");
      return;
    }
    v1::EventBatch close;
    v1::Event* event = close.add_events();
    event->set_event_id("clock:eu:close");
    event->set_region("eu");
    event->set_account("eu");
    *event->mutable_business_day_closed()->mutable_date() = protoconv::DayToProto(kDay + 59);
    const int64_t reviews_before = (*service)->reactor_handler().reviews();
    state.ResumeTiming();
    if (!(*producer)->AppendAndWait(topics::kClock, "eu", close.SerializeAsString()).ok() ||
        !idle()) {
      state.SkipWithError("day close did not settle");
      return;
    }
    state.PauseTiming();
    if ((*service)->reactor_handler().reviews() - reviews_before != accounts) {
      state.SkipWithError("not every account was reviewed");
    }
    (*producer)->Stop(absl::Seconds(5));
    (*service)->Stop();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * accounts);
}
BENCHMARK(BM_DayCloseReviews)
    ->Arg(2000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2)
    ->UseRealTime();

}  // namespace
}  // namespace ar::credit
