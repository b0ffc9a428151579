#pragma once
// The collections service's command-line setting (--collections_policy), defined once for
// every binary that hosts the service (ar-collections, ar-suite).

#include "absl/status/statusor.h"
#include "ar/v1/collections.pb.h"

namespace ar::collections {

// The policy named by --collections_policy (or AR_COLLECTIONS_POLICY): the built-in
// defaults when empty; an unreadable file -> NOT_FOUND, a bad one -> INVALID_ARGUMENT.
absl::StatusOr<v1::CollectionsPolicy> PolicyFromFlags();

}  // namespace ar::collections
