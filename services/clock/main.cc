// ar-clock: the business-day clock alone in a process. Wiring only.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "libs/servicekit/backends.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/grpc_server.h"
#include "services/clock/clock_flags.h"
#include "services/clock/clock_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50065", "gRPC listen address (host:port)");
ABSL_FLAG(absl::Duration, read_wait_timeout, absl::Seconds(5),
          "how long a query with a min_position waits for the read model before UNAVAILABLE");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "how long running calls may finish after SIGTERM");

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "ar-clock: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  ar::servicekit::BlockTerminationSignals();
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);

  auto backend = ar::servicekit::BackendSettingsFromFlags();
  if (!backend.ok()) return Fail("settings", backend.status());
  auto clock_options = ar::clock::ClockOptionsFromFlags();
  if (!clock_options.ok()) return Fail("settings", clock_options.status());

  auto log = ar::servicekit::OpenEventLog(*backend);
  if (!log.ok()) return Fail("event log", log.status());
  auto store = ar::servicekit::OpenStore(*backend);
  if (!store.ok()) return Fail("store", store.status());

  ar::clock::ClockOptions options = *std::move(clock_options);
  options.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
  options.topic_partitions = backend->topic_partitions;
  auto service = ar::clock::ClockService::Create(**log, **store, options);
  if (!service.ok()) return Fail("clock", service.status());
  ar::clock::ClockService& clock = **service;

  ar::servicekit::GrpcServer server(absl::GetFlag(FLAGS_listen));
  server.AddService(clock.grpc_service());
  if (absl::Status started = server.Start(); !started.ok()) return Fail("gRPC server", started);
  server.SetServing(false);
  if (absl::Status started = clock.Start(); !started.ok()) {
    server.Shutdown(absl::ZeroDuration());
    clock.Stop();
    return Fail("starting", started);
  }
  server.SetServing(true);
  std::fprintf(stderr, "ar-clock: serving on %s\n", server.address().c_str());

  const int signal_number = ar::servicekit::WaitForTerminationSignal();
  std::fprintf(stderr, "ar-clock: signal %d, shutting down\n", signal_number);
  server.SetServing(false);
  server.Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  clock.Stop();
  return 0;
}
