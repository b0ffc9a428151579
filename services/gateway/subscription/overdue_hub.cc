#include "services/gateway/subscription/overdue_hub.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ar/v1/events.pb.h"
#include "libs/command/command_executor.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"

namespace ar::gateway {

// A replay of the log for one subscriber, from its cursor up to the hub's position.
struct OverdueSubscription::CatchUpJob {
  std::shared_ptr<OverdueSubscription> subscription;
  std::unique_ptr<eventlog::Consumer> consumer;
  StreamPosition position;
  std::set<eventlog::TopicPartition> assigned;
};

namespace {

constexpr int kCatchUpRecordsPerStep = 256;
constexpr absl::Duration kCatchUpPollTimeout = absl::Milliseconds(20);

void Run(const std::function<void()>& callback) {
  if (callback) callback();
}

std::string AccountKey(const v1::Event& event) {
  return absl::StrCat(event.tenant(), "\x1f", event.account());
}

v1::LogPosition PositionProto(const eventlog::Record& record) {
  return command::ToProto(eventlog::LogPosition{record.topic, record.partition, record.offset});
}

}  // namespace

// ---- OverdueSubscription ----

OverdueSubscription::Next OverdueSubscription::TakeLocked() {
  if (end_.has_value()) return Next{nullptr, end_};
  if (queue_.empty()) return Next{};
  Next next{std::move(queue_.front()), std::nullopt};
  queue_.pop_front();
  last_cursor_ = next.update->cursor();
  return next;
}

OverdueSubscription::Next OverdueSubscription::TryNext(std::function<void()> on_available) {
  std::shared_ptr<CatchUpJob> unparked;
  Next next;
  {
    std::lock_guard lock(mu_);
    next = TakeLocked();
    if (!next.update && !next.ended) on_available_ = std::move(on_available);
    if (parked_ && queue_.size() <= max_queued_ / 4) unparked = std::move(parked_);
  }
  if (unparked) hub_->EnqueueCatchUp(std::move(unparked));
  return next;
}

OverdueSubscription::Next OverdueSubscription::WaitNext(absl::Duration timeout) {
  std::shared_ptr<CatchUpJob> unparked;
  Next next;
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, absl::ToChronoMicroseconds(timeout),
                 [&] { return end_.has_value() || !queue_.empty(); });
    next = TakeLocked();
    if (parked_ && queue_.size() <= max_queued_ / 4) unparked = std::move(parked_);
  }
  if (unparked) hub_->EnqueueCatchUp(std::move(unparked));
  return next;
}

void OverdueSubscription::Cancel() {
  {
    std::lock_guard lock(mu_);
    if (end_.has_value()) return;
  }
  Run(End(absl::CancelledError("the subscriber cancelled the stream")));
  hub_->Remove(id_);
}

std::string OverdueSubscription::resume_cursor() const {
  std::lock_guard lock(mu_);
  return last_cursor_;
}

std::function<void()> OverdueSubscription::Push(std::shared_ptr<const v1::OverdueUpdate> update,
                                                bool live, bool* fell_behind) {
  std::lock_guard lock(mu_);
  if (end_.has_value()) return {};
  if (live && queue_.size() >= max_queued_) {
    if (fell_behind) *fell_behind = true;
    return EndLocked(absl::ResourceExhaustedError(
        absl::StrCat("subscriber fell behind (", max_queued_,
                     " updates waiting); resume with cursor ", last_cursor_)));
  }
  queue_.push_back(std::move(update));
  cv_.notify_one();
  return std::exchange(on_available_, nullptr);
}

std::function<void()> OverdueSubscription::End(absl::Status status) {
  std::shared_ptr<CatchUpJob> parked;  // released after the lock: it owns a consumer
  std::function<void()> callback;
  {
    std::lock_guard lock(mu_);
    parked = std::move(parked_);
    callback = EndLocked(std::move(status));
  }
  return callback;
}

std::function<void()> OverdueSubscription::EndLocked(absl::Status status) {
  if (end_.has_value()) return {};
  end_ = std::move(status);
  queue_.clear();
  cv_.notify_all();
  return std::exchange(on_available_, nullptr);
}

