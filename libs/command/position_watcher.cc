#include "libs/command/position_watcher.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/time/clock.h"

namespace ar::command {
namespace {

// The longest the thread waits on one position before looking at the others again: bounds
// how late a timeout fires, and how long a position that the runner committed before the
// one being waited for can go unnoticed (rare: a runner commits every partition it polled
// in one batch).
constexpr absl::Duration kMaxWait = absl::Milliseconds(20);

}  // namespace

PositionWatcher::PositionWatcher(projection::ProjectionRunner& runner)
    : runner_(runner), thread_([this] { Loop(); }) {}

PositionWatcher::~PositionWatcher() { Stop(); }

void PositionWatcher::NotifyWhenApplied(const eventlog::LogPosition& position, absl::Time deadline,
                                        Callback on_done) {
  const eventlog::TopicPartition partition{position.topic, position.partition};
  if (runner_.CommittedOffset(partition) > position.offset) {
    on_done(true);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      waiting_[partition].emplace(position.offset, Waiting{deadline, std::move(on_done)});
      // The thread sleeps on wake_ only while nothing is waiting.
      if (++waiting_count_ == 1) wake_.notify_one();
      return;
    }
  }
  on_done(runner_.CommittedOffset(partition) > position.offset);
}

void PositionWatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::map<eventlog::TopicPartition, std::multimap<int64_t, Waiting>> left;
  {
    std::lock_guard lock(mu_);
    left.swap(waiting_);
    waiting_count_ = 0;
  }
  for (auto& [partition, by_offset] : left) {
    const int64_t committed = runner_.CommittedOffset(partition);
    for (auto& [offset, waiting] : by_offset) waiting.on_done(committed > offset);
  }
}

void PositionWatcher::Loop() {
  std::unique_lock lock(mu_);
  std::vector<std::pair<Callback, bool>> ready;
  while (!stopping_) {
    if (waiting_count_ == 0) {
      wake_.wait(lock);
      continue;
    }
    // Wait for the oldest position: the head of the partition whose head is due first.
    eventlog::LogPosition target;
    absl::Time first_deadline = absl::InfiniteFuture();
    for (const auto& [partition, by_offset] : waiting_) {
      const auto& [offset, waiting] = *by_offset.begin();
      if (waiting.deadline <= first_deadline) {
        first_deadline = waiting.deadline;
        target = {partition.topic, partition.partition, offset};
      }
    }
    const absl::Duration wait =
        std::clamp(first_deadline - absl::Now(), absl::ZeroDuration(), kMaxWait);
    lock.unlock();
    runner_.WaitForPosition(target, wait);
    lock.lock();

    const absl::Time now = absl::Now();
    for (auto partition = waiting_.begin(); partition != waiting_.end();) {
      std::multimap<int64_t, Waiting>& by_offset = partition->second;
      const auto committed_end = by_offset.lower_bound(runner_.CommittedOffset(partition->first));
      for (auto it = by_offset.begin(); it != committed_end; ++it) {
        ready.emplace_back(std::move(it->second.on_done), true);
      }
      by_offset.erase(by_offset.begin(), committed_end);
      for (auto it = by_offset.begin(); it != by_offset.end();) {
        if (it->second.deadline > now) {
          ++it;
          continue;
        }
        ready.emplace_back(std::move(it->second.on_done), false);
        it = by_offset.erase(it);
      }
      partition = by_offset.empty() ? waiting_.erase(partition) : std::next(partition);
    }
    if (ready.empty()) continue;
    waiting_count_ -= ready.size();
    lock.unlock();
    for (auto& [on_done, applied] : ready) on_done(applied);
    ready.clear();
    lock.lock();
  }
}

}  // namespace ar::command
