#pragma once
// The all-in-one suite as a component: one EventLog and one Store (chosen by the backend
// settings), every service hosted on them, and every service's gRPC API on one server.
// ar-suite's main() wires flags into SuiteOptions and drives Start/Shutdown; tests can
// host a Suite in-process the same way.
//
// Adding a service (credit-risk, collections, clock, gateway) is one Host(...) line in
// Suite::Open: anything with Start()/Stop()/grpc_service() can be hosted.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/eventlog/eventlog.h"
#include "libs/servicekit/backends.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/store.h"
#include "services/clock/clock_service.h"
#include "services/collections/collections_service.h"
#include "services/credit_risk/credit_risk_service.h"
#include "services/gateway/gateway_service.h"
#include "services/invoicing/invoicing_service.h"
#include "services/payments/payments_service.h"
#include "services/suite/in_process_queries.h"

namespace ar::suite {

struct SuiteOptions {
  servicekit::BackendSettings backend;
  std::string listen_address = "127.0.0.1:50051";
  // Per-service settings. The backend-derived fields (topic partitions, backend) are
  // filled in from `backend` by Open(), so they cannot disagree.
  invoicing::InvoicingServiceOptions invoicing;
  payments::PaymentsService::Options payments;
  credit::CreditRiskService::Options credit_risk;
  collections::CollectionsService::Options collections;
  clock::ClockOptions clock;
  // The gateway's channels are filled in by Open(): they lead back to this server.
  gateway::GatewayService::Options gateway;
  // GetCustomer360 calls the hosted services' query classes directly (in_process_queries.h).
  // Off: through this server's own gRPC API, as a separate gateway would (benchmarks
  // compare the two).
  bool gateway_queries_in_process = true;
};

// The uniform face of a hosted service.
class HostedService {
 public:
  virtual ~HostedService() = default;
  virtual const std::string& name() const = 0;
  virtual grpc::Service* grpc_service() = 0;  // null for a service without an API
  virtual absl::Status Start() = 0;
  virtual void Stop() = 0;
};

class Suite {
 public:
  // Opens the event log and the store and creates every service (nothing runs yet).
  static absl::StatusOr<std::unique_ptr<Suite>> Open(SuiteOptions options);
  ~Suite();
  Suite(const Suite&) = delete;
  Suite& operator=(const Suite&) = delete;

  // Starts the gRPC server (health NOT_SERVING), then each service in order (each one
  // catches its read model up with the log: memory read models are rebuilt here), then
  // reports SERVING. On failure everything started is stopped again.
  absl::Status Start();
  // Health NOT_SERVING, stop accepting calls, let running ones finish until `deadline`,
  // then stop the services in reverse order (consumers stopped, producers flushed).
  // Idempotent.
  void Shutdown(absl::Duration deadline);

  // The address clients dial (the bound port when listening on port 0).
  std::string address() const { return server_->address(); }
  // The event log every hosted service shares (tests read what was published).
  eventlog::EventLog& log() { return *log_; }
  std::vector<std::string> service_names() const;

 private:
  Suite(SuiteOptions options, std::unique_ptr<eventlog::EventLog> log,
        std::unique_ptr<store::Store> store);

  // Takes a created service (or the error creating it) and hosts it.
  // Takes a created service (or the error creating it) and hosts it; returns it.
  template <typename Service>
  absl::StatusOr<Service*> Host(std::string name, absl::StatusOr<std::unique_ptr<Service>> created);

  SuiteOptions options_;
  // Declared in dependency order: destroyed server first, then services, store, log.
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<store::Store> store_;
  std::vector<std::unique_ptr<HostedService>> services_;
  std::unique_ptr<servicekit::GrpcServer> server_;
  // Also in services_; stopped before the server shuts down (its streams would hold the
  // shutdown until the deadline).
  gateway::GatewayService* gateway_ = nullptr;
  // Shared with the gateway; stopped (its watchers) before the services stop.
  std::shared_ptr<InProcessAccountQueries> account_queries_;
  size_t started_services_ = 0;
  bool shut_down_ = false;
};

// ---- implementation of the template ----

namespace internal {

template <typename Service>
class HostedAdapter final : public HostedService {
 public:
  HostedAdapter(std::string name, std::unique_ptr<Service> service)
      : name_(std::move(name)), service_(std::move(service)) {}
  const std::string& name() const override { return name_; }
  grpc::Service* grpc_service() override { return service_->grpc_service(); }
  absl::Status Start() override { return service_->Start(); }
  void Stop() override { service_->Stop(); }

 private:
  std::string name_;
  std::unique_ptr<Service> service_;
};

}  // namespace internal

template <typename Service>
absl::StatusOr<Service*> Suite::Host(std::string name,
                                     absl::StatusOr<std::unique_ptr<Service>> created) {
  if (!created.ok()) {
    return absl::Status(created.status().code(),
                        name + " service: " + std::string(created.status().message()));
  }
  Service* service = created->get();
  services_.push_back(
      std::make_unique<internal::HostedAdapter<Service>>(std::move(name), std::move(*created)));
  return service;
}

}  // namespace ar::suite
