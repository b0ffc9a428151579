#include "services/payments/api/payments_api.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/command/call_completion.h"
#include "libs/command/read_consistency.h"
#include "libs/core/grpc_status.h"
#include "libs/core/ids.h"
#include "libs/core/money.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"
#include "services/payments/domain/payments_domain.h"
#include "services/payments/projection/payments_projection.h"

namespace ar::payments {
namespace {

command::Decision ToDecision(Outcome outcome, std::string command_id) {
  command::Decision decision;
  decision.events = std::move(outcome.events);
  decision.duplicate_of = std::move(outcome.duplicate_of);
  decision.command_id = std::move(command_id);
  return decision;
}

CommandContext ContextFor(std::string command_id) {
  return {std::move(command_id), absl::ToUnixMicros(absl::Now()), ""};
}

// Page tokens: "<value day>:<payment id>" of the last payment returned, web-safe base64 so
// clients treat it as opaque.
std::string EncodePageToken(int64_t score, const std::string& member) {
  return absl::WebSafeBase64Escape(absl::StrCat(score, ":", member));
}

absl::Status DecodePageToken(const std::string& token, int64_t& score, std::string& member) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw))
    return absl::InvalidArgumentError("bad page_token");
  std::pair<std::string, std::string> parts = absl::StrSplit(raw, absl::MaxSplits(':', 1));
  if (parts.second.empty() || !absl::SimpleAtoi(parts.first, &score)) {
    return absl::InvalidArgumentError("bad page_token");
  }
  member = std::move(parts.second);
  return absl::OkStatus();
}

}  // namespace

PaymentsApi::PaymentsApi(store::Store& store, eventlog::EventLog& log,
                         command::CommandExecutor& executor,
                         projection::ProjectionRunner& projection,
                         projection::ProjectionRunner& reactor, ApiOptions options)
    : store_(store),
      log_(log),
      executor_(executor),
      projection_(projection),
      reactor_(reactor),
      options_(options),
      reactor_watcher_(reactor) {}

absl::StatusOr<eventlog::TopicPartition> PaymentsApi::InvoicingPartitionOf(
    const std::string& account) {
  int32_t partitions = invoicing_partitions_.load();
  if (partitions == 0) {
    ASSIGN_OR_RETURN(partitions, log_.PartitionCount(topics::kInvoicing));
    invoicing_partitions_.store(partitions);
  }
  return eventlog::TopicPartition{topics::kInvoicing,
                                  eventlog::PartitionForKey(account, partitions)};
}

// One ExecuteAfterReactions call, carried from one step to the next.
struct PaymentsApi::Attempt {
  std::string tenant;
  std::string account;
  eventlog::TopicPartition partition;
  absl::Time deadline;
  command::Decide decide;
  command::CommandDone done;
  bool reaction_due = false;
};

bool PaymentsApi::ReactionsDone(const eventlog::TopicPartition& partition) const {
  const int64_t applied = projection_.CommittedOffset(partition);
  return applied == 0 || reactor_.CommittedOffset(partition) >= applied;
}

void PaymentsApi::ExecuteAfterReactions(const std::string& tenant, const std::string& account,
                                        command::Decide decide, command::CommandDone done) {
  absl::StatusOr<eventlog::TopicPartition> partition = InvoicingPartitionOf(account);
  if (!partition.ok()) return done(partition.status());
  auto attempt = std::make_shared<Attempt>();
  attempt->tenant = tenant;
  attempt->account = account;
  attempt->partition = *std::move(partition);
  attempt->deadline = absl::Now() + options_.read_wait_timeout;
  attempt->decide = std::move(decide);
  attempt->done = std::move(done);
  AwaitReactionsThenExecute(std::move(attempt));
}

void PaymentsApi::AwaitReactionsThenExecute(std::shared_ptr<Attempt> attempt) {
  // Waited for outside the account's slot: the reaction itself needs the slot.
  const int64_t applied = projection_.CommittedOffset(attempt->partition);
  if (applied == 0 || reactor_.CommittedOffset(attempt->partition) >= applied) {
    ExecuteIfNoReactionDue(std::move(attempt));
    return;
  }
  const eventlog::LogPosition position{attempt->partition.topic, attempt->partition.partition,
                                       applied - 1};
  const absl::Time deadline = attempt->deadline;
  reactor_watcher_.NotifyWhenApplied(position, deadline, [this, attempt](bool reacted) {
    if (!reacted) {
      attempt->done(absl::UnavailableError(
          "reactions to invoices just issued on this account are still running; try again"));
      return;
    }
    // Off the watcher's thread: the command may decide at once.
    executor_.Defer([this, attempt] { ExecuteIfNoReactionDue(attempt); });
  });
}

