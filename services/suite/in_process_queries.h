#pragma once
// The gateway's AccountQueries in the all-in-one suite: the hosted services' own query
// classes (InvoicingQueries, PaymentsApi, CreditRiskApi, CollectionsApi) called directly,
// so a GetCustomer360 is one gRPC call (the client's) instead of six, and its reads run on
// the gateway's callback thread one after the other (each is a few store reads; a thread
// handoff would cost more than it saves).
//
// Read-your-writes without parking a callback thread: a query carrying a min_position that
// its read model has already applied (the common case) runs at once; otherwise a
// PositionWatcher of that read model runs it once the position is applied (on the
// watcher's thread), or answers UNAVAILABLE at min(the service's read_wait_timeout, the
// caller's deadline), as the service itself would.
//
// A service that is not ready yet (catching up with the log at start) answers UNAVAILABLE,
// as its gRPC API does.

#include <memory>

#include "absl/time/time.h"
#include "libs/command/position_watcher.h"
#include "services/collections/collections_service.h"
#include "services/credit_risk/credit_risk_service.h"
#include "services/gateway/api/account_queries.h"
#include "services/invoicing/invoicing_service.h"
#include "services/payments/payments_service.h"

namespace ar::suite {

class InProcessAccountQueries final : public gateway::AccountQueries {
 public:
  struct ReadWaitTimeouts {
    absl::Duration invoicing = absl::Seconds(5);
    absl::Duration payments = absl::Seconds(5);
    absl::Duration credit_risk = absl::Seconds(5);
    absl::Duration collections = absl::Seconds(5);
  };

  // The services must outlive this object, or Stop() must have been called.
  InProcessAccountQueries(invoicing::InvoicingService& invoicing,
                          payments::PaymentsService& payments,
                          credit::CreditRiskService& credit_risk,
                          collections::CollectionsService& collections,
                          ReadWaitTimeouts read_wait_timeouts);
  ~InProcessAccountQueries() override;

  // Answers the queries still waiting for a position (UNAVAILABLE unless applied by then)
  // and ends the watchers' threads; later queries that would wait answer at once. Call it
  // before the services stop. Idempotent.
  void Stop();

  bool Reaches(gateway::QueriedService) const override { return true; }
  void ListInvoices(grpc::CallbackServerContext& caller, const v1::ListInvoicesRequest& request,
                    v1::ListInvoicesResponse* response, gateway::QueryDone done) override;
  void GetOpenBalance(grpc::CallbackServerContext& caller, const v1::GetOpenBalanceRequest& request,
                      v1::OpenBalance* response, gateway::QueryDone done) override;
  void GetUnappliedCash(grpc::CallbackServerContext& caller,
                        const v1::GetUnappliedCashRequest& request, v1::UnappliedCash* response,
                        gateway::QueryDone done) override;
  void GetCreditProfile(grpc::CallbackServerContext& caller,
                        const v1::GetCreditProfileRequest& request, v1::CreditProfile* response,
                        gateway::QueryDone done) override;
  void GetAccountCollections(grpc::CallbackServerContext& caller,
                             const v1::GetAccountCollectionsRequest& request,
                             v1::AccountCollections* response, gateway::QueryDone done) override;

 private:
  // One hosted read model: how to wait for it and how long at most.
  struct ReadModel {
    const char* name;
    projection::ProjectionRunner& projection;
    absl::Duration read_wait_timeout;
    std::unique_ptr<command::PositionWatcher> watcher;
  };

  // Runs `query()` (-> grpc::Status) and passes its status to `done`: at once when
  // `consistency` needs no wait, else once `model` has applied its min_position.
  template <typename Query>
  void WhenConsistent(ReadModel& model, grpc::CallbackServerContext& caller,
                      const v1::ReadConsistency& consistency, gateway::QueryDone done, Query query);

  invoicing::InvoicingService& invoicing_;
  payments::PaymentsService& payments_;
  credit::CreditRiskService& credit_risk_;
  collections::CollectionsService& collections_;
  ReadModel invoicing_model_;
  ReadModel payments_model_;
  ReadModel credit_risk_model_;
  ReadModel collections_model_;
};

}  // namespace ar::suite
