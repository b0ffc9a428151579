// ar-collections: the collections service as its own process. Wiring only.

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "libs/servicekit/backends.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/grpc_server.h"
#include "services/collections/collections_flags.h"
#include "services/collections/collections_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50064", "gRPC listen address");
ABSL_FLAG(absl::Duration, read_wait_timeout, absl::Seconds(5),
          "how long a query waits for ReadConsistency.min_position");
ABSL_FLAG(absl::Duration, shutdown_deadline, absl::Seconds(10),
          "how long running calls may finish on SIGTERM");

namespace {

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "ar-collections: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  ar::servicekit::BlockTerminationSignals();
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);

  absl::StatusOr<ar::v1::CollectionsPolicy> policy = ar::collections::PolicyFromFlags();
  if (!policy.ok()) return Fail("policy", policy.status());
  absl::StatusOr<ar::servicekit::BackendSettings> backend =
      ar::servicekit::BackendSettingsFromFlags();
  if (!backend.ok()) return Fail("settings", backend.status());
  auto log = ar::servicekit::OpenEventLog(*backend);
  if (!log.ok()) return Fail("event log", log.status());
  auto store = ar::servicekit::OpenStore(*backend);
  if (!store.ok()) return Fail("store", store.status());

  ar::collections::CollectionsService::Options options;
  options.policy = *policy;
  options.api.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
  options.backend = *backend;
  auto service = ar::collections::CollectionsService::Create(**log, **store, options);
  if (!service.ok()) return Fail("service", service.status());

  ar::servicekit::GrpcServer server(absl::GetFlag(FLAGS_listen));
  server.AddService((*service)->grpc_service());
  if (absl::Status started = server.Start(); !started.ok()) return Fail("gRPC server", started);
  // Health says NOT_SERVING until the read model has caught up with the log.
  if (absl::Status started = (*service)->Start(); !started.ok()) {
    server.Shutdown(absl::Seconds(1));
    return Fail("start", started);
  }
  server.SetServing(true);
  std::fprintf(stderr, "ar-collections: serving on %s (policy %s)\n", server.address().c_str(),
               policy->version().c_str());

  const int signal = ar::servicekit::WaitForTerminationSignal();
  std::fprintf(stderr, "ar-collections: signal %d, shutting down\n", signal);
  server.SetServing(false);
  server.Shutdown(absl::GetFlag(FLAGS_shutdown_deadline));
  (*service)->Stop();
  return 0;
}
