#pragma once
// Sends a command RPC to the replica that owns its account (see ownership.h), generically:
// the method name and the serialized request go through grpc::GenericStub, so a service
// needs one call at the top of each command handler and nothing per RPC:
//
//   if (auto* forwarded = router_->ForwardIfNotOwner(context, "/ar.v1.X/Y",
//                                                    request->account_id(), *request,
//                                                    response)) {
//     return forwarded;
//   }
//
// A forwarded call carries `ar-forwarded` metadata and is never forwarded again: a replica
// that receives one for an account it does not own (ownership moved meanwhile) answers
// UNAVAILABLE, as does a replica that knows no owner. Commands are idempotent by their
// ids, so callers retry UNAVAILABLE.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "google/protobuf/message.h"
#include "libs/command/ownership.h"

namespace ar::command {

inline constexpr char kForwardedMetadata[] = "ar-forwarded";

class CommandRouter {
 public:
  // Null `ownership`: this replica owns every account and never forwards.
  explicit CommandRouter(CommandOwnership* ownership) : ownership_(ownership) {}
  CommandRouter(const CommandRouter&) = delete;
  CommandRouter& operator=(const CommandRouter&) = delete;

  // Null when this replica should run the command itself (it owns the account, or has no
  // ownership at all). Otherwise the call's reactor, finished by the owner's answer (or
  // UNAVAILABLE); `response` is filled from the owner's reply. `method` is the full gRPC
  // method name, "/package.Service/Method".
  grpc::ServerUnaryReactor* ForwardIfNotOwner(grpc::CallbackServerContext* context,
                                              const std::string& method, std::string_view account,
                                              const google::protobuf::Message& request,
                                              google::protobuf::Message* response);

 private:
  grpc::GenericStub& StubFor(const std::string& address);

  CommandOwnership* ownership_;
  std::mutex stubs_mu_;
  std::map<std::string, std::unique_ptr<grpc::GenericStub>> stubs_;
};

}  // namespace ar::command
