#include "services/gateway/api/gateway_grpc.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/grpc_status.h"
#include "libs/core/ids.h"
#include "libs/core/topics.h"
#include "services/gateway/api/service_mapping.h"

namespace ar::gateway {
namespace {

// The topics each service's read model follows: a min_position in another topic would be
// refused by that service, so the gateway only passes it where it means something.
const std::set<std::string>& InvoicingTopics() {
  static const auto* topics = new std::set<std::string>{topics::kInvoicing, topics::kPayments,
                                                        topics::kCredit, topics::kCollections};
  return *topics;
}
const std::set<std::string>& PaymentsTopics() {
  static const auto* topics =
      new std::set<std::string>{topics::kPayments, topics::kInvoicing, topics::kCollections};
  return *topics;
}
const std::set<std::string>& CreditRiskTopics() {
  static const auto* topics = new std::set<std::string>{
      topics::kInvoicing, topics::kPayments, topics::kCollections, topics::kClock, topics::kCredit};
  return *topics;
}
const std::set<std::string>& CollectionsTopics() {
  static const auto* topics = new std::set<std::string>{
      topics::kInvoicing, topics::kPayments, topics::kCredit, topics::kClock, topics::kCollections};
  return *topics;
}

grpc::Status FromService(const char* service, const grpc::Status& status) {
  if (status.ok()) return status;
  return grpc::Status(status.error_code(), absl::StrCat(service, ": ", status.error_message()));
}

grpc::Status NotReachable(const char* service) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      absl::StrCat("this gateway has no address for the ", service, " service (--",
                                   service, "_address)"));
}

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

// Starts one downstream call; `start` receives the client context and the completion.
template <typename Start>
grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context,
                                  std::unique_ptr<grpc::ClientContext> downstream,
                                  const char* service, bool reachable, Start start) {
  if (!reachable) return Answer(context, NotReachable(service));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::ClientContext* client = downstream.release();
  start(client, [reactor, client, service](grpc::Status status) {
    delete client;
    reactor->Finish(FromService(service, status));
  });
  return reactor;
}

// A service's async stub method as CallService and ForwardMapped call it.
#define AR_ASYNC_CALL(stub, Method)                          \
  [this](auto* client, auto* in, auto* out, auto done) {     \
    stub->async()->Method(client, in, out, std::move(done)); \
  }

// Commands answer with the service's CommandResult unchanged.
v1::CommandResult SameResult(const v1::CommandResult& result) { return result; }

// One asynchronous call of a service: `call(client, request*, response*, done)` starts it;
// `on_done(status, response&)` runs once it completes, with the status's message prefixed
// by the service. The call's state lives until then.
template <typename ServiceRequest, typename ServiceResponse, typename Call, typename OnDone>
void CallService(std::unique_ptr<grpc::ClientContext> client, const char* service,
                 ServiceRequest request, Call call, OnDone on_done) {
  struct Pending {
    std::unique_ptr<grpc::ClientContext> client;
    ServiceRequest request;
    ServiceResponse response;
    OnDone on_done;
  };
  auto* pending = new Pending{std::move(client), std::move(request), {}, std::move(on_done)};
  call(pending->client.get(), &pending->request, &pending->response,
       [pending, service](grpc::Status status) {
         std::unique_ptr<Pending> owned(pending);
         owned->on_done(FromService(service, status), owned->response);
       });
}

// CallService's completion for a caller's call: maps the service's answer into the
// caller's response and finishes it.
template <typename Response, typename MapResponse>
auto MapAndFinish(grpc::ServerUnaryReactor* reactor, Response* response, MapResponse map_response) {
  return [reactor, response, map_response = std::move(map_response)](grpc::Status status,
                                                                     const auto& answer) {
    if (status.ok()) *response = map_response(answer);
    reactor->Finish(std::move(status));
  };
}

// Map the request, call the service, map its response: the gateway's messages onto a
// service's own. `downstream` is null when the service has no address.
template <typename ServiceRequest, typename ServiceResponse, typename Response, typename Call,
          typename MapResponse>
