#pragma once
// A collections service over an embedded log in a temp dir and a memory store, with a
// producer that publishes other services' events (test code only, header-only).

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/command/command_executor.h"
#include "libs/core/topics.h"
#include "libs/store/memory_store.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/collections/collections_service.h"

namespace ar::collections::testing {

class ServiceHarness {
 public:
  ServiceHarness() {
    auto log = ar::testing::OpenEmbeddedTestLog(dir_.Join("log"));
    EXPECT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    auto producer = log_->NewProducer();
    EXPECT_TRUE(producer.ok());
    producer_ = std::move(*producer);
  }
  ~ServiceHarness() {
    StopService();
    producer_->Stop(absl::Seconds(1));
  }

  // A new service over the same log and a fresh memory store (a restart: the read model is
  // rebuilt from the log).
  void StartService() {
    StopService();
    store_ = store::NewMemoryStore();
    CollectionsService::Options options;
    options.backend.topic_partitions = 2;
    options.api.read_wait_timeout = absl::Seconds(5);
    auto service = CollectionsService::Create(*log_, *store_, options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
    ASSERT_TRUE(service_->Start().ok());
    ASSERT_TRUE(service_->ready());
  }
  void StopService() {
    if (service_) service_->Stop();
    service_.reset();
  }

  v1::LogPosition Publish(const std::string& topic, std::vector<v1::Event> events,
                          const std::string& command_id) {
    v1::EventBatch batch;
    batch.set_command_id(command_id);
    const std::string key = events.front().account();
    for (v1::Event& e : events) *batch.add_events() = std::move(e);
    auto position = producer_->AppendAndWait(topic, key, batch.SerializeAsString());
    EXPECT_TRUE(position.ok()) << position.status();
    return command::ToProto(*position);
  }
  v1::LogPosition Publish(const std::string& topic, const v1::Event& event) {
    return Publish(topic, std::vector<v1::Event>{event}, event.event_id());
  }

  // Waits until the projection and the reactor have handled everything in the log,
  // including the decisions the reactor published meanwhile.
  void WaitIdle() {
    const std::vector<std::string> topics = CollectionsService::InputTopics();
    for (int round = 0; round < 50; ++round) {
      bool moved = false;
      for (const std::string& topic : topics) {
        auto partitions = log_->PartitionCount(topic);
        ASSERT_TRUE(partitions.ok());
        for (int32_t p = 0; p < *partitions; ++p) {
          auto end = log_->EndOffset({topic, p});
          ASSERT_TRUE(end.ok());
          if (*end == 0) continue;
          for (projection::ProjectionRunner* runner :
               {&service_->projection(), &service_->reactor()}) {
            if (runner == &service_->reactor() && topic == topics::kCredit) continue;
            if (runner->CommittedOffset({topic, p}) < *end) moved = true;
            ASSERT_TRUE(runner->WaitForPosition({topic, p, *end - 1}, absl::Seconds(30)))
                << topic << "/" << p;
          }
        }
      }
      if (!moved) return;
    }
  }

  // Every event on ar.collections.events, in log order per partition.
  std::vector<v1::Event> CollectionsEvents() {
    std::vector<v1::Event> events;
    auto consumer = log_->NewConsumer({});
    EXPECT_TRUE(consumer.ok());
    auto partitions = log_->PartitionCount(topics::kCollections);
    int64_t total = 0;
    std::vector<eventlog::TopicPartitionOffset> assignment;
    for (int32_t p = 0; p < *partitions; ++p) {
      assignment.push_back({topics::kCollections, p, 0});
      total += *log_->EndOffset({topics::kCollections, p});
    }
    EXPECT_TRUE((*consumer)->Assign(assignment).ok());
    int64_t seen = 0;
    while (seen < total) {
      auto records = (*consumer)->Poll(1000, absl::Seconds(5));
      EXPECT_TRUE(records.ok());
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

  std::vector<v1::Event> EventsOf(const std::string& account, v1::Event::BodyCase body) {
    std::vector<v1::Event> found;
    for (const v1::Event& event : CollectionsEvents()) {
      if (event.account() == account && event.body_case() == body) found.push_back(event);
    }
    return found;
  }

  CollectionsService& service() { return *service_; }
  store::Store& store() { return *store_; }
  eventlog::EventLog& log() { return *log_; }

 private:
  ar::testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<eventlog::Producer> producer_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CollectionsService> service_;
};

}  // namespace ar::collections::testing
