#pragma once
// The overdue stream behind SubscribeOverdue, without gRPC: ONE reader of the log feeds
// every subscriber.
//
// - The hub reads every partition of ar.collections.events and ar.credit.events by
//   explicit assignment (no consumer group: every gateway replica sees everything), from
//   the beginning, so it knows each account's grade (CreditRatingChanged, or the
//   risk_grade of DunningLevelRaised), days past due and overdue total (AccountOverdue,
//   DunningLevelRaised; AccountCured resets them). It streams AccountOverdue,
//   DunningLevelRaised, PromiseToPayBroken, CreditHoldPlaced and AccountCured events,
//   each annotated with those account facts (an AccountCured carries the facts from
//   before the cure, so it reaches the subscribers that saw the account overdue).
// - Every update carries a cursor: the hub's position right after it (see
//   overdue_cursor.h). A subscriber starting without a cursor starts at the hub's position
//   (now); one with a cursor first replays the log from there with a temporary consumer
//   of its own (catch-up, run by a small worker pool) and joins the live fan-out only at
//   the moment its replay position equals the hub's, under the hub's lock: nothing is
//   lost or delivered twice. The replay never reads past the hub's position, so the
//   cursors of the live updates that follow cover everything the replay delivered.
// - Each subscriber has a bounded queue. The live fan-out never waits for a subscriber:
//   one whose queue is full is ended with RESOURCE_EXHAUSTED naming the cursor of the
//   last update it took, from which it can resume. A replay instead pauses while the
//   subscriber's queue is half full (it is the subscriber's own backlog, not the
//   others').
//
// Caveat: the account facts of replayed updates are the hub's current ones (the hub
// keeps no history), and grades come from another topic than the collections events, so
// around a grade change a grade filter may judge a replayed update differently from the
// live one. Filters on the envelope (tenant, region, subsidiary) and on facts carried by
// the collections events themselves are exact.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ar/v1/gateway.pb.h"
#include "libs/eventlog/eventlog.h"
#include "services/gateway/subscription/overdue_cursor.h"
#include "services/gateway/subscription/overdue_filter.h"

namespace ar::gateway {

struct OverdueHubOptions {
  std::vector<std::string> topics;  // empty: ar.collections.events and ar.credit.events
  std::vector<AgingBucket> buckets = DefaultAgingBuckets();
  // Updates queued for one subscriber before it counts as fallen behind.
  size_t max_queued_per_subscriber = 1024;
  size_t max_subscribers = 10'000;
  int catch_up_threads = 2;
  int max_records_per_poll = 500;
  absl::Duration poll_timeout = absl::Milliseconds(100);
};

struct OverdueHubStats {
  int64_t records = 0;              // records read by the hub
  int64_t undecodable_records = 0;  // skipped (the services dead-letter them)
  int64_t updates = 0;              // streamable events seen
  int64_t deliveries = 0;           // updates queued to live subscribers
  int64_t subscribers_fell_behind = 0;
  int64_t catch_ups = 0;  // subscriptions that replayed the log
};

class OverdueHub;

// One subscriber's end of the stream. Thread-safe.
class OverdueSubscription {
 public:
  struct Next {
    std::shared_ptr<const v1::OverdueUpdate> update;  // set: deliver it
    std::optional<absl::Status> ended;                // set: the stream is over
  };

  // The next update, or the end; with neither, `on_available` is armed and runs once
  // (from a hub thread, never under a lock of the hub) when there is one. The end is
  // reported as soon as it happens: updates still queued then are dropped, and the
  // status names the cursor to resume from.
  Next TryNext(std::function<void()> on_available);
  // Blocking form for tests and tools: {} after `timeout` with nothing.
  Next WaitNext(absl::Duration timeout);

  // The client went away: leave the hub. Idempotent.
  void Cancel();

  // The cursor of the last update taken (the stream's start before any): where a client
  // that lost this stream resumes without gap or repeat.
  std::string resume_cursor() const;

 private:
  friend class OverdueHub;
  struct CatchUpJob;

  OverdueSubscription(OverdueHub* hub, uint64_t id, OverdueFilterMatcher filter, size_t max_queued)
      : hub_(hub), id_(id), filter_(std::move(filter)), max_queued_(max_queued) {}

