#include "services/invoicing/api/invoicing_grpc.h"

#include "absl/time/clock.h"
#include "libs/core/grpc_status.h"
#include "libs/core/ids.h"

namespace ar::invoicing {
namespace {

// The one place where results become gRPC answers.
template <typename Response>
grpc::Status Reply(absl::StatusOr<Response> result, Response* response) {
  if (!result.ok()) return core::ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

CommandContext ContextOf(const grpc::ServerContext& call) {
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
                                           const std::atomic<bool>& ready)
    : commands_(commands), queries_(queries), ready_(ready) {}

grpc::Status InvoicingGrpcService::IssueInvoice(grpc::ServerContext* context,
                                                const v1::IssueInvoiceRequest* request,
                                                v1::CommandResult* response) {
  if (!ready_.load()) return NotReady();
  return Reply(commands_.IssueInvoice(*request, ContextOf(*context)), response);
}

grpc::Status InvoicingGrpcService::IssueCreditNote(grpc::ServerContext* context,
                                                   const v1::IssueCreditNoteRequest* request,
                                                   v1::CommandResult* response) {
  if (!ready_.load()) return NotReady();
  return Reply(commands_.IssueCreditNote(*request, ContextOf(*context)), response);
}

grpc::Status InvoicingGrpcService::CancelInvoice(grpc::ServerContext* context,
                                                 const v1::CancelInvoiceRequest* request,
                                                 v1::CommandResult* response) {
  if (!ready_.load()) return NotReady();
  return Reply(commands_.CancelInvoice(*request, ContextOf(*context)), response);
}

grpc::Status InvoicingGrpcService::DisputeInvoice(grpc::ServerContext* context,
                                                  const v1::DisputeInvoiceRequest* request,
                                                  v1::CommandResult* response) {
  if (!ready_.load()) return NotReady();
  return Reply(commands_.DisputeInvoice(*request, ContextOf(*context)), response);
}

grpc::Status InvoicingGrpcService::ResolveDispute(grpc::ServerContext* context,
                                                  const v1::ResolveDisputeRequest* request,
                                                  v1::CommandResult* response) {
  if (!ready_.load()) return NotReady();
  return Reply(commands_.ResolveDispute(*request, ContextOf(*context)), response);
}

grpc::Status InvoicingGrpcService::GetInvoice(grpc::ServerContext* context,
                                              const v1::GetInvoiceRequest* request,
                                              v1::Invoice* response) {
  if (!ready_.load()) return NotReady();
  return Reply(queries_.GetInvoice(*request, DeadlineOf(*context)), response);
}

grpc::Status InvoicingGrpcService::ListInvoices(grpc::ServerContext* context,
                                                const v1::ListInvoicesRequest* request,
                                                v1::ListInvoicesResponse* response) {
  if (!ready_.load()) return NotReady();
  return Reply(queries_.ListInvoices(*request, DeadlineOf(*context)), response);
}

grpc::Status InvoicingGrpcService::GetOpenBalance(grpc::ServerContext* context,
                                                  const v1::GetOpenBalanceRequest* request,
                                                  v1::OpenBalance* response) {
  if (!ready_.load()) return NotReady();
  return Reply(queries_.GetOpenBalance(*request, DeadlineOf(*context)), response);
}

}  // namespace ar::invoicing
