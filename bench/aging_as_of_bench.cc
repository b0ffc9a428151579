// Issue 5: an aging report as of a past date over a log of 1M events (target <= 5 s).
// Setup (not measured): an embedded log with 1,000,000 events in the shape a year of
// receivables leaves: 250,000 invoices on 62,500 accounts, 500,000 allocations, 50,000
// credit notes, 200,000 collections decisions (read and skipped by the replay). Measured:
// ReplayAgingReport as of a date in the middle of that history (scan of the three topics,
// decode, fold of the events dated by then, report).

#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "services/collections/domain/collections_domain.h"
#include "services/collections/history/aging_as_of.h"

namespace ar::collections {
namespace {

constexpr int kInvoices = 250'000;
constexpr int kInvoicesPerAccount = 4;
constexpr int kPartitions = 8;
const absl::CivilDay kFirstDay(2026, 1, 1);

v1::Event Envelope(int account, const std::string& id) {
  v1::Event event;
  event.set_event_id(id);
  event.set_tenant("bench");
  event.set_region("eu");
  event.set_subsidiary(absl::StrCat("sub-", account % 10));
  event.set_account(absl::StrCat("acct-", account));
  event.set_schema_version(1);
  return event;
}

struct History {
  testing::TempDir dir;
  std::unique_ptr<eventlog::EventLog> log;
  int64_t events = 0;
};

History* Build() {
  auto* history = new History;
  history->log = *testing::OpenEmbeddedTestLog(history->dir.Join("log"));
  for (const char* topic : {topics::kInvoicing, topics::kPayments, topics::kCollections}) {
    (void)history->log->CreateTopic({topic, kPartitions});
  }
  auto producer = *history->log->NewProducer();
  std::atomic<int64_t> failed{0};
  auto append = [&](const char* topic, v1::Event event) {
    v1::EventBatch batch;
    batch.set_command_id(event.event_id());
    const std::string key = event.account();
    *batch.add_events() = std::move(event);
    producer->Append(topic, key, batch.SerializeAsString(),
                     [&failed](absl::StatusOr<eventlog::LogPosition> position) {
                       if (!position.ok()) ++failed;
                     });
    ++history->events;
  };
  for (int i = 0; i < kInvoices; ++i) {
    const int account = i / kInvoicesPerAccount;
    const absl::CivilDay issue = kFirstDay + (i * 365 / kInvoices);
    const std::string invoice = absl::StrCat("inv-", i);
    v1::Event issued = Envelope(account, "issue-" + invoice);
    v1::InvoiceIssued* body = issued.mutable_invoice_issued();
    body->set_invoice_id(invoice);
    body->set_account_name(absl::StrCat("Customer ", account));
    *body->mutable_issue_date() = protoconv::DayToProto(issue);
    *body->mutable_due_date() = protoconv::DayToProto(issue + 30 + (i % 4) * 15);
    *body->mutable_total() = protoconv::MoneyProto(100'000 + (i % 997) * 100, "EUR");
    append(topics::kInvoicing, std::move(issued));
    // Two partial payments (the second one late for every third invoice), a credit note
    // for every fifth, decisions for most.
    for (int part = 0; part < 2; ++part) {
      v1::Event allocated = Envelope(account, absl::StrCat("alloc-", invoice, "-", part));
      v1::PaymentAllocated* alloc = allocated.mutable_payment_allocated();
      alloc->set_payment_id(absl::StrCat("pay-", invoice, "-", part));
      alloc->set_invoice_id(invoice);
      *alloc->mutable_amount() = protoconv::MoneyProto(40'000, "EUR");
      *alloc->mutable_allocation_date() =
          protoconv::DayToProto(issue + 20 + part * (i % 3 == 0 ? 70 : 15));
      append(topics::kPayments, std::move(allocated));
    }
    if (i % 5 == 0) {
      v1::Event note = Envelope(account, "note-" + invoice);
      v1::CreditNoteIssued* body_note = note.mutable_credit_note_issued();
      body_note->set_credit_note_id("cn-" + invoice);
      body_note->set_invoice_id(invoice);
      *body_note->mutable_amount() = protoconv::MoneyProto(5'000, "EUR");
      *body_note->mutable_issue_date() = protoconv::DayToProto(issue + 10);
      append(topics::kInvoicing, std::move(note));
    }
    if (i % 5 != 0) {
      v1::Event reminder = Envelope(account, "reminder-" + invoice);
      reminder.mutable_reminder_due()->set_invoice_id(invoice);
      append(topics::kCollections, std::move(reminder));
    }
  }
  if (!producer->Flush(absl::Minutes(10)).ok() || failed > 0) {
    delete history;
    return nullptr;
  }
  producer->Stop(absl::Seconds(10));
  return history;
}

void BM_AgingAsOf(benchmark::State& state) {
  static History* history = Build();
  if (history == nullptr) {
    state.SkipWithError("building the log failed");
    return;
  }
  v1::GetAgingReportRequest request;
  request.set_tenant("bench");
  const v1::CollectionsPolicy policy = DefaultPolicy();
  int64_t lines = 0;
  for (auto _ : state) {
    auto report =
        ReplayAgingReport(*history->log, policy, request, kFirstDay + 200, absl::Minutes(5));
    if (!report.ok()) {
      state.SkipWithError(std::string(report.status().message()).c_str());
      return;
    }
    lines = report->lines_size();
    benchmark::DoNotOptimize(report);
  }
  state.counters["log_events"] = static_cast<double>(history->events);
  state.counters["report_lines"] = static_cast<double>(lines);
  state.SetItemsProcessed(state.iterations() * history->events);
}
BENCHMARK(BM_AgingAsOf)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace
}  // namespace ar::collections