size_t OverdueSubscription::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool OverdueSubscription::ended() const {
  std::lock_guard lock(mu_);
  return end_.has_value();
}

bool OverdueSubscription::ParkCatchUp(std::shared_ptr<CatchUpJob> job) {
  std::lock_guard lock(mu_);
  if (end_.has_value()) return true;  // dropped: nobody reads this stream any more
  if (queue_.size() <= max_queued_ / 4) return false;
  parked_ = std::move(job);
  return true;
}

// ---- OverdueHub ----

OverdueHub::OverdueHub(eventlog::EventLog& log, OverdueHubOptions options)
    : log_(log), options_(std::move(options)) {
  if (options_.topics.empty()) options_.topics = {topics::kCollections, topics::kCredit};
}

OverdueHub::~OverdueHub() { Stop(); }

absl::Status OverdueHub::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) {
      return absl::FailedPreconditionError("the overdue hub was already started");
    }
  }
  std::vector<eventlog::TopicPartitionOffset> assignment;
  for (const std::string& topic : options_.topics) {
    absl::StatusOr<int32_t> count = log_.PartitionCount(topic);
    if (!count.ok()) {
      return absl::Status(count.status().code(), absl::StrCat("overdue hub: topic ", topic, ": ",
                                                              count.status().message()));
    }
    for (int32_t p = 0; p < *count; ++p) {
      eventlog::TopicPartition tp{topic, p};
      ASSIGN_OR_RETURN(int64_t end, log_.EndOffset(tp));
      partitions_.push_back(tp);
      start_end_[tp] = PartitionPosition{end, 0};
      position_[tp] = PartitionPosition{0, 0};
      assignment.push_back({topic, p, eventlog::kOffsetBeginning});
    }
  }
  eventlog::ConsumerOptions consumer_options;
  consumer_options.client_id = "gateway-overdue-hub";
  ASSIGN_OR_RETURN(consumer_, log_.NewConsumer(consumer_options));
  RETURN_IF_ERROR(consumer_->Assign(assignment));
  {
    std::lock_guard lock(mu_);
    started_ = true;
    caught_up_ = ReachedStartEnd();
  }
  reader_ = std::thread([this] { ReadLoop(); });
  for (int i = 0; i < std::max(1, options_.catch_up_threads); ++i) {
    catch_up_workers_.emplace_back([this] { CatchUpLoop(); });
  }
  return absl::OkStatus();
}

absl::Status OverdueHub::WaitUntilCaughtUp(absl::Duration timeout) {
  std::unique_lock lock(mu_);
  if (!position_cv_.wait_for(lock, absl::ToChronoMicroseconds(timeout),
                             [&] { return caught_up_ || stopping_; }) ||
      !caught_up_) {
    return absl::UnavailableError("the overdue hub has not caught up with the log in time");
  }
  return absl::OkStatus();
}

bool OverdueHub::caught_up() const {
  std::lock_guard lock(mu_);
  return caught_up_;
}

void OverdueHub::Stop() {
  std::vector<std::shared_ptr<OverdueSubscription>> subscriptions;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    for (auto& [id, weak] : all_) {
      if (auto subscription = weak.lock()) subscriptions.push_back(std::move(subscription));
    }
    all_.clear();
    live_.clear();
    waiting_for_hub_.clear();
  }
  position_cv_.notify_all();
  for (const auto& subscription : subscriptions) {
    Run(subscription->End(absl::UnavailableError(absl::StrCat(
        "the gateway is shutting down; resume with cursor ", subscription->resume_cursor()))));
  }
  {
    std::lock_guard lock(jobs_mu_);
    jobs_.clear();
  }
  jobs_cv_.notify_all();
  for (std::thread& worker : catch_up_workers_) worker.join();
  catch_up_workers_.clear();
  if (reader_.joinable()) reader_.join();
  if (consumer_) consumer_->Close();
}