grpc::ServerUnaryReactor* ForwardMapped(grpc::CallbackServerContext* context,
                                        std::unique_ptr<grpc::ClientContext> downstream,
                                        const char* service, absl::StatusOr<ServiceRequest> request,
                                        Response* response, Call call, MapResponse map_response) {
  if (downstream == nullptr) return Answer(context, NotReachable(service));
  if (!request.ok()) return Answer(context, core::ToGrpcStatus(request.status()));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallService<ServiceRequest, ServiceResponse>(
      std::move(downstream), service, *std::move(request), std::move(call),
      MapAndFinish(reactor, response, std::move(map_response)));
  return reactor;
}

bool FailsTheWholeQuery(grpc::StatusCode code) {
  // The caller's own mistakes or limits: answering half would hide them.
  return code == grpc::StatusCode::INVALID_ARGUMENT ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::CANCELLED;
}

// A section's status: an account credit-risk or collections has not heard of yet is not
// an error, its section just stays empty.
grpc::Status EmptyWhenUnknown(grpc::Status status) {
  return status.error_code() == grpc::StatusCode::NOT_FOUND ? grpc::Status::OK : status;
}

// GetCustomer360: five reads started at once, assembled when the last one completes (over
// gRPC they run concurrently; in-process each completes before the next starts).
class Customer360Call {
 public:
  Customer360Call(grpc::ServerUnaryReactor* reactor, v1::Customer360* response,
                  const v1::GetCustomer360Request& request, int32_t recent_events,
                  int32_t credit_top_factors)
      : reactor_(reactor),
        response_(response),
        request_(request),
        recent_events_(recent_events),
        credit_top_factors_(credit_top_factors) {}

  // Sections of a service `queries` does not reach are reported missing. Deletes this
  // object once the call is finished.
  void Start(grpc::CallbackServerContext& caller, AccountQueries& queries, int32_t max_invoices) {
    const v1::ReadConsistency& consistency = request_.consistency();
    const std::string& topic = consistency.min_position().topic();
    invoices_request_.set_tenant(request_.tenant());
    invoices_request_.set_account(request_.account());
    invoices_request_.add_statuses(v1::INVOICE_STATUS_OPEN);
    invoices_request_.add_statuses(v1::INVOICE_STATUS_PARTIALLY_PAID);
    invoices_request_.add_statuses(v1::INVOICE_STATUS_DISPUTED);
    invoices_request_.set_page_size(max_invoices);
    balance_request_.set_tenant(request_.tenant());
    balance_request_.set_account(request_.account());
    cash_request_.set_tenant(request_.tenant());
    cash_request_.set_account(request_.account());
    if (InvoicingTopics().contains(topic)) {
      *invoices_request_.mutable_consistency() = consistency;
      *balance_request_.mutable_consistency() = consistency;
    }
    if (PaymentsTopics().contains(topic)) *cash_request_.mutable_consistency() = consistency;
    credit_request_.set_tenant(request_.tenant());
    credit_request_.set_account(request_.account());
    if (CreditRiskTopics().contains(topic)) *credit_request_.mutable_consistency() = consistency;
    collections_request_ = ToAccountCollections(request_);
    if (CollectionsTopics().contains(topic)) {
      *collections_request_.mutable_consistency() = consistency;
    }

    // The last Done() deletes this object: nothing of it is touched after the last start.
    if (!queries.Reaches(QueriedService::kCreditRisk)) {
      credit_status_ = NotReachable("credit_risk");
      Done();
    } else {
      queries.GetCreditProfile(caller, credit_request_, &credit_, [this](grpc::Status status) {
        credit_status_ = EmptyWhenUnknown(FromService("credit_risk", status));
        credit_found_ = status.ok();
        Done();
      });
    }
    if (!queries.Reaches(QueriedService::kCollections)) {
      collections_status_ = NotReachable("collections");
      Done();
    } else {
      queries.GetAccountCollections(
          caller, collections_request_, &collections_, [this](grpc::Status status) {
            collections_status_ = EmptyWhenUnknown(FromService("collections", status));
            collections_found_ = status.ok();
            Done();
          });
    }
    if (!queries.Reaches(QueriedService::kPayments)) {
      cash_status_ = NotReachable("payments");
      Done();
    } else {
      queries.GetUnappliedCash(caller, cash_request_, &cash_, [this](grpc::Status status) {
        cash_status_ = FromService("payments", status);
        Done();
      });
    }
    queries.ListInvoices(caller, invoices_request_, &invoices_, [this](grpc::Status status) {
      invoices_status_ = FromService("invoicing", status);
      Done();
    });
    queries.GetOpenBalance(caller, balance_request_, &balance_, [this](grpc::Status status) {
      balance_status_ = FromService("invoicing", status);
      Done();
    });
  }

