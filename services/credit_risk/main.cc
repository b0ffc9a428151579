// ar-credit-risk: the credit-risk service as its own process. Wiring only.

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/service_main.h"
#include "services/credit_risk/credit_flags.h"
#include "services/credit_risk/credit_risk_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50063", "gRPC listen address");
ABSL_FLAG(absl::Duration, read_wait_timeout, absl::Seconds(5),
          "how long a query waits for ReadConsistency.min_position");
ABSL_FLAG(absl::Duration, shutdown_deadline, absl::Seconds(10),
          "how long running calls may finish on SIGTERM");

int main(int argc, char** argv) {
  ar::servicekit::BlockTerminationSignals();
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);
  using ar::credit::CreditRiskService;
  return ar::servicekit::RunServiceMain<CreditRiskService>(
      "ar-credit-risk", absl::GetFlag(FLAGS_listen), absl::GetFlag(FLAGS_shutdown_deadline),
      [](ar::eventlog::EventLog& log, ar::store::Store& store,
         const ar::servicekit::BackendSettings& backend)
          -> absl::StatusOr<std::unique_ptr<CreditRiskService>> {
        absl::StatusOr<ar::credit::Settings> settings = ar::credit::SettingsFromFlags();
        if (!settings.ok()) return settings.status();
        CreditRiskService::Options options;
        options.settings = *std::move(settings);
        options.api.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
        options.backend = backend;
        return CreditRiskService::Create(log, store, options);
      });
}