absl::Status OverdueHub::ValidateCursorPosition(const StreamPosition& position) {
  for (const eventlog::TopicPartition& tp : partitions_) {
    if (!position.contains(tp)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cursor does not cover ", tp.topic, "/", tp.partition,
          " (a cursor of another deployment?); subscribe without a cursor to start from now"));
    }
  }
  if (position.size() != partitions_.size()) {
    return absl::InvalidArgumentError(
        "cursor names partitions this gateway does not read (a cursor of another "
        "deployment?); subscribe without a cursor to start from now");
  }
  StreamPosition hub_position;
  {
    std::lock_guard lock(mu_);
    hub_position = position_;
  }
  for (const auto& [tp, at] : position) {
    if (at <= hub_position[tp]) continue;  // the hub has read that far: it exists
    ASSIGN_OR_RETURN(int64_t end, log_.EndOffset(tp));
    if (at.next_offset > end || (at.next_offset == end && at.skip_events > 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cursor is ahead of the log at ", tp.topic, "/", tp.partition, " (", at.next_offset,
          " > end ", end, "); subscribe without a cursor to start from now"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<OverdueSubscription>> OverdueHub::Subscribe(
    const v1::OverdueFilter& filter, const std::string& cursor) {
  ASSIGN_OR_RETURN(OverdueFilterMatcher matcher,
                   OverdueFilterMatcher::Compile(filter, options_.buckets));
  std::optional<StreamPosition> from;
  if (!cursor.empty()) {
    ASSIGN_OR_RETURN(from, DecodeCursor(cursor));
    RETURN_IF_ERROR(ValidateCursorPosition(*from));
  }
  std::shared_ptr<CatchUpJob> job;
  std::shared_ptr<OverdueSubscription> subscription;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !started_) {
      return absl::UnavailableError("the overdue stream is not running; retry shortly");
    }
    if (!caught_up_) {
      return absl::UnavailableError("the gateway is still reading the log; retry shortly");
    }
    if (all_.size() >= options_.max_subscribers) {
      return absl::ResourceExhaustedError(
          absl::StrCat("this gateway already serves ", all_.size(),
                       " overdue subscribers; retry later or use another replica"));
    }
    const uint64_t id = next_id_++;
    subscription.reset(
        new OverdueSubscription(this, id, std::move(matcher), options_.max_queued_per_subscriber));
    const StreamPosition start = from.value_or(position_);
    auto hello = std::make_shared<v1::OverdueUpdate>();
    hello->set_cursor(EncodeCursor(start));
    subscription->last_cursor_ = hello->cursor();
    Run(subscription->Push(std::move(hello), /*live=*/false));
    all_[id] = subscription;
    if (start == position_) {
      live_.push_back(subscription);
    } else {
      job = std::make_shared<CatchUpJob>();
      job->subscription = subscription;
      job->position = start;
      ++stats_.catch_ups;
    }
  }
  if (job) EnqueueCatchUp(std::move(job));
  return subscription;
}

void OverdueHub::Remove(uint64_t id) {
  std::lock_guard lock(mu_);
  all_.erase(id);
  std::erase_if(live_, [id](const auto& subscription) { return subscription->id_ == id; });
}

OverdueHubStats OverdueHub::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

size_t OverdueHub::subscriber_count() const {
  std::lock_guard lock(mu_);
  return all_.size();
}

std::string OverdueHub::current_cursor() const {
  std::lock_guard lock(mu_);
  return EncodeCursor(position_);
}

bool OverdueHub::ReachedStartEnd() {
  return std::all_of(start_end_.begin(), start_end_.end(),
                     [&](const auto& entry) { return position_[entry.first] >= entry.second; });
}

std::optional<v1::OverdueUpdate> OverdueHub::Observe(const v1::Event& event, bool learn) {
  const v1::Event::BodyCase kind = event.body_case();
  switch (kind) {
    case v1::Event::kCreditRatingChanged:
    case v1::Event::kAccountOverdue:
    case v1::Event::kDunningLevelRaised:
    case v1::Event::kPromiseToPayBroken:
    case v1::Event::kCreditHoldPlaced:
    case v1::Event::kAccountCured:
      break;
    default:
      return std::nullopt;
  }
  AccountFacts& facts = accounts_[AccountKey(event)];
  std::optional<v1::OverdueUpdate> update;
  if (kind != v1::Event::kCreditRatingChanged) {
    update.emplace();
    // Facts the event carries describe it best; the account's latest known ones fill in.
    update->set_account_grade(facts.grade);
    update->set_days_past_due(facts.days_past_due);
    *update->mutable_account_overdue_total() = facts.overdue_total;
  }
  switch (kind) {
    case v1::Event::kCreditRatingChanged:
      if (learn) facts.grade = event.credit_rating_changed().new_grade();
      break;
    case v1::Event::kAccountOverdue: {
      const v1::AccountOverdue& overdue = event.account_overdue();
      const v1::Money& total = overdue.has_account_overdue_total() ? overdue.account_overdue_total()
                                                                   : overdue.overdue_amount();
      update->set_days_past_due(overdue.days_past_due());
      *update->mutable_account_overdue_total() = total;
      if (learn) {
        facts.days_past_due = std::max(facts.days_past_due, overdue.days_past_due());
        facts.overdue_total = total;
      }
      break;
    }
    case v1::Event::kDunningLevelRaised: {
      const v1::DunningLevelRaised& raised = event.dunning_level_raised();
      update->set_days_past_due(raised.days_past_due());
      if (!raised.risk_grade().empty()) update->set_account_grade(raised.risk_grade());
      if (learn) {
        if (!raised.risk_grade().empty()) facts.grade = raised.risk_grade();
        facts.days_past_due = std::max(facts.days_past_due, raised.days_past_due());
      }
      break;
    }
    case v1::Event::kAccountCured:
      if (learn) {
        facts.days_past_due = 0;
        facts.overdue_total.Clear();
      }
      break;
    default:
      break;
  }
  if (update) *update->mutable_event() = event;
  return update;
}

void OverdueHub::ReadLoop() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    absl::StatusOr<std::vector<eventlog::Record>> records =
        consumer_->Poll(options_.max_records_per_poll, options_.poll_timeout);
    if (!records.ok()) {
      // The log is unreachable: keep trying; subscribers simply see nothing new meanwhile.
      std::unique_lock lock(mu_);
      position_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_; });
      continue;
    }
    for (const eventlog::Record& record : *records) ProcessRecord(record);
    std::vector<std::shared_ptr<CatchUpJob>> resumed;
    {
      std::lock_guard lock(mu_);
      if (!caught_up_) caught_up_ = ReachedStartEnd();
      if (!records->empty()) resumed.swap(waiting_for_hub_);
    }
    position_cv_.notify_all();
    for (auto& job : resumed) EnqueueCatchUp(std::move(job));
  }
}