 private:
  void Done() {
    if (pending_.fetch_sub(1) != 1) return;
    grpc::Status status = Assemble();
    grpc::ServerUnaryReactor* reactor = reactor_;
    delete this;
    reactor->Finish(std::move(status));
  }

  void SectionError(const std::string& section, const grpc::Status& status) {
    v1::Customer360SectionError* error = response_->add_section_errors();
    error->set_section(section);
    error->set_code(status.error_code());
    error->set_message(status.error_message());
  }

  grpc::Status Assemble() {
    for (const grpc::Status* status : {&invoices_status_, &balance_status_, &cash_status_,
                                       &credit_status_, &collections_status_}) {
      if (FailsTheWholeQuery(status->error_code())) return *status;
    }
    if (!invoices_status_.ok() && !balance_status_.ok() && !cash_status_.ok()) {
      return invoices_status_;
    }
    response_->set_tenant(request_.tenant());
    response_->set_account(request_.account());
    if (invoices_status_.ok()) {
      std::vector<v1::Invoice*> invoices;
      for (v1::Invoice& invoice : *invoices_.mutable_invoices()) invoices.push_back(&invoice);
      auto due_key = [](const v1::Invoice* invoice) {
        const v1::Date& due = invoice->due_date();
        return std::make_tuple(due.year(), due.month(), due.day(), invoice->invoice_id());
      };
      std::sort(invoices.begin(), invoices.end(), [&](const v1::Invoice* a, const v1::Invoice* b) {
        return due_key(a) < due_key(b);
      });
      std::vector<v1::Customer360Event> events;
      for (v1::Invoice* invoice : invoices) {
        for (const v1::InvoiceHistoryEntry& entry : invoice->history()) {
          v1::Customer360Event& event = events.emplace_back();
          event.set_invoice_id(invoice->invoice_id());
          *event.mutable_entry() = entry;
        }
        if (invoice->disputed().minor_units() > 0) *response_->add_open_disputes() = *invoice;
        *response_->add_open_invoices() = std::move(*invoice);
      }
      response_->set_open_invoices_truncated(!invoices_.next_page_token().empty());
      auto event_key = [](const v1::Customer360Event& event) {
        const v1::Date& date = event.entry().date();
        const v1::LogPosition& at = event.entry().position();
        return std::make_tuple(date.year(), date.month(), date.day(), at.topic(), at.partition(),
                               at.offset(), event.entry().event_id());
      };
      std::sort(events.begin(), events.end(), [&](const auto& a, const auto& b) {
        return event_key(a) > event_key(b);  // newest first
      });
      if (events.size() > static_cast<size_t>(recent_events_)) events.resize(recent_events_);
      for (v1::Customer360Event& event : events) {
        *response_->add_recent_events() = std::move(event);
      }
    } else {
      SectionError("open_invoices", invoices_status_);
      SectionError("open_disputes", invoices_status_);
      SectionError("recent_events", invoices_status_);
    }
    if (balance_status_.ok()) {
      *response_->mutable_open_balance() = std::move(*balance_.mutable_open());
      response_->set_on_credit_hold(balance_.on_credit_hold());
    } else {
      SectionError("open_balance", balance_status_);
    }
    if (cash_status_.ok()) {
      *response_->mutable_unapplied_cash() = std::move(*cash_.mutable_unapplied());
      *response_->mutable_held_cash() = std::move(*cash_.mutable_held());
    } else {
      SectionError("unapplied_cash", cash_status_);
    }
    if (!credit_status_.ok()) {
      SectionError("credit_profile", credit_status_);
    } else if (credit_found_) {
      *response_->mutable_credit_profile() = FromCreditProfile(credit_, credit_top_factors_);
    }
    if (!collections_status_.ok()) {
      SectionError("collection_status", collections_status_);
      SectionError("open_promise", collections_status_);
    } else if (collections_found_) {
      *response_->mutable_collection_status() = FromAccountCollections(collections_);
      v1::GatewayPromiseToPay promise = OpenPromise(collections_);
      if (!promise.promise_id().empty()) *response_->mutable_open_promise() = std::move(promise);
    }
    return grpc::Status::OK;
  }

