// The gateway's overdue fan-out (issue 5, "Performance": p99 delivery <= 100 ms after the
// events are in the log, 1,000 subscribers).
//
// BM_OverdueFanOutGrpc/<subscribers>/<events per second>: the gateway component (overdue
//   hub + callback-API gRPC service) on an embedded log (durable: fsync per group commit)
//   in a temp dir, behind a servicekit::GrpcServer on 127.0.0.1:0. <subscribers>
//   SubscribeOverdue streams (client callback API, spread over 8 connections) with an
//   empty filter. AccountOverdue events are appended to ar.collections.events directly
//   (keys spread over 64 accounts) at <events per second>, 2 s worth. Latency of one
//   delivery = when the client's OnReadDone ran - when the log acknowledged the append
//   (the record is durable: "in the log"). Reported: p50/p99/max in ms over every
//   (event, subscriber) delivery, deliveries/s.
//
// BM_OverdueFanOutHub/<subscribers>/<events per second>: the same without gRPC, each
//   subscription drained by its on_available callback: the hub's own share.
//
// BM_Customer360/<clients>: GetCustomer360 through the gateway, which fans out to
//   invoicing (ListInvoices + GetOpenBalance) and payments (GetUnappliedCash) on another
//   gRPC server in this process (embedded log, memory store), all over loopback TCP.
//   200 accounts with 3 invoices and a partial payment each; <clients> threads call
//   GetCustomer360 back to back (synchronous stubs) on random accounts for 3 s.
//   Reported: queries/s (items_per_second), p50/p99 in ms.
//
//   gateway_bench --benchmark_filter=FanOut
//   gateway_bench --benchmark_filter=Customer360

#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "libs/core/topics.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/memory_store.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/gateway/gateway_service.h"
#include "services/invoicing/invoicing_service.h"
#include "services/payments/payments_service.h"

namespace ar {
namespace {

constexpr absl::Duration kRunFor = absl::Seconds(2);

// When each event (by sequence number) was acknowledged by the log.
class AckTimes {
 public:
  explicit AckTimes(int events) : acked_(events) {}
  void Set(int sequence, absl::Time at) { acked_[sequence].store(absl::ToUnixNanos(at)); }
  int64_t Get(int sequence) const { return acked_[sequence].load(); }

 private:
  std::vector<std::atomic<int64_t>> acked_;
};

struct Delivery {
  int sequence;
  int64_t received_unix_nanos;
};

int SequenceOf(const v1::OverdueUpdate& update) {
  int sequence = -1;
  if (!absl::SimpleAtoi(update.event().event_id(), &sequence)) return -1;
  return sequence;
}

class Publisher {
 public:
  Publisher(eventlog::EventLog& log, int events) : acks_(events), events_(events) {
    producer_ = *log.NewProducer();
  }
  ~Publisher() { producer_->Stop(absl::Seconds(5)); }

  // Appends `events_` AccountOverdue events at `rate` per second.
  void Run(int rate) {
    const absl::Time start = absl::Now();
    for (int i = 0; i < events_; ++i) {
      const absl::Time due = start + absl::Seconds(1) * i / rate;
      if (absl::Now() < due) absl::SleepFor(due - absl::Now());
      v1::EventBatch batch;
      v1::Event* event = batch.add_events();
      event->set_event_id(absl::StrCat(i));
      event->set_tenant("bench");
      event->set_region("eu");
      event->set_subsidiary("bench-de");
      event->set_account(absl::StrCat("acct-", i % 64));
      event->mutable_account_overdue()->set_days_past_due(1 + i % 120);
      event->mutable_account_overdue()->mutable_overdue_amount()->set_minor_units(1000 + i);
      event->mutable_account_overdue()->mutable_overdue_amount()->set_currency("EUR");
      producer_->Append(topics::kCollections, event->account(), batch.SerializeAsString(),
                        [this, i](absl::StatusOr<eventlog::LogPosition> position) {
                          if (position.ok()) acks_.Set(i, absl::Now());
                        });
    }
    (void)producer_->Flush(absl::Seconds(30));
  }

  const AckTimes& acks() const { return acks_; }

 private:
  std::unique_ptr<eventlog::Producer> producer_;
  AckTimes acks_;
  int events_;
};

std::unique_ptr<eventlog::EventLog> OpenLog(const testing::TempDir& dir) {
  return *testing::OpenEmbeddedTestLog(dir.Join("log"));
}

struct Environment {
  testing::TempDir dir;
  std::unique_ptr<eventlog::EventLog> log;
  std::unique_ptr<gateway::GatewayService> gateway;
  std::unique_ptr<servicekit::GrpcServer> server;

