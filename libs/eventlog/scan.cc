#include "libs/eventlog/scan.h"

#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/status_macros.h"

namespace ar::eventlog {

absl::Status ScanToEnd(EventLog& log, const std::vector<std::string>& topics,
                       absl::Duration timeout,
                       const std::function<absl::Status(const Record&)>& visit) {
  const absl::Time deadline = absl::Now() + timeout;
  std::map<TopicPartition, int64_t> ends;
  std::vector<TopicPartitionOffset> assignment;
  for (const std::string& topic : topics) {
    ASSIGN_OR_RETURN(int32_t partitions, log.PartitionCount(topic));
    for (int32_t p = 0; p < partitions; ++p) {
      ASSIGN_OR_RETURN(int64_t end, log.EndOffset({topic, p}));
      if (end == 0) continue;
      ends[{topic, p}] = end;
      assignment.push_back({topic, p, kOffsetBeginning});
    }
  }
  if (assignment.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::unique_ptr<Consumer> consumer, log.NewConsumer({}));
  absl::Status status = consumer->Assign(assignment);
  size_t finished = 0;
  while (status.ok() && finished < ends.size()) {
    if (absl::Now() > deadline) {
      status = absl::DeadlineExceededError(absl::StrCat(
          "reading ", finished, " of ", ends.size(), " partitions to their end took longer than ",
          absl::FormatDuration(timeout)));
      break;
    }
    absl::StatusOr<std::vector<Record>> records = consumer->Poll(4096, absl::Milliseconds(100));
    if (!records.ok()) {
      status = records.status();
      break;
    }
    for (const Record& record : *records) {
      auto end = ends.find({record.topic, record.partition});
      if (end == ends.end() || record.offset >= end->second) continue;
      status = visit(record);
      if (!status.ok()) break;
      if (record.offset + 1 == end->second) ++finished;
    }
  }
  consumer->Close();
  return status;
}

}  // namespace ar::eventlog
