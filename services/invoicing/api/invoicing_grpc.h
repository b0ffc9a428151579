#pragma once
// The InvoicingService gRPC API: thin. Each method turns the call into a command or a
// query, and maps the absl::Status to a grpc::Status in one place (core::ReplyWith).
//
// Commands use gRPC's callback API: the handler starts the command and returns; the
// command finishes the call when its events are durable and applied by the read model, so
// no server thread waits for the log or the read model. Queries stay synchronous (one
// that waits for ReadConsistency would otherwise hold a callback thread).

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "ar/v1/invoicing.grpc.pb.h"
#include "libs/command/command_router.h"
#include "services/invoicing/api/invoicing_commands.h"
#include "services/invoicing/api/invoicing_queries.h"

namespace ar::invoicing {

// Clients may pass this metadata to correlate the events a command produces.
inline constexpr char kCorrelationIdMetadata[] = "x-correlation-id";

// The generated service with the command methods switched to the callback API.
using InvoicingServiceBase = v1::InvoicingService::WithCallbackMethod_IssueInvoice<
    v1::InvoicingService::WithCallbackMethod_IssueCreditNote<
        v1::InvoicingService::WithCallbackMethod_CancelInvoice<
            v1::InvoicingService::WithCallbackMethod_DisputeInvoice<
                v1::InvoicingService::WithCallbackMethod_ResolveDispute<
                    v1::InvoicingService::Service>>>>>;

class InvoicingGrpcService final : public InvoicingServiceBase {
 public:
  // Answers UNAVAILABLE while `ready` is false (the service is still catching up).
  // `router` (may be null: one replica) sends commands for accounts another replica owns
  // to that replica.
  InvoicingGrpcService(InvoicingCommands& commands, InvoicingQueries& queries,
                       const std::atomic<bool>& ready, command::CommandRouter* router = nullptr);

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
  grpc::Status GetInvoice(grpc::ServerContext* context, const v1::GetInvoiceRequest* request,
                          v1::Invoice* response) override;
  grpc::Status ListInvoices(grpc::ServerContext* context, const v1::ListInvoicesRequest* request,
                            v1::ListInvoicesResponse* response) override;
  grpc::Status GetOpenBalance(grpc::ServerContext* context,
                              const v1::GetOpenBalanceRequest* request,
                              v1::OpenBalance* response) override;

 private:
  // Starts `command` (an InvoicingCommands::XAsync bound to the request) unless the service
  // is not ready, and finishes the call with its result.
  template <typename Request, typename StartCommand>
  grpc::ServerUnaryReactor* RunCommand(grpc::CallbackServerContext* context, const Request* request,
                                       v1::CommandResult* response, const char* method,
                                       StartCommand start);

  InvoicingCommands& commands_;
  InvoicingQueries& queries_;
  const std::atomic<bool>& ready_;
  command::CommandRouter* router_;
};

}  // namespace ar::invoicing
