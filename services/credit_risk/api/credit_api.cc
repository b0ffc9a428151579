#include "services/credit_risk/api/credit_api.h"

#include <functional>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/command/read_consistency.h"
#include "libs/core/dates.h"
#include "libs/core/grpc_status.h"
#include "libs/core/ids.h"
#include "libs/core/status_macros.h"
#include "libs/protoconv/protoconv.h"
#include "services/credit_risk/projection/credit_projection.h"

namespace ar::credit {
namespace {

command::Decision ToDecision(Outcome outcome, std::string command_id) {
  command::Decision decision;
  decision.events = std::move(outcome.events);
  decision.duplicate_of = std::move(outcome.duplicate_of);
  decision.command_id = std::move(command_id);
  return decision;
}

// Page tokens: "<score>:<member>" of the last item returned, web-safe base64 so clients
// treat them as opaque.
std::string EncodePageToken(const store::ScoredMember& last) {
  return absl::WebSafeBase64Escape(absl::StrCat(last.score, ":", last.member));
}

absl::StatusOr<std::optional<store::ScoredMember>> DecodePageToken(const std::string& token) {
  if (token.empty()) return std::optional<store::ScoredMember>();
  std::string raw;
  store::ScoredMember last;
  std::pair<std::string, std::string> parts;
  if (absl::WebSafeBase64Unescape(token, &raw))
    parts = absl::StrSplit(raw, absl::MaxSplits(':', 1));
  if (parts.second.empty() || !absl::SimpleAtoi(parts.first, &last.score)) {
    return absl::InvalidArgumentError("bad page_token");
  }
  last.member = std::move(parts.second);
  return std::optional<store::ScoredMember>(std::move(last));
}

// Visits the members of a sorted set after `after` (by score, then member) in order, in
// chunks, until `visit` returns false.
absl::Status ScanAfter(
    store::Store& store, const std::string& key, const std::optional<store::ScoredMember>& after,
    const std::function<absl::StatusOr<bool>(const store::ScoredMember&)>& visit) {
  store::RangeOptions range;
  range.limit = 256;
  if (after) range.min_score = after->score;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<store::ScoredMember> members, store.ZRange(key, range));
    for (const store::ScoredMember& member : members) {
      if (after && member.score == after->score && member.member <= after->member) continue;
      ASSIGN_OR_RETURN(bool more, visit(member));
      if (!more) return absl::OkStatus();
    }
    if (static_cast<int64_t>(members.size()) < range.limit) return absl::OkStatus();
    range.offset += range.limit;
  }
}

bool Matches(const v1::CreditAccountState& state, const std::string& region,
             const std::string& subsidiary) {
  return (region.empty() || state.account().region() == region) &&
         (subsidiary.empty() || state.account().subsidiary() == subsidiary);
}

}  // namespace

CreditRiskApi::CreditRiskApi(store::Store& store, command::CommandExecutor& executor,
                             projection::ProjectionRunner& projection, Settings settings,
                             ApiOptions options)
    : store_(store),
      executor_(executor),
      projection_(projection),
      settings_(std::move(settings)),
      options_(options) {}

absl::StatusOr<v1::CommandResult> CreditRiskApi::SetCreditLimit(
    const v1::SetCreditLimitRequest& request) {
  RETURN_IF_ERROR(ValidateSetCreditLimit(request, settings_.base_currency));
  const std::string command_id = request.request_id().empty()
                                     ? absl::StrCat("limit:auto:", core::NewEventId())
                                     : SetCreditLimitCommandId(request.request_id());
  const std::string& tenant = request.account().tenant();
  const std::string& account = request.account().account();
  return executor_.Execute(tenant, account, [&]() -> absl::StatusOr<command::Decision> {
    ASSIGN_OR_RETURN(std::optional<v1::CreditAccountState> state,
                     LoadAccountState(store_, tenant, account));
    CommandContext context{command_id, absl::ToUnixMicros(absl::Now()), ""};
    ASSIGN_OR_RETURN(Outcome outcome,
                     DecideSetCreditLimit(request, state.value_or(v1::CreditAccountState()),
                                          settings_.base_currency, context));
    return ToDecision(std::move(outcome), command_id);
  });
}

absl::StatusOr<v1::CommandResult> CreditRiskApi::SetFxRate(const v1::SetFxRateRequest& request) {
  RETURN_IF_ERROR(ValidateSetFxRate(request));
  const std::string command_id = absl::StrCat("fx:", core::NewEventId());
  return executor_.Execute(
      request.tenant(), FxPartitionKey(request.from_currency(), request.to_currency()),
      [&]() -> absl::StatusOr<command::Decision> {
        CommandContext context{command_id, absl::ToUnixMicros(absl::Now()), ""};
        ASSIGN_OR_RETURN(absl::CivilDay effective,
                         protoconv::DayFromProto(request.effective_date(), "effective_date"));
        ASSIGN_OR_RETURN(std::optional<std::string> stored,
                         store_.HGet(Keys::FxDays(request.tenant(), request.from_currency(),
                                                  request.to_currency()),
                                     absl::StrCat(core::DayNumber(effective))));
        std::optional<int64_t> recorded;
        if (int64_t rate = 0; stored.has_value() && absl::SimpleAtoi(*stored, &rate)) {
          recorded = rate;
        }
        ASSIGN_OR_RETURN(Outcome outcome, DecideSetFxRate(request, recorded, context));
        return ToDecision(std::move(outcome), command_id);
      });
}