  grpc::ServerUnaryReactor* const reactor_;
  v1::Customer360* const response_;
  const v1::GetCustomer360Request request_;
  const int32_t recent_events_;
  const int32_t credit_top_factors_;
  std::atomic<int> pending_{5};

  v1::ListInvoicesRequest invoices_request_;
  v1::GetOpenBalanceRequest balance_request_;
  v1::GetUnappliedCashRequest cash_request_;
  v1::ListInvoicesResponse invoices_;
  v1::OpenBalance balance_;
  v1::UnappliedCash cash_;
  v1::GetCreditProfileRequest credit_request_;
  v1::CreditProfile credit_;
  bool credit_found_ = false;
  v1::GetAccountCollectionsRequest collections_request_;
  v1::AccountCollections collections_;
  bool collections_found_ = false;
  grpc::Status invoices_status_, balance_status_, cash_status_, credit_status_, collections_status_;
};

// One SubscribeOverdue stream: writes the subscription's updates one at a time, and
// finishes with its end status. Runs on gRPC's callback threads and the hub's threads;
// it never blocks either.
class OverdueStreamReactor final : public grpc::ServerWriteReactor<v1::OverdueUpdate> {
 public:
  OverdueStreamReactor(grpc::CallbackServerContext* context,
                       std::shared_ptr<OverdueSubscription> subscription)
      : context_(context), subscription_(std::move(subscription)) {
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      written_.reset();
    }
    // The client is gone: the subscription ends as cancelled and WriteNext finishes.
    if (!ok) subscription_->Cancel();
    WriteNext();
  }

  void OnCancel() override { subscription_->Cancel(); }

  void OnDone() override {
    subscription_->Cancel();
    delete this;
  }

 private:
  void WriteNext() {
    std::shared_ptr<const v1::OverdueUpdate> update;
    std::optional<absl::Status> end;
    {
      std::lock_guard lock(mu_);
      if (writing_ || finishing_) return;
      OverdueSubscription::Next next = subscription_->TryNext([this] { WriteNext(); });
      if (next.update) {
        writing_ = true;
        written_ = next.update;
        update = std::move(next.update);
      } else if (next.ended) {
        finishing_ = true;
        end = std::move(next.ended);
      }
    }
    if (update) {
      // No buffer hint even when more are queued: a hinted write may complete only once
      // something else flushes the connection, and the next write waits for it.
      StartWrite(update.get());  // `written_` keeps it alive until OnWriteDone
    } else if (end) {
      context_->AddTrailingMetadata(kResumeCursorTrailer, subscription_->resume_cursor());
      Finish(core::ToGrpcStatus(*end));  // nothing of this object is touched afterwards
    }
  }

  grpc::CallbackServerContext* const context_;
  const std::shared_ptr<OverdueSubscription> subscription_;
  std::mutex mu_;
  bool writing_ = false;
  bool finishing_ = false;
  std::shared_ptr<const v1::OverdueUpdate> written_;
};

