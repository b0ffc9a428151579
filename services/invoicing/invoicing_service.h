#pragma once
// The invoicing service as a component: a binary (ar-invoicing, ar-suite) hosts it on an
// EventLog and a Store it opened, and serves grpc_service() on its gRPC server.
//
// Start(): creates missing topics, starts the read-model projection (every partition of
// the invoicing, payments, credit and collections topics), waits until it has caught up
// with the end of those topics (so commands decide on a complete read model), then starts
// the raw-feed consumer and reports ready().

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/command/command_executor.h"
#include "libs/command/command_router.h"
#include "libs/command/ownership.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"
#include "services/invoicing/api/ingest_handler.h"
#include "services/invoicing/api/invoicing_commands.h"
#include "services/invoicing/api/invoicing_grpc.h"
#include "services/invoicing/api/invoicing_queries.h"
#include "services/invoicing/domain/invoice_rules.h"
#include "services/invoicing/projection/invoice_projection.h"

namespace ar::invoicing {

struct InvoicingServiceOptions {
  CreditHoldPolicy credit_hold_policy = CreditHoldPolicy::kReject;
  // Raw feeds consumed: ar.ingest.<region> for each.
  std::vector<std::string> ingest_regions = {"eu", "us", "apac"};
  // How long a query with ReadConsistency waits for the read model.
  absl::Duration read_wait_timeout = absl::Seconds(5);
  // How long a command waits for the read model (see command::CommandExecutor).
  absl::Duration command_catch_up_timeout = absl::Seconds(10);
  // How long Start() waits for the read model to catch up with the log.
  absl::Duration start_catch_up_timeout = absl::Minutes(5);
  // Partitions of topics created at start.
  int32_t topic_partitions = 8;
  // The raw feed is shared among replicas through a consumer group.
  bool ingest_uses_consumer_group = true;
  // Where the other replicas reach this one's gRPC server. Set: the read model is shared
  // with the other replicas through a consumer group, and commands for an account are
  // decided only by the replica owning its partition of ar.invoicing.events, the others
  // forwarding them there (libs/command/ownership.h). Empty: this process reads every
  // partition and decides every account's commands (one replica, the suite).
  std::string advertise_address;
};

class InvoicingService {
 public:
  static absl::StatusOr<std::unique_ptr<InvoicingService>> Create(eventlog::EventLog& log,
                                                                  store::Store& store,
                                                                  InvoicingServiceOptions options);
  ~InvoicingService();
  InvoicingService(const InvoicingService&) = delete;
  InvoicingService& operator=(const InvoicingService&) = delete;

  absl::Status Start();
  // Stops the raw feed, the projection and the producer (flushing it). Idempotent.
  void Stop();

  // Exists from Create() on (so a server can register it before Start); answers
  // UNAVAILABLE until ready().
  grpc::Service* grpc_service() { return grpc_service_.get(); }
  bool ready() const { return ready_.load(); }

  // Every topic the service reads or writes.
  std::vector<std::string> Topics() const;
  projection::ProjectionRunner& read_model_projection() { return *projection_; }
  // Null without replicas (no advertise address).
  const command::CommandOwnership* ownership() const { return ownership_.get(); }
  // The queries behind grpc_service(), for in-process callers (the suite's gateway).
  InvoicingQueries& queries() { return *queries_; }
  // Null when no ingest regions are configured.
  projection::ProjectionRunner* ingest_projection() { return ingest_projection_.get(); }

 private:
  InvoicingService(eventlog::EventLog& log, store::Store& store,
                   std::unique_ptr<eventlog::Producer> producer, InvoicingServiceOptions options);

  eventlog::EventLog& log_;
  store::Store& store_;
  InvoicingServiceOptions options_;

  std::atomic<bool> ready_{false};
  InvoiceProjection handler_;
  std::unique_ptr<eventlog::Producer> producer_;
  std::unique_ptr<projection::ProjectionRunner> projection_;
  // After the runner: its catch-up thread waits on the runner, so it must end first.
  std::unique_ptr<command::CommandOwnership> ownership_;
  std::unique_ptr<command::CommandRouter> router_;
  std::unique_ptr<command::CommandExecutor> executor_;
  std::unique_ptr<InvoicingCommands> commands_;
  std::unique_ptr<InvoicingQueries> queries_;
  std::unique_ptr<InvoicingGrpcService> grpc_service_;
  std::unique_ptr<IngestHandler> ingest_handler_;
  std::unique_ptr<projection::ProjectionRunner> ingest_projection_;
  bool started_ = false;
};

}  // namespace ar::invoicing
