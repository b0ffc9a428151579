#pragma once
// The collections gRPC API: thin. Each method parses its request, runs the command through
// the CommandExecutor (domain rules inside) or reads the read model, and maps the
// absl::Status to a grpc::Status in one place (core::ToGrpcStatus).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ar/v1/collections.grpc.pb.h"
#include "libs/command/command_executor.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"

namespace ar::collections {

struct ApiOptions {
  // How long a query waits for ReadConsistency.min_position before UNAVAILABLE.
  absl::Duration read_wait_timeout = absl::Seconds(5);
  int32_t default_page_size = 50;
  int32_t max_page_size = 500;
  // How long an aging report as of a past date may take to replay the log.
  absl::Duration as_of_replay_timeout = absl::Seconds(60);
};

// The collections business API without gRPC types around the statuses.
class CollectionsApi {
 public:
  CollectionsApi(store::Store& store, eventlog::EventLog& log, command::CommandExecutor& executor,
                 projection::ProjectionRunner& projection, std::vector<std::string> topics,
                 v1::CollectionsPolicy policy, ApiOptions options);

  absl::StatusOr<v1::CommandResult> RecordPromise(const v1::RecordPromiseRequest& request);
  absl::StatusOr<v1::CommandResult> WriteOffDebt(const v1::WriteOffDebtRequest& request);
  absl::StatusOr<v1::ListOverdueAccountsResponse> ListOverdueAccounts(
      const v1::ListOverdueAccountsRequest& request);
  absl::StatusOr<v1::AccountCollections> GetAccountCollections(
      const v1::GetAccountCollectionsRequest& request);
  absl::StatusOr<v1::AgingReport> GetAgingReport(const v1::GetAgingReportRequest& request);
  absl::StatusOr<v1::ListWriteOffCandidatesResponse> ListWriteOffCandidates(
      const v1::ListWriteOffCandidatesRequest& request);
  absl::StatusOr<v1::Kpis> GetKpis(const v1::GetKpisRequest& request);
  absl::StatusOr<v1::ListKpisResponse> ListKpis(const v1::ListKpisRequest& request);

 private:
  absl::Status AwaitConsistency(const v1::ReadConsistency& consistency);
  absl::StatusOr<int32_t> PageSize(int32_t requested) const;

  store::Store& store_;
  eventlog::EventLog& log_;
  command::CommandExecutor& executor_;
  projection::ProjectionRunner& projection_;
  std::vector<std::string> topics_;
  v1::CollectionsPolicy policy_;
  ApiOptions options_;
};

class CollectionsGrpcService final : public v1::CollectionsService::Service {
 public:
  explicit CollectionsGrpcService(CollectionsApi& api) : api_(api) {}

  grpc::Status RecordPromise(grpc::ServerContext*, const v1::RecordPromiseRequest* request,
                             v1::CommandResult* response) override;
  grpc::Status WriteOffDebt(grpc::ServerContext*, const v1::WriteOffDebtRequest* request,
                            v1::CommandResult* response) override;
  grpc::Status ListOverdueAccounts(grpc::ServerContext*,
                                   const v1::ListOverdueAccountsRequest* request,
                                   v1::ListOverdueAccountsResponse* response) override;
  grpc::Status GetAccountCollections(grpc::ServerContext*,
                                     const v1::GetAccountCollectionsRequest* request,
                                     v1::AccountCollections* response) override;
  grpc::Status GetAgingReport(grpc::ServerContext*, const v1::GetAgingReportRequest* request,
                              v1::AgingReport* response) override;
  grpc::Status ListWriteOffCandidates(grpc::ServerContext*,
                                      const v1::ListWriteOffCandidatesRequest* request,
                                      v1::ListWriteOffCandidatesResponse* response) override;
  grpc::Status GetKpis(grpc::ServerContext*, const v1::GetKpisRequest* request,
                       v1::Kpis* response) override;
  grpc::Status ListKpis(grpc::ServerContext*, const v1::ListKpisRequest* request,
                        v1::ListKpisResponse* response) override;

 private:
  CollectionsApi& api_;
};

}  // namespace ar::collections