class FailedStream final : public grpc::ServerWriteReactor<v1::OverdueUpdate> {
 public:
  explicit FailedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

GatewayGrpcService::GatewayGrpcService(const GatewayChannels& channels, OverdueHub& hub,
                                       GatewayApiOptions options,
                                       std::shared_ptr<AccountQueries> account_queries)
    : account_queries_(std::move(account_queries)), hub_(hub), options_(options) {
  if (account_queries_ == nullptr) {
    account_queries_ = NewGrpcAccountQueries(channels, options_.downstream_timeout);
  }
  if (channels.invoicing) invoicing_ = v1::InvoicingService::NewStub(channels.invoicing);
  if (channels.payments) payments_ = v1::PaymentsService::NewStub(channels.payments);
  if (channels.credit_risk) credit_risk_ = v1::CreditRiskService::NewStub(channels.credit_risk);
  if (channels.collections) {
    collections_ = v1::CollectionsService::NewStub(channels.collections);
  }
  if (channels.clock) clock_ = v1::ClockService::NewStub(channels.clock);
}

std::unique_ptr<grpc::ClientContext> GatewayGrpcService::Downstream(
    grpc::CallbackServerContext* context) const {
  return DownstreamContext(*context, options_.downstream_timeout);
}

grpc::ServerUnaryReactor* GatewayGrpcService::GetCustomer360(
    grpc::CallbackServerContext* context, const v1::GetCustomer360Request* request,
    v1::Customer360* response) {
  for (auto [value, what] :
       {std::pair{&request->tenant(), "tenant"}, std::pair{&request->account(), "account"}}) {
    if (absl::Status valid = core::ValidateId(*value, what); !valid.ok()) {
      return Answer(context, core::ToGrpcStatus(valid));
    }
  }
  const std::string& topic = request->consistency().min_position().topic();
  if (!topic.empty() && !InvoicingTopics().contains(topic) && !PaymentsTopics().contains(topic) &&
      !CreditRiskTopics().contains(topic) && !CollectionsTopics().contains(topic)) {
    return Answer(context,
                  grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               absl::StrCat("consistency.min_position names topic '", topic,
                                            "', which no read model behind GetCustomer360 reads; "
                                            "pass the position a command returned")));
  }
  if (request->recent_events_limit() < 0) {
    return Answer(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                        "recent_events_limit must not be negative"));
  }
  if (!account_queries_->Reaches(QueriedService::kInvoicing)) {
    return Answer(context, NotReachable("invoicing"));
  }
  const int32_t recent_events =
      request->recent_events_limit() == 0
          ? options_.customer360_default_recent_events
          : std::min(request->recent_events_limit(), options_.customer360_max_recent_events);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto* call =
      new Customer360Call(reactor, response, *request, recent_events, options_.credit_top_factors);
  call->Start(*context, *account_queries_, options_.customer360_max_invoices);
  return reactor;
}

grpc::ServerUnaryReactor* GatewayGrpcService::ListOverdueAccounts(
    grpc::CallbackServerContext* context, const v1::GatewayListOverdueAccountsRequest* request,
    v1::GatewayListOverdueAccountsResponse* response) {
  return ForwardMapped<v1::ListOverdueAccountsRequest, v1::ListOverdueAccountsResponse>(
      context, collections_ ? Downstream(context) : nullptr, "collections", ToListOverdue(*request),
      response, AR_ASYNC_CALL(collections_, ListOverdueAccounts),
      [request](const v1::ListOverdueAccountsResponse& out) {
        return FromListOverdue(*request, out);
      });
}

grpc::ServerUnaryReactor* GatewayGrpcService::GetAgingReport(
    grpc::CallbackServerContext* context, const v1::GatewayAgingReportRequest* request,
    v1::GatewayAgingReport* response) {
  auto report = AR_ASYNC_CALL(collections_, GetAgingReport);
  auto map_report = [request](const v1::AgingReport& out) {
    return FromAgingReport(*request, out);
  };
  if (!request->has_as_of()) {
    return ForwardMapped<v1::GetAgingReportRequest, v1::AgingReport>(
        context, collections_ ? Downstream(context) : nullptr, "collections",
        ToAgingReport(*request), response, report, map_report);
  }
  // The clock says whether as_of is today (the aggregates) or past (collections replays).
  if (!collections_) return Answer(context, NotReachable("collections"));
  if (!clock_) return Answer(context, NotReachable("clock"));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallService<v1::GetBusinessDatesRequest, v1::GetBusinessDatesResponse>(
      Downstream(context), "clock", v1::GetBusinessDatesRequest(),
      AR_ASYNC_CALL(clock_, GetBusinessDates),
      [reactor, request, response, report, map_report, aging_context = Downstream(context)](
          grpc::Status status, const v1::GetBusinessDatesResponse& dates) mutable {
        absl::StatusOr<bool> past = true;
        if (status.ok()) {
          past = AgingAsOfIsPast(*request, dates);
          status = core::ToGrpcStatus(past.status());
        }
        if (!status.ok()) {
          reactor->Finish(std::move(status));
          return;
        }
        v1::GetAgingReportRequest aging = ToAgingReport(*request);
        if (*past) *aging.mutable_as_of() = request->as_of();
        CallService<v1::GetAgingReportRequest, v1::AgingReport>(
            std::move(aging_context), "collections", aging, report,
            MapAndFinish(reactor, response, map_report));
      });
  return reactor;
}

