#include "libs/command/read_consistency.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/command/command_executor.h"
#include "libs/core/text.h"

namespace ar::command {

namespace {

// Whether the store's checkpoint of `projection_name` is past `position`.
bool AppliedInStore(const SharedReadModel& shared, const eventlog::LogPosition& position) {
  auto checkpoints = shared.store->LoadCheckpoints(shared.projection_name);
  if (!checkpoints.ok()) return false;
  for (const store::Checkpoint& c : *checkpoints) {
    if (c.topic == position.topic && c.partition == position.partition) {
      return c.next_offset > position.offset;
    }
  }
  return false;
}

bool WaitApplied(projection::ProjectionRunner& projection, const SharedReadModel& shared,
                 const eventlog::LogPosition& position, absl::Duration wait) {
  if (shared.store == nullptr) return projection.WaitForPosition(position, wait);
  const absl::Time deadline = absl::Now() + wait;
  while (true) {
    const absl::Duration slice = std::min(absl::Milliseconds(20), deadline - absl::Now());
    if (projection.WaitForPosition(position, std::max(slice, absl::ZeroDuration()))) return true;
    if (AppliedInStore(shared, position)) return true;
    if (absl::Now() >= deadline) return false;
  }
}

}  // namespace

absl::Status AwaitReadConsistency(projection::ProjectionRunner& projection,
                                  const v1::ReadConsistency& consistency,
                                  const std::vector<std::string>& followed_topics,
                                  std::string_view read_model, absl::Duration max_wait,
                                  absl::Time caller_deadline) {
  return AwaitReadConsistency(projection, SharedReadModel(), consistency, followed_topics,
                              read_model, max_wait, caller_deadline);
}

absl::Status AwaitReadConsistency(projection::ProjectionRunner& projection,
                                  const SharedReadModel& shared,
                                  const v1::ReadConsistency& consistency,
                                  const std::vector<std::string>& followed_topics,
                                  std::string_view read_model, absl::Duration max_wait,
                                  absl::Time caller_deadline) {
  const v1::LogPosition& position = consistency.min_position();
  if (position.topic().empty()) return absl::OkStatus();
  if (std::find(followed_topics.begin(), followed_topics.end(), position.topic()) ==
      followed_topics.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency.min_position names topic '", position.topic(), "', which the ",
                     core::ToAbsl(read_model), " read model does not read"));
  }
  if (position.partition() < 0 || position.offset() < 0) {
    return absl::InvalidArgumentError(
        "consistency.min_position has a negative partition or offset");
  }
  const absl::Duration wait =
      std::max(std::min(max_wait, caller_deadline - absl::Now()), absl::ZeroDuration());
  if (!WaitApplied(projection, shared, FromProto(position), wait)) {
    return absl::UnavailableError(
        absl::StrCat("the ", core::ToAbsl(read_model), " read model has not reached ",
                     position.topic(), "/", position.partition(), "@", position.offset(),
                     " within ", absl::FormatDuration(wait), "; retry later"));
  }
  return absl::OkStatus();
}

}  // namespace ar::command
