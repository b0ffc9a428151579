// GetCustomer360 load on ar-suite (issue 5: ">= 20k QPS with p99 <= 5 ms on 2 cores, client
// on the same machine").
//
// Hosts a Suite in this process (embedded log and memory store in a temp dir, wall clock
// off, credit hold flagged) unless --target names a running ar-suite, feeds it the demo
// history (tools/demo: --customers customers over --months months, day closes included)
// unless --seed=false, then for each --concurrency N keeps N GetCustomer360 calls in flight
// (gRPC callback client over --channels connections, each finished call starting the next)
// on random demo accounts for --seconds. Reported per N: queries/s, latency p50/p90/p99/max
// (every call's latency, sorted), errors, this process's CPU time per query and the load
// average at the end of the run.
//
//   customer360_load                                  # suite in-process, in-process reads
//   customer360_load --in_process_queries=false       # the gateway's reads over gRPC (before)
//   customer360_load --target=127.0.0.1:50051 --seed=false   # an ar-suite already fed

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "libs/core/dates.h"
#include "libs/testing/temp_dir.h"
#include "services/suite/suite.h"
#include "tools/demo/feeder.h"
#include "tools/demo/history.h"

ABSL_FLAG(std::string, target, "", "a running ar-suite; empty: host one in this process");
ABSL_FLAG(bool, in_process_queries, true,
          "hosted suite: GetCustomer360 reads the services in-process (false: over gRPC)");
ABSL_FLAG(bool, seed, true, "feed the demo history first");
ABSL_FLAG(int, customers, 2000, "demo customers");
ABSL_FLAG(int, months, 2, "months of demo history");
ABSL_FLAG(std::string, end_date, "2026-11-22", "last day of the demo history");
ABSL_FLAG(std::string, concurrency, "1,8,32,128", "calls in flight, one run each");
ABSL_FLAG(int, seconds, 5, "length of each run");
ABSL_FLAG(int, channels, 4, "client connections");
ABSL_FLAG(bool, mutex_deadlock_detection, false,
          "absl::Mutex lock-order tracking (on in Debian's absl; ar-suite turns it off)");
ABSL_FLAG(bool, client_parses, true,
          "false: the client sends and receives GetCustomer360 as raw bytes (no protobuf "
          "parsing of the answer), to see the server's share");
ABSL_FLAG(bool, health_only, false,
          "call grpc.health.v1.Health/Check instead: the cost of a bare unary call here");

namespace ar {
namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " " + five;
}

struct Client {
  std::unique_ptr<v1::Gateway::Stub> gateway;
  std::unique_ptr<grpc::GenericStub> generic;  // raw bytes (health or no parsing)
  bool health_only = false;
};

struct RunResult {
  int64_t calls = 0;
  int64_t sampled_bytes = 0;
  int64_t sampled = 0;
  int64_t errors = 0;
  std::string first_error;
  std::vector<int64_t> latencies_us;
};

// One slot: a call in flight; its completion starts the next until the end of the run.
class Slot {
 public:
  Slot(Client& client, const std::vector<std::string>& accounts, uint32_t seed, absl::Time end,
       std::function<void()> on_finished)
      : client_(client),
        accounts_(accounts),
        random_(seed),
        end_(end),
        on_finished_(std::move(on_finished)) {
    request_.set_tenant(demo::kDemoTenant);
    grpc::Slice nothing("");  // an empty HealthCheckRequest
    empty_ = grpc::ByteBuffer(&nothing, 1);
    latencies_us_.reserve(1 << 16);
  }

