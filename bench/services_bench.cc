// The invoicing and payments services under load (issue 3, "Performance").
//
// BM_CommandsThroughGrpc/<clients>: IssueInvoice + RecordPayment through a real gRPC
//   channel. Both services run in this process on one embedded log (durable: fsync per
//   group commit) in a temp dir and one memory store, behind one servicekit::GrpcServer on
//   127.0.0.1:0, exactly as the all-in-one binary hosts them (payments' reactor included).
//   <clients> closed-loop clients (gRPC callback API, one call in flight each) work on
//   different accounts at once; each client issues an invoice (3 lines) and then pays it
//   (automatic oldest-due-first allocation), moving to its next account every few
//   commands. A command returns only once its own read model has applied it, so
//   throughput comes from concurrency. Reported: commands/s (items_per_second, real time),
//   the latency percentiles p50/p99 in microseconds, and the CPU time of the whole process
//   (all threads, clients included) per command, which other load on a shared machine
//   disturbs much less than throughput.
//
// BM_InvoicingProjection / BM_PaymentsProjection / BM_BothProjections: pre-generated
//   EventBatch records as the services publish them (InvoiceIssued with 3 lines; a credit
//   note for every fourth invoice; PaymentReceived + PaymentAllocated for each payment,
//   explicit or automatic) pushed through each service's projection handler with
//   ProjectionRunner::ApplyAndCommit (decode + apply + atomic commit with checkpoints),
//   500 records per commit, into the memory store; no log in the way. Reported: events/s
//   (items_per_second; for "Both" every event counts once although both handlers see it).
//   BM_BothProjectionsSharedDecodes: the same with one projection::SharedDecodes for both
//   runners (each record decoded once).
//
//   services_bench --benchmark_filter=Commands
//   services_bench --benchmark_filter=Projection

#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ar/v1/invoicing.grpc.pb.h"
#include "ar/v1/payments.grpc.pb.h"
#include "libs/core/topics.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/projection/projection.h"
#include "libs/protoconv/protoconv.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/memory_store.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "services/invoicing/domain/invoice_rules.h"
#include "services/invoicing/invoicing_service.h"
#include "services/invoicing/projection/invoice_projection.h"
#include "services/payments/domain/payments_domain.h"
#include "services/payments/payments_service.h"
#include "services/payments/projection/payments_projection.h"

