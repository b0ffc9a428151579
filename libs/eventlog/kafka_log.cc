#include "libs/eventlog/kafka_log.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/core/status_macros.h"

namespace ar::eventlog {

static_assert(kOffsetBeginning == RD_KAFKA_OFFSET_BEGINNING);
static_assert(kOffsetEnd == RD_KAFKA_OFFSET_END);
static_assert(kOffsetCommitted == RD_KAFKA_OFFSET_STORED);
static_assert(kNoOffset == RD_KAFKA_OFFSET_INVALID);

absl::StatusCode KafkaErrorToStatusCode(int code) {
  switch (static_cast<rd_kafka_resp_err_t>(code)) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return absl::StatusCode::kOk;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return absl::StatusCode::kDeadlineExceeded;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
      return absl::StatusCode::kUnavailable;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__NO_OFFSET:
      return absl::StatusCode::kNotFound;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return absl::StatusCode::kAlreadyExists;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return absl::StatusCode::kInvalidArgument;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
      return absl::StatusCode::kPermissionDenied;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return absl::StatusCode::kResourceExhausted;
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
      return absl::StatusCode::kAborted;
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
      return absl::StatusCode::kUnimplemented;
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
      return absl::StatusCode::kOutOfRange;
    case RD_KAFKA_RESP_ERR__STATE:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

namespace {

absl::Status KafkaError(rd_kafka_resp_err_t err, absl::string_view what,
                        absl::string_view detail = {}) {
  return absl::Status(
      KafkaErrorToStatusCode(err),
      absl::StrCat("kafka: ", what, ": ", rd_kafka_err2name(err), " (",
                   detail.empty() ? absl::string_view(rd_kafka_err2str(err)) : detail, ")"));
}

// Takes ownership of an rd_kafka_error_t and turns it into a Status.
absl::Status TakeKafkaError(rd_kafka_error_t* error, absl::string_view what) {
  if (error == nullptr) return absl::OkStatus();
  absl::Status status = KafkaError(rd_kafka_error_code(error), what, rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  return status;
}

int TimeoutMillis(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(timeout) + 1, 1 << 30));
}

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct TopicPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionListPtr =
    std::unique_ptr<rd_kafka_topic_partition_list_t, TopicPartitionListDeleter>;

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;

struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

// Settings the backend's guarantees rest on: callers may repeat them but not change them.
const std::map<std::string, std::string>& RequiredProducerSettings() {
  static const auto* settings = new std::map<std::string, std::string>{
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"partitioner", "murmur2_random"},
  };
  return *settings;
}

const std::map<std::string, std::string>& RequiredConsumerSettings() {
  static const auto* settings = new std::map<std::string, std::string>{
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
  };
  return *settings;
}

bool SameSetting(std::string_view key, std::string_view a, std::string_view b) {
  if (a == b) return true;
  if (key == "acks") {
    auto is_all = [](std::string_view v) { return v == "all" || v == "-1"; };
    return is_all(a) && is_all(b);
  }
  return false;
}

// librdkafka's default logger, minus the notices that a setting applies only to the other
// client type: every client gets all `properties`, so those would fire on every start.
void LogToStderr(const rd_kafka_t* handle, int level, const char* facility, const char* message) {
  if (std::string_view(facility) == "CONFWARN" &&
      std::string_view(message).find("will be ignored by this") != std::string_view::npos) {
    return;
  }
  fprintf(stderr, "%%%d|%s|%s|%s\n", level, facility, rd_kafka_name(handle), message);
}

absl::StatusOr<ConfPtr> MakeConf(const KafkaLogOptions& options,
                                 const std::map<std::string, std::string>& defaults,
                                 const std::map<std::string, std::string>& required) {
  std::map<std::string, std::string> settings = defaults;
  settings["bootstrap.servers"] = options.bootstrap_servers;
  for (const auto& [key, value] : options.properties) settings[key] = value;
  for (const auto& [key, value] : required) settings[key] = value;

  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &LogToStderr);
  char errstr[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka: bad setting ", key, "=", value, ": ", errstr));
    }
  }
  return conf;
}

absl::StatusOr<rd_kafka_t*> NewHandle(rd_kafka_type_t type, ConfPtr conf) {
  char errstr[512];
  rd_kafka_t* handle = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (handle == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka: cannot create client: ", errstr));
  }
  conf.release();  // rd_kafka_new took ownership
  return handle;
}

PartitionListPtr ToPartitionList(const std::vector<TopicPartitionOffset>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& p : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset = p.offset;
  }
  return list;
}

PartitionListPtr ToPartitionList(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& p : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
  }
  return list;
}

std::vector<TopicPartitionOffset> FromPartitionList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartitionOffset> out;
  if (list == nullptr) return out;
  out.reserve(list->cnt);
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  }
  return out;
}

