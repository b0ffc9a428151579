#pragma once
// The collections service as a hostable component: the read-model projection, the
// reactor (day closes, cures), the command executor and the gRPC API over an EventLog and
// a Store it is given. The ar-collections binary hosts one; ar-suite can host it beside
// the other services.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ar/v1/collections.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/command/command_executor.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"
#include "libs/servicekit/backends.h"
#include "libs/store/store.h"
#include "services/collections/api/collections_api.h"
#include "services/collections/collections_reactor.h"
#include "services/collections/domain/collections_domain.h"
#include "services/collections/projection/collections_projection.h"

namespace ar::collections {

class CollectionsService {
 public:
  struct Options {
    v1::CollectionsPolicy policy = DefaultPolicy();
    ApiOptions api;
    // Topics missing at start are created with backend.topic_partitions partitions.
    servicekit::BackendSettings backend;
    // How long Start() waits for the read model to catch up with the log.
    absl::Duration catch_up_timeout = absl::Minutes(5);
    // How long a command waits for its own read model.
    absl::Duration command_catch_up_timeout = absl::Seconds(10);
    // Consumer groups let replicas share partitions; tests may read everything instead.
    bool use_consumer_group = true;
  };

  // The topics the read model follows.
  static std::vector<std::string> InputTopics();

  // INVALID_ARGUMENT for a policy that does not validate.
  static absl::StatusOr<std::unique_ptr<CollectionsService>> Create(eventlog::EventLog& log,
                                                                    store::Store& store,
                                                                    Options options);
  ~CollectionsService();

  // Creates missing topics, starts the projection, waits until it has caught up with the
  // log, starts the reactor and reports ready.
  absl::Status Start();
  // Stops the reactor and the projection and flushes the producer. Idempotent.
  void Stop();

  grpc::Service* grpc_service() { return grpc_.get(); }
  CollectionsApi& api() { return *api_; }
  projection::ProjectionRunner& projection() { return *projection_runner_; }
  projection::ProjectionRunner& reactor() { return *reactor_runner_; }
  CollectionsProjection& projection_handler() { return *projection_handler_; }
  CollectionsReactor& reactor_handler() { return *reactor_handler_; }
  bool ready() const { return ready_.load(); }

 private:
  CollectionsService(eventlog::EventLog& log, store::Store& store, Options options);

  eventlog::EventLog& log_;
  store::Store& store_;
  Options options_;
  std::unique_ptr<eventlog::Producer> producer_;
  std::unique_ptr<CollectionsProjection> projection_handler_;
  std::unique_ptr<projection::ProjectionRunner> projection_runner_;
  std::unique_ptr<command::CommandExecutor> executor_;
  std::unique_ptr<CollectionsReactor> reactor_handler_;
  std::unique_ptr<projection::ProjectionRunner> reactor_runner_;
  std::unique_ptr<CollectionsApi> api_;
  std::unique_ptr<CollectionsGrpcService> grpc_;
  std::atomic<bool> ready_{false};
  bool stopped_ = false;
};

}  // namespace ar::collections
