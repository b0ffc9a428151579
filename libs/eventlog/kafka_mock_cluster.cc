#include "libs/eventlog/kafka_mock_cluster.h"

#include <dirent.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ar::eventlog {

namespace {

// librdkafka 2.0.2's mock brokers leave Nagle's algorithm on their sockets. A client with
// several requests in flight on one connection (the idempotent producer allows 5) then
// gets the second of two back-to-back small responses only after it ACKs the first,
// which Linux delays by up to 40 ms: every batched produce round trip against the mock
// took ~45 ms whatever its size (max.in.flight=1 made it ~6 ms). The listening sockets are
// found by their ports and get TCP_NODELAY, which Linux passes on to accepted connections.
// Real brokers (Kafka's SocketServer) set TCP_NODELAY themselves.
void DisableNagleOnListeners(const std::string& bootstraps) {
  std::set<int> ports;
  size_t start = 0;
  while (start < bootstraps.size()) {
    size_t end = bootstraps.find(',', start);
    if (end == std::string::npos) end = bootstraps.size();
    const std::string address = bootstraps.substr(start, end - start);
    const size_t colon = address.rfind(':');
    if (colon != std::string::npos) ports.insert(atoi(address.c_str() + colon + 1));
    start = end + 1;
  }
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;  // only slower, never wrong
  while (const dirent* entry = readdir(fds)) {
    const int fd = atoi(entry->d_name);
    if (fd <= 2 || fd == dirfd(fds)) continue;
    int listening = 0;
    socklen_t length = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening) continue;
    sockaddr_storage address{};
    socklen_t address_length = sizeof(address);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0) continue;
    int port = -1;
    if (address.ss_family == AF_INET) {
      port = ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
    } else if (address.ss_family == AF_INET6) {
      port = ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
    }
    if (!ports.contains(port)) continue;
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  }
  closedir(fds);
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaMockCluster>> KafkaMockCluster::Start(int broker_count) {
  if (broker_count < 1) {
    return absl::InvalidArgumentError("kafka mock: broker_count must be at least 1");
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  // The handle exists only for the mock's book keeping and never connects anywhere; a
  // quieter log level hides the "no bootstrap.servers" notice that would otherwise print.
  if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("kafka mock: ", errstr));
  }
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("kafka mock: cannot create handle: ", errstr));
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, broker_count);
  if (cluster == nullptr) {
    rd_kafka_destroy(handle);
    return absl::InternalError("kafka mock: cannot start the mock cluster");
  }
  std::unique_ptr<KafkaMockCluster> mock(new KafkaMockCluster());
  mock->handle_ = handle;
  mock->cluster_ = cluster;
  mock->bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster);
  mock->broker_count_ = broker_count;
  DisableNagleOnListeners(mock->bootstraps_);
  return mock;
}

KafkaMockCluster::~KafkaMockCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::Status KafkaMockCluster::CheckBroker(int32_t broker_id) const {
  if (broker_id < 1 || broker_id > broker_count_) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka mock: no broker ", broker_id, " (ids are 1..", broker_count_, ")"));
  }
  return absl::OkStatus();
}

absl::Status KafkaMockCluster::BrokerDown(int32_t broker_id) {
  if (absl::Status s = CheckBroker(broker_id); !s.ok()) return s;
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_down(cluster_, broker_id);
  if (err)
    return absl::InternalError(absl::StrCat("kafka mock: broker down: ", rd_kafka_err2str(err)));
  return absl::OkStatus();
}

absl::Status KafkaMockCluster::BrokerUp(int32_t broker_id) {
  if (absl::Status s = CheckBroker(broker_id); !s.ok()) return s;
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_up(cluster_, broker_id);
  if (err)
    return absl::InternalError(absl::StrCat("kafka mock: broker up: ", rd_kafka_err2str(err)));
  return absl::OkStatus();
}

absl::Status KafkaMockCluster::CreateTopic(const std::string& topic, int32_t partitions,
                                           int replication_factor) {
  if (topic.empty() || partitions < 1) {
    return absl::InvalidArgumentError("kafka mock: topic needs a name and >= 1 partition");
  }
  if (replication_factor < 1) replication_factor = std::min(3, broker_count_);
  rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication_factor);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return absl::InternalError(
        absl::StrCat("kafka mock: create topic ", topic, ": ", rd_kafka_err2str(err)));
  }
  // It exists (created earlier, or auto-created by a client): compare partition counts
  // through the cluster's own metadata.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps_.c_str(), errstr, sizeof(errstr));
  rd_kafka_t* client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (client == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("kafka mock: ", errstr));
  }
  const rd_kafka_metadata_t* metadata = nullptr;
  absl::Status status = absl::UnavailableError("kafka mock: topic " + topic + " not in metadata");
  if (rd_kafka_metadata(client, 1, nullptr, &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      if (topic != metadata->topics[i].topic) continue;
      const int existing = metadata->topics[i].partition_cnt;
      status = existing == partitions ? absl::OkStatus()
                                      : absl::FailedPreconditionError(absl::StrCat(
                                            "kafka mock: topic ", topic, " exists with ", existing,
                                            " partitions, not ", partitions));
    }
    rd_kafka_metadata_destroy(metadata);
  }
  rd_kafka_destroy(client);
  return status;
}

KafkaLogOptions FastTestClientOptions(std::string bootstrap_servers) {
  KafkaLogOptions options;
  options.bootstrap_servers = std::move(bootstrap_servers);
  options.properties = {
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      // The mock broker holds an empty fetch for the full wait: keep it short so new
      // records reach consumers promptly.
      {"fetch.wait.max.ms", "100"},
      {"fetch.error.backoff.ms", "100"},
      {"topic.metadata.refresh.interval.ms", "1000"},
      {"reconnect.backoff.ms", "50"},
      {"reconnect.backoff.max.ms", "500"},
      {"retry.backoff.ms", "50"},
  };
  options.request_timeout = absl::Seconds(10);
  options.delivery_timeout = absl::Seconds(60);
  return options;
}

KafkaLogOptions KafkaMockCluster::ClientOptions() {
  KafkaLogOptions options = FastTestClientOptions(bootstraps_);
  options.create_topic_override = [this](const TopicSpec& spec) {
    return CreateTopic(spec.name, spec.partitions);
  };
  return options;
}

}  // namespace ar::eventlog