// The first per-partition error in a list, if any.
absl::Status PartitionListError(const rd_kafka_topic_partition_list_t* list,
                                absl::string_view what) {
  for (int i = 0; list != nullptr && i < list->cnt; ++i) {
    if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError(list->elems[i].err, absl::StrCat(what, " ", list->elems[i].topic, "/",
                                                         list->elems[i].partition));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Producer
// ---------------------------------------------------------------------------------------

class KafkaProducer final : public Producer {
 public:
  explicit KafkaProducer(KafkaLogOptions options) : options_(std::move(options)) {}
  ~KafkaProducer() override { Stop(absl::Seconds(2)); }

  absl::Status Start() {
    ASSIGN_OR_RETURN(rd_kafka_t * handle, NewProducerHandle());
    {
      absl::WriterMutexLock lock(&handle_mu_);
      handle_ = handle;
      ++handle_generation_;
    }
    poll_thread_ = std::thread([this] { PollLoop(); });
    return absl::OkStatus();
  }

  void Append(std::string_view topic, std::string_view key, std::string_view value,
              DeliveryCallback on_delivery) override {
    const absl::Time give_up = absl::Now() + options_.delivery_timeout;
    uint64_t id = 0;
    std::optional<absl::Status> rejected;
    {
      absl::ReaderMutexLock handle_lock(&handle_mu_);
      {
        absl::MutexLock lock(&mu_);
        id = next_id_++;
        pending_.emplace(id, Pending{std::move(on_delivery), handle_generation_});
        if (stop_requested_ || handle_ == nullptr) {
          rejected = absl::UnavailableError("kafka: producer is stopped; record not appended");
        }
      }
      if (!rejected) rejected = ProduceLocked(id, topic, key, value, give_up);
    }
    if (rejected->ok()) return;
    if (StopRequested()) {
      // No producer thread is left to report from, so the caller's thread does.
      Complete(id, std::move(*rejected));
    } else {
      FailSoon(id, std::move(*rejected));
    }
  }

  absl::Status Flush(absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(this, &KafkaProducer::AllDoneLocked), timeout)) {
      return absl::OkStatus();
    }
    return absl::DeadlineExceededError(
        absl::StrCat("kafka: flush timed out with ", pending_.size(), " record(s) undelivered"));
  }

  void Stop(absl::Duration timeout) override {
    {
      absl::MutexLock lock(&mu_);
      if (stop_started_) return;
      stop_started_ = true;
    }
    // Flush before refusing new records, so records already queued get their chance.
    (void)Flush(timeout);
    {
      absl::MutexLock lock(&mu_);
      stop_requested_ = true;
    }
    stop_poll_.store(true);
    if (poll_thread_.joinable()) poll_thread_.join();
    // Whatever the purge and final polls did not report is failed here, exactly once.
    FailAllPending(0, "kafka: producer stopped before the record was delivered");
    absl::WriterMutexLock handle_lock(&handle_mu_);
    DestroyHandleLocked();
  }

 private:
  struct Pending {
    DeliveryCallback callback;
    uint64_t generation = 0;  // handle generation the record was produced on; 0 = queued failure
  };

  bool StopRequested() {
    absl::MutexLock lock(&mu_);
    return stop_requested_;
  }

  // Hands the record to librdkafka, waiting briefly while its local queue is full.
  absl::Status ProduceLocked(uint64_t id, std::string_view topic, std::string_view key,
                             std::string_view value, absl::Time give_up)
      ABSL_SHARED_LOCKS_REQUIRED(handle_mu_) {
    rd_kafka_topic_t* topic_handle = TopicHandle(topic);
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          handle_, RD_KAFKA_V_RKT(topic_handle), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(id))), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || absl::Now() >= give_up) {
        return KafkaError(err, absl::StrCat("append to ", std::string(topic)));
      }
      // Wait for deliveries to make room. The poll thread reports them without taking
      // the handle's writer lock, so holding the reader lock here cannot stall it.
      absl::MutexLock lock(&mu_);
      const uint64_t seen = delivered_count_;
      auto progressed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return delivered_count_ != seen || stop_requested_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&progressed), absl::Milliseconds(10));
    }
  }

  absl::StatusOr<rd_kafka_t*> NewProducerHandle() {
    std::map<std::string, std::string> defaults = {
        {"message.timeout.ms", std::to_string(std::max<int64_t>(
                                   1, absl::ToInt64Milliseconds(options_.delivery_timeout)))},
        {"linger.ms", "5"},
        {"log.connection.close", "false"},
        // librdkafka 2.0.2 leaves Nagle's algorithm on (librdkafka 2.10 turned it off by
        // default): with several requests in flight, a request's last partial segment can
        // wait for the broker's delayed ACK (up to 40 ms). Batching is linger.ms's job, not
        // the kernel's. (The ~45 ms round trips against the mock cluster were the mock
        // broker's own sockets: see kafka_mock_cluster.cc.)
        {"socket.nagle.disable", "true"},
    };
    ASSIGN_OR_RETURN(ConfPtr conf, MakeConf(options_, defaults, RequiredProducerSettings()));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaProducer::OnDelivery);
    rd_kafka_conf_set_error_cb(conf.get(), &KafkaProducer::OnError);
    return NewHandle(RD_KAFKA_PRODUCER, std::move(conf));
  }

  // Requires a reader lock on handle_mu_.
  rd_kafka_topic_t* TopicHandle(std::string_view topic) ABSL_SHARED_LOCKS_REQUIRED(handle_mu_) {
    absl::MutexLock lock(&topics_mu_);
    auto it = topics_.find(std::string(topic));
    if (it != topics_.end()) return it->second;
    rd_kafka_topic_t* handle = rd_kafka_topic_new(handle_, std::string(topic).c_str(), nullptr);
    topics_.emplace(std::string(topic), handle);
    return handle;
  }

  void DestroyHandleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(handle_mu_) {
    if (handle_ == nullptr) return;
    {
      absl::MutexLock lock(&topics_mu_);
      for (auto& [name, topic] : topics_) rd_kafka_topic_destroy(topic);
      topics_.clear();
    }
    rd_kafka_purge(handle_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(handle_);
    handle_ = nullptr;
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<KafkaProducer*>(opaque);
    const uint64_t id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(message->_private));
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->ready_in_poll_.emplace_back(
          id, LogPosition{rd_kafka_topic_name(message->rkt), message->partition, message->offset});
      return;
    }
    absl::Status status;
    if (message->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        message->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
      // In-flight records may or may not have been written; the caller may retry (the
      // idempotent producer of a new session cannot dedupe across sessions).
      status = absl::UnavailableError(
          absl::StrCat("kafka: producer stopped before delivery was confirmed (",
                       rd_kafka_err2name(message->err), ")"));
    } else {
      status =
          KafkaError(message->err, absl::StrCat("delivery to ", rd_kafka_topic_name(message->rkt)));
    }
    self->ready_in_poll_.emplace_back(id, std::move(status));
  }

  static void OnError(rd_kafka_t*, int err, const char*, void* opaque) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      static_cast<KafkaProducer*>(opaque)->fatal_.store(true);
    }
  }

  // Reports a failure from the poll thread (never from the appending caller's stack).
  void FailSoon(uint64_t id, absl::Status status) {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(id);
    if (it != pending_.end()) it->second.generation = 0;
    failures_.emplace_back(id, std::move(status));
  }

  void Complete(uint64_t id, absl::StatusOr<LogPosition> result) {
    DeliveryCallback callback;
    {
      absl::MutexLock lock(&mu_);
      auto it = pending_.find(id);
      if (it == pending_.end()) return;  // already reported (exactly once)
      callback = std::move(it->second.callback);
      pending_.erase(it);
      ++completing_;
    }
    if (callback) callback(std::move(result));
    absl::MutexLock lock(&mu_);
    --completing_;
    ++delivered_count_;
  }

  // Fails every pending record produced on `generation` (0: all of them).
  void FailAllPending(uint64_t generation, absl::string_view reason) {
    std::vector<uint64_t> ids;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [id, pending] : pending_) {
        if (generation == 0 || pending.generation == generation) ids.push_back(id);
      }
    }
    for (uint64_t id : ids) Complete(id, absl::UnavailableError(reason));
  }

  bool AllDoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pending_.empty() && completing_ == 0;
  }

  // A fatal idempotence error leaves the handle unusable: fail what it held (callers may
  // retry) and continue on a fresh handle.
  void RecreateAfterFatalError() {
    uint64_t old_generation;
    {
      absl::WriterMutexLock handle_lock(&handle_mu_);
      char reason[512] = "";
      rd_kafka_fatal_error(handle_, reason, sizeof(reason));
      fatal_reason_ = reason;
      DestroyHandleLocked();
      old_generation = handle_generation_;
      absl::StatusOr<rd_kafka_t*> fresh = NewProducerHandle();
      if (fresh.ok()) {
        handle_ = *fresh;
        ++handle_generation_;
      }
    }
    ready_in_poll_.clear();  // results from the destroyed handle are superseded below
    FailAllPending(
        old_generation,
        absl::StrCat("kafka: producer hit a fatal error and was recreated: ", fatal_reason_));
    fatal_.store(false);
  }

  void PollLoop() {
    bool purged = false;
    absl::Time drain_deadline = absl::InfiniteFuture();
    while (true) {
      const bool stopping = stop_poll_.load();
      if (fatal_.load() && !stopping) RecreateAfterFatalError();
      {
        absl::ReaderMutexLock handle_lock(&handle_mu_);
        if (handle_ != nullptr) {
          if (stopping && !purged) {
            rd_kafka_purge(handle_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            purged = true;
            drain_deadline = absl::Now() + absl::Seconds(1);
          }
          // Delivery reports are collected here and run after the lock is released, so a
          // callback may call Append without re-entering the handle lock.
          rd_kafka_poll(handle_, stopping ? 10 : 50);
        }
      }
      std::vector<std::pair<uint64_t, absl::StatusOr<LogPosition>>> ready;
      ready.swap(ready_in_poll_);
      {
        absl::MutexLock lock(&mu_);
        for (auto& failure : failures_)
          ready.emplace_back(failure.first, std::move(failure.second));
        failures_.clear();
      }
      for (auto& [id, result] : ready) Complete(id, std::move(result));
      if (stopping) {
        absl::MutexLock lock(&mu_);
        if (AllDoneLocked() || absl::Now() > drain_deadline || !purged) break;
      }
    }
  }

  const KafkaLogOptions options_;

  // Guards the librdkafka handle's lifetime: readers produce and poll, the writer
  // replaces or destroys it.
  mutable absl::Mutex handle_mu_;
  rd_kafka_t* handle_ ABSL_GUARDED_BY(handle_mu_) = nullptr;
  uint64_t handle_generation_ = 0;  // written under the writer lock, read under mu_ too

  absl::Mutex topics_mu_ ABSL_ACQUIRED_AFTER(handle_mu_);
  std::unordered_map<std::string, rd_kafka_topic_t*> topics_ ABSL_GUARDED_BY(topics_mu_);

  absl::Mutex mu_ ABSL_ACQUIRED_AFTER(handle_mu_);
  std::unordered_map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<uint64_t, absl::Status>> failures_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t completing_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t delivered_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_started_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;

  // Touched only by the poll thread (delivery reports run inside its rd_kafka_poll).
  std::vector<std::pair<uint64_t, absl::StatusOr<LogPosition>>> ready_in_poll_;
  std::string fatal_reason_;

  std::atomic<bool> fatal_{false};
  std::atomic<bool> stop_poll_{false};
  std::thread poll_thread_;
};

