#include "libs/command/read_consistency.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/command/command_executor.h"
#include "libs/core/text.h"

namespace ar::command {

absl::Status AwaitReadConsistency(projection::ProjectionRunner& projection,
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
  if (!projection.WaitForPosition(FromProto(position), wait)) {
    return absl::UnavailableError(
        absl::StrCat("the ", core::ToAbsl(read_model), " read model has not reached ",
                     position.topic(), "/", position.partition(), "@", position.offset(),
                     " within ", absl::FormatDuration(wait), "; retry later"));
  }
  return absl::OkStatus();
}

}  // namespace ar::command