absl::Status CreditRiskApi::AwaitConsistency(const v1::ReadConsistency& consistency,
                                             absl::Time deadline) {
  return command::AwaitReadConsistency(projection_, consistency, CreditProjection::Topics(),
                                       "credit", options_.read_wait_timeout, deadline);
}

absl::StatusOr<int32_t> CreditRiskApi::PageSize(int32_t requested) const {
  if (requested < 0) return absl::InvalidArgumentError("page_size must not be negative");
  return requested == 0 ? options_.default_page_size : std::min(requested, options_.max_page_size);
}

absl::StatusOr<v1::CreditProfile> CreditRiskApi::BuildProfile(const v1::CreditAccountState& state,
                                                              QueryContext& context) {
  const std::string& base = settings_.base_currency;
  const v1::CreditPolicy& policy = settings_.policy;
  const std::string& region = state.account().region();
  if (!context.business_days.contains(region)) {
    std::optional<int64_t> day;
    if (!region.empty()) {
      ASSIGN_OR_RETURN(day, LoadBusinessDay(store_, region));
    }
    context.business_days[region] = day;
  }
  const std::optional<int64_t> business_day = context.business_days[region];
  ASSIGN_OR_RETURN(ScoreInputs inputs, ComputeInputs(state, context.fx, business_day));
  ASSIGN_OR_RETURN(Exposure exposure, ComputeExposure(state, context.fx));
  const Score score = ComputeScore(inputs, policy);

  v1::CreditProfile profile;
  *profile.mutable_account() = state.account();
  if (state.has_limit()) {
    *profile.mutable_limit() = protoconv::MoneyProto(state.limit_minor(), base);
    profile.set_utilisation_bp(static_cast<int32_t>(inputs.utilisation_bp.value_or(0)));
  }
  *profile.mutable_exposure() = protoconv::MoneyProto(exposure.base_minor, base);
  if (!state.credit_group().empty()) {
    profile.set_credit_group(state.credit_group());
    const std::string group_key = state.credit_group();
    if (!context.groups.contains(group_key)) {
      ASSIGN_OR_RETURN(context.groups[group_key],
                       LoadGroupView(store_, state.account().tenant(), group_key, context.fx));
    }
    if (const std::optional<GroupView>& group = context.groups[group_key]) {
      *profile.mutable_group_limit() = protoconv::MoneyProto(group->limit_minor, base);
      *profile.mutable_group_exposure() = protoconv::MoneyProto(group->exposure_minor, base);
      profile.set_group_utilisation_bp(
          static_cast<int32_t>(UtilisationBp(group->exposure_minor, group->limit_minor)));
    }
  }
  profile.set_score(score.score);
  profile.set_grade(GradeFor(score.score, policy));
  profile.set_rated_grade(state.rated_grade());
  for (const v1::ScoreFactor& factor : score.factors) *profile.add_factors() = factor;
  profile.set_on_hold(state.on_hold());
  profile.set_hold_rule(state.hold_rule());
  for (const auto& [currency, open] : exposure.by_currency) {
    *profile.mutable_open_by_currency()->add_amounts() = protoconv::MoneyProto(open, currency);
  }
  for (const std::string& currency : exposure.missing_rates) profile.add_missing_fx_rates(currency);
  if (business_day) {
    ASSIGN_OR_RETURN(absl::CivilDay day, core::DayFromNumber(*business_day));
    *profile.mutable_business_date() = protoconv::DayToProto(day);
  }
  profile.set_policy_version(policy.version());
  profile.set_max_days_past_due(static_cast<int32_t>(inputs.max_days_past_due));
  return profile;
}

absl::StatusOr<v1::CreditProfile> CreditRiskApi::GetCreditProfile(
    const v1::GetCreditProfileRequest& request, absl::Time deadline) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(core::ValidateId(request.account(), "account"));
  RETURN_IF_ERROR(AwaitConsistency(request.consistency(), deadline));
  ASSIGN_OR_RETURN(std::optional<v1::CreditAccountState> state,
                   LoadAccountState(store_, request.tenant(), request.account()));
  if (!state) {
    return absl::NotFoundError(absl::StrCat("no credit profile for account ", request.account()));
  }
  QueryContext context;
  ASSIGN_OR_RETURN(context.fx, LoadFxTable(store_, request.tenant(), settings_.base_currency));
  return BuildProfile(*state, context);
}