  // Queues an update; returns the armed callback to run once no lock is held. A live
  // push to a full queue ends the subscription instead.
  std::function<void()> Push(std::shared_ptr<const v1::OverdueUpdate> update, bool live,
                             bool* fell_behind = nullptr);
  // Ends the stream; returns the armed callback to run once no lock is held.
  std::function<void()> End(absl::Status status);
  std::function<void()> EndLocked(absl::Status status);
  size_t queued() const;
  // Parks the catch-up until the subscriber has taken most of its queue; false when the
  // queue is already short enough (run the job again instead).
  bool ParkCatchUp(std::shared_ptr<CatchUpJob> job);
  bool ended() const;
  Next TakeLocked();

  OverdueHub* const hub_;
  const uint64_t id_;
  const OverdueFilterMatcher filter_;
  const size_t max_queued_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const v1::OverdueUpdate>> queue_;
  std::optional<absl::Status> end_;
  std::function<void()> on_available_;
  std::string last_cursor_;
  std::shared_ptr<CatchUpJob> parked_;
};

class OverdueHub {
 public:
  OverdueHub(eventlog::EventLog& log, OverdueHubOptions options);
  ~OverdueHub();
  OverdueHub(const OverdueHub&) = delete;
  OverdueHub& operator=(const OverdueHub&) = delete;

  // Reads the topics' partitions (they must exist) and starts reading from the beginning.
  absl::Status Start();
  // Waits until the hub has read everything that was in the log when Start() ran.
  absl::Status WaitUntilCaughtUp(absl::Duration timeout);
  bool caught_up() const;
  // Ends every subscription with UNAVAILABLE (naming its resume cursor) and stops
  // reading. Idempotent.
  void Stop();

  // Errors: INVALID_ARGUMENT (bad filter, bad or foreign cursor, a cursor ahead of the
  // log), UNAVAILABLE (not caught up yet, stopped), RESOURCE_EXHAUSTED (too many
  // subscribers).
  absl::StatusOr<std::shared_ptr<OverdueSubscription>> Subscribe(const v1::OverdueFilter& filter,
                                                                 const std::string& cursor);

  OverdueHubStats stats() const;
  size_t subscriber_count() const;
  // The hub's current position as a cursor (what a subscription without one starts at).
  std::string current_cursor() const;

 private:
  friend class OverdueSubscription;
  using CatchUpJob = OverdueSubscription::CatchUpJob;

  struct AccountFacts {
    std::string grade;
    int32_t days_past_due = 0;
    v1::Money overdue_total;
  };

  bool ReachedStartEnd();  // under mu_
  void ReadLoop();
  void ProcessRecord(const eventlog::Record& record);
  // Applies `event` to the account facts and, for a streamed kind, returns the update
  // (without cursor) annotated with them. Called under mu_.
  std::optional<v1::OverdueUpdate> Observe(const v1::Event& event, bool learn);
  void CatchUpLoop();
  // One bounded step of a replay; re-queues, parks or hands the job over to the live set.
  void StepCatchUp(const std::shared_ptr<CatchUpJob>& job);
  void EnqueueCatchUp(std::shared_ptr<CatchUpJob> job);
  void Remove(uint64_t id);
  absl::Status ValidateCursorPosition(const StreamPosition& position);

  eventlog::EventLog& log_;
  OverdueHubOptions options_;
  std::vector<eventlog::TopicPartition> partitions_;
  StreamPosition start_end_;  // the log's end when Start() ran

  mutable std::mutex mu_;
  std::condition_variable position_cv_;
  StreamPosition position_;  // next record the hub reads, per partition
  std::unordered_map<std::string, AccountFacts> accounts_;
  std::vector<std::shared_ptr<OverdueSubscription>> live_;
  std::map<uint64_t, std::weak_ptr<OverdueSubscription>> all_;
  std::vector<std::shared_ptr<CatchUpJob>> waiting_for_hub_;
  uint64_t next_id_ = 1;
  bool caught_up_ = false;
  bool stopping_ = false;
  OverdueHubStats stats_;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<std::shared_ptr<CatchUpJob>> jobs_;

  std::unique_ptr<eventlog::Consumer> consumer_;
  std::thread reader_;
  std::vector<std::thread> catch_up_workers_;
  bool started_ = false;  // under mu_
  bool stopped_ = false;  // under mu_
};

}  // namespace ar::gateway
