#pragma once
// What the command handlers share: account flags, read-your-writes flags, dates with a
// default, gRPC calls turned into absl::Status, and how a command's result is printed.

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "tools/arctl/cli.h"

namespace ar::arctl {

// Every command talks to ar.v1.Gateway, as users do (the services behind it are the
// gateway's business).
std::unique_ptr<v1::Gateway::Stub> Gateway(Invocation& invocation);

// --account (required), --region (default eu), --subsidiary (default main).
std::vector<FlagSpec> AccountFlags();
v1::AccountRef AccountFrom(const Invocation& invocation);

// --min-position TOPIC/PARTITION/OFFSET: the query waits until the read model has it.
FlagSpec MinPositionFlag();
absl::Status ApplyMinPosition(const Invocation& invocation, v1::ReadConsistency* consistency);

// The date in `flag`, or today (UTC) when it is not given.
absl::StatusOr<v1::Date> DateOrToday(const Invocation& invocation, const std::string& flag);

// A gRPC status as an absl::Status (same code and message).
absl::Status FromGrpc(const grpc::Status& status);

// "issued invoice INV-1 at ar.invoicing.events/3/17", or for an idempotent repeat
// "invoice INV-1: already issued with this content, nothing new published (...)";
// with --json the CommandResult itself.
void PrintCommandResult(Invocation& invocation, const v1::CommandResult& result,
                        absl::string_view verb, absl::string_view subject);

}  // namespace ar::arctl