void OverdueHub::ProcessRecord(const eventlog::Record& record) {
  v1::EventBatch batch;
  const bool decoded = batch.ParseFromString(record.value);
  const eventlog::TopicPartition tp{record.topic, record.partition};
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    ++stats_.records;
    if (!decoded) ++stats_.undecodable_records;
    for (int i = 0; decoded && i < batch.events_size(); ++i) {
      std::optional<v1::OverdueUpdate> update = Observe(batch.events(i), /*learn=*/true);
      if (!update) continue;
      ++stats_.updates;
      std::shared_ptr<v1::OverdueUpdate> shared;
      bool someone_fell_behind = false;
      for (const auto& subscription : live_) {
        if (!subscription->filter_.Matches(shared ? *shared : *update)) continue;
        if (!shared) {
          // The cursor after this event: its record is passed up to and including it.
          position_[tp] = PartitionPosition{record.offset, i + 1};
          update->set_cursor(EncodeCursor(position_));
          *update->mutable_position() = PositionProto(record);
          shared = std::make_shared<v1::OverdueUpdate>(std::move(*update));
        }
        bool fell_behind = false;
        std::function<void()> callback = subscription->Push(shared, /*live=*/true, &fell_behind);
        if (callback) callbacks.push_back(std::move(callback));
        if (fell_behind) {
          someone_fell_behind = true;
          ++stats_.subscribers_fell_behind;
          all_.erase(subscription->id_);
        } else {
          ++stats_.deliveries;
        }
      }
      if (someone_fell_behind) {
        std::erase_if(live_, [](const auto& subscription) { return subscription->ended(); });
      }
    }
    position_[tp] = PartitionPosition{record.offset + 1, 0};
  }
  for (const auto& callback : callbacks) callback();
}

