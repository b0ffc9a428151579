// ar-invoicing: the invoicing service alone in a process. Wiring only.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/servicekit/backends.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/grpc_server.h"
#include "services/invoicing/invoicing_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50061", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, credit_hold_policy, "reject",
          "new invoices for an account on credit hold: reject (FAILED_PRECONDITION) or flag");
ABSL_FLAG(std::vector<std::string>, ingest_regions, std::vector<std::string>({"eu", "us", "apac"}),
          "regions whose raw feeds (ar.ingest.<region>) are consumed; empty for none");
ABSL_FLAG(absl::Duration, read_wait_timeout, absl::Seconds(5),
          "how long a query with a min_position waits for the read model before UNAVAILABLE");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "how long running calls may finish after SIGTERM");

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "ar-invoicing: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  ar::servicekit::BlockTerminationSignals();
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);

  auto backend = ar::servicekit::BackendSettingsFromFlags();
  if (!backend.ok()) return Fail("settings", backend.status());
  auto policy = ar::invoicing::ParseCreditHoldPolicy(absl::GetFlag(FLAGS_credit_hold_policy));
  if (!policy.ok()) return Fail("--credit_hold_policy", policy.status());

  auto log = ar::servicekit::OpenEventLog(*backend);
  if (!log.ok()) return Fail("event log", log.status());
  auto store = ar::servicekit::OpenStore(*backend);
  if (!store.ok()) return Fail("store", store.status());

  ar::invoicing::InvoicingServiceOptions options;
  options.credit_hold_policy = *policy;
  options.ingest_regions.clear();
  for (const std::string& region : absl::GetFlag(FLAGS_ingest_regions)) {
    if (!region.empty()) options.ingest_regions.push_back(region);
  }
  options.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
  options.topic_partitions = backend->topic_partitions;
  auto service = ar::invoicing::InvoicingService::Create(**log, **store, options);
  if (!service.ok()) return Fail("invoicing service", service.status());

  ar::invoicing::InvoicingService& invoicing = **service;

  // The server answers health checks (NOT_SERVING) while the read model catches up.
  ar::servicekit::GrpcServer server(absl::GetFlag(FLAGS_listen));
  server.AddService(invoicing.grpc_service());
  if (absl::Status started = server.Start(); !started.ok()) return Fail("gRPC server", started);
  server.SetServing(false);
  if (absl::Status started = invoicing.Start(); !started.ok()) {
    server.Shutdown(absl::ZeroDuration());
    invoicing.Stop();
    return Fail("starting", started);
  }
  server.SetServing(true);
  std::fprintf(stderr, "ar-invoicing: serving on %s\n", server.address().c_str());

  const int signal_number = ar::servicekit::WaitForTerminationSignal();
  std::fprintf(stderr, "ar-invoicing: signal %d, shutting down\n", signal_number);
  server.SetServing(false);
  server.Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  invoicing.Stop();  // stops the consumers and flushes the producer
  return 0;
}
