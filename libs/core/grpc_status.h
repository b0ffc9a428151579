#pragma once
// The one place where absl::Status and grpc::Status are mapped onto each other. The
// canonical codes have the same numbers in both, so the mapping keeps code and message.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace ar::core {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ar::core
