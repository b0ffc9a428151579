#pragma once
// The credit-risk gRPC API: thin. Commands run through the CommandExecutor (domain rules
// inside); queries read the read model and compute exposure, utilisation and the score
// at query time from the current FX rates and business date. Statuses are mapped to gRPC
// in one place (core::ToGrpcStatus).

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ar/v1/credit_risk.grpc.pb.h"
#include "libs/command/command_executor.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"
#include "services/credit_risk/domain/credit_rules.h"

namespace ar::credit {

struct ApiOptions {
  // How long a query waits for ReadConsistency.min_position before UNAVAILABLE.
  absl::Duration read_wait_timeout = absl::Seconds(5);
  int32_t default_page_size = 50;
  int32_t max_page_size = 500;
};

class CreditRiskApi {
 public:
  CreditRiskApi(store::Store& store, command::CommandExecutor& executor,
                projection::ProjectionRunner& projection, Settings settings, ApiOptions options);

  absl::StatusOr<v1::CommandResult> SetCreditLimit(const v1::SetCreditLimitRequest& request);
  absl::StatusOr<v1::CommandResult> SetFxRate(const v1::SetFxRateRequest& request);
  absl::StatusOr<v1::CreditProfile> GetCreditProfile(const v1::GetCreditProfileRequest& request,
                                                     absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<v1::CreditProfileList> ListAccountsByGrade(
      const v1::ListAccountsByGradeRequest& request, absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<v1::CreditProfileList> ListAccountsOverLimit(
      const v1::ListAccountsOverLimitRequest& request,
      absl::Time deadline = absl::InfiniteFuture());

 private:
  // What the profiles of one query share: FX rates, business dates and groups, loaded once.
  struct QueryContext {
    FxTable fx;
    std::map<std::string, std::optional<int64_t>> business_days;
    std::map<std::string, std::optional<GroupView>> groups;
  };
  // A page of the profiles of the accounts in a sorted-set index, in index order.
  struct ListQuery {
    const std::string& tenant;
    std::string index_key;
    const std::string& region;
    const std::string& subsidiary;
    int32_t page_size;
    const std::string& page_token;
    const v1::ReadConsistency& consistency;
    absl::Time deadline;
  };
  absl::StatusOr<v1::CreditProfileList> ListProfiles(
      const ListQuery& query, const std::function<bool(const v1::CreditProfile&)>& include);
  absl::Status AwaitConsistency(const v1::ReadConsistency& consistency, absl::Time deadline);
  absl::StatusOr<v1::CreditProfile> BuildProfile(const v1::CreditAccountState& state,
                                                 QueryContext& context);
  absl::StatusOr<int32_t> PageSize(int32_t requested) const;

  store::Store& store_;
  command::CommandExecutor& executor_;
  projection::ProjectionRunner& projection_;
  Settings settings_;
  ApiOptions options_;
};

class CreditRiskGrpcService final : public v1::CreditRiskService::Service {
 public:
  explicit CreditRiskGrpcService(CreditRiskApi& api) : api_(api) {}

  grpc::Status SetCreditLimit(grpc::ServerContext*, const v1::SetCreditLimitRequest* request,
                              v1::CommandResult* response) override;
  grpc::Status SetFxRate(grpc::ServerContext*, const v1::SetFxRateRequest* request,
                         v1::CommandResult* response) override;
  grpc::Status GetCreditProfile(grpc::ServerContext* context,
                                const v1::GetCreditProfileRequest* request,
                                v1::CreditProfile* response) override;
  grpc::Status ListAccountsByGrade(grpc::ServerContext* context,
                                   const v1::ListAccountsByGradeRequest* request,
                                   v1::CreditProfileList* response) override;
  grpc::Status ListAccountsOverLimit(grpc::ServerContext* context,
                                     const v1::ListAccountsOverLimitRequest* request,
                                     v1::CreditProfileList* response) override;

 private:
  CreditRiskApi& api_;
};

}  // namespace ar::credit