grpc::ServerUnaryReactor* GatewayGrpcService::GetCreditProfile(
    grpc::CallbackServerContext* context, const v1::GatewayCreditProfileRequest* request,
    v1::GatewayCreditProfile* response) {
  return ForwardMapped<v1::GetCreditProfileRequest, v1::CreditProfile>(
      context, credit_risk_ ? Downstream(context) : nullptr, "credit_risk",
      ToCreditProfileRequest(*request), response, AR_ASYNC_CALL(credit_risk_, GetCreditProfile),
      [top = options_.credit_top_factors](const v1::CreditProfile& out) {
        return FromCreditProfile(out, top);
      });
}

grpc::ServerUnaryReactor* GatewayGrpcService::GetKpis(grpc::CallbackServerContext* context,
                                                      const v1::GatewayKpisRequest* request,
                                                      v1::GatewayKpis* response) {
  return ForwardMapped<v1::ListKpisRequest, v1::ListKpisResponse>(
      context, collections_ ? Downstream(context) : nullptr, "collections", ToListKpis(*request),
      response, AR_ASYNC_CALL(collections_, ListKpis),
      [request](const v1::ListKpisResponse& out) { return FromListKpis(*request, out); });
}

grpc::ServerUnaryReactor* GatewayGrpcService::SetCreditLimit(
    grpc::CallbackServerContext* context, const v1::GatewaySetCreditLimitRequest* request,
    v1::CommandResult* response) {
  return ForwardMapped<v1::SetCreditLimitRequest, v1::CommandResult>(
      context, credit_risk_ ? Downstream(context) : nullptr, "credit_risk", ToCreditLimit(*request),
      response, AR_ASYNC_CALL(credit_risk_, SetCreditLimit), SameResult);
}

grpc::ServerUnaryReactor* GatewayGrpcService::SetFxRate(grpc::CallbackServerContext* context,
                                                        const v1::GatewaySetFxRateRequest* request,
                                                        v1::CommandResult* response) {
  return ForwardMapped<v1::SetFxRateRequest, v1::CommandResult>(
      context, credit_risk_ ? Downstream(context) : nullptr, "credit_risk", ToFxRate(*request),
      response, AR_ASYNC_CALL(credit_risk_, SetFxRate), SameResult);
}

grpc::ServerUnaryReactor* GatewayGrpcService::RecordPromiseToPay(
    grpc::CallbackServerContext* context, const v1::GatewayRecordPromiseRequest* request,
    v1::CommandResult* response) {
  return ForwardMapped<v1::RecordPromiseRequest, v1::CommandResult>(
      context, collections_ ? Downstream(context) : nullptr, "collections",
      ToRecordPromise(*request), response, AR_ASYNC_CALL(collections_, RecordPromise), SameResult);
}

grpc::ServerUnaryReactor* GatewayGrpcService::WriteOffDebt(
    grpc::CallbackServerContext* context, const v1::GatewayWriteOffRequest* request,
    v1::CommandResult* response) {
  return ForwardMapped<v1::WriteOffDebtRequest, v1::CommandResult>(
      context, collections_ ? Downstream(context) : nullptr, "collections", ToWriteOff(*request),
      response, AR_ASYNC_CALL(collections_, WriteOffDebt), SameResult);
}