// ---------------------------------------------------------------------------------------
// Consumer
// ---------------------------------------------------------------------------------------

class KafkaConsumer final : public Consumer {
 public:
  KafkaConsumer(KafkaLogOptions log_options, ConsumerOptions options)
      : log_options_(std::move(log_options)), options_(std::move(options)) {}
  ~KafkaConsumer() override { Close(); }

  absl::Status Start() {
    if (options_.auto_offset_reset != kOffsetBeginning &&
        options_.auto_offset_reset != kOffsetEnd) {
      return absl::InvalidArgumentError(
          "kafka: auto_offset_reset must be kOffsetBeginning or kOffsetEnd");
    }
    std::map<std::string, std::string> defaults = {
        {"auto.offset.reset",
         options_.auto_offset_reset == kOffsetBeginning ? "earliest" : "latest"},
        // Eager protocols only: the rebalance callback below assigns and unassigns whole sets.
        {"partition.assignment.strategy", "range,roundrobin"},
        {"enable.partition.eof", "false"},
        {"log.connection.close", "false"},
        // See the producer: fetch and commit requests must not wait for delayed ACKs either.
        {"socket.nagle.disable", "true"},
    };
    if (!options_.client_id.empty()) defaults["client.id"] = options_.client_id;
    std::map<std::string, std::string> required = RequiredConsumerSettings();
    // librdkafka's rd_kafka_assign() needs a group even when nothing joins it, so a
    // group-less consumer gets a private one it never joins nor commits to (Commit and
    // Committed refuse without the caller's group id).
    required["group.id"] =
        options_.group_id.empty()
            ? absl::StrCat("ar-eventlog-ungrouped-", absl::ToUnixNanos(absl::Now()), "-",
                           reinterpret_cast<uintptr_t>(this))
            : options_.group_id;
    ASSIGN_OR_RETURN(ConfPtr conf, MakeConf(log_options_, defaults, required));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &KafkaConsumer::OnRebalance);
    rd_kafka_conf_set_error_cb(conf.get(), &KafkaConsumer::OnError);
    ASSIGN_OR_RETURN(handle_, NewHandle(RD_KAFKA_CONSUMER, std::move(conf)));
    rd_kafka_poll_set_consumer(handle_);
    return absl::OkStatus();
  }

  absl::Status Subscribe(const std::vector<std::string>& topics) override {
    RETURN_IF_ERROR(CheckOpen());
    if (options_.group_id.empty()) {
      return absl::FailedPreconditionError("kafka: Subscribe needs a consumer group id");
    }
    if (assigned_explicitly_) {
      return absl::FailedPreconditionError("kafka: consumer already uses Assign()");
    }
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& topic : topics) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t err = rd_kafka_subscribe(handle_, list.get());
    if (err) return KafkaError(err, "subscribe");
    subscribed_ = true;
    return absl::OkStatus();
  }

  absl::Status Assign(const std::vector<TopicPartitionOffset>& partitions) override {
    RETURN_IF_ERROR(CheckOpen());
    if (subscribed_) {
      return absl::FailedPreconditionError("kafka: consumer already uses Subscribe()");
    }
    for (const auto& p : partitions) {
      if (p.offset == kOffsetCommitted && options_.group_id.empty()) {
        return absl::FailedPreconditionError(
            "kafka: assigning from the committed offset needs a consumer group id");
      }
      if (p.offset < 0 && p.offset != kOffsetCommitted && p.offset != kOffsetBeginning &&
          p.offset != kOffsetEnd) {
        return absl::InvalidArgumentError(absl::StrCat("kafka: bad start offset ", p.offset));
      }
    }
    PartitionListPtr list = ToPartitionList(partitions);
    rd_kafka_resp_err_t err = rd_kafka_assign(handle_, list.get());
    if (err) return KafkaError(err, "assign");
    assigned_explicitly_ = true;
    SetAssignment(partitions);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Record>> Poll(int max_records, absl::Duration timeout) override {
    RETURN_IF_ERROR(CheckOpen());
    std::vector<Record> records;
    if (max_records <= 0) return records;
    const absl::Time deadline = absl::Now() + timeout;
    std::optional<absl::Status> cluster_error;
    // Wait (up to the deadline) for the first record, then take what is already there.
    bool waiting = true;
    while (static_cast<int>(records.size()) < max_records) {
      int wait_ms = 0;
      if (waiting) {
        const absl::Duration left = deadline - absl::Now();
        wait_ms = left > absl::ZeroDuration() ? TimeoutMillis(left) : 0;
      }
      rd_kafka_message_t* message = rd_kafka_consumer_poll(handle_, wait_ms);
      if (message == nullptr) {
        if (!waiting || wait_ms == 0) break;
        continue;  // a callback was served or the wait ended early: re-check the deadline
      }
      TakeMessage(message, records, cluster_error);
      rd_kafka_message_destroy(message);
      if (!records.empty()) waiting = false;
    }
    if (records.empty()) {
      char reason[512];
      if (rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(handle_, reason, sizeof(reason))) {
        return KafkaError(fatal, "consumer failed", reason);
      }
      if (!cluster_error) cluster_error.swap(client_error_);
      if (cluster_error) return *cluster_error;
    }
    client_error_.reset();
    return records;
  }

  absl::Status Seek(const TopicPartitionOffset& position) override {
    RETURN_IF_ERROR(CheckOpen());
    const TopicPartition tp{position.topic, position.partition};
    if (!IsAssigned(tp)) {
      return absl::FailedPreconditionError(
          absl::StrCat("kafka: cannot seek ", tp.topic, "/", tp.partition, ": not assigned"));
    }
    int64_t offset = position.offset;
    if (offset == kOffsetCommitted) {
      ASSIGN_OR_RETURN(auto committed, Committed({tp}));
      offset = committed.empty() || committed[0].offset == kNoOffset ? options_.auto_offset_reset
                                                                     : committed[0].offset;
    }
    PartitionListPtr list = ToPartitionList(
        std::vector<TopicPartitionOffset>{{position.topic, position.partition, offset}});
    RETURN_IF_ERROR(TakeKafkaError(
        rd_kafka_seek_partitions(handle_, list.get(), TimeoutMillis(log_options_.request_timeout)),
        "seek"));
    RETURN_IF_ERROR(PartitionListError(list.get(), "seek"));
    skipped_while_paused_.erase(tp);
    return absl::OkStatus();
  }

  absl::Status Pause(const std::vector<TopicPartition>& partitions) override {
    RETURN_IF_ERROR(CheckOpen());
    PartitionListPtr list = ToPartitionList(partitions);
    rd_kafka_resp_err_t err = rd_kafka_pause_partitions(handle_, list.get());
    if (err) return KafkaError(err, "pause");
    RETURN_IF_ERROR(PartitionListError(list.get(), "pause"));
    for (const auto& tp : partitions) paused_.insert(tp);
    return absl::OkStatus();
  }

  absl::Status Resume(const std::vector<TopicPartition>& partitions) override {
    RETURN_IF_ERROR(CheckOpen());
    PartitionListPtr list = ToPartitionList(partitions);
    rd_kafka_resp_err_t err = rd_kafka_resume_partitions(handle_, list.get());
    if (err) return KafkaError(err, "resume");
    RETURN_IF_ERROR(PartitionListError(list.get(), "resume"));
    for (const auto& tp : partitions) {
      paused_.erase(tp);
      // Records that were already fetched when the partition was paused were held back
      // by Poll; read them again from the first one held back.
      auto skipped = skipped_while_paused_.find(tp);
      if (skipped != skipped_while_paused_.end()) {
        const int64_t from = skipped->second;
        skipped_while_paused_.erase(skipped);
        RETURN_IF_ERROR(Seek({tp.topic, tp.partition, from}));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Commit(const std::vector<TopicPartitionOffset>& offsets) override {
    RETURN_IF_ERROR(CheckOpen());
    if (options_.group_id.empty()) {
      return absl::FailedPreconditionError("kafka: Commit needs a consumer group id");
    }
    if (offsets.empty()) return absl::OkStatus();
    for (const auto& o : offsets) {
      if (o.offset < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("kafka: commit offsets must be >= 0, got ", o.offset));
      }
    }
    PartitionListPtr list = ToPartitionList(offsets);
    // Committing through our own queue bounds the wait, even when the coordinator is gone.
    QueuePtr queue(rd_kafka_queue_new(handle_));
    rd_kafka_resp_err_t err =
        rd_kafka_commit_queue(handle_, list.get(), queue.get(), nullptr, nullptr);
    if (err) return KafkaError(err, "commit");
    EventPtr event(rd_kafka_queue_poll(queue.get(), TimeoutMillis(log_options_.request_timeout)));
    if (event == nullptr) {
      return absl::DeadlineExceededError(
          absl::StrCat("kafka: commit not confirmed within ",
                       absl::FormatDuration(log_options_.request_timeout)));
    }
    if (rd_kafka_event_error(event.get())) {
      return KafkaError(rd_kafka_event_error(event.get()), "commit",
                        rd_kafka_event_error_string(event.get()));
    }
    return PartitionListError(rd_kafka_event_topic_partition_list(event.get()), "commit");
  }

  absl::StatusOr<std::vector<TopicPartitionOffset>> Committed(
      const std::vector<TopicPartition>& partitions) override {
    RETURN_IF_ERROR(CheckOpen());
    if (options_.group_id.empty()) {
      return absl::FailedPreconditionError("kafka: Committed needs a consumer group id");
    }
    PartitionListPtr list = ToPartitionList(partitions);
    rd_kafka_resp_err_t err =
        rd_kafka_committed(handle_, list.get(), TimeoutMillis(log_options_.request_timeout));
    if (err) return KafkaError(err, "committed offsets");
    RETURN_IF_ERROR(PartitionListError(list.get(), "committed offsets"));
    std::vector<TopicPartitionOffset> out = FromPartitionList(list.get());
    for (auto& o : out) {
      if (o.offset < 0) o.offset = kNoOffset;
    }
    return out;
  }

  std::vector<TopicPartition> Assignment() const override { return assignment_; }

  void Close() override {
    if (handle_ == nullptr) return;
    // Revokes the assignment through the rebalance callback and leaves the group. Served
    // through our own queue so that an unreachable coordinator costs at most
    // request_timeout rather than librdkafka's session timeout.
    bool closed = false;
    {
      QueuePtr queue(rd_kafka_queue_new(handle_));
      rd_kafka_error_t* error = rd_kafka_consumer_close_queue(handle_, queue.get());
      if (error != nullptr) {
        rd_kafka_error_destroy(error);
      } else {
        const absl::Time deadline = absl::Now() + log_options_.request_timeout;
        while (!(closed = rd_kafka_consumer_closed(handle_)) && absl::Now() < deadline) {
          // Rebalance events arrive here as events, not callbacks: serve them ourselves.
          EventPtr event(rd_kafka_queue_poll(queue.get(), 100));
          if (event != nullptr && rd_kafka_event_type(event.get()) == RD_KAFKA_EVENT_REBALANCE) {
            OnRebalance(handle_, rd_kafka_event_error(event.get()),
                        rd_kafka_event_topic_partition_list(event.get()), this);
          }
        }
      }
    }
    if (!assignment_.empty() && options_.listener.on_revoked) {
      // The group could not be left in time: the partitions are given up all the same.
      options_.listener.on_revoked(assignment_);
    }
    SetAssignment({});
    if (closed) {
      rd_kafka_destroy(handle_);
    } else {
      rd_kafka_destroy_flags(handle_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    handle_ = nullptr;
  }

 private:
  absl::Status CheckOpen() const {
    if (handle_ == nullptr) return absl::FailedPreconditionError("kafka: consumer is closed");
    return absl::OkStatus();
  }

  bool IsAssigned(const TopicPartition& tp) const {
    return std::find(assignment_.begin(), assignment_.end(), tp) != assignment_.end();
  }

  void SetAssignment(const std::vector<TopicPartitionOffset>& partitions) {
    assignment_.clear();
    for (const auto& p : partitions) assignment_.push_back({p.topic, p.partition});
    std::sort(assignment_.begin(), assignment_.end());
    // Pauses end with the assignment (a kept partition stays paused across a cooperative
    // rebalance).
    std::erase_if(paused_, [this](const TopicPartition& tp) { return !IsAssigned(tp); });
    std::erase_if(skipped_while_paused_,
                  [this](const auto& entry) { return !IsAssigned(entry.first); });
  }

  void TakeMessage(const rd_kafka_message_t* message, std::vector<Record>& records,
                   std::optional<absl::Status>& cluster_error) {
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      TopicPartition tp{rd_kafka_topic_name(message->rkt), message->partition};
      if (paused_.contains(tp)) {
        // Fetched before the pause took effect: hold it back and re-read it on Resume.
        auto [it, inserted] = skipped_while_paused_.emplace(tp, message->offset);
        if (!inserted) it->second = std::min(it->second, message->offset);
        return;
      }
      Record record;
      record.topic = std::move(tp.topic);
      record.partition = message->partition;
      record.offset = message->offset;
      if (message->key != nullptr) {
        record.key.assign(static_cast<const char*>(message->key), message->key_len);
      }
      if (message->payload != nullptr) {
        record.value.assign(static_cast<const char*>(message->payload), message->len);
      }
      rd_kafka_timestamp_type_t type;
      const int64_t millis = rd_kafka_message_timestamp(message, &type);
      record.timestamp_unix_micros = millis >= 0 ? millis * 1000 : 0;
      records.push_back(std::move(record));
      return;
    }
    // Consumer errors are mostly informational (librdkafka retries by itself); the one a
    // caller must hear about is "the whole cluster is unreachable".
    if (message->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        message->err == RD_KAFKA_RESP_ERR__RESOLVE ||
        KafkaErrorToStatusCode(message->err) == absl::StatusCode::kPermissionDenied) {
      cluster_error = KafkaError(message->err, "consume");
    }
  }

  // Client-level errors (librdkafka retries by itself) arrive here, inside Poll. The one
  // a caller must hear about is "the cluster cannot be reached": Poll reports it once
  // when it has no records to return.
  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaConsumer*>(opaque);
    const auto code = static_cast<rd_kafka_resp_err_t>(err);
    if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || code == RD_KAFKA_RESP_ERR__RESOLVE ||
        code == RD_KAFKA_RESP_ERR__FATAL ||
        KafkaErrorToStatusCode(code) == absl::StatusCode::kPermissionDenied) {
      self->client_error_ = KafkaError(code, "consume", reason);
    }
  }

  static void OnRebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<KafkaConsumer*>(opaque);
    // Eager protocols (the default) hand over and take back whole assignments; with
    // partition.assignment.strategy=cooperative-sticky only the partitions that move are
    // named, and the rest stay assigned (and are not revoked) across the rebalance.
    const bool incremental = std::string_view(rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE";
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      std::vector<TopicPartitionOffset> assigned = FromPartitionList(partitions);
      for (auto& p : assigned) p.offset = kOffsetCommitted;
      if (self->options_.listener.on_assigned) self->options_.listener.on_assigned(assigned);
      PartitionListPtr list = ToPartitionList(assigned);
      if (incremental) {
        if (rd_kafka_error_t* error = rd_kafka_incremental_assign(handle, list.get())) {
          rd_kafka_error_destroy(error);
        }
        std::vector<TopicPartitionOffset> all = assigned;
        for (const auto& tp : self->assignment_) all.push_back({tp.topic, tp.partition});
        self->SetAssignment(all);
      } else {
        rd_kafka_assign(handle, list.get());
        self->SetAssignment(assigned);
      }
      return;
    }
    // Revocation (or a rebalance error): give the named partitions (eager: all) up.
    std::vector<TopicPartition> revoked;
    for (const auto& p : FromPartitionList(partitions)) revoked.push_back({p.topic, p.partition});
    if (self->options_.listener.on_revoked) self->options_.listener.on_revoked(revoked);
    if (incremental && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(handle, partitions)) {
        rd_kafka_error_destroy(error);
      }
      std::vector<TopicPartitionOffset> kept;
      for (const auto& tp : self->assignment_) {
        if (std::find(revoked.begin(), revoked.end(), tp) == revoked.end()) {
          kept.push_back({tp.topic, tp.partition});
        }
      }
      self->SetAssignment(kept);
    } else {
      rd_kafka_assign(handle, nullptr);
      self->SetAssignment({});
    }
  }

  const KafkaLogOptions log_options_;
  const ConsumerOptions options_;
  rd_kafka_t* handle_ = nullptr;
  bool subscribed_ = false;
  bool assigned_explicitly_ = false;
  std::vector<TopicPartition> assignment_;
  std::set<TopicPartition> paused_;
  std::map<TopicPartition, int64_t> skipped_while_paused_;
  std::optional<absl::Status> client_error_;
};

