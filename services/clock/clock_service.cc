#include "services/clock/clock_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/command/read_consistency.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "libs/servicekit/backends.h"

namespace ar::clock {

absl::StatusOr<std::unique_ptr<ClockService>> ClockService::Create(eventlog::EventLog& log,
                                                                   store::Store& store,
                                                                   ClockOptions options) {
  if (options.topic_partitions < 1) {
    return absl::InvalidArgumentError("topic_partitions must be at least 1");
  }
  if (!options.now) return absl::InvalidArgumentError("the clock needs a source of now");
  ASSIGN_OR_RETURN(std::unique_ptr<eventlog::Producer> producer, log.NewProducer());
  return std::unique_ptr<ClockService>(
      new ClockService(log, store, std::move(producer), std::move(options)));
}

ClockService::ClockService(eventlog::EventLog& log, store::Store& store,
                           std::unique_ptr<eventlog::Producer> producer, ClockOptions options)
    : log_(log),
      store_(store),
      options_(std::move(options)),
      handler_(store),
      producer_(std::move(producer)) {
  projection::ProjectionOptions projection_options;
  projection_options.name = kClockProjection;
  projection_options.topics = ClockProjection::Topics();
  // Every partition: Advance waits on this runner for the records it published.
  projection_options.use_consumer_group = false;
  projection_ = std::make_unique<projection::ProjectionRunner>(log_, store_, handler_,
                                                               std::move(projection_options));
  command::CommandExecutor::Options executor_options;
  executor_options.topic = topics::kClock;
  executor_options.catch_up_timeout = options_.command_catch_up_timeout;
  executor_ =
      std::make_unique<command::CommandExecutor>(*producer_, *projection_, executor_options);
  for (const auto& [region, zone] : options_.regions) {
    region_locks_.emplace(region, std::make_unique<std::mutex>());
  }
  grpc_ = std::make_unique<ClockGrpcService>(*this, ready_);
}

ClockService::~ClockService() { Stop(); }

absl::Status ClockService::Start() {
  if (started_) return absl::FailedPreconditionError("clock already started");
  started_ = true;
  servicekit::BackendSettings topic_settings;
  topic_settings.topic_partitions = options_.topic_partitions;
  RETURN_IF_ERROR(servicekit::EnsureTopics(log_, topic_settings, ClockProjection::Topics()));
  RETURN_IF_ERROR(projection_->Start());
  RETURN_IF_ERROR(
      executor_->CatchUp(log_, ClockProjection::Topics(), options_.start_catch_up_timeout));
  if (options_.wall_clock) wall_clock_thread_ = std::thread([this] { WallClockLoop(); });
  ready_ = true;
  return absl::OkStatus();
}

void ClockService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ready_ = false;
  {
    std::lock_guard<std::mutex> lock(wall_clock_mu_);
    stopping_ = true;
  }
  wall_clock_cv_.notify_all();
  if (wall_clock_thread_.joinable()) wall_clock_thread_.join();
  if (projection_) projection_->Stop();
  if (producer_) producer_->Stop(absl::Seconds(10));
}

absl::StatusOr<v1::CommandResult> ClockService::CloseDay(const RegionZone& region,
                                                         absl::CivilDay day) {
  return executor_->Execute("", region.region, [&]() -> absl::StatusOr<command::Decision> {
    // Decided on the read model under the region's command slot: the day before must be
    // the last closed one (or the region must be new), whatever happened since the caller
    // looked.
    ASSIGN_OR_RETURN(std::optional<RegionCalendar> calendar,
                     LoadRegionCalendar(store_, region.region));
    command::Decision decision;
    decision.command_id = DayClosedId(region.region, day);
    if (calendar.has_value() && day <= calendar->closed_through) {
      v1::CommandResult duplicate;
      duplicate.set_duplicate(true);
      decision.duplicate_of = duplicate;
      return decision;
    }
    if (calendar.has_value() && day != calendar->closed_through + 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("region ", region.region, " is closed through ",
                       core::FormatDate(calendar->closed_through), "; ", core::FormatDate(day),
                       " would skip days"));
    }
    decision.events.push_back(DayClosedEvent(region, day));
    return decision;
  });
}

