#include "tools/arctl/command_support.h"

#include "absl/strings/str_cat.h"
#include "libs/core/grpc_status.h"
#include "tools/arctl/text.h"

namespace ar::arctl {

std::unique_ptr<v1::Gateway::Stub> Gateway(Invocation& invocation) {
  return v1::Gateway::NewStub(invocation.context().channel());
}

std::vector<FlagSpec> AccountFlags() {
  return {
      {"account", "ID", "customer account id", /*required=*/true},
      {"region", "ID", "account's region (default eu)"},
      {"subsidiary", "ID", "subsidiary that owns the account (default main)"},
  };
}

v1::AccountRef AccountFrom(const Invocation& invocation) {
  v1::AccountRef account;
  account.set_tenant(invocation.tenant());
  account.set_region(invocation.GetOr("region", "eu"));
  account.set_subsidiary(invocation.GetOr("subsidiary", "main"));
  account.set_account(invocation.GetOr("account", ""));
  return account;
}

FlagSpec MinPositionFlag() {
  return {"min-position", "TOPIC/PART/OFFSET",
          "wait until the read model has applied this position (what a command printed)"};
}

absl::Status ApplyMinPosition(const Invocation& invocation, v1::ReadConsistency* consistency) {
  std::optional<std::string> text = invocation.Get("min-position");
  if (!text) return absl::OkStatus();
  absl::StatusOr<v1::LogPosition> position = ParsePosition(*text);
  if (!position.ok()) return position.status();
  *consistency->mutable_min_position() = *position;
  return absl::OkStatus();
}

absl::StatusOr<v1::Date> DateOrToday(const Invocation& invocation, const std::string& flag) {
  std::optional<std::string> text = invocation.Get(flag);
  if (!text) return Today();
  return ParseDate(*text, flag);
}

absl::Status FromGrpc(const grpc::Status& status) { return core::FromGrpcStatus(status); }

void PrintCommandResult(Invocation& invocation, const v1::CommandResult& result,
                        absl::string_view verb, absl::string_view subject) {
  if (invocation.json()) {
    invocation.out() << ToJson(result) << "\n";
    return;
  }
  if (result.duplicate()) {
    invocation.out() << subject << ": already " << verb
                     << " with this content, nothing new published (position "
                     << FormatPosition(result.position()) << ")\n";
  } else {
    invocation.out() << verb << " " << subject << " at " << FormatPosition(result.position())
                     << "\n";
  }
}

}  // namespace ar::arctl