  Environment() {
    log = OpenLog(dir);
    gateway::GatewayService::Options gateway_options;
    gateway_options.backend.topic_partitions = 8;
    gateway_options.hub.max_subscribers = 20'000;
    gateway = *gateway::GatewayService::Create(*log, gateway_options);
    server = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    server->AddService(gateway->grpc_service());
    if (!server->Start().ok() || !gateway->Start().ok()) std::abort();
  }
  ~Environment() {
    gateway->Stop();
    server->Shutdown(absl::Seconds(5));
  }
};

void Report(benchmark::State& state, std::vector<Delivery>& deliveries, const AckTimes& acks,
            int64_t expected, absl::Duration elapsed) {
  std::vector<int64_t> latencies;
  latencies.reserve(deliveries.size());
  for (const Delivery& delivery : deliveries) {
    if (delivery.sequence < 0) continue;
    // The hub can read a record before the producer's acknowledgement callback runs.
    latencies.push_back(
        std::max<int64_t>(0, delivery.received_unix_nanos - acks.Get(delivery.sequence)));
  }
  std::sort(latencies.begin(), latencies.end());
  auto ms = [&](double quantile) {
    if (latencies.empty()) return 0.0;
    size_t index = std::min(latencies.size() - 1, static_cast<size_t>(quantile * latencies.size()));
    return latencies[index] / 1e6;
  };
  state.counters["p50_ms"] = ms(0.50);
  state.counters["p99_ms"] = ms(0.99);
  state.counters["max_ms"] = latencies.empty() ? 0.0 : latencies.back() / 1e6;
  state.counters["deliveries"] = static_cast<double>(latencies.size());
  state.counters["lost"] = static_cast<double>(expected - static_cast<int64_t>(latencies.size()));
  state.counters["deliveries_per_s"] = latencies.size() / absl::ToDoubleSeconds(elapsed);
}

// Publishes for kRunFor at range(1) events/s, waits until each of the range(0) subscribers
// has every event, then reports the deliveries `stop_and_collect` gathers.
void PublishAndReport(benchmark::State& state, Environment& environment,
                      const std::atomic<int64_t>& received,
                      const std::function<std::vector<Delivery>()>& stop_and_collect) {
  const int rate = static_cast<int>(state.range(1));
  const int events = static_cast<int>(rate * absl::ToDoubleSeconds(kRunFor));
  Publisher publisher(*environment.log, events);
  const absl::Time start = absl::Now();
  publisher.Run(rate);
  const int64_t expected = static_cast<int64_t>(events) * state.range(0);
  testing::WaitFor([&] { return received.load() >= expected; }, absl::Seconds(60));
  const absl::Duration elapsed = absl::Now() - start;
  std::vector<Delivery> deliveries = stop_and_collect();
  Report(state, deliveries, publisher.acks(), expected, elapsed);
}

// One SubscribeOverdue stream read by the client callback API.
class StreamReader final : public grpc::ClientReadReactor<v1::OverdueUpdate> {
 public:
  StreamReader(v1::Gateway::Stub& stub, std::atomic<int64_t>& received) : received_(received) {
    stub.async()->SubscribeOverdue(&context_, &request_, this);
    StartRead(&update_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (update_.has_event()) {
      deliveries_.push_back({SequenceOf(update_), absl::ToUnixNanos(absl::Now())});
      received_.fetch_add(1);
    } else {
      started_.store(true);
    }
    StartRead(&update_);
  }

  void OnDone(const grpc::Status&) override {
    std::lock_guard lock(mu_);
    done_ = true;
  }

  void Cancel() { context_.TryCancel(); }
  bool started() const { return started_.load(); }
  bool done() {
    std::lock_guard lock(mu_);
    return done_;
  }
  std::vector<Delivery>& deliveries() { return deliveries_; }

 private:
  grpc::ClientContext context_;
  v1::SubscribeOverdueRequest request_;
  v1::OverdueUpdate update_;
  std::atomic<int64_t>& received_;
  std::vector<Delivery> deliveries_;
  std::atomic<bool> started_{false};
  std::mutex mu_;
  bool done_ = false;
};

void BM_OverdueFanOutGrpc(benchmark::State& state) {
  for (auto _ : state) {
    Environment environment;
    std::vector<std::unique_ptr<v1::Gateway::Stub>> stubs;
    for (int c = 0; c < 8; ++c) {
      grpc::ChannelArguments arguments;
      arguments.SetInt("ar.bench.connection", c);  // distinct arguments: distinct connections
      stubs.push_back(v1::Gateway::NewStub(grpc::CreateCustomChannel(
          environment.server->address(), grpc::InsecureChannelCredentials(), arguments)));
    }
    std::atomic<int64_t> received{0};
    std::vector<std::unique_ptr<StreamReader>> readers;
    for (int i = 0; i < state.range(0); ++i) {
      readers.push_back(std::make_unique<StreamReader>(*stubs[i % stubs.size()], received));
    }
    if (!testing::WaitFor(
            [&] {
              return std::all_of(readers.begin(), readers.end(),
                                 [](const auto& reader) { return reader->started(); });
            },
            absl::Seconds(60))) {
      state.SkipWithError("subscribers did not start");
      return;
    }
    PublishAndReport(state, environment, received, [&] {
      for (auto& reader : readers) reader->Cancel();
      testing::WaitFor(
          [&] {
            return std::all_of(readers.begin(), readers.end(),
                               [](const auto& reader) { return reader->done(); });
          },
          absl::Seconds(30));
      std::vector<Delivery> deliveries;
      for (auto& reader : readers) {
        deliveries.insert(deliveries.end(), reader->deliveries().begin(),
                          reader->deliveries().end());
      }
      return deliveries;
    });
  }
}
BENCHMARK(BM_OverdueFanOutGrpc)
    ->Args({1000, 20})
    ->Args({1000, 50})
    ->Args({1000, 100})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A subscription drained from its own on_available callback, like the gRPC reactor does.
class HubReader {
 public:
  HubReader(std::shared_ptr<gateway::OverdueSubscription> subscription,
            std::atomic<int64_t>& received)
      : subscription_(std::move(subscription)), received_(received) {}

