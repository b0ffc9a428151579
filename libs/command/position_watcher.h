#pragma once
// Asynchronous read-your-writes: runs a callback once a ProjectionRunner has committed a
// log position, instead of parking the caller's thread in WaitForPosition.
//
// One thread per watcher waits on the runner for the oldest position anyone is waiting
// for; every time it wakes (the runner committed a batch, or at most every kMaxWait) it
// completes every waiting position the runner has committed since and times out those
// past their deadline. A projection commit therefore wakes one thread for all the
// commands it completes, not one parked thread per command.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"

namespace ar::command {

class PositionWatcher {
 public:
  // `applied`: true once the runner has committed the position; false at the deadline or
  // when the watcher stops first.
  using Callback = std::function<void(bool applied)>;

  explicit PositionWatcher(projection::ProjectionRunner& runner);
  // Stop().
  ~PositionWatcher();
  PositionWatcher(const PositionWatcher&) = delete;
  PositionWatcher& operator=(const PositionWatcher&) = delete;

  // Calls `on_done` exactly once: on the calling thread when the position is already
  // committed (or the watcher is stopped), else on the watcher's thread. `on_done` must
  // not block: it delays every other completion.
  void NotifyWhenApplied(const eventlog::LogPosition& position, absl::Time deadline,
                         Callback on_done);

  // Completes every waiting callback with false and ends the thread; later calls to
  // NotifyWhenApplied answer at once. Idempotent.
  void Stop();

 private:
  struct Waiting {
    absl::Time deadline;
    Callback on_done;
  };

  void Loop();

  projection::ProjectionRunner& runner_;
  std::mutex mu_;
  std::condition_variable wake_;
  // By partition, then by offset: a runner commits each partition in offset order.
  std::map<eventlog::TopicPartition, std::multimap<int64_t, Waiting>> waiting_;
  size_t waiting_count_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ar::command
