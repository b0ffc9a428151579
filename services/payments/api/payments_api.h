#pragma once
// The payments gRPC API: thin. Each method parses its request, runs the command through
// the CommandExecutor (domain rules inside) or reads the read model, and maps the
// absl::Status to a grpc::Status in one place (core::ToGrpcStatus).
//
// Commands use gRPC's callback API and complete asynchronously: nothing parks a server
// thread while a payment waits for its account's turn, for the reactor, for the log or for
// the read model. Queries stay synchronous.

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ar/v1/payments.grpc.pb.h"
#include "libs/command/command_executor.h"
#include "libs/command/command_router.h"
#include "libs/command/position_watcher.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"

namespace ar::payments {

struct ApiOptions {
  // How long a query waits for ReadConsistency.min_position before UNAVAILABLE.
  absl::Duration read_wait_timeout = absl::Seconds(5);
  int32_t default_page_size = 50;
  int32_t max_page_size = 500;
};

// The payments business API without gRPC types around the statuses (tests and other
// in-process callers use it directly).
class PaymentsApi {
 public:
  // `reactor` is the runner that reacts to invoicing events (applying held allocations and
  // unapplied cash to new invoices); commands wait for it, see ExecuteAfterReactions.
  PaymentsApi(store::Store& store, eventlog::EventLog& log, command::CommandExecutor& executor,
              projection::ProjectionRunner& projection, projection::ProjectionRunner& reactor,
              ApiOptions options);

  // Call `done` once with the result; `request` must live until then.
  void RecordPaymentAsync(const v1::RecordPaymentRequest& request, command::CommandDone done);
  void ReversePaymentAsync(const v1::ReversePaymentRequest& request, command::CommandDone done);
  // The same, waiting for the result.
  absl::StatusOr<v1::CommandResult> RecordPayment(const v1::RecordPaymentRequest& request);
  absl::StatusOr<v1::CommandResult> ReversePayment(const v1::ReversePaymentRequest& request);
  absl::StatusOr<v1::Payment> GetPayment(const v1::GetPaymentRequest& request);
  absl::StatusOr<v1::ListPaymentsResponse> ListPayments(const v1::ListPaymentsRequest& request);
  absl::StatusOr<v1::UnappliedCash> GetUnappliedCash(const v1::GetUnappliedCashRequest& request);
  absl::StatusOr<v1::Statement> GetStatement(const v1::GetStatementRequest& request);
  // The read model the API reads (the gRPC class finds a reversal's account in it).
  store::Store& store() { return store_; }

 private:
  struct Attempt;

  absl::Status AwaitConsistency(const v1::ReadConsistency& consistency);
  // Runs a command once every reaction to the invoicing records the read model already
  // shows for the account's partition has run, so a command never decides between an
  // invoice becoming visible and the reaction to it (which would make allocations depend
  // on timing). Checked again under the account's slot; tried again while a reaction is
  // due. `decide` and `done` must not refer to anything that dies before `done` runs.
  void ExecuteAfterReactions(const std::string& tenant, const std::string& account,
                             command::Decide decide, command::CommandDone done);
  // Waits (without a thread) for the reactions due, then executes.
  void AwaitReactionsThenExecute(std::shared_ptr<Attempt> attempt);
  void ExecuteIfNoReactionDue(std::shared_ptr<Attempt> attempt);
  // Whether the reactor has handled everything the read model applied of `partition`.
  bool ReactionsDone(const eventlog::TopicPartition& partition) const;
  absl::StatusOr<eventlog::TopicPartition> InvoicingPartitionOf(const std::string& account);
  // One RecordPayment per payment id at a time in this process: two requests with the same
  // id for different accounts would otherwise each pass the idempotency check under their
  // own account's slot. `run` runs now, or after the id's earlier requests completed.
  void WithPaymentIdLocked(const std::string& key, std::function<void()> run);
  void UnlockPaymentId(const std::string& key);

  store::Store& store_;
  eventlog::EventLog& log_;
  command::CommandExecutor& executor_;
  projection::ProjectionRunner& projection_;
  projection::ProjectionRunner& reactor_;
  ApiOptions options_;
  std::atomic<int32_t> invoicing_partitions_{0};  // looked up once, on first use
  command::PositionWatcher reactor_watcher_;

  std::mutex payment_ids_mu_;
  // Payment ids with a RecordPayment running -> the requests waiting for it to complete.
  std::map<std::string, std::deque<std::function<void()>>> payment_ids_in_flight_;
};

// The generated service with the command methods switched to the callback API.
using PaymentsServiceBase = v1::PaymentsService::WithCallbackMethod_RecordPayment<
    v1::PaymentsService::WithCallbackMethod_ReversePayment<v1::PaymentsService::Service>>;

class PaymentsGrpcService final : public PaymentsServiceBase {
 public:
  // `router` (may be null: one replica) sends commands for accounts another replica owns
  // to that replica.
  explicit PaymentsGrpcService(PaymentsApi& api, command::CommandRouter* router = nullptr)
      : api_(api), router_(router) {}

  grpc::ServerUnaryReactor* RecordPayment(grpc::CallbackServerContext* context,
                                          const v1::RecordPaymentRequest* request,
                                          v1::CommandResult* response) override;
  grpc::ServerUnaryReactor* ReversePayment(grpc::CallbackServerContext* context,
                                           const v1::ReversePaymentRequest* request,
                                           v1::CommandResult* response) override;
  grpc::Status GetPayment(grpc::ServerContext*, const v1::GetPaymentRequest* request,
                          v1::Payment* response) override;
  grpc::Status ListPayments(grpc::ServerContext*, const v1::ListPaymentsRequest* request,
                            v1::ListPaymentsResponse* response) override;
  grpc::Status GetUnappliedCash(grpc::ServerContext*, const v1::GetUnappliedCashRequest* request,
                                v1::UnappliedCash* response) override;
  grpc::Status GetStatement(grpc::ServerContext*, const v1::GetStatementRequest* request,
                            v1::Statement* response) override;

 private:
  PaymentsApi& api_;
  command::CommandRouter* router_;
};

}  // namespace ar::payments
