// arctl credit ...: credit limits, FX rates and credit profiles (the credit-risk service,
// through the gateway).

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status_macros.h"
#include "tools/arctl/command_support.h"
#include "tools/arctl/commands.h"
#include "tools/arctl/text.h"

namespace ar::arctl {
namespace {

absl::Status SetCreditLimit(Invocation& invocation) {
  v1::GatewaySetCreditLimitRequest request;
  *request.mutable_account() = AccountFrom(invocation);
  const std::string currency = absl::AsciiStrToUpper(invocation.GetOr("currency", "EUR"));
  ASSIGN_OR_RETURN(*request.mutable_limit(),
                   ParseAmount(*invocation.Get("limit"), currency, "limit"));
  if (auto group = invocation.Get("group")) {
    request.set_credit_group(*group);
    const std::optional<std::string> group_limit = invocation.Get("group-limit");
    if (!group_limit) return UsageError("--group needs --group-limit");
    ASSIGN_OR_RETURN(*request.mutable_group_limit(),
                     ParseAmount(*group_limit, currency, "group-limit"));
  }
  request.set_set_by(invocation.GetOr("by", "arctl"));
  request.set_request_id(invocation.GetOr("request-id", ""));
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->SetCreditLimit(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "set",
                     absl::StrCat("the credit limit of ", request.account().account()));
  return absl::OkStatus();
}

absl::Status SetFxRate(Invocation& invocation) {
  v1::GatewaySetFxRateRequest request;
  request.set_tenant(invocation.tenant());
  request.set_from_currency(absl::AsciiStrToUpper(*invocation.Get("from")));
  request.set_to_currency(absl::AsciiStrToUpper(*invocation.Get("to")));
  ASSIGN_OR_RETURN(int64_t rate_nano, ParseScaledDecimal(*invocation.Get("rate"), 9, "--rate"));
  if (rate_nano <= 0) return UsageError("--rate must be positive");
  request.set_rate_nano(rate_nano);
  ASSIGN_OR_RETURN(*request.mutable_effective_date(), DateOrToday(invocation, "date"));
  request.set_request_id(invocation.GetOr("request-id", ""));
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->SetFxRate(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "set",
                     absl::StrCat("FX rate ", request.from_currency(), "/", request.to_currency()));
  return absl::OkStatus();
}

absl::Status ShowCreditProfile(Invocation& invocation) {
  v1::GatewayCreditProfileRequest request;
  request.set_tenant(invocation.tenant());
  request.set_account(*invocation.Get("account"));
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::GatewayCreditProfile profile;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetCreditProfile(call.get(), request, &profile)));
  if (invocation.json()) {
    invocation.out() << ToJson(profile) << "\n";
    return absl::OkStatus();
  }
  std::ostream& out = invocation.out();
  out << "account      " << profile.account() << "\n"
      << "grade        " << (profile.grade().empty() ? "(not rated yet)" : profile.grade())
      << ", score " << profile.score() << " / 1000"
      << (profile.has_as_of() ? ", as of " + FormatDate(profile.as_of()) : "") << "\n"
      << "limit        "
      << (profile.has_credit_limit() ? FormatAmount(profile.credit_limit()) : "(none)") << "\n"
      << "exposure     " << FormatAmount(profile.exposure()) << " ("
      << FormatScaledDecimal(profile.utilisation_bp(), 2) << " % of the limit)\n";
  if (!profile.credit_group().empty()) {
    out << "group        " << profile.credit_group() << ": "
        << FormatAmount(profile.group_exposure()) << " of " << FormatAmount(profile.group_limit())
        << "\n";
  }
  out << "credit hold  "
      << (profile.on_credit_hold() ? absl::StrCat("YES: ", profile.hold_reason()) : "no") << "\n";
  if (profile.top_factors_size() > 0) {
    out << "\nwhat drives the score:\n";
    Table factors({"FACTOR", "POINTS", "DETAIL"}, {1});
    for (const v1::ScoreFactor& factor : profile.top_factors()) {
      factors.AddRow({factor.name(), absl::StrCat(factor.points()), factor.detail()});
    }
    factors.Print(out, "  ");
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> CreditCommands() {
  std::vector<FlagSpec> limit_flags = AccountFlags();
  limit_flags.push_back({"limit", "AMOUNT", "credit limit in the tenant's base currency", true});
  limit_flags.push_back({"currency", "CODE", "the base currency (default EUR)"});
  limit_flags.push_back({"group", "ID", "credit group (parent) the account belongs to"});
  limit_flags.push_back({"group-limit", "AMOUNT", "the group's limit across subsidiaries"});
  limit_flags.push_back({"by", "NAME", "who sets it (default arctl)"});
  limit_flags.push_back({"request-id", "ID", "idempotency key (default: by content)"});
  return {
      {"credit set-limit", "Set an account's credit limit (and optionally its credit group)", "",
       limit_flags,
       "example:\n  arctl credit set-limit --account ACME --limit 50000 --group ACME-GROUP "
       "--group-limit 200000",
       SetCreditLimit},
      {"credit fx-rate",
       "Set an FX rate used to convert exposure into the base currency",
       "",
       {{"from", "CODE", "currency converted from", true},
        {"to", "CODE", "currency converted to (the base currency)", true},
        {"rate", "DECIMAL", "units of --to per unit of --from, e.g. 0.92 (9 decimals at most)",
         true},
        {"date", "YYYY-MM-DD", "effective date (default today)"},
        {"request-id", "ID", "idempotency key (default: by content)"}},
       "example:\n  arctl credit fx-rate --from USD --to EUR --rate 0.92",
       SetFxRate},
      {"credit show",
       "An account's credit profile: limit, exposure, utilisation, score, grade, hold",
       "",
       {{"account", "ID", "customer account id", true}, MinPositionFlag()},
       "",
       ShowCreditProfile},
  };
}

}  // namespace ar::arctl
