// ar-payments: the payments service as its own process. Wiring only.

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/service_main.h"
#include "services/payments/payments_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50062", "gRPC listen address");
ABSL_FLAG(bool, auto_apply_unapplied_cash, true,
          "apply unapplied cash automatically to invoices that appear later");
ABSL_FLAG(absl::Duration, read_wait_timeout, absl::Seconds(5),
          "how long a query waits for ReadConsistency.min_position");
ABSL_FLAG(std::string, advertise_address, "",
          "host:port where the other replicas reach this one's gRPC server (commands for an "
          "account are forwarded to the replica owning it); empty = --listen");
ABSL_FLAG(absl::Duration, shutdown_deadline, absl::Seconds(10),
          "how long running calls may finish on SIGTERM");

int main(int argc, char** argv) {
  ar::servicekit::BlockTerminationSignals();
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);
  using ar::payments::PaymentsService;
  return ar::servicekit::RunServiceMain<PaymentsService>(
      "ar-payments", absl::GetFlag(FLAGS_listen), absl::GetFlag(FLAGS_shutdown_deadline),
      [](ar::eventlog::EventLog& log, ar::store::Store& store,
         const ar::servicekit::BackendSettings& backend) {
        PaymentsService::Options options;
        options.settings.auto_apply_unapplied_cash = absl::GetFlag(FLAGS_auto_apply_unapplied_cash);
        options.api.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
        options.backend = backend;
        options.advertise_address = absl::GetFlag(FLAGS_advertise_address);
        if (options.advertise_address.empty())
          options.advertise_address = absl::GetFlag(FLAGS_listen);
        return PaymentsService::Create(log, store, options);
      });
}
