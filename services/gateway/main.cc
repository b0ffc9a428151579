// ar-gateway: the gateway as its own process. Wiring only.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "libs/servicekit/backends.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/grpc_server.h"
#include "services/gateway/gateway_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50060", "gRPC listen address");
ABSL_FLAG(std::string, invoicing_address, "127.0.0.1:50061",
          "the invoicing service (empty: its operations answer UNIMPLEMENTED)");
ABSL_FLAG(std::string, payments_address, "127.0.0.1:50062", "the payments service");
ABSL_FLAG(std::string, credit_risk_address, "127.0.0.1:50063", "the credit-risk service");
ABSL_FLAG(std::string, collections_address, "127.0.0.1:50064", "the collections service");
ABSL_FLAG(std::string, clock_address, "127.0.0.1:50065", "the clock service");
ABSL_FLAG(absl::Duration, downstream_timeout, absl::Seconds(30),
          "deadline of a call to a service when the caller set none");
ABSL_FLAG(int32_t, overdue_queue, 1024,
          "overdue updates queued per subscriber before it counts as fallen behind");
ABSL_FLAG(int32_t, max_overdue_subscribers, 10000, "overdue streams served at once");
ABSL_FLAG(absl::Duration, shutdown_deadline, absl::Seconds(10),
          "how long running calls may finish on SIGTERM");

namespace {

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "ar-gateway: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address) {
  if (address.empty()) return nullptr;
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

}  // namespace

int main(int argc, char** argv) {
  ar::servicekit::BlockTerminationSignals();
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);

  absl::StatusOr<ar::servicekit::BackendSettings> backend =
      ar::servicekit::BackendSettingsFromFlags();
  if (!backend.ok()) return Fail("settings", backend.status());
  auto log = ar::servicekit::OpenEventLog(*backend);
  if (!log.ok()) return Fail("event log", log.status());

  ar::gateway::GatewayService::Options options;
  options.channels.invoicing = ChannelTo(absl::GetFlag(FLAGS_invoicing_address));
  options.channels.payments = ChannelTo(absl::GetFlag(FLAGS_payments_address));
  options.channels.credit_risk = ChannelTo(absl::GetFlag(FLAGS_credit_risk_address));
  options.channels.collections = ChannelTo(absl::GetFlag(FLAGS_collections_address));
  options.channels.clock = ChannelTo(absl::GetFlag(FLAGS_clock_address));
  options.api.downstream_timeout = absl::GetFlag(FLAGS_downstream_timeout);
  options.hub.max_queued_per_subscriber = absl::GetFlag(FLAGS_overdue_queue);
  options.hub.max_subscribers = absl::GetFlag(FLAGS_max_overdue_subscribers);
  options.backend = *backend;
  auto service = ar::gateway::GatewayService::Create(**log, options);
  if (!service.ok()) return Fail("service", service.status());

  ar::servicekit::GrpcServer server(absl::GetFlag(FLAGS_listen));
  server.AddService((*service)->grpc_service());
  if (absl::Status started = server.Start(); !started.ok()) return Fail("gRPC server", started);
  // Health says NOT_SERVING until the overdue hub has read the log.
  if (absl::Status started = (*service)->Start(); !started.ok()) {
    server.Shutdown(absl::Seconds(1));
    return Fail("start", started);
  }
  server.SetServing(true);
  std::fprintf(stderr, "ar-gateway: serving on %s\n", server.address().c_str());

  const int signal = ar::servicekit::WaitForTerminationSignal();
  std::fprintf(stderr, "ar-gateway: signal %d, shutting down\n", signal);
  server.SetServing(false);
  // Overdue streams end first, each with its resume cursor; then running calls finish.
  (*service)->Stop();
  server.Shutdown(absl::GetFlag(FLAGS_shutdown_deadline));
  return 0;
}
