// The overdue hub on the embedded log: filters, cursors (garbage refused, resume with
// nothing lost or repeated, also inside a multi-event record and while the log grows),
// a stalled subscriber that does not delay the others, 1,000 subscribers.

#include "services/gateway/subscription/overdue_hub.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/topics.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"

namespace ar::gateway {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

struct Account {
  std::string tenant = "t1";
  std::string region = "eu";
  std::string subsidiary = "de";
  std::string account = "acct-1";
};

v1::Event Envelope(const Account& account, const std::string& id) {
  v1::Event event;
  event.set_event_id(id);
  event.set_tenant(account.tenant);
  event.set_region(account.region);
  event.set_subsidiary(account.subsidiary);
  event.set_account(account.account);
  event.set_occurred_at_unix_micros(absl::ToUnixMicros(absl::Now()));
  return event;
}

v1::Event Overdue(const Account& account, const std::string& id, int days, int64_t total,
                  const std::string& currency = "EUR") {
  v1::Event event = Envelope(account, id);
  v1::AccountOverdue* overdue = event.mutable_account_overdue();
  overdue->set_invoice_id("inv-" + id);
  overdue->set_days_past_due(days);
  overdue->mutable_overdue_amount()->set_minor_units(total);
  overdue->mutable_overdue_amount()->set_currency(currency);
  overdue->mutable_account_overdue_total()->set_minor_units(total);
  overdue->mutable_account_overdue_total()->set_currency(currency);
  return event;
}

v1::Event Rating(const Account& account, const std::string& id, const std::string& grade) {
  v1::Event event = Envelope(account, id);
  event.mutable_credit_rating_changed()->set_new_grade(grade);
  return event;
}

v1::Event Hold(const Account& account, const std::string& id) {
  v1::Event event = Envelope(account, id);
  event.mutable_credit_hold_placed()->set_reason("overdue");
  return event;
}

v1::Event Cured(const Account& account, const std::string& id) {
  v1::Event event = Envelope(account, id);
  event.mutable_account_cured()->set_cause("payment");
  return event;
}

v1::Event Reminder(const Account& account, const std::string& id) {
  v1::Event event = Envelope(account, id);
  event.mutable_reminder_due()->set_invoice_id("inv-" + id);
  return event;
}

class OverdueHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = ar::testing::OpenEmbeddedTestLog(dir_.Join("log"));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    ASSERT_TRUE(log_->CreateTopic({topics::kCollections, 2}).ok());
    ASSERT_TRUE(log_->CreateTopic({topics::kCredit, 2}).ok());
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(*producer);
  }

  void TearDown() override {
    if (hub_) hub_->Stop();
    producer_->Stop(absl::Seconds(1));
  }

  void StartHub(OverdueHubOptions options = {}) {
    hub_ = std::make_unique<OverdueHub>(*log_, options);
    ASSERT_TRUE(hub_->Start().ok());
    ASSERT_TRUE(hub_->WaitUntilCaughtUp(absl::Seconds(10)).ok());
  }

  // One record (one command) on `topic`, keyed by the first event's account.
  void Publish(std::vector<v1::Event> events, const char* topic = topics::kCollections) {
    v1::EventBatch batch;
    const std::string key = events.front().account();
    for (v1::Event& event : events) *batch.add_events() = std::move(event);
    ASSERT_TRUE(producer_->AppendAndWait(topic, key, batch.SerializeAsString()).ok());
    ++published_records_;
  }

  // Same without waiting for the append (group commit makes bulk publishing fast).
  void PublishAsync(std::vector<v1::Event> events) {
    v1::EventBatch batch;
    const std::string key = events.front().account();
    for (v1::Event& event : events) *batch.add_events() = std::move(event);
    producer_->Append(topics::kCollections, key, batch.SerializeAsString(),
                      [](absl::StatusOr<eventlog::LogPosition> position) {
                        ASSERT_TRUE(position.ok()) << position.status();
                      });
    ++published_records_;
  }

  // Waits until the hub has read every record published so far.
  void WaitForHub() {
    ASSERT_TRUE(ar::testing::WaitFor([&] { return hub_->stats().records >= published_records_; },
                                     absl::Seconds(10)));
  }

  std::shared_ptr<OverdueSubscription> Subscribe(const v1::OverdueFilter& filter = {},
                                                 const std::string& cursor = "") {
    auto subscription = hub_->Subscribe(filter, cursor);
    EXPECT_TRUE(subscription.ok()) << subscription.status();
    if (!subscription.ok()) return nullptr;
    // Every stream starts with a message carrying only its cursor.
    OverdueSubscription::Next hello = (*subscription)->WaitNext(absl::Seconds(5));
    EXPECT_TRUE(hello.update != nullptr);
    if (hello.update) {
      EXPECT_FALSE(hello.update->has_event());
    }
    return *subscription;
  }

  // Takes `count` updates (failing if the stream ends or stays silent).
  static std::vector<std::string> Take(OverdueSubscription& subscription, int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      OverdueSubscription::Next next = subscription.WaitNext(absl::Seconds(10));
      if (!next.update) {
        ADD_FAILURE() << "stream ended or silent after " << i << " of " << count << ": "
                      << (next.ended ? next.ended->ToString() : "nothing");
        break;
      }
      ids.push_back(next.update->event().event_id());
    }
    return ids;
  }

  // Everything queued right now (the hub has read all published records).
  static std::vector<std::string> Drain(OverdueSubscription& subscription) {
    std::vector<std::string> ids;
    while (true) {
      OverdueSubscription::Next next = subscription.WaitNext(absl::ZeroDuration());
      if (!next.update) break;
      ids.push_back(next.update->event().event_id());
    }
    return ids;
  }

  ar::testing::TempDir dir_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<eventlog::Producer> producer_;
  std::unique_ptr<OverdueHub> hub_;
  int64_t published_records_ = 0;
};

