#include "services/gateway/api/account_queries.h"

#include <utility>

#include "absl/time/clock.h"

namespace ar::gateway {
namespace {

// Starts `stub->async()->Method(...)` with a downstream context that lives until the call
// completes.
template <typename Start>
void CallWithContext(std::unique_ptr<grpc::ClientContext> context, QueryDone done, Start start) {
  grpc::ClientContext* client = context.release();
  start(client, [client, done = std::move(done)](grpc::Status status) {
    delete client;
    done(std::move(status));
  });
}

class GrpcAccountQueries final : public AccountQueries {
 public:
  GrpcAccountQueries(const GatewayChannels& channels, absl::Duration downstream_timeout)
      : downstream_timeout_(downstream_timeout) {
    if (channels.invoicing) invoicing_ = v1::InvoicingService::NewStub(channels.invoicing);
    if (channels.payments) payments_ = v1::PaymentsService::NewStub(channels.payments);
    if (channels.credit_risk) credit_risk_ = v1::CreditRiskService::NewStub(channels.credit_risk);
    if (channels.collections) {
      collections_ = v1::CollectionsService::NewStub(channels.collections);
    }
  }

  bool Reaches(QueriedService service) const override {
    switch (service) {
      case QueriedService::kInvoicing:
        return invoicing_ != nullptr;
      case QueriedService::kPayments:
        return payments_ != nullptr;
      case QueriedService::kCreditRisk:
        return credit_risk_ != nullptr;
      case QueriedService::kCollections:
        return collections_ != nullptr;
    }
    return false;
  }

#define AR_GRPC_ACCOUNT_QUERY(stub, Method, Request, Response)                                 \
  void Method(grpc::CallbackServerContext& caller, const Request& request, Response* response, \
              QueryDone done) override {                                                       \
    CallWithContext(DownstreamContext(caller, downstream_timeout_), std::move(done),           \
                    [&](grpc::ClientContext* client, std::function<void(grpc::Status)> on) {   \
                      stub->async()->Method(client, &request, response, std::move(on));        \
                    });                                                                        \
  }

  AR_GRPC_ACCOUNT_QUERY(invoicing_, ListInvoices, v1::ListInvoicesRequest, v1::ListInvoicesResponse)
  AR_GRPC_ACCOUNT_QUERY(invoicing_, GetOpenBalance, v1::GetOpenBalanceRequest, v1::OpenBalance)
  AR_GRPC_ACCOUNT_QUERY(payments_, GetUnappliedCash, v1::GetUnappliedCashRequest, v1::UnappliedCash)
  AR_GRPC_ACCOUNT_QUERY(credit_risk_, GetCreditProfile, v1::GetCreditProfileRequest,
                        v1::CreditProfile)
  AR_GRPC_ACCOUNT_QUERY(collections_, GetAccountCollections, v1::GetAccountCollectionsRequest,
                        v1::AccountCollections)
#undef AR_GRPC_ACCOUNT_QUERY

 private:
  const absl::Duration downstream_timeout_;
  std::unique_ptr<v1::InvoicingService::Stub> invoicing_;
  std::unique_ptr<v1::PaymentsService::Stub> payments_;
  std::unique_ptr<v1::CreditRiskService::Stub> credit_risk_;
  std::unique_ptr<v1::CollectionsService::Stub> collections_;
};

}  // namespace

std::unique_ptr<grpc::ClientContext> DownstreamContext(grpc::CallbackServerContext& caller,
                                                       absl::Duration default_timeout) {
  std::unique_ptr<grpc::ClientContext> client =
      grpc::ClientContext::FromCallbackServerContext(caller);
  const auto ours = absl::ToChronoTime(absl::Now() + default_timeout);
  // The propagated deadline is the caller's; the earlier of the two applies.
  if (caller.deadline() > ours) client->set_deadline(ours);
  return client;
}

std::unique_ptr<AccountQueries> NewGrpcAccountQueries(const GatewayChannels& channels,
                                                      absl::Duration downstream_timeout) {
  return std::make_unique<GrpcAccountQueries>(channels, downstream_timeout);
}

}  // namespace ar::gateway
