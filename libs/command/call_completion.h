#pragma once
// The end of a command started by a gRPC callback-API handler: the command's result
// finishes the call. One place for every service that runs commands asynchronously.

#include <grpcpp/grpcpp.h>

#include "ar/v1/common.pb.h"
#include "libs/command/command_executor.h"

namespace ar::command {

// A CommandDone that answers the call: the result into `response`, or the error as its
// grpc::Status (core::ReplyWith). gRPC keeps `response` alive until Finish.
CommandDone FinishCall(grpc::ServerUnaryReactor* reactor, v1::CommandResult* response);

}  // namespace ar::command