// ---------------------------------------------------------------------------------------
// The log: admin operations and factories
// ---------------------------------------------------------------------------------------

class KafkaLog final : public EventLog {
 public:
  explicit KafkaLog(KafkaLogOptions options) : options_(std::move(options)) {}
  ~KafkaLog() override {
    if (admin_ != nullptr) rd_kafka_destroy(admin_);
  }

  absl::Status Start() {
    std::map<std::string, std::string> defaults = {{"log.connection.close", "false"}};
    ASSIGN_OR_RETURN(ConfPtr conf, MakeConf(options_, defaults, {}));
    ASSIGN_OR_RETURN(admin_, NewHandle(RD_KAFKA_PRODUCER, std::move(conf)));
    return absl::OkStatus();
  }

  absl::Status CreateTopic(const TopicSpec& spec) override {
    if (spec.name.empty() || spec.partitions <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka: topic needs a name and at least one partition (got '", spec.name,
                       "', ", spec.partitions, ")"));
    }
    ASSIGN_OR_RETURN(std::optional<int32_t> existing, LookupPartitionCount(spec.name));
    if (existing) return SamePartitionCount(spec, *existing);

    if (options_.create_topic_override) {
      RETURN_IF_ERROR(options_.create_topic_override(spec));
    } else {
      absl::Status created = CreateWithAdminApi(spec);
      if (absl::IsAlreadyExists(created)) {
        ASSIGN_OR_RETURN(existing, LookupPartitionCount(spec.name));
        if (existing) return SamePartitionCount(spec, *existing);
      } else if (!created.ok()) {
        return created;
      }
    }
    // Topic creation propagates asynchronously: wait until the metadata shows it.
    const absl::Time deadline = absl::Now() + options_.request_timeout;
    while (true) {
      ASSIGN_OR_RETURN(existing, LookupPartitionCount(spec.name));
      if (existing && *existing > 0) return SamePartitionCount(spec, *existing);
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("kafka: topic ", spec.name, " was created but is not visible yet"));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  absl::StatusOr<int32_t> PartitionCount(std::string_view topic) override {
    ASSIGN_OR_RETURN(std::optional<int32_t> count, LookupPartitionCount(std::string(topic)));
    if (!count) return absl::NotFoundError(absl::StrCat("kafka: no topic ", std::string(topic)));
    return *count;
  }

