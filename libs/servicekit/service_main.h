#pragma once
// One service alone in a process (ar-invoicing, ar-payments, ...): the part of main()
// every such binary shares, so each main.cc only turns its own flags into its options.

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/eventlog/eventlog.h"
#include "libs/servicekit/backends.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/store.h"

namespace ar::servicekit {

template <typename Service>
using CreateService = std::function<absl::StatusOr<std::unique_ptr<Service>>(
    eventlog::EventLog& log, store::Store& store, const BackendSettings& backend)>;

// Opens the event log and the store from the backend flags, creates the service, serves
// its API on `listen` (health NOT_SERVING until Start() has caught the read model up with
// the log), waits for SIGTERM/SIGINT and shuts down: server first (running calls get
// `shutdown_deadline`), then the service (consumers stopped, producers flushed). Returns
// main's exit code. Call after BlockTerminationSignals() and ParseFlagsAndEnvironment().
template <typename Service>
int RunServiceMain(const std::string& name, const std::string& listen,
                   absl::Duration shutdown_deadline, const CreateService<Service>& create) {
  const auto fail = [&](const char* what, const absl::Status& status) {
    std::fprintf(stderr, "%s: %s: %s\n", name.c_str(), what, status.ToString().c_str());
    return 1;
  };
  absl::StatusOr<BackendSettings> backend = BackendSettingsFromFlags();
  if (!backend.ok()) return fail("settings", backend.status());
  absl::StatusOr<std::unique_ptr<eventlog::EventLog>> log = OpenEventLog(*backend);
  if (!log.ok()) return fail("event log", log.status());
  absl::StatusOr<std::unique_ptr<store::Store>> store = OpenStore(*backend);
  if (!store.ok()) return fail("store", store.status());
  absl::StatusOr<std::unique_ptr<Service>> service = create(**log, **store, *backend);
  if (!service.ok()) return fail("service", service.status());

  GrpcServer server(listen);
  server.AddService((*service)->grpc_service());
  if (absl::Status started = server.Start(); !started.ok()) return fail("gRPC server", started);
  server.SetServing(false);
  if (absl::Status started = (*service)->Start(); !started.ok()) {
    server.Shutdown(absl::ZeroDuration());
    (*service)->Stop();
    return fail("starting", started);
  }
  server.SetServing(true);
  std::fprintf(stderr, "%s: serving on %s\n", name.c_str(), server.address().c_str());

  const int signal_number = WaitForTerminationSignal();
  std::fprintf(stderr, "%s: signal %d, shutting down\n", name.c_str(), signal_number);
  server.SetServing(false);
  server.Shutdown(shutdown_deadline);
  (*service)->Stop();
  return 0;
}

}  // namespace ar::servicekit
