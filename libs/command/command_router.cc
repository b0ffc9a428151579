#include "libs/command/command_router.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/grpc_status.h"

namespace ar::command {
namespace {

// What a forwarded call carries between the two replicas.
struct ForwardedCall {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer reply;
};

grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* context,
                                     const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(core::ToGrpcStatus(status));
  return reactor;
}

}  // namespace

grpc::GenericStub& CommandRouter::StubFor(const std::string& address) {
  std::lock_guard lock(stubs_mu_);
  std::unique_ptr<grpc::GenericStub>& stub = stubs_[address];
  if (!stub) {
    stub = std::make_unique<grpc::GenericStub>(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  return *stub;
}

grpc::ServerUnaryReactor* CommandRouter::ForwardIfNotOwner(grpc::CallbackServerContext* context,
                                                           const std::string& method,
                                                           std::string_view account,
                                                           const google::protobuf::Message& request,
                                                           google::protobuf::Message* response) {
  if (ownership_ == nullptr) return nullptr;
  absl::StatusOr<int32_t> partition = ownership_->PartitionOf(account);
  // Bad input (an empty account) is the command's own to reject.
  if (!partition.ok() || ownership_->Owns(*partition)) return nullptr;

  const auto& metadata = context->client_metadata();
  if (metadata.find(kForwardedMetadata) != metadata.end()) {
    return FinishWith(context, OwnershipMoving(absl::StrCat("forwarded here, but partition ",
                                                            *partition, " is not owned by ",
                                                            ownership_->advertise_address())));
  }
  absl::StatusOr<std::optional<std::string>> owner = ownership_->OwnerAddress(*partition);
  if (!owner.ok()) return FinishWith(context, owner.status());
  if (!owner->has_value() || **owner == ownership_->advertise_address()) {
    return FinishWith(context,
                      OwnershipMoving(absl::StrCat("no owner of partition ", *partition, " yet")));
  }

  auto call = std::make_shared<ForwardedCall>();
  call->context.set_deadline(context->deadline());
  call->context.AddMetadata(kForwardedMetadata, ownership_->advertise_address());
  for (const auto& [key, value] : metadata) {
    std::string name(key.data(), key.size());
    if (absl::StartsWith(name, "grpc-") || absl::StartsWith(name, ":")) continue;
    if (name == kForwardedMetadata) continue;
    call->context.AddMetadata(std::move(name), std::string(value.data(), value.size()));
  }
  std::string bytes = request.SerializeAsString();
  grpc::Slice slice(std::move(bytes));
  call->request = grpc::ByteBuffer(&slice, 1);

  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  StubFor(**owner).UnaryCall(
      &call->context, method, grpc::StubOptions(), &call->request, &call->reply,
      [call, reactor, response](grpc::Status status) {
        if (status.ok()) {
          std::vector<grpc::Slice> slices;
          std::string bytes;
          if (call->reply.Dump(&slices).ok()) {
            for (const grpc::Slice& s : slices) {
              bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
            }
          }
          if (!response->ParseFromString(bytes)) {
            status = grpc::Status(grpc::StatusCode::INTERNAL,
                                  "the owning replica's reply did not parse");
          }
        }
        reactor->Finish(status);
      });
  return reactor;
}

}  // namespace ar::command
