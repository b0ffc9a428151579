#pragma once
// The business-day clock as a hostable component: closes business days per region, on
// demand (Advance) and, when the wall clock is on, as local midnight passes in each
// region's time zone. Every close is one BusinessDayClosed record on ar.clock.events,
// published through the CommandExecutor (one command per day, command id
// `clock:<region>:<date>`, serialized per region) after the clock's read model confirms
// the previous day is closed: a day is never closed twice or skipped, also across
// restarts and concurrent callers.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ar/v1/clock.grpc.pb.h"
#include "libs/command/command_executor.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"
#include "services/clock/api/clock_grpc.h"
#include "services/clock/domain/clock_rules.h"
#include "services/clock/projection/clock_projection.h"

namespace ar::clock {

struct ClockOptions {
  std::map<std::string, RegionZone> regions;
  // Close days as local midnight passes (production); off for tests and demos that
  // advance the calendar themselves.
  bool wall_clock = true;
  // With the wall clock on, a region that never closed a day starts its calendar at the
  // last day that has ended. Off: the wall clock only moves regions an Advance started
  // (a demo that replays history from an earlier date).
  bool wall_clock_starts_regions = true;
  // The clock's source of "now" (tests inject one).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  int topic_partitions = 4;
  absl::Duration start_catch_up_timeout = absl::Minutes(5);
  absl::Duration command_catch_up_timeout = absl::Seconds(10);
  absl::Duration read_wait_timeout = absl::Seconds(5);
  // After a failed wall-clock pass (log down), try again after this long.
  absl::Duration wall_clock_retry = absl::Seconds(5);
};

class ClockService : public Clock {
 public:
  static absl::StatusOr<std::unique_ptr<ClockService>> Create(eventlog::EventLog& log,
                                                              store::Store& store,
                                                              ClockOptions options);
  ~ClockService();

  // Creates the topic, catches the read model up with the log, starts the wall clock.
  absl::Status Start();
  // Stops the wall clock and the projection, flushes the producer. Idempotent.
  void Stop();

  // Closes every day of `region` after its last closed day up to `to_date`.
  // Unknown region -> NOT_FOUND; too far -> INVALID_ARGUMENT.
  absl::StatusOr<AdvanceResult> Advance(const std::string& region, absl::CivilDay to_date) override;
  // The configured regions and their calendars, once the read model reached `consistency`.
  absl::StatusOr<v1::GetBusinessDatesResponse> BusinessDates(const v1::ReadConsistency& consistency,
                                                             absl::Time caller_deadline) override;
  // One wall-clock pass: closes, in every region, the days that ended by options.now().
  absl::Status CloseEndedDays();

  const std::map<std::string, RegionZone>& regions() const { return options_.regions; }
  grpc::Service* grpc_service() { return grpc_.get(); }
  projection::ProjectionRunner& projection() { return *projection_; }
  bool ready() const { return ready_.load(); }

 private:
  ClockService(eventlog::EventLog& log, store::Store& store,
               std::unique_ptr<eventlog::Producer> producer, ClockOptions options);
  absl::StatusOr<v1::CommandResult> CloseDay(const RegionZone& region, absl::CivilDay day);
  void WallClockLoop();

  eventlog::EventLog& log_;
  store::Store& store_;
  ClockOptions options_;
  ClockProjection handler_;
  std::unique_ptr<eventlog::Producer> producer_;
  std::unique_ptr<projection::ProjectionRunner> projection_;
  std::unique_ptr<command::CommandExecutor> executor_;
  std::unique_ptr<grpc::Service> grpc_;
  // One Advance per region at a time (the executor serializes single commands; this
  // keeps a multi-day advance from interleaving with another).
  std::map<std::string, std::unique_ptr<std::mutex>> region_locks_;

  std::thread wall_clock_thread_;
  std::mutex wall_clock_mu_;
  std::condition_variable wall_clock_cv_;
  bool stopping_ = false;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> ready_{false};
};

}  // namespace ar::clock
