// ar-collections: the collections service as its own process. Wiring only.

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/service_main.h"
#include "services/collections/collections_flags.h"
#include "services/collections/collections_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50064", "gRPC listen address");
ABSL_FLAG(absl::Duration, read_wait_timeout, absl::Seconds(5),
          "how long a query waits for ReadConsistency.min_position");
ABSL_FLAG(absl::Duration, shutdown_deadline, absl::Seconds(10),
          "how long running calls may finish on SIGTERM");

int main(int argc, char** argv) {
  ar::servicekit::BlockTerminationSignals();
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);
  using ar::collections::CollectionsService;
  return ar::servicekit::RunServiceMain<CollectionsService>(
      "ar-collections", absl::GetFlag(FLAGS_listen), absl::GetFlag(FLAGS_shutdown_deadline),
      [](ar::eventlog::EventLog& log, ar::store::Store& store,
         const ar::servicekit::BackendSettings& backend)
          -> absl::StatusOr<std::unique_ptr<CollectionsService>> {
        absl::StatusOr<ar::v1::CollectionsPolicy> policy = ar::collections::PolicyFromFlags();
        if (!policy.ok()) return policy.status();
        CollectionsService::Options options;
        options.policy = *std::move(policy);
        options.api.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
        options.backend = backend;
        return CollectionsService::Create(log, store, options);
      });
}