TEST_F(OverdueHubTest, CursorRoundTripsAndGarbageIsInvalidArgument) {
  StreamPosition position;
  position[{topics::kCollections, 0}] = {12, 0};
  position[{topics::kCollections, 1}] = {3, 2};
  auto decoded = DecodeCursor(EncodeCursor(position));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, position);

  for (const std::string& garbage :
       std::vector<std::string>{"xyz", "oc1.", "oc1.!!!", "oc2.AAAA",
                                "oc1." + absl::WebSafeBase64Escape("\xff\x01zz")}) {
    EXPECT_EQ(DecodeCursor(garbage).status().code(), absl::StatusCode::kInvalidArgument) << garbage;
  }

  StartHub();
  auto garbage = hub_->Subscribe({}, "definitely-not-a-cursor");
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(garbage.status().message(), HasSubstr("cursor"));
  // A well-formed cursor of other partitions, and one ahead of the log.
  EXPECT_EQ(hub_->Subscribe({}, EncodeCursor(position)).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto current = DecodeCursor(hub_->current_cursor());
  ASSERT_TRUE(current.ok());
  (*current)[{topics::kCredit, 1}].next_offset = 1000;
  auto ahead = hub_->Subscribe({}, EncodeCursor(*current));
  EXPECT_EQ(ahead.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ahead.status().message(), HasSubstr("ahead of the log"));
  v1::OverdueFilter bad_bucket;
  bad_bucket.set_min_bucket("45-60");
  EXPECT_EQ(hub_->Subscribe(bad_bucket, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(OverdueHubTest, FiltersByTenantRegionSubsidiaryBucketAmountAndGrade) {
  const Account a{"t1", "eu", "de", "a"};
  const Account b{"t1", "us", "us1", "b"};
  const Account c{"t2", "eu", "fr", "c"};
  // Grades learned before the hub starts count too (it reads the log from the beginning).
  Publish({Rating(a, "rate-a", "D")}, topics::kCredit);
  StartHub();

  v1::OverdueFilter tenant_t1;
  tenant_t1.set_tenant("t1");
  v1::OverdueFilter eu;
  eu.add_regions("eu");
  v1::OverdueFilter subsidiary_fr;
  subsidiary_fr.add_subsidiaries("fr");
  v1::OverdueFilter over_60;
  over_60.set_min_bucket("61-90");
  v1::OverdueFilter big_eur;
  big_eur.mutable_min_amount()->set_minor_units(50'000);
  big_eur.mutable_min_amount()->set_currency("EUR");
  v1::OverdueFilter grade_d_or_e;
  grade_d_or_e.add_grades("D");
  grade_d_or_e.add_grades("E");
  auto all = Subscribe();
  auto t1 = Subscribe(tenant_t1);
  auto regions = Subscribe(eu);
  auto subsidiaries = Subscribe(subsidiary_fr);
  auto buckets = Subscribe(over_60);
  auto amounts = Subscribe(big_eur);
  auto grades = Subscribe(grade_d_or_e);

  Publish({Overdue(a, "a1", 5, 10'000)});
  Publish({Overdue(b, "b1", 70, 90'000)});
  Publish({Overdue(c, "c1", 95, 60'000, "USD")});
  Publish({Reminder(a, "not-streamed")});
  Publish({Rating(b, "rate-b", "E")}, topics::kCredit);
  WaitForHub();
  // The hold is judged by b's grade (E, from the credit topic), days (70) and total.
  Publish({Hold(b, "b-hold")});
  Publish({Cured(c, "c-cured")});  // judged by c's facts before the cure
  Publish({Overdue(c, "c2", 3, 100, "USD")});
  WaitForHub();

  // Accounts may sit in different partitions: no order across them.
  using ::testing::UnorderedElementsAre;
  EXPECT_THAT(Drain(*all), UnorderedElementsAre("a1", "b1", "c1", "b-hold", "c-cured", "c2"));
  EXPECT_THAT(Drain(*t1), UnorderedElementsAre("a1", "b1", "b-hold"));
  EXPECT_THAT(Drain(*regions), UnorderedElementsAre("a1", "c1", "c-cured", "c2"));
  EXPECT_THAT(Drain(*subsidiaries), UnorderedElementsAre("c1", "c-cured", "c2"));
  EXPECT_THAT(Drain(*buckets), UnorderedElementsAre("b1", "c1", "b-hold", "c-cured"));
  EXPECT_THAT(Drain(*amounts), UnorderedElementsAre("b1", "b-hold"));
  EXPECT_THAT(Drain(*grades), UnorderedElementsAre("a1", "b-hold"));
}

TEST_F(OverdueHubTest, WithoutCursorStartsFromNow) {
  const Account a;
  Publish({Overdue(a, "before", 1, 100)});
  StartHub();
  auto subscription = Subscribe();
  Publish({Overdue(a, "after", 2, 100)});
  EXPECT_THAT(Take(*subscription, 1), ElementsAreArray({"after"}));
}

TEST_F(OverdueHubTest, ResumeAcrossDisconnectLosesAndRepeatsNothing) {
  StartHub();
  std::vector<Account> accounts;
  for (int i = 0; i < 6; ++i)
    accounts.push_back(Account{"t1", "eu", "de", absl::StrCat("acct-", i)});
  std::vector<std::string> expected;
  auto publish_round = [&](int round) {
    for (int i = 0; i < 6; ++i) {
      // Two streamed events and one that is not, in one record.
      const std::string id = absl::StrCat("r", round, "-", i);
      Publish({Overdue(accounts[i], id + "-a", 1, 100), Reminder(accounts[i], id + "-x"),
               Overdue(accounts[i], id + "-b", 2, 200)});
      expected.push_back(id + "-a");
      expected.push_back(id + "-b");
    }
  };
  auto first = Subscribe();
  publish_round(0);
  publish_round(1);
  // Stop in the middle of a record: 7 updates = 3.5 records.
  std::vector<std::string> received = Take(*first, 7);
  const std::string cursor = first->resume_cursor();
  first->Cancel();
  EXPECT_EQ(hub_->subscriber_count(), 0u);

  publish_round(2);  // while disconnected
  auto second = Subscribe({}, cursor);
  ASSERT_NE(second, nullptr);
  // More while it replays, then it must switch to live without a gap.
  std::thread more([&] {
    publish_round(3);
    publish_round(4);
  });
  more.join();
  std::vector<std::string> rest = Take(*second, static_cast<int>(expected.size()) - 7);
  received.insert(received.end(), rest.begin(), rest.end());
  WaitForHub();
  EXPECT_THAT(Drain(*second), ::testing::IsEmpty());
  EXPECT_THAT(received, UnorderedElementsAreArray(expected));
  // Per account the order of the log holds.
  for (int i = 0; i < 6; ++i) {
    std::vector<std::string> mine, theirs;
    const std::string suffix = absl::StrCat("-", i, "-");
    for (const auto& id : received) {
      if (id.find(suffix) != std::string::npos) mine.push_back(id);
    }
    for (const auto& id : expected) {
      if (id.find(suffix) != std::string::npos) theirs.push_back(id);
    }
    EXPECT_THAT(mine, ElementsAreArray(theirs));
  }
  EXPECT_GE(hub_->stats().catch_ups, 1);

  // Resuming at the live position joins immediately and repeats nothing.
  const std::string live_cursor = second->resume_cursor();
  second->Cancel();
  auto third = Subscribe({}, live_cursor);
  publish_round(5);
  EXPECT_THAT(Take(*third, 12), UnorderedElementsAreArray(
                                    std::vector<std::string>(expected.end() - 12, expected.end())));
}

TEST_F(OverdueHubTest, ReplayLongerThanTheQueueWaitsForTheSubscriberInsteadOfFailing) {
  OverdueHubOptions options;
  options.max_queued_per_subscriber = 16;
  StartHub(options);
  const Account a;
  auto first = Subscribe();
  const std::string cursor = first->resume_cursor();
  first->Cancel();
  for (int i = 0; i < 200; ++i) PublishAsync({Overdue(a, absl::StrCat("e", i), 1, 100)});
  WaitForHub();
  auto resumed = Subscribe({}, cursor);
  std::vector<std::string> received = Take(*resumed, 200);
  ASSERT_EQ(received.size(), 200u);
  EXPECT_EQ(received.front(), "e0");
  EXPECT_EQ(received.back(), "e199");
}

TEST_F(OverdueHubTest, StalledSubscriberIsEndedWithItsCursorAndDoesNotDelayOthers) {
  OverdueHubOptions options;
  options.max_queued_per_subscriber = 64;
  StartHub(options);
  const Account a;
  auto stalled = Subscribe();  // never reads
  auto fast = Subscribe();
  constexpr int kEvents = 500;
  std::vector<absl::Duration> latencies;
  std::atomic<int> received{0};
  std::thread reader([&] {
    for (int i = 0; i < kEvents; ++i) {
      OverdueSubscription::Next next = fast->WaitNext(absl::Seconds(10));
      if (!next.update) break;
      latencies.push_back(absl::Now() -
                          absl::FromUnixMicros(next.update->event().occurred_at_unix_micros()));
      ++received;
    }
  });
  // In bursts of 20 (one group commit each), each once the fast subscriber has taken the
  // one before (a busy machine must not make it look slow): the stalled one's queue of 64
  // overflows in the fourth burst.
  for (int i = 0; i < kEvents; ++i) {
    PublishAsync({Overdue(a, absl::StrCat("e", i), 1, 100)});
    if (i % 20 == 19) {
      ASSERT_TRUE(producer_->Flush(absl::Seconds(10)).ok());
      ASSERT_TRUE(ar::testing::WaitFor([&] { return received.load() > i; }, absl::Seconds(10)));
    }
  }
  reader.join();
  ASSERT_EQ(latencies.size(), static_cast<size_t>(kEvents));
  std::sort(latencies.begin(), latencies.end());
  const absl::Duration p99 = latencies[kEvents * 99 / 100];
  std::printf("fast subscriber beside a stalled one: p50 %s p99 %s max %s\n",
              absl::FormatDuration(latencies[kEvents / 2]).c_str(),
              absl::FormatDuration(p99).c_str(), absl::FormatDuration(latencies.back()).c_str());
  EXPECT_LT(p99, absl::Milliseconds(500));

  OverdueSubscription::Next end = stalled->WaitNext(absl::Seconds(1));
  ASSERT_TRUE(end.ended.has_value());
  EXPECT_EQ(end.ended->code(), absl::StatusCode::kResourceExhausted);
  const std::string cursor = stalled->resume_cursor();
  EXPECT_THAT(end.ended->message(), HasSubstr("resume with cursor " + cursor));
  EXPECT_EQ(hub_->stats().subscribers_fell_behind, 1);

  // It resumes from its cursor and gets every event once (it took none before).
  auto resumed = Subscribe({}, cursor);
  std::vector<std::string> all = Take(*resumed, kEvents);
  ASSERT_EQ(all.size(), static_cast<size_t>(kEvents));
  EXPECT_EQ(all.front(), "e0");
  EXPECT_EQ(all.back(), absl::StrCat("e", kEvents - 1));
}

TEST_F(OverdueHubTest, ThousandSubscribersEachGetEveryEvent) {
  StartHub();
  std::vector<std::shared_ptr<OverdueSubscription>> subscriptions;
  for (int i = 0; i < 1000; ++i) subscriptions.push_back(Subscribe());
  EXPECT_EQ(hub_->subscriber_count(), 1000u);
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    const Account account{"t1", "eu", "de", absl::StrCat("acct-", i % 4)};
    expected.push_back(absl::StrCat("e", i));
    PublishAsync({Overdue(account, expected.back(), 1, 100)});
  }
  WaitForHub();
  for (auto& subscription : subscriptions) {
    ASSERT_THAT(Drain(*subscription), UnorderedElementsAreArray(expected));
  }
  EXPECT_EQ(hub_->stats().deliveries, 20'000);
}

TEST_F(OverdueHubTest, SubscribersBeyondTheLimitAreRefused) {
  OverdueHubOptions options;
  options.max_subscribers = 2;
  StartHub(options);
  auto first = Subscribe();
  auto second = Subscribe();
  auto third = hub_->Subscribe({}, "");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  first->Cancel();
  EXPECT_TRUE(hub_->Subscribe({}, "").ok());
}

TEST_F(OverdueHubTest, StopEndsStreamsWithUnavailableAndTheirCursor) {
  StartHub();
  auto subscription = Subscribe();
  const std::string cursor = subscription->resume_cursor();
  hub_->Stop();
  OverdueSubscription::Next end = subscription->WaitNext(absl::Seconds(1));
  ASSERT_TRUE(end.ended.has_value());
  EXPECT_EQ(end.ended->code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(end.ended->message(), HasSubstr(cursor));
  EXPECT_EQ(hub_->Subscribe({}, "").status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ar::gateway