  absl::StatusOr<int64_t> EndOffset(const TopicPartition& partition) override {
    // Querying watermarks of a missing topic may auto-create it (librdkafka's mock cluster
    // always does), so the topic's existence is checked first, once per topic.
    int32_t count = 0;
    {
      absl::MutexLock lock(&known_mu_);
      auto it = known_partition_counts_.find(partition.topic);
      if (it != known_partition_counts_.end()) count = it->second;
    }
    if (partition.partition < 0 || partition.partition >= count) {
      ASSIGN_OR_RETURN(count, PartitionCount(partition.topic));
    }
    if (partition.partition < 0 || partition.partition >= count) {
      return absl::NotFoundError(absl::StrCat("kafka: topic ", partition.topic,
                                              " has no partition ", partition.partition));
    }
    int64_t low = 0;
    int64_t high = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(admin_, partition.topic.c_str(), partition.partition, &low,
                                         &high, TimeoutMillis(options_.request_timeout));
    if (err) {
      return KafkaError(err,
                        absl::StrCat("end offset of ", partition.topic, "/", partition.partition));
    }
    return high;
  }

  absl::StatusOr<std::unique_ptr<Producer>> NewProducer() override {
    auto producer = std::make_unique<KafkaProducer>(options_);
    RETURN_IF_ERROR(producer->Start());
    return producer;
  }

  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(ConsumerOptions options) override {
    auto consumer = std::make_unique<KafkaConsumer>(options_, std::move(options));
    RETURN_IF_ERROR(consumer->Start());
    return consumer;
  }

