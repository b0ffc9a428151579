#include "services/invoicing/api/invoicing_grpc.h"

#include "absl/time/clock.h"
#include "libs/command/call_completion.h"
#include "libs/core/grpc_status.h"
#include "libs/core/ids.h"

namespace ar::invoicing {
namespace {

CommandContext ContextOf(const grpc::ServerContextBase& call) {
  CommandContext context;
  context.recorded_at_unix_micros = absl::ToUnixMicros(absl::Now());
  const auto& metadata = call.client_metadata();
  auto correlation = metadata.find(kCorrelationIdMetadata);
  context.correlation_id = correlation != metadata.end()
                               ? std::string(correlation->second.data(), correlation->second.size())
                               : core::NewEventId();
  return context;
}

absl::Time DeadlineOf(const grpc::ServerContext& call) {
  const auto deadline = call.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

grpc::Status NotReady() {
  return core::ToGrpcStatus(absl::UnavailableError(
      "the invoicing service is starting (catching up with the event log); retry shortly"));
}

}  // namespace

InvoicingGrpcService::InvoicingGrpcService(InvoicingCommands& commands, InvoicingQueries& queries,
                                           const std::atomic<bool>& ready,
                                           command::CommandRouter* router)
    : commands_(commands), queries_(queries), ready_(ready), router_(router) {}

template <typename Request, typename StartCommand>
grpc::ServerUnaryReactor* InvoicingGrpcService::RunCommand(grpc::CallbackServerContext* context,
                                                           const Request* request,
                                                           v1::CommandResult* response,
                                                           const char* method, StartCommand start) {
  if (!ready_.load()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(NotReady());
    return reactor;
  }
  if (router_ != nullptr) {
    if (std::optional<std::string> account = commands_.AccountOf(*request)) {
      if (grpc::ServerUnaryReactor* forwarded =
              router_->ForwardIfNotOwner(context, method, *account, *request, response)) {
        return forwarded;
      }
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // gRPC keeps the request alive until Finish.
  (commands_.*start)(*request, ContextOf(*context), command::FinishCall(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* InvoicingGrpcService::IssueInvoice(grpc::CallbackServerContext* context,
                                                             const v1::IssueInvoiceRequest* request,
                                                             v1::CommandResult* response) {
  return RunCommand(context, request, response, "/ar.v1.InvoicingService/IssueInvoice",
                    &InvoicingCommands::IssueInvoiceAsync);
}

grpc::ServerUnaryReactor* InvoicingGrpcService::IssueCreditNote(
    grpc::CallbackServerContext* context, const v1::IssueCreditNoteRequest* request,
    v1::CommandResult* response) {
  return RunCommand(context, request, response, "/ar.v1.InvoicingService/IssueCreditNote",
                    &InvoicingCommands::IssueCreditNoteAsync);
}

grpc::ServerUnaryReactor* InvoicingGrpcService::CancelInvoice(
    grpc::CallbackServerContext* context, const v1::CancelInvoiceRequest* request,
    v1::CommandResult* response) {
  return RunCommand(context, request, response, "/ar.v1.InvoicingService/CancelInvoice",
                    &InvoicingCommands::CancelInvoiceAsync);
}

grpc::ServerUnaryReactor* InvoicingGrpcService::DisputeInvoice(
    grpc::CallbackServerContext* context, const v1::DisputeInvoiceRequest* request,
    v1::CommandResult* response) {
  return RunCommand(context, request, response, "/ar.v1.InvoicingService/DisputeInvoice",
                    &InvoicingCommands::DisputeInvoiceAsync);
}

grpc::ServerUnaryReactor* InvoicingGrpcService::ResolveDispute(
    grpc::CallbackServerContext* context, const v1::ResolveDisputeRequest* request,
    v1::CommandResult* response) {
  return RunCommand(context, request, response, "/ar.v1.InvoicingService/ResolveDispute",
                    &InvoicingCommands::ResolveDisputeAsync);
}

grpc::Status InvoicingGrpcService::GetInvoice(grpc::ServerContext* context,
                                              const v1::GetInvoiceRequest* request,
                                              v1::Invoice* response) {
  if (!ready_.load()) return NotReady();
  return core::ReplyWith(queries_.GetInvoice(*request, DeadlineOf(*context)), response);
}

grpc::Status InvoicingGrpcService::ListInvoices(grpc::ServerContext* context,
                                                const v1::ListInvoicesRequest* request,
                                                v1::ListInvoicesResponse* response) {
  if (!ready_.load()) return NotReady();
  return core::ReplyWith(queries_.ListInvoices(*request, DeadlineOf(*context)), response);
}

grpc::Status InvoicingGrpcService::GetOpenBalance(grpc::ServerContext* context,
                                                  const v1::GetOpenBalanceRequest* request,
                                                  v1::OpenBalance* response) {
  if (!ready_.load()) return NotReady();
  return core::ReplyWith(queries_.GetOpenBalance(*request, DeadlineOf(*context)), response);
}

}  // namespace ar::invoicing