  void StartNext() {
    if (absl::Now() >= end_) {
      on_finished_();
      return;
    }
    request_.set_account(accounts_[random_() % accounts_.size()]);
    response_.Clear();
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    started_ = absl::Now();
    auto on_done = [this](grpc::Status status) {
      latencies_us_.push_back(absl::ToInt64Microseconds(absl::Now() - started_));
      if (!status.ok()) {
        if (errors_++ == 0) first_error_ = status.error_message();
      } else if (latencies_us_.size() % 64 == 1) {
        sampled_bytes_ += static_cast<int64_t>(
            client_.generic != nullptr ? raw_response_.Length() : response_.ByteSizeLong());
        ++sampled_;
      }
      StartNext();
    };
    if (client_.generic != nullptr && client_.health_only) {
      client_.generic->UnaryCall(context_.get(), "/grpc.health.v1.Health/Check",
                                 grpc::StubOptions(), &empty_, &raw_response_, on_done);
    } else if (client_.generic != nullptr) {
      const std::string bytes = request_.SerializeAsString();
      grpc::Slice slice(bytes);
      raw_request_ = grpc::ByteBuffer(&slice, 1);
      client_.generic->UnaryCall(context_.get(), "/ar.v1.Gateway/GetCustomer360",
                                 grpc::StubOptions(), &raw_request_, &raw_response_, on_done);
    } else {
      client_.gateway->async()->GetCustomer360(context_.get(), &request_, &response_, on_done);
    }
  }

  void AddTo(RunResult& result) const {
    result.calls += static_cast<int64_t>(latencies_us_.size());
    result.errors += errors_;
    result.sampled_bytes += sampled_bytes_;
    result.sampled += sampled_;
    if (result.first_error.empty()) result.first_error = first_error_;
    result.latencies_us.insert(result.latencies_us.end(), latencies_us_.begin(),
                               latencies_us_.end());
  }

 private:
  Client& client_;
  const std::vector<std::string>& accounts_;
  grpc::ByteBuffer empty_;
  grpc::ByteBuffer raw_request_;
  grpc::ByteBuffer raw_response_;
  int64_t sampled_bytes_ = 0;
  int64_t sampled_ = 0;
  std::mt19937 random_;
  const absl::Time end_;
  std::function<void()> on_finished_;
  v1::GetCustomer360Request request_;
  v1::Customer360 response_;
  std::unique_ptr<grpc::ClientContext> context_;
  absl::Time started_;
  std::vector<int64_t> latencies_us_;
  int64_t errors_ = 0;
  std::string first_error_;
};

RunResult Run(std::vector<Client>& clients, const std::vector<std::string>& accounts, int in_flight,
              absl::Duration length) {
  std::mutex mu;
  std::condition_variable all_done;
  int running = in_flight;
  const absl::Time end = absl::Now() + length;
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < in_flight; ++i) {
    slots.push_back(std::make_unique<Slot>(clients[i % clients.size()], accounts, i + 1, end, [&] {
      std::lock_guard lock(mu);
      if (--running == 0) all_done.notify_all();
    }));
  }
  for (auto& slot : slots) slot->StartNext();
  {
    std::unique_lock lock(mu);
    all_done.wait(lock, [&] { return running == 0; });
  }
  RunResult result;
  for (const auto& slot : slots) slot->AddTo(result);
  std::sort(result.latencies_us.begin(), result.latencies_us.end());
  return result;
}

double PercentileMs(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t at = std::min(sorted.size() - 1, static_cast<size_t>(sorted.size() * p));
  return static_cast<double>(sorted[at]) / 1000.0;
}

