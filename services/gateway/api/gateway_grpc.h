#pragma once
// The ar.v1.Gateway gRPC API, on gRPC's callback API: no handler thread is held while a
// call waits, neither by a query waiting for a downstream service nor by the thousands of
// SubscribeOverdue streams that mostly wait for events.
//
// - Invoicing and payments commands and queries are forwarded through those services'
//   stubs (asynchronous callback stubs) with the caller's deadline and cancellation
//   propagated; ReadConsistency travels inside the request unchanged. A downstream error
//   keeps its code; its message is prefixed with the service that gave it.
// - GetCustomer360 reads invoicing (open invoices, balance), payments (unapplied cash),
//   credit-risk and collections through AccountQueries (account_queries.h: over gRPC, all
//   five calls at once, or in-process in the suite) and answers with what it got: a part whose
//   service failed is named in section_errors instead of failing the whole answer (only errors in
//   the caller's request fail it).
// - Credit-risk, collections and clock operations map the gateway's messages onto those
//   services' own (service_mapping.h) and forward them the same way. What a service
//   cannot answer (e.g. an aging report as of a past date) is UNIMPLEMENTED.
// - GetCustomer360 also reads the credit profile (credit-risk) and the collection status
//   and open promise (collections); an account those services have not seen yet
//   (NOT_FOUND) leaves its section empty without an error.
// - SubscribeOverdue streams an OverdueHub subscription; its end status (fell behind,
//   shutting down) names the resume cursor, which is also sent as the trailing metadata
//   "ar-resume-cursor".

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "ar/v1/clock.grpc.pb.h"
#include "ar/v1/collections.grpc.pb.h"
#include "ar/v1/credit_risk.grpc.pb.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "ar/v1/invoicing.grpc.pb.h"
#include "ar/v1/payments.grpc.pb.h"
#include "services/gateway/api/account_queries.h"
#include "services/gateway/subscription/overdue_hub.h"

namespace ar::gateway {

struct GatewayApiOptions {
  // Deadline of a downstream call when the caller set none (a caller's deadline always
  // applies, shortened by nothing).
  absl::Duration downstream_timeout = absl::Seconds(30);
  // Open invoices fetched for GetCustomer360 (one page of ListInvoices).
  int32_t customer360_max_invoices = 500;
  int32_t customer360_default_recent_events = 20;
  int32_t customer360_max_recent_events = 200;
  // Factors of a credit profile named in GatewayCreditProfile.top_factors.
  int32_t credit_top_factors = 3;
};

inline constexpr char kResumeCursorTrailer[] = "ar-resume-cursor";

class GatewayGrpcService final : public v1::Gateway::CallbackService {
 public:
  // `account_queries`: how GetCustomer360 reads the services; null: over `channels`.
  GatewayGrpcService(const GatewayChannels& channels, OverdueHub& hub, GatewayApiOptions options,
                     std::shared_ptr<AccountQueries> account_queries = nullptr);

