// arctl health, and the table of every command.

#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/core/status_macros.h"
#include "tools/arctl/command_support.h"
#include "tools/arctl/commands.h"
#include "tools/arctl/text.h"

namespace ar::arctl {
namespace {

// grpc.health.v1 Check of the whole server: SERVING once every hosted service has caught
// up with the log. Anything else is "unavailable" (exit 5), so scripts can poll it.
absl::Status CheckHealth(Invocation& invocation) {
  auto stub = grpc::health::v1::Health::NewStub(invocation.context().channel());
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(invocation.GetOr("service", ""));
  grpc::health::v1::HealthCheckResponse response;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(stub->Check(call.get(), request, &response)));
  const std::string status =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  if (invocation.json()) {
    invocation.out() << ToJson(response) << "\n";
  } else {
    invocation.out() << invocation.context().server << ": " << status << "\n";
  }
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(absl::StrCat("health is ", status));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> SystemCommands() {
  return {
      {"health",
       "Is ar-suite serving? (exit 0 when SERVING, 5 otherwise)",
       "",
       {{"service", "NAME",
         "one gRPC service, e.g. ar.v1.InvoicingService (default: the whole server)"}},
       "",
       CheckHealth},
  };
}

std::vector<CommandSpec> AllCommands() {
  std::vector<CommandSpec> all;
  for (std::vector<CommandSpec> (*group)() :
       {InvoiceCommands, PaymentCommands, CreditCommands, CollectionsCommands, GatewayCommands,
        ClockCommands, SystemCommands}) {
    for (CommandSpec& command : group()) all.push_back(std::move(command));
  }
  return all;
}

}  // namespace ar::arctl
