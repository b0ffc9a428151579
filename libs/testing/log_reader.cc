#include "libs/testing/log_reader.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/core/status_macros.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/eventlog/scan.h"

namespace ar::testing {

absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenEmbeddedTestLog(
    const std::string& data_dir) {
  eventlog::EmbeddedLogOptions options;
  options.data_dir = data_dir;
  options.create_if_missing = true;
  return eventlog::OpenEmbeddedLog(options);
}

absl::StatusOr<std::vector<eventlog::Record>> ReadTopic(eventlog::EventLog& log,
                                                        const std::string& topic) {
  std::map<int32_t, std::vector<eventlog::Record>> by_partition;
  RETURN_IF_ERROR(
      eventlog::ScanToEnd(log, {topic}, absl::Seconds(30), [&](const eventlog::Record& record) {
        by_partition[record.partition].push_back(record);
        return absl::OkStatus();
      }));
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
