// SubscribeOverdue at scale over real gRPC channels: 1,000 concurrent subscribers on the
// callback client API, spread over several channels (several HTTP/2 connections), each
// receiving every event its filter matches exactly once, while one more subscriber that
// stopped reading (its connection's flow-control window full, its queue filling) delays
// none of them and is finally told it fell behind.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/topics.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/gateway/gateway_service.h"

namespace ar::gateway {
namespace {

constexpr int kSubscribers = 1000;
constexpr int kChannels = 8;
constexpr int kEventsPerRegion = 10;
constexpr size_t kQueue = 64;
const char* const kRegions[] = {"eu", "us"};

// One stream on the callback client API: keeps reading (or, stalled, stops after the
// stream's first message) and records the event ids it received.
class Subscriber final : public grpc::ClientReadReactor<v1::OverdueUpdate> {
 public:
  Subscriber(v1::Gateway::Stub& stub, v1::OverdueFilter filter, bool stall,
             std::atomic<int>& started)
      : stall_(stall), started_(started) {
    *request_.mutable_filter() = std::move(filter);
    stub.async()->SubscribeOverdue(&context_, &request_, this);
    StartRead(&update_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    bool first = false;
    {
      absl::MutexLock lock(&mu_);
      if (update_.has_event()) {
        ids_.push_back(update_.event().event_id());
        last_received_ = absl::Now();
      } else {
        first = !has_started_;
        has_started_ = true;
      }
    }
    if (first) started_.fetch_add(1);
    if (stall_) return;  // never reads again
    StartRead(&update_);
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

  // A stalled subscriber starts reading again, to the end.
  void Resume() {
    stall_ = false;
    StartRead(&update_);
  }
  void Cancel() { context_.TryCancel(); }
  bool WaitDone(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&done_), timeout);
  }
  std::vector<std::string> ids() const {
    absl::MutexLock lock(&mu_);
    return ids_;
  }
  absl::Time last_received() const {
    absl::MutexLock lock(&mu_);
    return last_received_;
  }
  bool done() const {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  grpc::Status status() const {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  std::atomic<bool> stall_;
  std::atomic<int>& started_;
  grpc::ClientContext context_;
  v1::SubscribeOverdueRequest request_;
  v1::OverdueUpdate update_;
  mutable absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
  absl::Time last_received_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool has_started_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

class OverdueFanoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = ar::testing::OpenEmbeddedTestLog(dir_.Join("log"));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    // Only the hub: no service is reachable, the stream needs none.
    GatewayService::Options options;
    options.backend.topic_partitions = 4;
    options.hub.max_queued_per_subscriber = kQueue;
    auto gateway = GatewayService::Create(*log_, options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = std::move(*gateway);
    server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    server_->AddService(gateway_->grpc_service());
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_TRUE(gateway_->Start().ok());
    server_->SetServing(true);
    for (int i = 0; i < kChannels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
      // Flow-control windows stay at their initial size, so a stream that stops reading
      // stops the server's writes to it after a known amount of data.
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
      stubs_.push_back(v1::Gateway::NewStub(
          grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args)));
    }
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
  }

  void TearDown() override {
    for (auto& subscriber : subscribers_) subscriber->Cancel();
    for (auto& subscriber : subscribers_) {
      EXPECT_TRUE(subscriber->WaitDone(absl::Seconds(10)));
    }
    if (gateway_) gateway_->Stop();
    if (server_) server_->Shutdown(absl::Seconds(2));
    if (producer_) producer_->Stop(absl::Seconds(1));
  }

  // Publishes the AccountOverdue events of one command as collections would.
  void Publish(const std::string& region, const std::vector<std::string>& event_ids,
               const std::string& account, const std::string& invoice_id) {
    v1::EventBatch batch;
    for (const std::string& event_id : event_ids) {
      v1::Event* event = batch.add_events();
      event->set_event_id(event_id);
      event->set_tenant("acme");
      event->set_region(region);
      event->set_subsidiary(region + "-sub");
      event->set_account(account);
      event->mutable_account_overdue()->set_invoice_id(invoice_id);
      event->mutable_account_overdue()->set_days_past_due(3);
    }
    ASSERT_TRUE(
        producer_->AppendAndWait(topics::kCollections, account, batch.SerializeAsString()).ok());
  }

  ar::testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<GatewayService> gateway_;
  std::unique_ptr<servicekit::GrpcServer> server_;
  std::vector<std::unique_ptr<v1::Gateway::Stub>> stubs_;
  std::unique_ptr<eventlog::Producer> producer_;
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
};

TEST_F(OverdueFanoutTest, ThousandSubscribersGetEveryMatchingEventOnceDespiteAStalledOne) {
  std::atomic<int> started{0};
  // The stalled subscriber matches everything and never reads after the stream's start.
  v1::OverdueFilter everything;
  everything.set_tenant("acme");
  subscribers_.push_back(std::make_unique<Subscriber>(*stubs_[0], everything, true, started));
  Subscriber& stalled = *subscribers_[0];
  for (int i = 0; i < kSubscribers; ++i) {
    v1::OverdueFilter filter;
    filter.set_tenant("acme");
    filter.add_regions(kRegions[i % 2]);
    subscribers_.push_back(
        std::make_unique<Subscriber>(*stubs_[i % kChannels], filter, false, started));
  }
  ASSERT_TRUE(
      ar::testing::WaitFor([&] { return started.load() == kSubscribers + 1; }, absl::Seconds(20)))
      << started.load() << " streams started";
  ASSERT_EQ(gateway_->hub().subscriber_count(), static_cast<size_t>(kSubscribers + 1));

  // Fill the stalled stream's connection window and queue: updates of a region only it
  // matches, each carrying a 2 KiB invoice id (about 2 MiB in all).
  const std::string bulky(2048, 'x');
  for (int i = 0; i < 100; ++i) {
    std::vector<std::string> ids;
    for (int j = 0; j < 10; ++j) ids.push_back(absl::StrCat("noise-", i, "-", j));
    Publish("apac", ids, absl::StrCat("N", i), bulky);
  }

  // Then the events the others wait for: per region, kEventsPerRegion events over several
  // accounts (so several partitions), two events in one record (one command).
  std::set<std::string> expected[2];
  const absl::Time published_at = absl::Now();
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < kEventsPerRegion; i += 2) {
      const std::string a = absl::StrCat(kRegions[r], "-", i);
      const std::string b = absl::StrCat(kRegions[r], "-", i + 1);
      Publish(kRegions[r], {a, b}, absl::StrCat("A", r, "-", i), "inv");
      expected[r].insert({a, b});
    }
  }
  auto all_received = [&] {
    for (int i = 1; i <= kSubscribers; ++i) {
      if (subscribers_[i]->ids().size() < kEventsPerRegion) return false;
    }
    return true;
  };
  ASSERT_TRUE(ar::testing::WaitFor(all_received, absl::Seconds(15)));
  absl::Time last = published_at;
  for (int i = 1; i <= kSubscribers; ++i) last = std::max(last, subscribers_[i]->last_received());
  const absl::Duration all_delivered = last - published_at;
  std::cout << "1000 subscribers got " << kEventsPerRegion << " events each in "
            << absl::FormatDuration(all_delivered) << " after the first was published\n";
  EXPECT_THAT(stalled.ids(), ::testing::IsEmpty());