namespace ar {
namespace {

constexpr char kTenant[] = "acme";
constexpr int32_t kPartitions = 8;

v1::Date Day(int y, int m, int d) { return protoconv::DateProto(y, m, d); }

v1::AccountRef AccountRefOf(const std::string& account) {
  v1::AccountRef ref;
  ref.set_tenant(kTenant);
  ref.set_region("eu");
  ref.set_subsidiary("acme-de");
  ref.set_account(account);
  return ref;
}

// Three lines: 2 x 40.00 at 19 %, 1.5 x 12.34 at 7 %, 1 x 5.00 at 0 % -> 95.20 + 16.51 tax.
v1::IssueInvoiceRequest InvoiceRequest(const std::string& account, const std::string& invoice_id,
                                       int sequence) {
  v1::IssueInvoiceRequest request;
  *request.mutable_account() = AccountRefOf(account);
  request.set_account_name("Customer " + account);
  request.set_invoice_id(invoice_id);
  request.set_invoice_number("N-" + invoice_id);
  *request.mutable_issue_date() = Day(2027, 1, 1 + sequence % 28);
  *request.mutable_due_date() = Day(2027, 2, 1 + sequence % 28);
  request.set_currency("EUR");
  const struct {
    const char* description;
    int64_t quantity_milli, unit_price_minor;
    int32_t tax_rate_bp;
  } lines[] = {
      {"widgets", 2000, 4000, 1900}, {"gears", 1500, 1234, 700}, {"shipping", 1000, 500, 0}};
  for (const auto& l : lines) {
    v1::InvoiceLineInput* line = request.add_lines();
    line->set_description(l.description);
    line->set_quantity_milli(l.quantity_milli);
    line->set_unit_price_minor(l.unit_price_minor);
    line->set_tax_rate_bp(l.tax_rate_bp);
  }
  return request;
}

// The total of InvoiceRequest, computed by the invoicing rules themselves.
int64_t InvoiceTotal() {
  static const int64_t total = [] {
    auto issued = invoicing::BuildInvoiceIssued(InvoiceRequest("a", "i", 0));
    return issued.ok() ? issued->total().minor_units() : 0;
  }();
  return total;
}

v1::RecordPaymentRequest PaymentRequest(const std::string& account, const std::string& payment_id,
                                        int64_t amount, const std::string* explicit_invoice) {
  v1::RecordPaymentRequest request;
  *request.mutable_account() = AccountRefOf(account);
  request.set_payment_id(payment_id);
  request.mutable_amount()->set_minor_units(amount);
  request.mutable_amount()->set_currency("EUR");
  request.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
  *request.mutable_value_date() = Day(2027, 2, 10);
  request.set_reference("remittance " + payment_id);
  if (explicit_invoice != nullptr) {
    v1::PaymentAllocationLine* line = request.add_allocations();
    line->set_invoice_id(*explicit_invoice);
    line->mutable_amount()->set_minor_units(amount);
    line->mutable_amount()->set_currency("EUR");
  }
  return request;
}

// ---- Commands through gRPC ------------------------------------------------------------

// Both services hosted in-process on one embedded log and one memory store.
class Suite {
 public:
  absl::Status Start() {
    auto log = ar::testing::OpenEmbeddedTestLog(dir_.Join("log"));
    if (!log.ok()) return log.status();
    log_ = *std::move(log);
    store_ = store::NewMemoryStore();

    invoicing::InvoicingServiceOptions invoicing_options;
    invoicing_options.topic_partitions = kPartitions;
    auto invoicing = invoicing::InvoicingService::Create(*log_, *store_, invoicing_options);
    if (!invoicing.ok()) return invoicing.status();
    invoicing_ = *std::move(invoicing);

    payments::PaymentsService::Options payments_options;
    payments_options.backend.topic_partitions = kPartitions;
    auto payments = payments::PaymentsService::Create(*log_, *store_, payments_options);
    if (!payments.ok()) return payments.status();
    payments_ = *std::move(payments);

    server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    server_->AddService(invoicing_->grpc_service());
    server_->AddService(payments_->grpc_service());
    if (absl::Status s = server_->Start(); !s.ok()) return s;
    if (absl::Status s = invoicing_->Start(); !s.ok()) return s;
    if (absl::Status s = payments_->Start(); !s.ok()) return s;
    auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    invoicing_stub_ = v1::InvoicingService::NewStub(channel);
    payments_stub_ = v1::PaymentsService::NewStub(channel);
    return absl::OkStatus();
  }

  ~Suite() {
    if (server_) server_->Shutdown(absl::Seconds(2));
    if (payments_) payments_->Stop();
    if (invoicing_) invoicing_->Stop();
  }

  v1::InvoicingService::Stub& invoicing() { return *invoicing_stub_; }
  v1::PaymentsService::Stub& payments() { return *payments_stub_; }

 private:
  testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<invoicing::InvoicingService> invoicing_;
  std::unique_ptr<payments::PaymentsService> payments_;
  std::unique_ptr<servicekit::GrpcServer> server_;
  std::unique_ptr<v1::InvoicingService::Stub> invoicing_stub_;
  std::unique_ptr<v1::PaymentsService::Stub> payments_stub_;
};

// A closed-loop load generator: `clients` calls in flight, each started from the previous
// one's completion, until `total` commands have completed.
class Load {
 public:
  // Each client moves to another account after this many commands, so accounts stay the
  // size of a real customer's rather than growing without bound during the run.
  static constexpr int kCommandsPerAccount = 6;

  Load(Suite& suite, int clients) : suite_(suite), clients_(clients) {}

  // Runs `total` commands; false (with `error`) if any failed.
  bool Run(int64_t total) {
    {
      std::lock_guard lock(mu_);
      remaining_to_start_ = total;
      running_ = 0;
    }
    std::vector<Client*> started;
    for (int c = 0; c < clients_; ++c) {
      if (static_cast<int>(clients_state_.size()) <= c) {
        clients_state_.push_back(std::make_unique<Client>());
        clients_state_.back()->index = c;
      }
      if (TakeTicket()) started.push_back(clients_state_[c].get());
    }
    for (Client* client : started) StartNext(*client);
    std::unique_lock lock(mu_);
    done_.wait(lock, [this] { return running_ == 0; });
    return error_.empty();
  }

  std::vector<int64_t>& latencies_us() { return latencies_us_; }
  const std::string& error() const { return error_; }