  void Drain() {
    while (true) {
      gateway::OverdueSubscription::Next next = subscription_->TryNext([this] { Drain(); });
      if (!next.update) return;
      if (!next.update->has_event()) continue;
      std::lock_guard lock(mu_);
      deliveries_.push_back({SequenceOf(*next.update), absl::ToUnixNanos(absl::Now())});
      received_.fetch_add(1);
    }
  }
  std::vector<Delivery> deliveries() {
    std::lock_guard lock(mu_);
    return deliveries_;
  }
  void Cancel() { subscription_->Cancel(); }

 private:
  std::shared_ptr<gateway::OverdueSubscription> subscription_;
  std::atomic<int64_t>& received_;
  std::mutex mu_;
  std::vector<Delivery> deliveries_;
};

void BM_OverdueFanOutHub(benchmark::State& state) {
  for (auto _ : state) {
    Environment environment;
    std::atomic<int64_t> received{0};
    std::vector<std::unique_ptr<HubReader>> readers;
    for (int i = 0; i < state.range(0); ++i) {
      readers.push_back(
          std::make_unique<HubReader>(*environment.gateway->hub().Subscribe({}, ""), received));
      readers.back()->Drain();
    }
    PublishAndReport(state, environment, received, [&] {
      std::vector<Delivery> deliveries;
      for (auto& reader : readers) {
        reader->Cancel();
        std::vector<Delivery> mine = reader->deliveries();
        deliveries.insert(deliveries.end(), mine.begin(), mine.end());
      }
      return deliveries;
    });
  }
}
BENCHMARK(BM_OverdueFanOutHub)
    ->Args({1000, 100})
    ->Args({1000, 1000})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ---- GetCustomer360 ----

struct ServicesEnvironment {
  testing::TempDir dir;
  std::unique_ptr<eventlog::EventLog> log;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<invoicing::InvoicingService> invoicing;
  std::unique_ptr<payments::PaymentsService> payments;
  std::unique_ptr<servicekit::GrpcServer> services_server;
  std::unique_ptr<gateway::GatewayService> gateway;
  std::unique_ptr<servicekit::GrpcServer> gateway_server;