 private:
  static absl::Status SamePartitionCount(const TopicSpec& spec, int32_t existing) {
    if (existing == spec.partitions) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("kafka: topic ", spec.name, " exists with ",
                                                      existing, " partitions, not ",
                                                      spec.partitions));
  }

  // The topic's partition count, or nullopt when the cluster does not know the topic.
  // Asks for all topics: a request naming the topic would auto-create it on brokers (and
  // on the mock cluster) that ignore allow.auto.create.topics.
  absl::StatusOr<std::optional<int32_t>> LookupPartitionCount(const std::string& topic) {
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(admin_, 1, nullptr, &metadata, TimeoutMillis(options_.request_timeout));
    if (err) return KafkaError(err, absl::StrCat("metadata for ", topic));
    std::optional<int32_t> count;
    absl::Status status;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      const rd_kafka_metadata_topic_t& t = metadata->topics[i];
      if (topic != t.topic) continue;
      if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;
      if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt == 0) {
        status = KafkaError(t.err, absl::StrCat("metadata for ", topic));
        break;
      }
      count = t.partition_cnt;
    }
    rd_kafka_metadata_destroy(metadata);
    RETURN_IF_ERROR(status);
    if (count) {
      absl::MutexLock lock(&known_mu_);
      known_partition_counts_[topic] = *count;
    }
    return count;
  }

  absl::Status CreateWithAdminApi(const TopicSpec& spec) {
    char errstr[512];
    rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(
        spec.name.c_str(), spec.partitions, options_.replication_factor, errstr, sizeof(errstr));
    if (new_topic == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka: create topic ", spec.name, ": ", errstr));
    }
    rd_kafka_AdminOptions_t* admin_options =
        rd_kafka_AdminOptions_new(admin_, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    const int timeout_ms = TimeoutMillis(options_.request_timeout);
    rd_kafka_AdminOptions_set_request_timeout(admin_options, timeout_ms, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_operation_timeout(admin_options, timeout_ms, errstr, sizeof(errstr));
    QueuePtr queue(rd_kafka_queue_new(admin_));
    rd_kafka_CreateTopics(admin_, &new_topic, 1, admin_options, queue.get());
    rd_kafka_AdminOptions_destroy(admin_options);
    rd_kafka_NewTopic_destroy(new_topic);

    // The request carries its own timeout; the extra second lets its result arrive.
    EventPtr event(rd_kafka_queue_poll(queue.get(), timeout_ms + 1000));
    if (event == nullptr) {
      return absl::DeadlineExceededError(
          absl::StrCat("kafka: create topic ", spec.name, ": no answer from the cluster"));
    }
    if (rd_kafka_event_error(event.get())) {
      return KafkaError(rd_kafka_event_error(event.get()), absl::StrCat("create topic ", spec.name),
                        rd_kafka_event_error_string(event.get()));
    }
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
    size_t count = 0;
    const rd_kafka_topic_result_t** topics =
        result ? rd_kafka_CreateTopics_result_topics(result, &count) : nullptr;
    for (size_t i = 0; i < count; ++i) {
      if (rd_kafka_resp_err_t err = rd_kafka_topic_result_error(topics[i])) {
        const char* detail = rd_kafka_topic_result_error_string(topics[i]);
        return KafkaError(err, absl::StrCat("create topic ", spec.name), detail ? detail : "");
      }
    }
    return absl::OkStatus();
  }

  const KafkaLogOptions options_;
  rd_kafka_t* admin_ = nullptr;
  absl::Mutex known_mu_;
  std::map<std::string, int32_t> known_partition_counts_ ABSL_GUARDED_BY(known_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventLog>> OpenKafkaLog(const KafkaLogOptions& options) {
  if (options.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka: bootstrap_servers is empty");
  }
  if (options.request_timeout <= absl::ZeroDuration() ||
      options.delivery_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("kafka: timeouts must be positive");
  }
  for (const auto* required : {&RequiredProducerSettings(), &RequiredConsumerSettings()}) {
    for (const auto& [key, value] : *required) {
      auto it = options.properties.find(key);
      if (it != options.properties.end() && !SameSetting(key, it->second, value)) {
        return absl::InvalidArgumentError(absl::StrCat("kafka: ", key, "=", it->second,
                                                       " would break the event log's guarantees (",
                                                       key, " must be ", value, ")"));
      }
    }
  }
  auto log = std::make_unique<KafkaLog>(options);
  RETURN_IF_ERROR(log->Start());
  return log;
}

}  // namespace ar::eventlog
