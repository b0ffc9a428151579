#include "libs/testing/log_reader.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/core/status_macros.h"

namespace ar::testing {

absl::StatusOr<std::vector<eventlog::Record>> ReadTopic(eventlog::EventLog& log,
                                                        const std::string& topic) {
  ASSIGN_OR_RETURN(int32_t partitions, log.PartitionCount(topic));
  std::map<int32_t, int64_t> end;
  std::vector<eventlog::TopicPartitionOffset> assignment;
  for (int32_t p = 0; p < partitions; ++p) {
    ASSIGN_OR_RETURN(int64_t end_offset, log.EndOffset({topic, p}));
    if (end_offset > 0) {
      end[p] = end_offset;
      assignment.push_back({topic, p, eventlog::kOffsetBeginning});
    }
  }
  std::map<int32_t, std::vector<eventlog::Record>> by_partition;
  if (!assignment.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<eventlog::Consumer> consumer, log.NewConsumer({}));
    RETURN_IF_ERROR(consumer->Assign(assignment));
    size_t done = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (done < end.size()) {
      if (absl::Now() > deadline) {
        consumer->Close();
        return absl::DeadlineExceededError(absl::StrCat("reading ", topic, " took too long"));
      }
      ASSIGN_OR_RETURN(std::vector<eventlog::Record> records,
                       consumer->Poll(1000, absl::Milliseconds(100)));
      for (eventlog::Record& record : records) {
        const int64_t partition_end = end[record.partition];
        if (record.offset >= partition_end) continue;
        if (record.offset + 1 == partition_end) ++done;
        by_partition[record.partition].push_back(std::move(record));
      }
    }
    consumer->Close();
  }
  std::vector<eventlog::Record> all;
  for (auto& [partition, records] : by_partition) {
    for (eventlog::Record& record : records) all.push_back(std::move(record));
  }
  return all;
}

absl::StatusOr<std::vector<v1::Event>> ReadEvents(eventlog::EventLog& log,
                                                  const std::string& topic) {
  ASSIGN_OR_RETURN(std::vector<eventlog::Record> records, ReadTopic(log, topic));
  std::vector<v1::Event> events;
  for (const eventlog::Record& record : records) {
    v1::EventBatch batch;
    if (!batch.ParseFromString(record.value)) {
      return absl::DataLossError(
          absl::StrCat(topic, "/", record.partition, "@", record.offset, " is not an EventBatch"));
    }
    for (v1::Event& event : *batch.mutable_events()) events.push_back(std::move(event));
  }
  return events;
}

}  // namespace ar::testing