void PaymentsApi::ExecuteIfNoReactionDue(std::shared_ptr<Attempt> attempt) {
  attempt->reaction_due = false;
  executor_.ExecuteAsync(
      attempt->tenant, attempt->account,
      [this, attempt]() -> absl::StatusOr<command::Decision> {
        if (!ReactionsDone(attempt->partition)) {
          attempt->reaction_due = true;  // an invoice appeared after the wait: let it react first
          return absl::AbortedError("reaction due");
        }
        return attempt->decide();
      },
      [this, attempt](absl::StatusOr<v1::CommandResult> result) {
        if (attempt->reaction_due) {
          AwaitReactionsThenExecute(attempt);
          return;
        }
        command::CommandDone done = std::move(attempt->done);
        attempt->decide = nullptr;  // refers to the request, which `done` may free
        done(std::move(result));
      });
}

void PaymentsApi::WithPaymentIdLocked(const std::string& key, std::function<void()> run) {
  {
    std::lock_guard lock(payment_ids_mu_);
    auto [it, inserted] = payment_ids_in_flight_.try_emplace(key);
    if (!inserted) {
      it->second.push_back(std::move(run));
      return;
    }
  }
  run();
}

void PaymentsApi::UnlockPaymentId(const std::string& key) {
  std::function<void()> next;
  {
    std::lock_guard lock(payment_ids_mu_);
    auto it = payment_ids_in_flight_.find(key);
    if (it == payment_ids_in_flight_.end()) return;
    if (it->second.empty()) {
      payment_ids_in_flight_.erase(it);
      return;
    }
    next = std::move(it->second.front());
    it->second.pop_front();
  }
  executor_.Defer(std::move(next));
}

void PaymentsApi::RecordPaymentAsync(const v1::RecordPaymentRequest& request,
                                     command::CommandDone done) {
  const std::string& tenant = request.account().tenant();
  const std::string& account = request.account().account();
  // Ids are checked before they are used as lock keys; the domain checks everything else.
  for (const absl::Status& id :
       {core::ValidateId(tenant, "account.tenant"), core::ValidateId(account, "account.account"),
        core::ValidateId(request.payment_id(), "payment_id")}) {
    if (!id.ok()) return done(id);
  }
  std::string id_key = absl::StrCat(tenant.size(), ":", tenant, ":", request.payment_id());
  WithPaymentIdLocked(id_key, [this, &request, id_key, done = std::move(done)]() mutable {
    const std::string& tenant = request.account().tenant();
    const std::string& account = request.account().account();
    ExecuteAfterReactions(
        tenant, account,
        [this, &request]() -> absl::StatusOr<command::Decision> {
          const std::string& tenant = request.account().tenant();
          ASSIGN_OR_RETURN(std::optional<v1::Payment> existing,
                           LoadPayment(store_, tenant, request.payment_id()));
          ASSIGN_OR_RETURN(AccountState state,
                           LoadAccountState(store_, tenant, request.account().account()));
          CommandContext context = ContextFor(RecordPaymentCommandId(request.payment_id()));
          ASSIGN_OR_RETURN(
              Outcome outcome,
              DecideRecordPayment(request, existing ? &*existing : nullptr, state, context));
          return ToDecision(std::move(outcome), context.command_id);
        },
        [this, id_key, done = std::move(done)](absl::StatusOr<v1::CommandResult> result) {
          UnlockPaymentId(id_key);
          done(std::move(result));
        });
  });
}

absl::StatusOr<v1::CommandResult> PaymentsApi::RecordPayment(
    const v1::RecordPaymentRequest& request) {
  return command::AwaitCommand(
      [&](command::CommandDone done) { RecordPaymentAsync(request, std::move(done)); });
}

