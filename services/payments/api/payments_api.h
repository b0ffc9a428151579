#pragma once
// The payments gRPC API: thin. Each method parses its request, runs the command through
// the CommandExecutor (domain rules inside) or reads the read model, and maps the
// absl::Status to a grpc::Status in one place (core::ToGrpcStatus).

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ar/v1/payments.grpc.pb.h"
#include "libs/command/command_executor.h"
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

  absl::StatusOr<v1::CommandResult> RecordPayment(const v1::RecordPaymentRequest& request);
  absl::StatusOr<v1::CommandResult> ReversePayment(const v1::ReversePaymentRequest& request);
  absl::StatusOr<v1::Payment> GetPayment(const v1::GetPaymentRequest& request);
  absl::StatusOr<v1::ListPaymentsResponse> ListPayments(const v1::ListPaymentsRequest& request);
  absl::StatusOr<v1::UnappliedCash> GetUnappliedCash(const v1::GetUnappliedCashRequest& request);
  absl::StatusOr<v1::Statement> GetStatement(const v1::GetStatementRequest& request);

 private:
  absl::Status AwaitConsistency(const v1::ReadConsistency& consistency);
  // Runs a command once every reaction to the invoicing records the read model already
  // shows for the account's partition has run, so a command never decides between an
  // invoice becoming visible and the reaction to it (which would make allocations depend
  // on timing). Checked again under the account's lock; retried while a reaction is due.
  absl::StatusOr<v1::CommandResult> ExecuteAfterReactions(const std::string& tenant,
                                                          const std::string& account,
                                                          const command::Decide& decide);
  absl::StatusOr<eventlog::TopicPartition> InvoicingPartitionOf(const std::string& account);
  // One RecordPayment per payment id at a time in this process: two requests with the same
  // id for different accounts would otherwise each pass the idempotency check under their
  // own account's lock.
  void LockPaymentId(const std::string& key);
  void UnlockPaymentId(const std::string& key);

  store::Store& store_;
  eventlog::EventLog& log_;
  command::CommandExecutor& executor_;
  projection::ProjectionRunner& projection_;
  projection::ProjectionRunner& reactor_;
  ApiOptions options_;
  std::atomic<int32_t> invoicing_partitions_{0};  // looked up once, on first use

  std::mutex payment_ids_mu_;
  std::condition_variable payment_ids_cv_;
  std::set<std::string> payment_ids_in_flight_;
};

class PaymentsGrpcService final : public v1::PaymentsService::Service {
 public:
  explicit PaymentsGrpcService(PaymentsApi& api) : api_(api) {}

  grpc::Status RecordPayment(grpc::ServerContext*, const v1::RecordPaymentRequest* request,
                             v1::CommandResult* response) override;
  grpc::Status ReversePayment(grpc::ServerContext*, const v1::ReversePaymentRequest* request,
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
};

}  // namespace ar::payments
