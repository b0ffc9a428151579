#pragma once
// The credit-risk service over an embedded log in a temp dir and a memory store, for the
// service and API tests: publish what the other services would, wait until the reactor
// has decided on everything, read back what it published.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/command/command_executor.h"
#include "libs/core/topics.h"
#include "libs/store/memory_store.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/credit_risk/credit_risk_service.h"

namespace ar::credit::testing {

class CreditHarness {
 public:
  explicit CreditHarness(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  ~CreditHarness() { Stop(); }

  // Opens the log (kept across restarts) and a fresh memory store, and starts the service:
  // the read model and the reactor's position are rebuilt from the log.
  void Start() {
    auto log = ar::testing::OpenEmbeddedTestLog(data_dir_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    store_ = store::NewMemoryStore();
    CreditRiskService::Options options;
    options.backend.topic_partitions = 2;
    options.use_consumer_group = false;
    options.api.read_wait_timeout = absl::Milliseconds(300);
    options.api.default_page_size = 2;
    auto service = CreditRiskService::Create(*log_, *store_, options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
    ASSERT_TRUE(service_->Start().ok());
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(*producer);
  }

  void Stop() {
    if (producer_) producer_->Stop(absl::Seconds(1));
    producer_.reset();
    if (service_) service_->Stop();
    service_.reset();
    store_.reset();
    log_.reset();
  }

  // Publishes `events` in one record, keyed by the first event's account.
  v1::LogPosition Publish(const std::string& topic, std::vector<v1::Event> events) {
    v1::EventBatch batch;
    batch.set_command_id(absl::StrCat("test:", ++published_));
    const std::string key = events.at(0).account();
    for (v1::Event& event : events) *batch.add_events() = std::move(event);
    auto position = producer_->AppendAndWait(topic, key, batch.SerializeAsString());
    EXPECT_TRUE(position.ok()) << position.status();
    return position.ok() ? command::ToProto(*position) : v1::LogPosition();
  }

  // Waits until the projection and the reactor have handled everything in the log
  // (including the reactor's own decisions, which it reads back).
  void WaitIdle() {
    ASSERT_TRUE(ar::testing::WaitFor([&] {
      for (const std::string& topic : CreditProjection::Topics()) {
        for (int32_t partition = 0; partition < 2; ++partition) {
          const eventlog::TopicPartition tp{topic, partition};
          auto end = log_->EndOffset(tp);
          if (!end.ok()) return false;
          if (service_->reactor().CommittedOffset(tp) < *end) return false;
          if (service_->projection().CommittedOffset(tp) < *end) return false;
        }
      }
      return true;
    }));
  }

  // Every event on ar.credit.events, partition by partition.
  std::vector<v1::Event> CreditEvents() {
    std::vector<v1::Event> events;
    auto consumer = log_->NewConsumer(eventlog::ConsumerOptions{});
    EXPECT_TRUE(consumer.ok());
    std::vector<eventlog::TopicPartitionOffset> assignment;
    int64_t expected = 0;
    for (int32_t partition = 0; partition < 2; ++partition) {
      assignment.push_back({topics::kCredit, partition, 0});
      expected += *log_->EndOffset({topics::kCredit, partition});
    }
    EXPECT_TRUE((*consumer)->Assign(assignment).ok());
    int64_t seen = 0;
    while (seen < expected) {
      auto records = (*consumer)->Poll(100, absl::Seconds(5));
      if (!records.ok() || records->empty()) break;
      for (const eventlog::Record& record : *records) {
        ++seen;
        v1::EventBatch batch;
        EXPECT_TRUE(batch.ParseFromString(record.value));
        for (const v1::Event& event : batch.events()) events.push_back(event);
      }
    }
    (*consumer)->Close();
    return events;
  }

  CreditRiskService& service() { return *service_; }
  CreditRiskApi& api() { return service_->api(); }
  eventlog::EventLog& log() { return *log_; }

 private:
  std::string data_dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CreditRiskService> service_;
  std::unique_ptr<eventlog::Producer> producer_;
  int published_ = 0;
};

}  // namespace ar::credit::testing