grpc::ServerUnaryReactor* GatewayGrpcService::AdvanceBusinessDay(
    grpc::CallbackServerContext* context, const v1::GatewayAdvanceBusinessDayRequest* request,
    v1::GatewayAdvanceBusinessDayResponse* response) {
  return ForwardMapped<v1::AdvanceBusinessDayRequest, v1::AdvanceBusinessDayResponse>(
      context, clock_ ? Downstream(context) : nullptr, "clock", ToClockAdvance(*request), response,
      AR_ASYNC_CALL(clock_, AdvanceBusinessDay), FromClockAdvance);
}

// ---- pass-through ----

#define AR_GATEWAY_FORWARD(stub, service, Method)                                             \
  grpc::ServerUnaryReactor* GatewayGrpcService::Method(grpc::CallbackServerContext* context,  \
                                                       const v1::Method##Request* request,    \
                                                       Method##Response* response) {          \
    return Forward(context, stub ? Downstream(context) : nullptr, service, stub != nullptr,   \
                   [&](grpc::ClientContext* client, std::function<void(grpc::Status)> done) { \
                     stub->async()->Method(client, request, response, std::move(done));       \
                   });                                                                        \
  }

using GetStatementResponse = v1::Statement;
using GetInvoiceResponse = v1::Invoice;
using ListInvoicesResponse = v1::ListInvoicesResponse;
using GetOpenBalanceResponse = v1::OpenBalance;
using GetPaymentResponse = v1::Payment;
using ListPaymentsResponse = v1::ListPaymentsResponse;
using GetUnappliedCashResponse = v1::UnappliedCash;
using GetBusinessDatesResponse = v1::GetBusinessDatesResponse;
using IssueInvoiceResponse = v1::CommandResult;
using IssueCreditNoteResponse = v1::CommandResult;
using CancelInvoiceResponse = v1::CommandResult;
using DisputeInvoiceResponse = v1::CommandResult;
using ResolveDisputeResponse = v1::CommandResult;
using RecordPaymentResponse = v1::CommandResult;
using ReversePaymentResponse = v1::CommandResult;

AR_GATEWAY_FORWARD(payments_, "payments", GetStatement)
AR_GATEWAY_FORWARD(invoicing_, "invoicing", GetInvoice)
AR_GATEWAY_FORWARD(invoicing_, "invoicing", ListInvoices)
AR_GATEWAY_FORWARD(invoicing_, "invoicing", GetOpenBalance)
AR_GATEWAY_FORWARD(payments_, "payments", GetPayment)
AR_GATEWAY_FORWARD(payments_, "payments", ListPayments)
AR_GATEWAY_FORWARD(payments_, "payments", GetUnappliedCash)
AR_GATEWAY_FORWARD(clock_, "clock", GetBusinessDates)
AR_GATEWAY_FORWARD(invoicing_, "invoicing", IssueInvoice)
AR_GATEWAY_FORWARD(invoicing_, "invoicing", IssueCreditNote)
AR_GATEWAY_FORWARD(invoicing_, "invoicing", CancelInvoice)
AR_GATEWAY_FORWARD(invoicing_, "invoicing", DisputeInvoice)
AR_GATEWAY_FORWARD(invoicing_, "invoicing", ResolveDispute)
AR_GATEWAY_FORWARD(payments_, "payments", RecordPayment)
AR_GATEWAY_FORWARD(payments_, "payments", ReversePayment)

#undef AR_GATEWAY_FORWARD
#undef AR_ASYNC_CALL

// ---- the overdue stream ----

grpc::ServerWriteReactor<v1::OverdueUpdate>* GatewayGrpcService::SubscribeOverdue(
    grpc::CallbackServerContext* context, const v1::SubscribeOverdueRequest* request) {
  absl::StatusOr<std::shared_ptr<OverdueSubscription>> subscription =
      hub_.Subscribe(request->filter(), request->cursor());
  if (!subscription.ok()) return new FailedStream(core::ToGrpcStatus(subscription.status()));
  return new OverdueStreamReactor(context, std::move(*subscription));
}

}  // namespace ar::gateway