int Main() {
  if (!absl::GetFlag(FLAGS_mutex_deadlock_detection)) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  absl::StatusOr<absl::CivilDay> end = core::ParseDate(absl::GetFlag(FLAGS_end_date));
  if (!end.ok()) {
    std::fprintf(stderr, "--end_date: %s\n", end.status().ToString().c_str());
    return 2;
  }
  demo::HistoryOptions history_options;
  history_options.customers = absl::GetFlag(FLAGS_customers);
  history_options.end = *end;
  history_options.start = demo::StartForMonths(*end, absl::GetFlag(FLAGS_months));
  absl::StatusOr<demo::History> history = demo::GenerateHistory(history_options);
  if (!history.ok()) {
    std::fprintf(stderr, "history: %s\n", history.status().ToString().c_str());
    return 1;
  }
  std::vector<std::string> accounts;
  for (const demo::Customer& customer : history->customers) {
    accounts.push_back(customer.account.account());
  }

  std::unique_ptr<testing::TempDir> data;
  std::unique_ptr<suite::Suite> hosted;
  std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) {
    data = std::make_unique<testing::TempDir>();
    suite::SuiteOptions options;
    options.backend.data_dir = data->Join("data");
    options.listen_address = "127.0.0.1:0";
    options.clock.wall_clock = false;
    options.invoicing.credit_hold_policy = invoicing::CreditHoldPolicy::kFlag;
    options.gateway_queries_in_process = absl::GetFlag(FLAGS_in_process_queries);
    absl::StatusOr<std::unique_ptr<suite::Suite>> opened = suite::Suite::Open(options);
    if (!opened.ok()) {
      std::fprintf(stderr, "suite: %s\n", opened.status().ToString().c_str());
      return 1;
    }
    hosted = *std::move(opened);
    if (absl::Status started = hosted->Start(); !started.ok()) {
      std::fprintf(stderr, "suite: %s\n", started.ToString().c_str());
      return 1;
    }
    target = hosted->address();
  }
  std::fprintf(stderr, "target %s (%s), %zu accounts\n", target.c_str(),
               hosted == nullptr                         ? "external"
               : absl::GetFlag(FLAGS_in_process_queries) ? "hosted, in-process reads"
                                                         : "hosted, reads over gRPC",
               accounts.size());

  if (absl::GetFlag(FLAGS_seed)) {
    demo::FeederOptions feeder;
    const absl::Time started = absl::Now();
    absl::StatusOr<demo::FeedSummary> fed = demo::FeedHistory(
        *history, grpc::CreateChannel(target, grpc::InsecureChannelCredentials()), feeder);
    if (!fed.ok()) {
      std::fprintf(stderr, "feed: %s\n", fed.status().ToString().c_str());
      return 1;
    }
    size_t commands = 0;
    for (const demo::DayStep& day : history->days) commands += day.commands.size();
    std::fprintf(stderr, "fed %d days, %zu commands in %.1f s\n", fed->days, commands,
                 absl::ToDoubleSeconds(absl::Now() - started));
  }

  std::vector<Client> clients;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    grpc::ChannelArguments arguments;
    arguments.SetInt("ar.customer360_load.channel", i);  // a connection of its own
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), arguments);
    Client& client = clients.emplace_back();
    client.gateway = v1::Gateway::NewStub(channel);
    client.health_only = absl::GetFlag(FLAGS_health_only);
    if (client.health_only || !absl::GetFlag(FLAGS_client_parses)) {
      client.generic = std::make_unique<grpc::GenericStub>(channel);
    }
  }
  // Warm-up: connections up, caches and allocator arenas filled.
  (void)Run(clients, accounts, 8, absl::Seconds(1));

  std::printf(
      "| in flight | queries/s | p50 ms | p90 ms | p99 ms | max ms | errors | CPU us/query "
      "| response bytes | load 1m 5m |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (absl::string_view text : absl::StrSplit(absl::GetFlag(FLAGS_concurrency), ',')) {
    int in_flight = 0;
    if (!absl::SimpleAtoi(text, &in_flight) || in_flight <= 0) continue;
    const double cpu_before = CpuSeconds();
    const absl::Time started = absl::Now();
    RunResult result =
        Run(clients, accounts, in_flight, absl::Seconds(absl::GetFlag(FLAGS_seconds)));
    const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
    const double cpu = CpuSeconds() - cpu_before;
    std::printf(
        "| %d | %.0f | %.2f | %.2f | %.2f | %.2f | %lld | %.0f | %lld | %s |\n", in_flight,
        static_cast<double>(result.calls) / seconds, PercentileMs(result.latencies_us, 0.50),
        PercentileMs(result.latencies_us, 0.90), PercentileMs(result.latencies_us, 0.99),
        result.latencies_us.empty() ? 0.0 : result.latencies_us.back() / 1000.0,
        static_cast<long long>(result.errors),
        result.calls == 0 ? 0.0 : cpu * 1e6 / static_cast<double>(result.calls),
        static_cast<long long>(result.sampled == 0 ? 0 : result.sampled_bytes / result.sampled),
        LoadAverage().c_str());
    std::fflush(stdout);
    if (!result.first_error.empty())
      std::fprintf(stderr, "first error: %s\n", result.first_error.c_str());
  }
  if (hosted) hosted->Shutdown(absl::Seconds(5));
  return 0;
}

}  // namespace
}  // namespace ar

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ar::Main();
}