 private:
  struct Client {
    int index = 0;
    int64_t step = 0;  // commands this client has run
    grpc::ClientContext* context = nullptr;
    std::unique_ptr<grpc::ClientContext> owned_context;
    v1::IssueInvoiceRequest invoice;
    v1::RecordPaymentRequest payment;
    v1::CommandResult result;
    std::chrono::steady_clock::time_point started;
  };

  bool TakeTicket() {
    std::lock_guard lock(mu_);
    if (remaining_to_start_ == 0 || !error_.empty()) return false;
    --remaining_to_start_;
    ++running_;
    return true;
  }

  void StartNext(Client& client) {
    // Client c works on accounts c, c + clients, c + 2 * clients, ...: never two clients
    // on one account, so the per-account command lock never makes them wait for each other.
    const int64_t account_round = client.step / kCommandsPerAccount;
    const std::string account = absl::StrCat("C-", client.index + account_round * clients_);
    const int64_t pair = client.step / 2;
    const std::string invoice_id = absl::StrCat("INV-", client.index, "-", pair);
    client.owned_context = std::make_unique<grpc::ClientContext>();
    client.owned_context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    client.result.Clear();
    client.started = std::chrono::steady_clock::now();
    auto done = [this, &client](grpc::Status status) { Finished(client, status); };
    if (client.step % 2 == 0) {
      client.invoice = InvoiceRequest(account, invoice_id, static_cast<int>(pair));
      suite_.invoicing().async()->IssueInvoice(client.owned_context.get(), &client.invoice,
                                               &client.result, done);
    } else {
      // Every other payment names its invoice; the others are allocated oldest due first.
      const bool explicit_allocation = pair % 2 == 0;
      client.payment = PaymentRequest(account, absl::StrCat("PAY-", client.index, "-", pair),
                                      InvoiceTotal(), explicit_allocation ? &invoice_id : nullptr);
      suite_.payments().async()->RecordPayment(client.owned_context.get(), &client.payment,
                                               &client.result, done);
    }
  }

  void Finished(Client& client, const grpc::Status& status) {
    const auto elapsed = std::chrono::steady_clock::now() - client.started;
    ++client.step;
    bool next = false;
    {
      std::lock_guard lock(mu_);
      latencies_us_.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
      if (!status.ok() && error_.empty()) {
        error_ = absl::StrCat("command failed: ", status.error_code(), " ", status.error_message());
      }
      if (remaining_to_start_ > 0 && error_.empty()) {
        --remaining_to_start_;
        next = true;
      } else {
        --running_;
      }
    }
    if (next) {
      StartNext(client);  // the slot stays counted in running_
    } else {
      done_.notify_all();
    }
  }