  // A last event per region: whatever a subscriber had received twice would show by now.
  Publish("eu", {"eu-last"}, "A0-last", "inv");
  Publish("us", {"us-last"}, "A1-last", "inv");
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] {
        for (int i = 1; i <= kSubscribers; ++i) {
          if (subscribers_[i]->ids().size() < kEventsPerRegion + 1) return false;
        }
        return true;
      },
      absl::Seconds(15)));
  for (int i = 1; i <= kSubscribers; ++i) {
    const int r = (i - 1) % 2;
    std::vector<std::string> ids = subscribers_[i]->ids();
    ASSERT_EQ(ids.size(), kEventsPerRegion + 1u) << "subscriber " << i;
    EXPECT_EQ(ids.back(), absl::StrCat(kRegions[r], "-last")) << "subscriber " << i;
    ids.pop_back();
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), expected[r]) << "subscriber " << i;
  }

  // The stalled one fell behind: the hub dropped it (its status waits behind the data its
  // connection holds), and once it reads again it gets what was sent, then the status
  // naming where to resume.
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] { return gateway_->hub().stats().subscribers_fell_behind == 1; }, absl::Seconds(10)))
      << gateway_->hub().stats().deliveries << " deliveries";
  EXPECT_THAT(stalled.ids(), ::testing::IsEmpty());
  stalled.Resume();
  ASSERT_TRUE(stalled.WaitDone(absl::Seconds(10)));
  EXPECT_EQ(stalled.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << stalled.status().error_message();
  EXPECT_THAT(stalled.status().error_message(), ::testing::HasSubstr("resume with cursor"));
  const std::vector<std::string> drained = stalled.ids();
  ASSERT_FALSE(drained.empty());
  EXPECT_EQ(drained.front(), "noise-0-0");
  EXPECT_EQ(std::set<std::string>(drained.begin(), drained.end()).size(), drained.size());
}

}  // namespace
}  // namespace ar::gateway