absl::StatusOr<v1::CreditProfileList> CreditRiskApi::ListProfiles(
    const ListQuery& query, const std::function<bool(const v1::CreditProfile&)>& include) {
  ASSIGN_OR_RETURN(int32_t page_size, PageSize(query.page_size));
  ASSIGN_OR_RETURN(std::optional<store::ScoredMember> after, DecodePageToken(query.page_token));
  RETURN_IF_ERROR(AwaitConsistency(query.consistency, query.deadline));
  QueryContext context;
  ASSIGN_OR_RETURN(context.fx, LoadFxTable(store_, query.tenant, settings_.base_currency));
  v1::CreditProfileList list;
  std::optional<store::ScoredMember> last;
  RETURN_IF_ERROR(
      ScanAfter(store_, query.index_key, after,
                [&](const store::ScoredMember& member) -> absl::StatusOr<bool> {
                  ASSIGN_OR_RETURN(std::optional<v1::CreditAccountState> state,
                                   LoadAccountState(store_, query.tenant, member.member));
                  if (!state || !Matches(*state, query.region, query.subsidiary)) return true;
                  ASSIGN_OR_RETURN(v1::CreditProfile profile, BuildProfile(*state, context));
                  if (!include(profile)) return true;
                  if (list.profiles_size() == page_size) {  // one more exists: the page is full
                    list.set_next_page_token(EncodePageToken(*last));
                    return false;
                  }
                  *list.add_profiles() = std::move(profile);
                  last = member;
                  return true;
                }));
  return list;
}

absl::StatusOr<v1::CreditProfileList> CreditRiskApi::ListAccountsByGrade(
    const v1::ListAccountsByGradeRequest& request, absl::Time deadline) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  const std::string& grade = request.grade();
  if (grade.size() != 1 || grade[0] < 'A' || grade[0] > 'E') {
    return absl::InvalidArgumentError("grade must be one of A..E");
  }
  return ListProfiles({request.tenant(), Keys::Grade(request.tenant(), grade), request.region(),
                       request.subsidiary(), request.page_size(), request.page_token(),
                       request.consistency(), deadline},
                      [](const v1::CreditProfile&) { return true; });
}

absl::StatusOr<v1::CreditProfileList> CreditRiskApi::ListAccountsOverLimit(
    const v1::ListAccountsOverLimitRequest& request, absl::Time deadline) {
  RETURN_IF_ERROR(core::ValidateId(request.tenant(), "tenant"));
  // Exposure depends on the FX rates of the moment, so it is computed here for every
  // account with a limit rather than kept in an index that FX events would invalidate.
  return ListProfiles(
      {request.tenant(), Keys::Limited(request.tenant()), request.region(), request.subsidiary(),
       request.page_size(), request.page_token(), request.consistency(), deadline},
      [](const v1::CreditProfile& profile) {
        return profile.exposure().minor_units() > profile.limit().minor_units() ||
               (profile.has_group_limit() &&
                profile.group_exposure().minor_units() > profile.group_limit().minor_units());
      });
}

// ---- gRPC: the one place statuses are mapped ----

namespace {
absl::Time DeadlineOf(const grpc::ServerContext* context) {
  return absl::FromChrono(context->deadline());
}
}  // namespace

grpc::Status CreditRiskGrpcService::SetCreditLimit(grpc::ServerContext*,
                                                   const v1::SetCreditLimitRequest* request,
                                                   v1::CommandResult* response) {
  return core::ReplyWith(api_.SetCreditLimit(*request), response);
}
grpc::Status CreditRiskGrpcService::SetFxRate(grpc::ServerContext*,
                                              const v1::SetFxRateRequest* request,
                                              v1::CommandResult* response) {
  return core::ReplyWith(api_.SetFxRate(*request), response);
}
grpc::Status CreditRiskGrpcService::GetCreditProfile(grpc::ServerContext* context,
                                                     const v1::GetCreditProfileRequest* request,
                                                     v1::CreditProfile* response) {
  return core::ReplyWith(api_.GetCreditProfile(*request, DeadlineOf(context)), response);
}
grpc::Status CreditRiskGrpcService::ListAccountsByGrade(
    grpc::ServerContext* context, const v1::ListAccountsByGradeRequest* request,
    v1::CreditProfileList* response) {
  return core::ReplyWith(api_.ListAccountsByGrade(*request, DeadlineOf(context)), response);
}
grpc::Status CreditRiskGrpcService::ListAccountsOverLimit(
    grpc::ServerContext* context, const v1::ListAccountsOverLimitRequest* request,
    v1::CreditProfileList* response) {
  return core::ReplyWith(api_.ListAccountsOverLimit(*request, DeadlineOf(context)), response);
}

}  // namespace ar::credit
