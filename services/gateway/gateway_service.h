#pragma once
// The gateway as a hostable component: the overdue hub (one reader of the log) and the
// ar.v1.Gateway gRPC API over channels to the services. The ar-gateway binary hosts one
// with channels to the services' addresses; the all-in-one suite hosts it with channels
// to its own server and reads for GetCustomer360 done in-process.

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "libs/eventlog/eventlog.h"
#include "libs/servicekit/backends.h"
#include "services/gateway/api/gateway_grpc.h"
#include "services/gateway/subscription/overdue_hub.h"

namespace ar::gateway {

class GatewayService {
 public:
  struct Options {
    GatewayChannels channels;
    // How GetCustomer360 reads the services; null: through `channels`. The suite passes
    // its in-process one (the hosted services' query classes, called directly).
    std::shared_ptr<AccountQueries> account_queries;
    GatewayApiOptions api;
    OverdueHubOptions hub;
    // Topics missing at start are created with backend.topic_partitions partitions.
    servicekit::BackendSettings backend;
    // How long Start() waits for the hub to read what the log holds.
    absl::Duration catch_up_timeout = absl::Minutes(5);
  };

  static absl::StatusOr<std::unique_ptr<GatewayService>> Create(eventlog::EventLog& log,
                                                                Options options);
  ~GatewayService();
  GatewayService(const GatewayService&) = delete;
  GatewayService& operator=(const GatewayService&) = delete;

  // Creates missing topics, starts the hub and waits until it has read the log.
  absl::Status Start();
  // Ends every overdue stream with UNAVAILABLE and its resume cursor, and stops the hub.
  // Call it before shutting the server down, or the streams hold the shutdown until its
  // deadline. Idempotent.
  void Stop();

  // A callback service; it is also a grpc::Service.
  grpc::Service* grpc_service() { return grpc_.get(); }
  OverdueHub& hub() { return *hub_; }
  bool ready() const { return ready_.load(); }

 private:
  GatewayService(eventlog::EventLog& log, Options options);

  eventlog::EventLog& log_;
  Options options_;
  std::unique_ptr<OverdueHub> hub_;
  std::unique_ptr<GatewayGrpcService> grpc_;
  std::atomic<bool> ready_{false};
};

}  // namespace ar::gateway
