#pragma once
// Read-your-writes for queries: a client that holds the log position its command returned
// passes it as `min_position`, and the query waits (bounded) until the read model has
// applied it. One implementation for every service's query API.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ar/v1/common.pb.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"

namespace ar::command {

// OK at once without a min_position. A topic the read model does not follow, or a negative
// partition or offset -> INVALID_ARGUMENT; not reached within min(max_wait, the caller's
// deadline) -> UNAVAILABLE (retry later). `read_model` names it in messages ("invoicing").
// `shared`: with replicas, the read model is shared and `projection` holds only this
// replica's partitions; a position in another replica's partition is found applied in the
// store's checkpoints of `shared->projection_name` (looked at every few milliseconds).
struct SharedReadModel {
  store::Store* store = nullptr;
  std::string projection_name;
};
absl::Status AwaitReadConsistency(projection::ProjectionRunner& projection,
                                  const SharedReadModel& shared,
                                  const v1::ReadConsistency& consistency,
                                  const std::vector<std::string>& followed_topics,
                                  std::string_view read_model, absl::Duration max_wait,
                                  absl::Time caller_deadline = absl::InfiniteFuture());
absl::Status AwaitReadConsistency(projection::ProjectionRunner& projection,
                                  const v1::ReadConsistency& consistency,
                                  const std::vector<std::string>& followed_topics,
                                  std::string_view read_model, absl::Duration max_wait,
                                  absl::Time caller_deadline = absl::InfiniteFuture());

}  // namespace ar::command
