// ar-invoicing: the invoicing service alone in a process. Wiring only.

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/service_main.h"
#include "services/invoicing/invoicing_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50061", "gRPC listen address (host:port)");
ABSL_FLAG(std::string, credit_hold_policy, "reject",
          "new invoices for an account on credit hold: reject (FAILED_PRECONDITION) or flag");
ABSL_FLAG(std::vector<std::string>, ingest_regions, std::vector<std::string>({"eu", "us", "apac"}),
          "regions whose raw feeds (ar.ingest.<region>) are consumed; empty for none");
ABSL_FLAG(absl::Duration, read_wait_timeout, absl::Seconds(5),
          "how long a query with a min_position waits for the read model before UNAVAILABLE");
ABSL_FLAG(std::string, advertise_address, "",
          "host:port where the other replicas reach this one's gRPC server; set it to run "
          "several replicas (the read model is then shared through a consumer group and "
          "commands are forwarded to the replica owning the account); empty = one replica");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "how long running calls may finish after SIGTERM");

int main(int argc, char** argv) {
  ar::servicekit::BlockTerminationSignals();
  ar::servicekit::ParseFlagsAndEnvironment(argc, argv);
  using ar::invoicing::InvoicingService;
  return ar::servicekit::RunServiceMain<InvoicingService>(
      "ar-invoicing", absl::GetFlag(FLAGS_listen), absl::GetFlag(FLAGS_shutdown_grace),
      [](ar::eventlog::EventLog& log, ar::store::Store& store,
         const ar::servicekit::BackendSettings& backend)
          -> absl::StatusOr<std::unique_ptr<InvoicingService>> {
        auto policy = ar::invoicing::ParseCreditHoldPolicy(absl::GetFlag(FLAGS_credit_hold_policy));
        if (!policy.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("--credit_hold_policy: ", policy.status().message()));
        }
        ar::invoicing::InvoicingServiceOptions options;
        options.credit_hold_policy = *policy;
        options.ingest_regions.clear();
        for (const std::string& region : absl::GetFlag(FLAGS_ingest_regions)) {
          if (!region.empty()) options.ingest_regions.push_back(region);
        }
        options.read_wait_timeout = absl::GetFlag(FLAGS_read_wait_timeout);
        options.advertise_address = absl::GetFlag(FLAGS_advertise_address);
        options.topic_partitions = backend.topic_partitions;
        return InvoicingService::Create(log, store, options);
      });
}
