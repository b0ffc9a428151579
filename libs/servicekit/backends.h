#pragma once
// Which event log and which read-model store a process runs on, chosen by settings.
// Service code never sees the choice: it gets an EventLog and a Store.

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/eventlog/eventlog.h"
#include "libs/store/store.h"

namespace ar::servicekit {

struct BackendSettings {
  std::string log_backend = "embedded";                 // "embedded" or "kafka"
  std::string data_dir = "var/data";                    // embedded log lives in <data_dir>/log
  std::string kafka_brokers;                            // host:port[,host:port...]
  std::map<std::string, std::string> kafka_properties;  // passed to librdkafka
  int32_t topic_partitions = 8;                         // for topics created at start
  int kafka_replication_factor = -1;

  std::string store_backend = "memory";  // "memory" or "redis"
  std::string redis_address = "127.0.0.1:6379";
  std::string redis_password;
  std::string redis_key_prefix;
};

// From the --log_backend, --data_dir, --kafka_brokers, --kafka_property, --topic_partitions,
// --store_backend, --redis_address, --redis_password, --redis_key_prefix flags (or their
// AR_* environment variables).
absl::StatusOr<BackendSettings> BackendSettingsFromFlags();

absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenEventLog(const BackendSettings& settings);
absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const BackendSettings& settings);

// Creates each topic with settings.topic_partitions when missing.
absl::Status EnsureTopics(eventlog::EventLog& log, const BackendSettings& settings,
                          const std::vector<std::string>& topics);

}  // namespace ar::servicekit