void PaymentsApi::ReversePaymentAsync(const v1::ReversePaymentRequest& request,
                                      command::CommandDone done) {
  if (absl::Status valid = ValidateReversePayment(request); !valid.ok()) return done(valid);
  absl::StatusOr<std::optional<v1::Payment>> payment =
      LoadPayment(store_, request.tenant(), request.payment_id());
  if (!payment.ok()) return done(payment.status());
  if (!payment->has_value()) {
    return done(absl::NotFoundError(absl::StrCat("payment ", request.payment_id(), " not found")));
  }
  // A payment never changes account, so the account found here is the one to lock.
  ExecuteAfterReactions(
      request.tenant(), (*payment)->account().account(),
      [this, &request]() -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(std::optional<v1::Payment> current,
                         LoadPayment(store_, request.tenant(), request.payment_id()));
        CommandContext context = ContextFor(ReversePaymentCommandId(request.payment_id()));
        ASSIGN_OR_RETURN(Outcome outcome,
                         DecideReversePayment(request, current ? &*current : nullptr, context));
        return ToDecision(std::move(outcome), context.command_id);
      },
      std::move(done));
}

absl::StatusOr<v1::CommandResult> PaymentsApi::ReversePayment(
    const v1::ReversePaymentRequest& request) {
  return command::AwaitCommand(
      [&](command::CommandDone done) { ReversePaymentAsync(request, std::move(done)); });
}

absl::Status PaymentsApi::AwaitConsistency(const v1::ReadConsistency& consistency) {
  // The read model is shared by the replicas: a position in a partition another replica
  // projects is found in the store's checkpoints.
  return command::AwaitReadConsistency(
      projection_, {&store_, kPaymentsProjectionName}, consistency,
      {topics::kPayments, topics::kInvoicing, topics::kCollections}, "payments",
      options_.read_wait_timeout);
}

absl::StatusOr<v1::Payment> PaymentsApi::GetPayment(const v1::GetPaymentRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.payment_id(), "payment_id"));
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));
  ASSIGN_OR_RETURN(std::optional<v1::Payment> payment,
                   LoadPayment(store_, request.tenant(), request.payment_id()));
  if (!payment)
    return absl::NotFoundError(absl::StrCat("payment ", request.payment_id(), " not found"));
  return *std::move(payment);
}

absl::StatusOr<v1::ListPaymentsResponse> PaymentsApi::ListPayments(
    const v1::ListPaymentsRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.account(), "account"));
  if (request.page_size() < 0) return absl::InvalidArgumentError("page_size must not be negative");
  const int64_t page_size = request.page_size() == 0
                                ? options_.default_page_size
                                : std::min(request.page_size(), options_.max_page_size);
  bool after_token = false;
  int64_t last_score = store::kMinScore;
  std::string last_member;
  if (!request.page_token().empty()) {
    RETURN_IF_ERROR(DecodePageToken(request.page_token(), last_score, last_member));
    after_token = true;
  }
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));

  // Keyset paging on (value day, payment id): stable while payments are added.
  const std::string key = Keys::PaymentsByValueDate(request.tenant(), request.account());
  std::vector<store::ScoredMember> page;
  store::RangeOptions range;
  range.min_score = last_score;
  range.limit = page_size + 1;
  while (static_cast<int64_t>(page.size()) <= page_size) {
    ASSIGN_OR_RETURN(std::vector<store::ScoredMember> members, store_.ZRange(key, range));
    for (store::ScoredMember& member : members) {
      if (after_token && member.score == last_score && member.member <= last_member) continue;
      if (static_cast<int64_t>(page.size()) > page_size) break;
      page.push_back(std::move(member));
    }
    if (static_cast<int64_t>(members.size()) < range.limit) break;
    range.offset += range.limit;
  }
  v1::ListPaymentsResponse response;
  if (static_cast<int64_t>(page.size()) > page_size) {
    page.resize(page_size);
    response.set_next_page_token(EncodePageToken(page.back().score, page.back().member));
  }
  for (const store::ScoredMember& member : page) {
    ASSIGN_OR_RETURN(std::optional<v1::Payment> payment,
                     LoadPayment(store_, request.tenant(), member.member));
    if (payment) *response.add_payments() = *std::move(payment);
  }
  return response;
}

