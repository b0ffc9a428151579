#include "services/suite/in_process_queries.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/command/command_executor.h"
#include "libs/core/grpc_status.h"

namespace ar::suite {
namespace {

absl::Time DeadlineOf(const grpc::CallbackServerContext& caller) {
  const auto deadline = caller.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

grpc::Status NotReady(const char* service) {
  return core::ToGrpcStatus(absl::UnavailableError(absl::StrCat(
      "the ", service, " service is starting (catching up with the event log); retry shortly")));
}

}  // namespace

InProcessAccountQueries::InProcessAccountQueries(invoicing::InvoicingService& invoicing,
                                                 payments::PaymentsService& payments,
                                                 credit::CreditRiskService& credit_risk,
                                                 collections::CollectionsService& collections,
                                                 ReadWaitTimeouts read_wait_timeouts)
    : invoicing_(invoicing),
      payments_(payments),
      credit_risk_(credit_risk),
      collections_(collections),
      invoicing_model_{"invoicing", invoicing.read_model_projection(), read_wait_timeouts.invoicing,
                       nullptr},
      payments_model_{"payments", payments.projection(), read_wait_timeouts.payments, nullptr},
      credit_risk_model_{"credit_risk", credit_risk.projection(), read_wait_timeouts.credit_risk,
                         nullptr},
      collections_model_{"collections", collections.projection(), read_wait_timeouts.collections,
                         nullptr} {
  for (ReadModel* model :
       {&invoicing_model_, &payments_model_, &credit_risk_model_, &collections_model_}) {
    model->watcher = std::make_unique<command::PositionWatcher>(model->projection);
  }
}

InProcessAccountQueries::~InProcessAccountQueries() { Stop(); }

void InProcessAccountQueries::Stop() {
  for (ReadModel* model :
       {&invoicing_model_, &payments_model_, &credit_risk_model_, &collections_model_}) {
    model->watcher->Stop();
  }
}

template <typename Query>
void InProcessAccountQueries::WhenConsistent(ReadModel& model, grpc::CallbackServerContext& caller,
                                             const v1::ReadConsistency& consistency,
                                             gateway::QueryDone done, Query query) {
  const v1::LogPosition& position = consistency.min_position();
  // No position, or one the query itself refuses (INVALID_ARGUMENT, before any wait). The
  // gateway passes a min_position only to the read models that follow its topic.
  if (position.topic().empty() || position.partition() < 0 || position.offset() < 0) {
    done(query());
    return;
  }
  const absl::Time deadline = std::min(absl::Now() + model.read_wait_timeout, DeadlineOf(caller));
  // At once on this thread when already applied; else on the watcher's thread, where the
  // query's own wait finds the position applied and returns at once.
  model.watcher->NotifyWhenApplied(
      command::FromProto(position), deadline,
      [&model, position, done = std::move(done), query = std::move(query)](bool applied) {
        if (applied) {
          done(query());
          return;
        }
        done(core::ToGrpcStatus(absl::UnavailableError(
            absl::StrCat("the ", model.name, " read model has not reached ", position.topic(), "/",
                         position.partition(), "@", position.offset(), " within ",
                         absl::FormatDuration(model.read_wait_timeout), "; retry later"))));
      });
}

void InProcessAccountQueries::ListInvoices(grpc::CallbackServerContext& caller,
                                           const v1::ListInvoicesRequest& request,
                                           v1::ListInvoicesResponse* response,
                                           gateway::QueryDone done) {
  WhenConsistent(invoicing_model_, caller, request.consistency(), std::move(done),
                 [this, &request, response, deadline = DeadlineOf(caller)] {
                   if (!invoicing_.ready()) return NotReady("invoicing");
                   return core::ReplyWith(invoicing_.queries().ListInvoices(request, deadline),
                                          response);
                 });
}

void InProcessAccountQueries::GetOpenBalance(grpc::CallbackServerContext& caller,
                                             const v1::GetOpenBalanceRequest& request,
                                             v1::OpenBalance* response, gateway::QueryDone done) {
  WhenConsistent(invoicing_model_, caller, request.consistency(), std::move(done),
                 [this, &request, response, deadline = DeadlineOf(caller)] {
                   if (!invoicing_.ready()) return NotReady("invoicing");
                   return core::ReplyWith(invoicing_.queries().GetOpenBalance(request, deadline),
                                          response);
                 });
}

void InProcessAccountQueries::GetUnappliedCash(grpc::CallbackServerContext& caller,
                                               const v1::GetUnappliedCashRequest& request,
                                               v1::UnappliedCash* response,
                                               gateway::QueryDone done) {
  WhenConsistent(payments_model_, caller, request.consistency(), std::move(done),
                 [this, &request, response] {
                   if (!payments_.ready()) return NotReady("payments");
                   return core::ReplyWith(payments_.api().GetUnappliedCash(request), response);
                 });
}

void InProcessAccountQueries::GetCreditProfile(grpc::CallbackServerContext& caller,
                                               const v1::GetCreditProfileRequest& request,
                                               v1::CreditProfile* response,
                                               gateway::QueryDone done) {
  WhenConsistent(credit_risk_model_, caller, request.consistency(), std::move(done),
                 [this, &request, response, deadline = DeadlineOf(caller)] {
                   if (!credit_risk_.ready()) return NotReady("credit_risk");
                   return core::ReplyWith(credit_risk_.api().GetCreditProfile(request, deadline),
                                          response);
                 });
}

void InProcessAccountQueries::GetAccountCollections(grpc::CallbackServerContext& caller,
                                                    const v1::GetAccountCollectionsRequest& request,
                                                    v1::AccountCollections* response,
                                                    gateway::QueryDone done) {
  WhenConsistent(collections_model_, caller, request.consistency(), std::move(done),
                 [this, &request, response] {
                   if (!collections_.ready()) return NotReady("collections");
                   return core::ReplyWith(collections_.api().GetAccountCollections(request),
                                          response);
                 });
}

}  // namespace ar::suite