  Suite& suite_;
  const int clients_;
  std::vector<std::unique_ptr<Client>> clients_state_;
  std::mutex mu_;
  std::condition_variable done_;
  int64_t remaining_to_start_ = 0;
  int running_ = 0;
  std::string error_;
  std::vector<int64_t> latencies_us_;
};

// CPU time of the whole process (every thread: server, services, log writer, clients).
int64_t ProcessCpuMicros() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1'000'000 + usage.ru_utime.tv_usec +
         usage.ru_stime.tv_usec;
}

double Percentile(std::vector<int64_t>& values, double p) {
  if (values.empty()) return 0;
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  std::nth_element(values.begin(), values.begin() + index, values.end());
  return static_cast<double>(values[index]);
}

void BM_CommandsThroughGrpc(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  constexpr int64_t kCommandsPerIteration = 4000;
  Suite suite;
  if (absl::Status started = suite.Start(); !started.ok()) {
    state.SkipWithError(started.ToString().c_str());
    return;
  }
  Load load(suite, clients);
  // Warm-up outside the measurement: channel, server threads, first accounts.
  if (!load.Run(2 * clients)) {
    state.SkipWithError(load.error().c_str());
    return;
  }
  load.latencies_us().clear();
  int64_t commands = 0;
  const int64_t cpu_before = ProcessCpuMicros();
  for (auto _ : state) {
    if (!load.Run(kCommandsPerIteration)) {
      state.SkipWithError(load.error().c_str());
      return;
    }
    commands += kCommandsPerIteration;
  }
  state.SetItemsProcessed(commands);
  // On a shared machine throughput follows the other load; CPU per command does much less.
  // 2 cores / cpu_us_per_command is what the process could do with the machine to itself.
  state.counters["cpu_us_per_command"] =
      static_cast<double>(ProcessCpuMicros() - cpu_before) / static_cast<double>(commands);
  state.counters["clients"] = clients;
  state.counters["p50_us"] = Percentile(load.latencies_us(), 0.50);
  state.counters["p99_us"] = Percentile(load.latencies_us(), 0.99);
}
// Real time: the work happens on the server's threads, not on this one.
BENCHMARK(BM_CommandsThroughGrpc)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---- Projections ----------------------------------------------------------------------

constexpr int kRecordsPerCommit = 500;
constexpr int kProjectionAccounts = 2000;
constexpr int kInvoicesPerAccount = 12;

struct Dataset {
  std::vector<eventlog::Record> records;  // in publication order, offsets assigned
  int64_t events = 0;
};

std::string EventsRecord(std::vector<v1::Event> events, const std::string& command_id) {
  v1::EventBatch batch;
  batch.set_command_id(command_id);
  for (v1::Event& event : events) *batch.add_events() = std::move(event);
  return batch.SerializeAsString();
}

// What the two services would have published for kProjectionAccounts accounts with
// kInvoicesPerAccount invoices each, generated by the domain rules themselves (so every
// event is one the projections really see): per invoice an InvoiceIssued record, for every
// fourth invoice a credit note of 10.00, then a payment of what is open (every other one
// names its invoice, the others are allocated oldest due first).
const Dataset& ProjectionDataset() {
  static const Dataset dataset = [] {
    Dataset d;
    std::map<std::pair<std::string, int32_t>, int64_t> next_offset;
    auto add = [&](const std::string& topic, const std::string& account,
                   std::vector<v1::Event> events, const std::string& command_id) {
      eventlog::Record record;
      record.topic = topic;
      record.partition = eventlog::PartitionForKey(account, kPartitions);
      record.offset = next_offset[{topic, record.partition}]++;
      record.key = account;
      d.events += static_cast<int64_t>(events.size());
      record.value = EventsRecord(std::move(events), command_id);
      d.records.push_back(std::move(record));
    };
    const int64_t now = absl::ToUnixMicros(absl::Now());
    std::vector<v1::PaymentsAccountView> views(kProjectionAccounts);
    for (int round = 0; round < kInvoicesPerAccount; ++round) {
      for (int a = 0; a < kProjectionAccounts; ++a) {
        const std::string account = absl::StrCat("C-", a);
        const std::string invoice_id = absl::StrCat("INV-", a, "-", round);
        invoicing::CommandContext context{now, "corr", ""};
        auto issued = invoicing::DecideIssueInvoice(InvoiceRequest(account, invoice_id, round),
                                                    std::nullopt, invoicing::AccountView(),
                                                    invoicing::CreditHoldPolicy::kReject, context);
        if (!issued.ok()) std::abort();
        v1::Invoice invoice;
        for (const v1::Event& e : issued->events) {
          invoicing::Evolve(invoice, e, v1::LogPosition());
          payments::EvolveAccountView(views[a], e);
        }
        add(topics::kInvoicing, account, issued->events, issued->command_id);
        int64_t open = invoice.open_balance().minor_units();
        if (round % 4 == 0) {
          v1::IssueCreditNoteRequest note;
          note.set_tenant(kTenant);
          note.set_credit_note_id(absl::StrCat("CN-", invoice_id));
          note.set_invoice_id(invoice_id);
          note.mutable_amount()->set_minor_units(1000);
          note.mutable_amount()->set_currency("EUR");
          *note.mutable_issue_date() = Day(2027, 1, 29);
          note.set_reason("damaged goods");
          auto credited = invoicing::DecideIssueCreditNote(note, invoice, std::nullopt, context);
          if (!credited.ok()) std::abort();
          for (const v1::Event& e : credited->events) payments::EvolveAccountView(views[a], e);
          add(topics::kInvoicing, account, credited->events, credited->command_id);
          open -= 1000;
        }
        const std::string payment_id = absl::StrCat("PAY-", a, "-", round);
        payments::AccountState state;
        state.view = views[a];
        payments::CommandContext pay_context{payments::RecordPaymentCommandId(payment_id), now, ""};
        auto paid = payments::DecideRecordPayment(
            PaymentRequest(account, payment_id, open, round % 2 == 0 ? &invoice_id : nullptr),
            nullptr, state, pay_context);
        if (!paid.ok()) std::abort();
        for (const v1::Event& e : paid->events) payments::EvolveAccountView(views[a], e);
        add(topics::kPayments, account, paid->events, pay_context.command_id);
      }
    }
    return d;
  }();
  return dataset;
}

// Applies the whole dataset, kRecordsPerCommit records per commit, through one runner per
// handler (each with its own checkpoints, like the services in one process).
void RunServiceProjections(benchmark::State& state, bool invoicing, bool payments,
                           bool share_decodes = false) {
  const Dataset& dataset = ProjectionDataset();
  for (auto _ : state) {
    state.PauseTiming();
    testing::TempDir dir;
    eventlog::EmbeddedLogOptions log_options;
    log_options.data_dir = dir.path();
    auto log = eventlog::OpenEmbeddedLog(log_options);
    if (!log.ok()) {
      state.SkipWithError(log.status().ToString().c_str());
      return;
    }
    for (const char* topic :
         {topics::kInvoicing, topics::kPayments, topics::kCredit, topics::kCollections}) {
      if (!(*log)->CreateTopic({topic, kPartitions}).ok()) {
        state.SkipWithError("cannot create topics");
        return;
      }
    }
    std::unique_ptr<store::Store> store = store::NewMemoryStore();
    // Owned here so that their cached states are freed outside the measurement.
    auto invoice_handler = std::make_unique<invoicing::InvoiceProjection>(*store);
    auto payments_handler = std::make_unique<payments::PaymentsProjection>(*store);
    std::vector<std::unique_ptr<projection::ProjectionRunner>> runners;
    auto decodes = share_decodes ? std::make_shared<projection::SharedDecodes>(2) : nullptr;
    auto add_runner = [&](projection::Handler& handler, const char* name,
                          std::vector<std::string> runner_topics) {
      projection::ProjectionOptions options;
      options.name = name;
      options.topics = std::move(runner_topics);
      options.use_consumer_group = false;
      options.shared_decodes = decodes;
      runners.push_back(
          std::make_unique<projection::ProjectionRunner>(**log, *store, handler, options));
      return runners.back()->Open();
    };
    absl::Status opened = absl::OkStatus();
    if (invoicing)
      opened.Update(
          add_runner(*invoice_handler, "invoicing", invoicing::InvoiceProjection::Topics()));
    if (payments) {
      opened.Update(add_runner(*payments_handler, "payments",
                               {topics::kPayments, topics::kInvoicing, topics::kCollections}));
    }
    if (!opened.ok()) {
      state.SkipWithError(opened.ToString().c_str());
      return;
    }
    std::vector<std::vector<eventlog::Record>> batches;
    for (size_t i = 0; i < dataset.records.size(); i += kRecordsPerCommit) {
      const size_t end = std::min(dataset.records.size(), i + kRecordsPerCommit);
      batches.emplace_back(dataset.records.begin() + i, dataset.records.begin() + end);
    }
    state.ResumeTiming();
    for (const std::vector<eventlog::Record>& batch : batches) {
      for (auto& runner : runners) {
        auto applied = runner->ApplyAndCommit(batch);
        if (!applied.ok() || *applied != static_cast<int>(batch.size())) {
          state.SkipWithError(applied.ok() ? "records skipped"
                                           : applied.status().ToString().c_str());
          return;
        }
      }
    }
    state.PauseTiming();
    for (auto& runner : runners) {
      if (runner->stats().dead_lettered != 0) {
        state.SkipWithError("the projection dead-lettered records");
        return;
      }
    }
    runners.clear();
    invoice_handler.reset();
    payments_handler.reset();
    store.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * dataset.events);
  state.counters["events"] = static_cast<double>(dataset.events);
  state.counters["records"] = static_cast<double>(dataset.records.size());
}

void BM_InvoicingProjection(benchmark::State& state) { RunServiceProjections(state, true, false); }
void BM_PaymentsProjection(benchmark::State& state) { RunServiceProjections(state, false, true); }
void BM_BothProjections(benchmark::State& state) { RunServiceProjections(state, true, true); }
// Both runners take each record's decoding from one projection::SharedDecodes.
void BM_BothProjectionsSharedDecodes(benchmark::State& state) {
  RunServiceProjections(state, true, true, /*share_decodes=*/true);
}
BENCHMARK(BM_InvoicingProjection)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK(BM_PaymentsProjection)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK(BM_BothProjections)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK(BM_BothProjectionsSharedDecodes)->Unit(benchmark::kMillisecond)->MinTime(2);

}  // namespace
}  // namespace ar