  ServicesEnvironment() {
    log = OpenLog(dir);
    store = store::NewMemoryStore();
    invoicing::InvoicingServiceOptions invoicing_options;
    invoicing_options.ingest_regions = {};
    invoicing = *invoicing::InvoicingService::Create(*log, *store, invoicing_options);
    payments = *payments::PaymentsService::Create(*log, *store, {});
    services_server = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    services_server->AddService(invoicing->grpc_service());
    services_server->AddService(payments->grpc_service());
    if (!services_server->Start().ok() || !invoicing->Start().ok() || !payments->Start().ok()) {
      std::abort();
    }
    gateway::GatewayService::Options gateway_options;
    auto channel =
        grpc::CreateChannel(services_server->address(), grpc::InsecureChannelCredentials());
    gateway_options.channels.invoicing = channel;
    gateway_options.channels.payments = channel;
    gateway = *gateway::GatewayService::Create(*log, gateway_options);
    gateway_server = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    gateway_server->AddService(gateway->grpc_service());
    if (!gateway_server->Start().ok() || !gateway->Start().ok()) std::abort();
  }
  ~ServicesEnvironment() {
    gateway->Stop();
    gateway_server->Shutdown(absl::Seconds(2));
    services_server->Shutdown(absl::Seconds(2));
    payments->Stop();
    invoicing->Stop();
  }
};

constexpr int kAccounts = 200;

v1::AccountRef BenchAccount(int account) {
  v1::AccountRef ref;
  ref.set_tenant("bench");
  ref.set_region("eu");
  ref.set_subsidiary("bench-de");
  ref.set_account(absl::StrCat("C-", account));
  return ref;
}

bool Seed(v1::Gateway::Stub& gateway) {
  for (int a = 0; a < kAccounts; ++a) {
    for (int i = 0; i < 3; ++i) {
      v1::IssueInvoiceRequest invoice;
      *invoice.mutable_account() = BenchAccount(a);
      invoice.set_account_name(absl::StrCat("Customer ", a));
      invoice.set_invoice_id(absl::StrCat("INV-", a, "-", i));
      invoice.set_invoice_number(invoice.invoice_id());
      invoice.mutable_issue_date()->set_year(2027);
      invoice.mutable_issue_date()->set_month(1);
      invoice.mutable_issue_date()->set_day(1 + i);
      *invoice.mutable_due_date() = invoice.issue_date();
      invoice.mutable_due_date()->set_month(2);
      invoice.set_currency("EUR");
      v1::InvoiceLineInput* line = invoice.add_lines();
      line->set_description("widgets");
      line->set_quantity_milli(1000);
      line->set_unit_price_minor(10'000 + i);
      line->set_tax_rate_bp(1900);
      grpc::ClientContext context;
      v1::CommandResult result;
      if (!gateway.IssueInvoice(&context, invoice, &result).ok()) return false;
    }
    v1::RecordPaymentRequest payment;
    *payment.mutable_account() = BenchAccount(a);
    payment.set_payment_id(absl::StrCat("PAY-", a));
    payment.mutable_amount()->set_minor_units(5'000);
    payment.mutable_amount()->set_currency("EUR");
    payment.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
    payment.mutable_value_date()->set_year(2027);
    payment.mutable_value_date()->set_month(1);
    payment.mutable_value_date()->set_day(20);
    grpc::ClientContext context;
    v1::CommandResult result;
    if (!gateway.RecordPayment(&context, payment, &result).ok()) return false;
  }
  return true;
}

void BM_Customer360(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  for (auto _ : state) {
    ServicesEnvironment environment;
    auto channel = grpc::CreateChannel(environment.gateway_server->address(),
                                       grpc::InsecureChannelCredentials());
    auto stub = v1::Gateway::NewStub(channel);
    if (!Seed(*stub)) {
      state.SkipWithError("seeding failed");
      return;
    }
    std::atomic<bool> failed{false};
    std::vector<std::vector<int64_t>> latencies(clients);
    const absl::Time end = absl::Now() + absl::Seconds(3);
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        std::mt19937 random(c);
        v1::GetCustomer360Request request;
        request.set_tenant("bench");
        while (absl::Now() < end && !failed.load()) {
          request.set_account(absl::StrCat("C-", random() % kAccounts));
          grpc::ClientContext context;
          v1::Customer360 response;
          const absl::Time started = absl::Now();
          if (!stub->GetCustomer360(&context, request, &response).ok() ||
              response.open_invoices_size() == 0) {
            failed = true;
          }
          latencies[c].push_back(absl::ToInt64Nanoseconds(absl::Now() - started));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    if (failed) {
      state.SkipWithError("a GetCustomer360 call failed");
      return;
    }
    std::vector<int64_t> all;
    for (const auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
    std::sort(all.begin(), all.end());
    state.SetItemsProcessed(static_cast<int64_t>(all.size()));
    state.SetIterationTime(3.0);
    state.counters["p50_ms"] = all[all.size() / 2] / 1e6;
    state.counters["p99_ms"] = all[all.size() * 99 / 100] / 1e6;
  }
}
BENCHMARK(BM_Customer360)
    ->Arg(16)
    ->Arg(64)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ar
