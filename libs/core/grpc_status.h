#pragma once
// The one place where absl::Status and grpc::Status are mapped onto each other. The
// canonical codes have the same numbers in both, so the mapping keeps code and message.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ar::core {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// A thin gRPC handler's answer: the value into `response`, or the error as a grpc::Status.
template <typename T>
grpc::Status ReplyWith(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace ar::core
