#include "libs/servicekit/backends.h"

#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/status_macros.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/eventlog/kafka_log.h"
#include "libs/store/memory_store.h"
#include "libs/store/redis_store.h"

ABSL_FLAG(std::string, log_backend, "embedded", "event log backend: embedded or kafka");
ABSL_FLAG(std::string, data_dir, "var/data",
          "data directory (the embedded log lives in <data_dir>/log)");
ABSL_FLAG(std::string, kafka_brokers, "", "Kafka bootstrap servers, host:port[,host:port...]");
ABSL_FLAG(std::vector<std::string>, kafka_property, {},
          "librdkafka settings passed through, key=value[,key=value...]");
ABSL_FLAG(int32_t, topic_partitions, 8, "partitions of topics created at start");
ABSL_FLAG(int32_t, kafka_replication_factor, -1,
          "replication factor of topics created at start (-1: broker default)");
ABSL_FLAG(std::string, store_backend, "memory", "read-model store backend: memory or redis");
ABSL_FLAG(std::string, redis_address, "127.0.0.1:6379", "Redis host:port");
ABSL_FLAG(std::string, redis_password, "", "Redis password (AUTH)");
ABSL_FLAG(std::string, redis_key_prefix, "", "prefix of every Redis key this process writes");

namespace ar::servicekit {

absl::StatusOr<BackendSettings> BackendSettingsFromFlags() {
  BackendSettings settings;
  settings.log_backend = absl::GetFlag(FLAGS_log_backend);
  settings.data_dir = absl::GetFlag(FLAGS_data_dir);
  settings.kafka_brokers = absl::GetFlag(FLAGS_kafka_brokers);
  for (const std::string& property : absl::GetFlag(FLAGS_kafka_property)) {
    std::vector<std::string> kv = absl::StrSplit(property, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--kafka_property wants key=value, got '", property, "'"));
    }
    settings.kafka_properties[kv[0]] = kv[1];
  }
  settings.topic_partitions = absl::GetFlag(FLAGS_topic_partitions);
  settings.kafka_replication_factor = absl::GetFlag(FLAGS_kafka_replication_factor);
  settings.store_backend = absl::GetFlag(FLAGS_store_backend);
  settings.redis_address = absl::GetFlag(FLAGS_redis_address);
  settings.redis_password = absl::GetFlag(FLAGS_redis_password);
  settings.redis_key_prefix = absl::GetFlag(FLAGS_redis_key_prefix);
  if (settings.topic_partitions < 1) {
    return absl::InvalidArgumentError("--topic_partitions must be at least 1");
  }
  return settings;
}

absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenEventLog(const BackendSettings& settings) {
  if (settings.log_backend == "embedded") {
    eventlog::EmbeddedLogOptions options;
    options.data_dir = settings.data_dir + "/log";
    options.create_if_missing = true;
    return eventlog::OpenEmbeddedLog(options);
  }
  if (settings.log_backend == "kafka") {
    if (settings.kafka_brokers.empty()) {
      return absl::InvalidArgumentError("--log_backend=kafka needs --kafka_brokers");
    }
    eventlog::KafkaLogOptions options;
    options.bootstrap_servers = settings.kafka_brokers;
    options.properties = settings.kafka_properties;
    options.replication_factor = settings.kafka_replication_factor;
    return eventlog::OpenKafkaLog(options);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log backend '", settings.log_backend, "' (embedded or kafka)"));
}

absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const BackendSettings& settings) {
  if (settings.store_backend == "memory") return store::NewMemoryStore();
  if (settings.store_backend == "redis") {
    store::RedisStoreOptions options;
    std::vector<std::string> host_port = absl::StrSplit(settings.redis_address, ':');
    if (host_port.size() != 2 || !absl::SimpleAtoi(host_port[1], &options.port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis_address wants host:port, got '", settings.redis_address, "'"));
    }
    options.host = host_port[0];
    options.password = settings.redis_password;
    options.key_prefix = settings.redis_key_prefix;
    return store::OpenRedisStore(options);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown store backend '", settings.store_backend, "' (memory or redis)"));
}

absl::Status EnsureTopics(eventlog::EventLog& log, const BackendSettings& settings,
                          const std::vector<std::string>& topics) {
  for (const std::string& topic : topics) {
    auto partitions = log.PartitionCount(topic);
    if (partitions.ok()) continue;
    if (!absl::IsNotFound(partitions.status())) return partitions.status();
    RETURN_IF_ERROR(log.CreateTopic({topic, settings.topic_partitions}));
  }
  return absl::OkStatus();
}

}  // namespace ar::servicekit
