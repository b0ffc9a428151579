#include "libs/command/call_completion.h"

#include "libs/core/grpc_status.h"

namespace ar::command {

CommandDone FinishCall(grpc::ServerUnaryReactor* reactor, v1::CommandResult* response) {
  return [reactor, response](absl::StatusOr<v1::CommandResult> result) {
    reactor->Finish(core::ReplyWith(std::move(result), response));
  };
}

}  // namespace ar::command