void OverdueHub::EnqueueCatchUp(std::shared_ptr<CatchUpJob> job) {
  {
    std::lock_guard lock(jobs_mu_);
    jobs_.push_back(std::move(job));
  }
  jobs_cv_.notify_one();
}

void OverdueHub::CatchUpLoop() {
  while (true) {
    std::shared_ptr<CatchUpJob> job;
    {
      std::unique_lock lock(jobs_mu_);
      jobs_cv_.wait(lock, [&] {
        std::lock_guard hub_lock(mu_);
        return stopping_ || !jobs_.empty();
      });
      std::lock_guard hub_lock(mu_);
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    StepCatchUp(job);
  }
}

void OverdueHub::StepCatchUp(const std::shared_ptr<CatchUpJob>& job) {
  OverdueSubscription& subscription = *job->subscription;
  if (subscription.ended()) return;
  if (subscription.queued() > options_.max_queued_per_subscriber / 2 &&
      subscription.ParkCatchUp(job)) {
    return;
  }
  StreamPosition target;
  std::set<eventlog::TopicPartition> behind;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (job->position == position_) {
      // Caught up: from the next record on, the hub delivers. Under the hub's lock, so no
      // record falls between the replay and the live fan-out.
      if (!subscription.ended()) live_.push_back(job->subscription);
      return;
    }
    target = position_;
    for (const auto& [tp, at] : job->position) {
      if (at < target[tp]) behind.insert(tp);
    }
    if (behind.empty()) {
      // The cursor is ahead of this hub (it reads the log behind the cursor's writer):
      // wait for the hub to pass it.
      waiting_for_hub_.push_back(job);
      return;
    }
  }
  auto fail = [&](const absl::Status& status) {
    Run(subscription.End(absl::UnavailableError(
        absl::StrCat("replaying the log failed (", status.message(), "); resume with cursor ",
                     subscription.resume_cursor()))));
    Remove(subscription.id_);
  };
  if (!job->consumer) {
    eventlog::ConsumerOptions options;
    options.client_id = "gateway-overdue-catch-up";
    absl::StatusOr<std::unique_ptr<eventlog::Consumer>> consumer = log_.NewConsumer(options);
    if (!consumer.ok()) return fail(consumer.status());
    job->consumer = std::move(*consumer);
  }
  if (behind != job->assigned) {
    std::vector<eventlog::TopicPartitionOffset> assignment;
    for (const eventlog::TopicPartition& tp : behind) {
      assignment.push_back({tp.topic, tp.partition, job->position[tp].next_offset});
    }
    if (absl::Status assigned = job->consumer->Assign(assignment); !assigned.ok()) {
      return fail(assigned);
    }
    job->assigned = behind;
  }
  absl::StatusOr<std::vector<eventlog::Record>> records =
      job->consumer->Poll(kCatchUpRecordsPerStep, kCatchUpPollTimeout);
  if (!records.ok()) return fail(records.status());
  for (const eventlog::Record& record : *records) {
    const eventlog::TopicPartition tp{record.topic, record.partition};
    PartitionPosition& at = job->position[tp];
    if (record.offset < at.next_offset) continue;
    if (record.offset >= target[tp].next_offset) {
      // Past the hub's position: the hub delivers it. Reassign at our position next step.
      job->assigned.erase(tp);
      continue;
    }
    v1::EventBatch batch;
    const bool decoded = batch.ParseFromString(record.value);
    const int first = record.offset == at.next_offset ? at.skip_events : 0;
    for (int i = first; decoded && i < batch.events_size(); ++i) {
      std::optional<v1::OverdueUpdate> update;
      {
        std::lock_guard lock(mu_);
        update = Observe(batch.events(i), /*learn=*/false);
      }
      at = PartitionPosition{record.offset, i + 1};
      if (!update || !subscription.filter_.Matches(*update)) continue;
      update->set_cursor(EncodeCursor(job->position));
      *update->mutable_position() = PositionProto(record);
      Run(subscription.Push(std::make_shared<v1::OverdueUpdate>(std::move(*update)),
                            /*live=*/false));
    }
    at = PartitionPosition{record.offset + 1, 0};
  }
  EnqueueCatchUp(job);
}

}  // namespace ar::gateway
