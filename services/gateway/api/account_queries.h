#pragma once
// The services' queries that GetCustomer360 reads, as the gateway reaches them. Two
// implementations: GrpcAccountQueries (channels to the services: distributed mode) and the
// suite's in-process one (services/suite/in_process_queries.h), which calls the hosted
// services' query classes directly: no gRPC call, no serialization, no thread handoff.
// GetCustomer360's fan-out and assembly are the same code over either.
//
// Each method fills `*response` and calls `done` exactly once with the service's status
// (its message not yet prefixed with the service's name). `done` may run on the calling
// thread before the method returns (the in-process path when nothing needs waiting for)
// or later on another thread; `request` and `response` must live until then. No method
// blocks its caller: a query that waits for ReadConsistency.min_position completes later.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "ar/v1/collections.grpc.pb.h"
#include "ar/v1/credit_risk.grpc.pb.h"
#include "ar/v1/invoicing.grpc.pb.h"
#include "ar/v1/payments.grpc.pb.h"

namespace ar::gateway {

using QueryDone = std::function<void(grpc::Status)>;

enum class QueriedService { kInvoicing, kPayments, kCreditRisk, kCollections };

class AccountQueries {
 public:
  virtual ~AccountQueries() = default;

  // False when this gateway has no way to the service (no address): its queries are not
  // to be called.
  virtual bool Reaches(QueriedService service) const = 0;

  // `caller`: the gateway's own call, whose deadline (and cancellation, over gRPC) the
  // query inherits.
  virtual void ListInvoices(grpc::CallbackServerContext& caller,
                            const v1::ListInvoicesRequest& request,
                            v1::ListInvoicesResponse* response, QueryDone done) = 0;
  virtual void GetOpenBalance(grpc::CallbackServerContext& caller,
                              const v1::GetOpenBalanceRequest& request, v1::OpenBalance* response,
                              QueryDone done) = 0;
  virtual void GetUnappliedCash(grpc::CallbackServerContext& caller,
                                const v1::GetUnappliedCashRequest& request,
                                v1::UnappliedCash* response, QueryDone done) = 0;
  virtual void GetCreditProfile(grpc::CallbackServerContext& caller,
                                const v1::GetCreditProfileRequest& request,
                                v1::CreditProfile* response, QueryDone done) = 0;
  virtual void GetAccountCollections(grpc::CallbackServerContext& caller,
                                     const v1::GetAccountCollectionsRequest& request,
                                     v1::AccountCollections* response, QueryDone done) = 0;
};

// Channels to the services; a null channel means that service is not reachable from this
// gateway (its operations answer UNIMPLEMENTED).
struct GatewayChannels {
  std::shared_ptr<grpc::Channel> invoicing;
  std::shared_ptr<grpc::Channel> payments;
  std::shared_ptr<grpc::Channel> credit_risk;
  std::shared_ptr<grpc::Channel> collections;
  std::shared_ptr<grpc::Channel> clock;
};

// A downstream client context carrying the caller's deadline (or now + `default_timeout`
// when that is earlier) and its cancellation.
std::unique_ptr<grpc::ClientContext> DownstreamContext(grpc::CallbackServerContext& caller,
                                                       absl::Duration default_timeout);

// The services' asynchronous gRPC stubs over `channels`.
std::unique_ptr<AccountQueries> NewGrpcAccountQueries(const GatewayChannels& channels,
                                                      absl::Duration downstream_timeout);

}  // namespace ar::gateway
