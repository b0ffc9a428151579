#pragma once
// The payments service as a hostable component: the read-model projection, the reactor,
// the command executor and the gRPC API over an EventLog and a Store it is given. The
// ar-payments binary hosts one; an all-in-one binary can host it beside other services.

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "libs/command/command_executor.h"
#include "libs/command/command_router.h"
#include "libs/command/ownership.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"
#include "libs/servicekit/backends.h"
#include "libs/store/store.h"
#include "services/payments/api/payments_api.h"
#include "services/payments/domain/payments_domain.h"
#include "services/payments/payments_reactor.h"
#include "services/payments/projection/payments_projection.h"

namespace ar::payments {

class PaymentsService {
 public:
  struct Options {
    Settings settings;
    ApiOptions api;
    // Topics missing at start are created with backend.topic_partitions partitions.
    servicekit::BackendSettings backend;
    // How long Start() waits for the read model to catch up with the log.
    absl::Duration catch_up_timeout = absl::Minutes(5);
    // How long a command waits for its own read model.
    absl::Duration command_catch_up_timeout = absl::Seconds(10);
    // Consumer groups let replicas share partitions; tests may read everything instead.
    bool use_consumer_group = true;
    // Where the other replicas reach this one's gRPC server. Set (with consumer groups):
    // commands for an account are decided only by the replica owning its partition of
    // ar.payments.events and forwarded there by the others (libs/command/ownership.h).
    // Empty: this process decides every account's commands (one replica, the suite).
    std::string advertise_address;
  };

  static absl::StatusOr<std::unique_ptr<PaymentsService>> Create(eventlog::EventLog& log,
                                                                 store::Store& store,
                                                                 Options options);
  ~PaymentsService();

  // Creates missing topics, starts the projection, waits until it has caught up with the
  // log, starts the reactor and reports ready.
  absl::Status Start();
  // Stops the reactor and the projection and flushes the producer. Idempotent.
  void Stop();

  grpc::Service* grpc_service() { return grpc_.get(); }
  PaymentsApi& api() { return *api_; }
  projection::ProjectionRunner& projection() { return *projection_runner_; }
  // Null without replicas (no advertise address).
  const command::CommandOwnership* ownership() const { return ownership_.get(); }
  bool ready() const { return ready_.load(); }

 private:
  PaymentsService(eventlog::EventLog& log, store::Store& store, Options options);

  eventlog::EventLog& log_;
  store::Store& store_;
  Options options_;
  std::unique_ptr<eventlog::Producer> producer_;
  std::unique_ptr<PaymentsProjection> projection_handler_;
  std::unique_ptr<projection::ProjectionRunner> projection_runner_;
  // After the runner: its catch-up thread waits on the runner, so it must end first.
  std::unique_ptr<command::CommandOwnership> ownership_;
  std::unique_ptr<command::CommandRouter> router_;
  std::unique_ptr<command::CommandExecutor> executor_;
  std::unique_ptr<PaymentsReactor> reactor_handler_;
  std::unique_ptr<projection::ProjectionRunner> reactor_runner_;
  std::unique_ptr<PaymentsApi> api_;
  std::unique_ptr<PaymentsGrpcService> grpc_;
  std::atomic<bool> ready_{false};
  bool stopped_ = false;
};

}  // namespace ar::payments
