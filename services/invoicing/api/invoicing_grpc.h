#pragma once
// The InvoicingService gRPC API: thin. Each method turns the call into a command or a
// query, and maps the absl::Status to a grpc::Status in one place (Reply, through
// core::ToGrpcStatus: the canonical codes are the same).

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "ar/v1/invoicing.grpc.pb.h"
#include "services/invoicing/api/invoicing_commands.h"
#include "services/invoicing/api/invoicing_queries.h"

namespace ar::invoicing {

// Clients may pass this metadata to correlate the events a command produces.
inline constexpr char kCorrelationIdMetadata[] = "x-correlation-id";

class InvoicingGrpcService final : public v1::InvoicingService::Service {
 public:
  // Answers UNAVAILABLE while `ready` is false (the service is still catching up).
  InvoicingGrpcService(InvoicingCommands& commands, InvoicingQueries& queries,
                       const std::atomic<bool>& ready);

  grpc::Status IssueInvoice(grpc::ServerContext* context, const v1::IssueInvoiceRequest* request,
                            v1::CommandResult* response) override;
  grpc::Status IssueCreditNote(grpc::ServerContext* context,
                               const v1::IssueCreditNoteRequest* request,
                               v1::CommandResult* response) override;
  grpc::Status CancelInvoice(grpc::ServerContext* context, const v1::CancelInvoiceRequest* request,
                             v1::CommandResult* response) override;
  grpc::Status DisputeInvoice(grpc::ServerContext* context,
                              const v1::DisputeInvoiceRequest* request,
                              v1::CommandResult* response) override;
  grpc::Status ResolveDispute(grpc::ServerContext* context,
                              const v1::ResolveDisputeRequest* request,
                              v1::CommandResult* response) override;
  grpc::Status GetInvoice(grpc::ServerContext* context, const v1::GetInvoiceRequest* request,
                          v1::Invoice* response) override;
  grpc::Status ListInvoices(grpc::ServerContext* context, const v1::ListInvoicesRequest* request,
                            v1::ListInvoicesResponse* response) override;
  grpc::Status GetOpenBalance(grpc::ServerContext* context,
                              const v1::GetOpenBalanceRequest* request,
                              v1::OpenBalance* response) override;

 private:
  InvoicingCommands& commands_;
  InvoicingQueries& queries_;
  const std::atomic<bool>& ready_;
};

}  // namespace ar::invoicing
