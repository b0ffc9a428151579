// ar-suite: every service in one process on one event log and one store, behind one gRPC
// server. Wiring only: flags -> SuiteOptions, start, wait for SIGTERM/SIGINT, shut down.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/servicekit/backends.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/grpc_server.h"
#include "services/clock/clock_flags.h"
#include "services/collections/collections_flags.h"
#include "services/credit_risk/credit_flags.h"
#include "services/suite/suite.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address (host:port; port 0 picks one)");
ABSL_FLAG(absl::Duration, shutdown_deadline, absl::Seconds(10),
          "how long running calls may finish after SIGTERM/SIGINT");
ABSL_FLAG(absl::Duration, read_wait_timeout, absl::Seconds(5),
          "how long a query with a min_position waits for the read model before UNAVAILABLE");
ABSL_FLAG(std::string, credit_hold_policy, "reject",
          "new invoices for an account on credit hold: reject (FAILED_PRECONDITION) or flag");
ABSL_FLAG(std::vector<std::string>, ingest_regions, std::vector<std::string>({"eu", "us", "apac"}),
          "regions whose raw feeds (ar.ingest.<region>) invoicing consumes; empty for none");
ABSL_FLAG(bool, auto_apply_unapplied_cash, true,
          "apply unapplied cash automatically to invoices that appear later");

namespace {

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "ar-suite: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the mask and only sigwait sees them.
  ar::servicekit::BlockTerminationSignals();
  // Debian's absl is built with absl::Mutex lock-order (deadlock) tracking on: a graph
  // update on every lock, ~3 % of the CPU of a GetCustomer360 (perf). It is a debugging
  // aid; tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);

  ar::suite::SuiteOptions options;
  auto backend = ar::servicekit::BackendSettingsFromFlags();
  if (!backend.ok()) return Fail("settings", backend.status());
  options.backend = *backend;
  options.listen_address = absl::GetFlag(FLAGS_listen);

  auto policy = ar::invoicing::ParseCreditHoldPolicy(absl::GetFlag(FLAGS_credit_hold_policy));
  if (!policy.ok()) return Fail("--credit_hold_policy", policy.status());
  options.invoicing.credit_hold_policy = *policy;
  options.invoicing.ingest_regions.clear();
  for (const std::string& region : absl::GetFlag(FLAGS_ingest_regions)) {
    if (!region.empty()) options.invoicing.ingest_regions.push_back(region);
  }
  options.invoicing.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
  options.payments.api.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
  options.payments.settings.auto_apply_unapplied_cash =
      absl::GetFlag(FLAGS_auto_apply_unapplied_cash);
  auto clock_options = ar::clock::ClockOptionsFromFlags();
  if (!clock_options.ok()) return Fail("settings", clock_options.status());
  options.clock = *std::move(clock_options);
  auto credit_settings = ar::credit::SettingsFromFlags();
  if (!credit_settings.ok()) return Fail("settings", credit_settings.status());
  options.credit_risk.settings = *std::move(credit_settings);
  options.credit_risk.api.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
  auto collections_policy = ar::collections::PolicyFromFlags();
  if (!collections_policy.ok()) return Fail("settings", collections_policy.status());
  options.collections.policy = *std::move(collections_policy);
  options.collections.api.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
  options.clock.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);

  auto suite = ar::suite::Suite::Open(options);
  if (!suite.ok()) return Fail("opening", suite.status());
  std::fprintf(stderr, "ar-suite: log=%s (%s) store=%s, services: %s; catching up\n",
               options.backend.log_backend.c_str(),
               options.backend.log_backend == "embedded" ? options.backend.data_dir.c_str()
                                                         : options.backend.kafka_brokers.c_str(),
               options.backend.store_backend.c_str(),
               absl::StrJoin((*suite)->service_names(), ", ").c_str());
  if (absl::Status started = (*suite)->Start(); !started.ok()) return Fail("starting", started);
  std::fprintf(stderr, "ar-suite: serving on %s\n", (*suite)->address().c_str());

  const int signal_number = ar::servicekit::WaitForTerminationSignal();
  std::fprintf(stderr, "ar-suite: signal %d, shutting down\n", signal_number);
  (*suite)->Shutdown(absl::GetFlag(FLAGS_shutdown_deadline));
  std::fprintf(stderr, "ar-suite: stopped\n");
  return 0;
}
