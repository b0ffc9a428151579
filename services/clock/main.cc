// ar-clock: the business-day clock alone in a process. Wiring only.

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/service_main.h"
#include "services/clock/clock_flags.h"
#include "services/clock/clock_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50065", "gRPC listen address (host:port)");
ABSL_FLAG(absl::Duration, read_wait_timeout, absl::Seconds(5),
          "how long a query with a min_position waits for the read model before UNAVAILABLE");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "how long running calls may finish after SIGTERM");

int main(int argc, char** argv) {
  ar::servicekit::BlockTerminationSignals();
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);
  using ar::clock::ClockService;
  return ar::servicekit::RunServiceMain<ClockService>(
      "ar-clock", absl::GetFlag(FLAGS_listen), absl::GetFlag(FLAGS_shutdown_grace),
      [](ar::eventlog::EventLog& log, ar::store::Store& store,
         const ar::servicekit::BackendSettings& backend)
          -> absl::StatusOr<std::unique_ptr<ClockService>> {
        absl::StatusOr<ar::clock::ClockOptions> options = ar::clock::ClockOptionsFromFlags();
        if (!options.ok()) return options.status();
        options->read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
        options->topic_partitions = backend.topic_partitions;
        return ClockService::Create(log, store, *std::move(options));
      });
}