absl::StatusOr<AdvanceResult> ClockService::Advance(const std::string& region,
                                                    absl::CivilDay to_date) {
  auto configured = options_.regions.find(region);
  if (configured == options_.regions.end()) {
    std::string known;
    for (const auto& [name, zone] : options_.regions) absl::StrAppend(&known, " ", name);
    return absl::NotFoundError(
        absl::StrCat("region '", region, "' is not configured; configured:", known));
  }
  std::lock_guard<std::mutex> lock(*region_locks_.at(region));
  ASSIGN_OR_RETURN(std::optional<RegionCalendar> calendar, LoadRegionCalendar(store_, region));
  std::optional<absl::CivilDay> closed_through;
  if (calendar.has_value()) closed_through = calendar->closed_through;
  ASSIGN_OR_RETURN(std::vector<absl::CivilDay> days, DaysToClose(closed_through, to_date));

  AdvanceResult result;
  result.region = region;
  for (absl::CivilDay day : days) {
    ASSIGN_OR_RETURN(v1::CommandResult closed, CloseDay(configured->second, day));
    if (closed.duplicate()) continue;
    result.closed.push_back(day);
    result.result = std::move(closed);
  }
  if (!result.closed.empty()) {
    result.closed_through = result.closed.back();
    return result;
  }
  // Nothing new: answer with where the region stands and the record that put it there.
  ASSIGN_OR_RETURN(calendar, LoadRegionCalendar(store_, region));
  if (!calendar.has_value()) {
    return absl::InternalError(absl::StrCat("region ", region, " has no closed day after closing"));
  }
  result.closed_through = calendar->closed_through;
  *result.result.mutable_position() = command::ToProto(calendar->closed_by);
  result.result.set_duplicate(true);
  return result;
}

absl::StatusOr<v1::GetBusinessDatesResponse> ClockService::BusinessDates(
    const v1::ReadConsistency& consistency, absl::Time caller_deadline) {
  RETURN_IF_ERROR(command::AwaitReadConsistency(*projection_, consistency,
                                                ClockProjection::Topics(), "clock",
                                                options_.read_wait_timeout, caller_deadline));
  v1::GetBusinessDatesResponse response;
  for (const auto& [name, region] : options_.regions) {
    v1::RegionBusinessDate* entry = response.add_regions();
    entry->set_region(name);
    entry->set_time_zone(region.time_zone_name);
    ASSIGN_OR_RETURN(std::optional<RegionCalendar> calendar, LoadRegionCalendar(store_, name));
    if (!calendar.has_value()) continue;
    *entry->mutable_closed_through() = protoconv::DayToProto(calendar->closed_through);
    *entry->mutable_business_date() = protoconv::DayToProto(calendar->closed_through + 1);
  }
  return response;
}

absl::Status ClockService::CloseEndedDays() {
  const absl::Time now = options_.now();
  absl::Status first_error;
  for (const auto& [name, region] : options_.regions) {
    absl::Status closed = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<RegionCalendar> calendar, LoadRegionCalendar(store_, name));
      if (!calendar.has_value() && !options_.wall_clock_starts_regions) return absl::OkStatus();
      const absl::CivilDay ended = LastEndedDay(now, region.zone);
      if (calendar.has_value() && calendar->closed_through >= ended) return absl::OkStatus();
      return Advance(name, ended).status();
    }();
    // One region's failure (the log is down) must not hold the others back.
    if (!closed.ok() && first_error.ok()) {
      first_error =
          absl::Status(closed.code(), absl::StrCat("region ", name, ": ", closed.message()));
    }
  }
  return first_error;
}

void ClockService::WallClockLoop() {
  std::unique_lock<std::mutex> lock(wall_clock_mu_);
  while (!stopping_) {
    lock.unlock();
    const absl::Status closed = CloseEndedDays();
    const absl::Time now = options_.now();
    absl::Time next = now + absl::Hours(1);
    if (!closed.ok()) {
      next = now + options_.wall_clock_retry;
    } else {
      for (const auto& [name, region] : options_.regions) {
        next = std::min(next, core::NextLocalMidnight(now, region.zone));
      }
    }
    lock.lock();
    // Wakes at the next local midnight (at most an hour away, so a changed system clock
    // is noticed within the hour).
    wall_clock_cv_.wait_for(lock,
                            absl::ToChronoNanoseconds(std::max(next - now, absl::Milliseconds(10))),
                            [this] { return stopping_; });
  }
}

}  // namespace ar::clock