absl::StatusOr<v1::UnappliedCash> PaymentsApi::GetUnappliedCash(
    const v1::GetUnappliedCashRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.account(), "account"));
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));
  v1::UnappliedCash cash;
  ASSIGN_OR_RETURN(
      *cash.mutable_unapplied(),
      LoadCashByCurrency(store_, Keys::Unapplied(request.tenant(), request.account())));
  ASSIGN_OR_RETURN(*cash.mutable_held(),
                   LoadCashByCurrency(store_, Keys::Held(request.tenant(), request.account())));
  ASSIGN_OR_RETURN(AccountState state,
                   LoadAccountState(store_, request.tenant(), request.account()));
  for (v1::Payment& payment : state.open_payments) *cash.add_payments() = std::move(payment);
  return cash;
}

absl::StatusOr<v1::Statement> PaymentsApi::GetStatement(const v1::GetStatementRequest& request) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.account(), "account"));
  if (absl::Status known = core::LookupCurrency(request.currency()).status(); !known.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("currency: ", known.message()));
  }
  if (!request.has_from() || !request.has_to()) {
    return absl::InvalidArgumentError("from and to are required");
  }
  ASSIGN_OR_RETURN(absl::CivilDay from, DayFromProto(request.from(), "from"));
  ASSIGN_OR_RETURN(absl::CivilDay to, DayFromProto(request.to(), "to"));
  if (to < from) return absl::InvalidArgumentError("to is before from");
  RETURN_IF_ERROR(AwaitConsistency(request.consistency()));
  ASSIGN_OR_RETURN(v1::Statement statement,
                   LoadStatement(store_, request.tenant(), request.account(), request.currency(),
                                 DayNumberOf(request.from()), DayNumberOf(request.to())));
  *statement.mutable_from() = request.from();
  *statement.mutable_to() = request.to();
  return statement;
}

// ---- gRPC: the one place statuses are mapped ----

// gRPC keeps the request and response alive until Finish.
grpc::ServerUnaryReactor* PaymentsGrpcService::RecordPayment(
    grpc::CallbackServerContext* context, const v1::RecordPaymentRequest* request,
    v1::CommandResult* response) {
  if (router_ != nullptr) {
    if (grpc::ServerUnaryReactor* forwarded =
            router_->ForwardIfNotOwner(context, "/ar.v1.PaymentsService/RecordPayment",
                                       request->account().account(), *request, response)) {
      return forwarded;
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  api_.RecordPaymentAsync(*request, command::FinishCall(reactor, response));
  return reactor;
}
grpc::ServerUnaryReactor* PaymentsGrpcService::ReversePayment(
    grpc::CallbackServerContext* context, const v1::ReversePaymentRequest* request,
    v1::CommandResult* response) {
  if (router_ != nullptr) {
    // A reversal names only the payment: its account decides where it runs. A payment not
    // found (or not readable) is answered here, as without replicas.
    absl::StatusOr<std::optional<v1::Payment>> payment =
        LoadPayment(api_.store(), request->tenant(), request->payment_id());
    if (payment.ok() && payment->has_value()) {
      if (grpc::ServerUnaryReactor* forwarded =
              router_->ForwardIfNotOwner(context, "/ar.v1.PaymentsService/ReversePayment",
                                         (*payment)->account().account(), *request, response)) {
        return forwarded;
      }
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  api_.ReversePaymentAsync(*request, command::FinishCall(reactor, response));
  return reactor;
}
grpc::Status PaymentsGrpcService::GetPayment(grpc::ServerContext*,
                                             const v1::GetPaymentRequest* request,
                                             v1::Payment* response) {
  return core::ReplyWith(api_.GetPayment(*request), response);
}
grpc::Status PaymentsGrpcService::ListPayments(grpc::ServerContext*,
                                               const v1::ListPaymentsRequest* request,
                                               v1::ListPaymentsResponse* response) {
  return core::ReplyWith(api_.ListPayments(*request), response);
}
grpc::Status PaymentsGrpcService::GetUnappliedCash(grpc::ServerContext*,
                                                   const v1::GetUnappliedCashRequest* request,
                                                   v1::UnappliedCash* response) {
  return core::ReplyWith(api_.GetUnappliedCash(*request), response);
}
grpc::Status PaymentsGrpcService::GetStatement(grpc::ServerContext*,
                                               const v1::GetStatementRequest* request,
                                               v1::Statement* response) {
  return core::ReplyWith(api_.GetStatement(*request), response);
}

}  // namespace ar::payments