  grpc::ServerUnaryReactor* GetCustomer360(grpc::CallbackServerContext* context,
                                           const v1::GetCustomer360Request* request,
                                           v1::Customer360* response) override;
  grpc::ServerUnaryReactor* ListOverdueAccounts(
      grpc::CallbackServerContext* context, const v1::GatewayListOverdueAccountsRequest* request,
      v1::GatewayListOverdueAccountsResponse* response) override;
  grpc::ServerUnaryReactor* GetAgingReport(grpc::CallbackServerContext* context,
                                           const v1::GatewayAgingReportRequest* request,
                                           v1::GatewayAgingReport* response) override;
  grpc::ServerUnaryReactor* GetStatement(grpc::CallbackServerContext* context,
                                         const v1::GetStatementRequest* request,
                                         v1::Statement* response) override;
  grpc::ServerUnaryReactor* GetCreditProfile(grpc::CallbackServerContext* context,
                                             const v1::GatewayCreditProfileRequest* request,
                                             v1::GatewayCreditProfile* response) override;
  grpc::ServerUnaryReactor* GetKpis(grpc::CallbackServerContext* context,
                                    const v1::GatewayKpisRequest* request,
                                    v1::GatewayKpis* response) override;
  grpc::ServerUnaryReactor* GetInvoice(grpc::CallbackServerContext* context,
                                       const v1::GetInvoiceRequest* request,
                                       v1::Invoice* response) override;
  grpc::ServerUnaryReactor* ListInvoices(grpc::CallbackServerContext* context,
                                         const v1::ListInvoicesRequest* request,
                                         v1::ListInvoicesResponse* response) override;
  grpc::ServerUnaryReactor* GetOpenBalance(grpc::CallbackServerContext* context,
                                           const v1::GetOpenBalanceRequest* request,
                                           v1::OpenBalance* response) override;
  grpc::ServerUnaryReactor* GetPayment(grpc::CallbackServerContext* context,
                                       const v1::GetPaymentRequest* request,
                                       v1::Payment* response) override;
  grpc::ServerUnaryReactor* ListPayments(grpc::CallbackServerContext* context,
                                         const v1::ListPaymentsRequest* request,
                                         v1::ListPaymentsResponse* response) override;
  grpc::ServerUnaryReactor* GetUnappliedCash(grpc::CallbackServerContext* context,
                                             const v1::GetUnappliedCashRequest* request,
                                             v1::UnappliedCash* response) override;
  grpc::ServerUnaryReactor* GetBusinessDates(grpc::CallbackServerContext* context,
                                             const v1::GetBusinessDatesRequest* request,
                                             v1::GetBusinessDatesResponse* response) override;

  grpc::ServerUnaryReactor* IssueInvoice(grpc::CallbackServerContext* context,
                                         const v1::IssueInvoiceRequest* request,
                                         v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* IssueCreditNote(grpc::CallbackServerContext* context,
                                            const v1::IssueCreditNoteRequest* request,
                                            v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* CancelInvoice(grpc::CallbackServerContext* context,
                                          const v1::CancelInvoiceRequest* request,
                                          v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* DisputeInvoice(grpc::CallbackServerContext* context,
                                           const v1::DisputeInvoiceRequest* request,
                                           v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* ResolveDispute(grpc::CallbackServerContext* context,
                                           const v1::ResolveDisputeRequest* request,
                                           v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* RecordPayment(grpc::CallbackServerContext* context,
                                          const v1::RecordPaymentRequest* request,
                                          v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* ReversePayment(grpc::CallbackServerContext* context,
                                           const v1::ReversePaymentRequest* request,
                                           v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* SetCreditLimit(grpc::CallbackServerContext* context,
                                           const v1::GatewaySetCreditLimitRequest* request,
                                           v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* SetFxRate(grpc::CallbackServerContext* context,
                                      const v1::GatewaySetFxRateRequest* request,
                                      v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* RecordPromiseToPay(grpc::CallbackServerContext* context,
                                               const v1::GatewayRecordPromiseRequest* request,
                                               v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* WriteOffDebt(grpc::CallbackServerContext* context,
                                         const v1::GatewayWriteOffRequest* request,
                                         v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* AdvanceBusinessDay(
      grpc::CallbackServerContext* context, const v1::GatewayAdvanceBusinessDayRequest* request,
      v1::GatewayAdvanceBusinessDayResponse* response) override;

  grpc::ServerWriteReactor<v1::OverdueUpdate>* SubscribeOverdue(
      grpc::CallbackServerContext* context, const v1::SubscribeOverdueRequest* request) override;

 private:
  // A downstream client context carrying the caller's deadline (or ours when it has none)
  // and cancellation.
  std::unique_ptr<grpc::ClientContext> Downstream(grpc::CallbackServerContext* context) const;

  std::unique_ptr<v1::InvoicingService::Stub> invoicing_;
  std::unique_ptr<v1::PaymentsService::Stub> payments_;
  std::unique_ptr<v1::CreditRiskService::Stub> credit_risk_;
  std::unique_ptr<v1::CollectionsService::Stub> collections_;
  std::unique_ptr<v1::ClockService::Stub> clock_;
  std::shared_ptr<AccountQueries> account_queries_;
  OverdueHub& hub_;
  GatewayApiOptions options_;
};

}  // namespace ar::gateway
