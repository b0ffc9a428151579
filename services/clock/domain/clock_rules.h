#pragma once
// The business-day clock's rules, pure: which days a region closes, and when.
//
// BusinessDayClosed(D) says day D has ended in the region; the region's business date is
// then D + 1. A region's calendar starts at its first closed day and then moves one day at
// a time: never a day twice, never a day skipped.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ar/v1/events.pb.h"

namespace ar::clock {

// One configured region: its id (as in Event.region) and its IANA time zone.
struct RegionZone {
  std::string region;
  std::string time_zone_name;
  absl::TimeZone zone;
};

// The regions ar-suite runs by default, one per continent of the demo's subsidiaries.
inline constexpr char kDefaultRegions[] = "eu=Europe/Berlin,us=America/New_York,apac=Asia/Shanghai";

// Parses "region=Zone/Name,region=Zone/Name" (ids as core::ValidateId, zones as
// core::LoadRegionTimeZone). Empty entries are skipped; a region named twice, a missing
// '=' or an unknown zone -> INVALID_ARGUMENT naming the entry.
absl::StatusOr<std::map<std::string, RegionZone>> ParseRegionZones(std::string_view spec);

// The most days one AdvanceBusinessDay may close: ten years is a backfill, more is a typo.
inline constexpr int64_t kMaxDaysPerAdvance = 3'660;

// The days to close, in order, to bring a region whose last closed day is
// `closed_through` (none for a region that never closed a day) to `to_date`: empty when
// `to_date` is already closed; just `to_date` for a region that never closed a day (its
// calendar starts there). More than kMaxDaysPerAdvance days, or a date outside the
// supported range -> INVALID_ARGUMENT.
absl::StatusOr<std::vector<absl::CivilDay>> DaysToClose(
    std::optional<absl::CivilDay> closed_through, absl::CivilDay to_date);

// The last day that has ended in `zone` at `now`: the day before the business date in
// force there.
absl::CivilDay LastEndedDay(absl::Time now, absl::TimeZone zone);

// The event that closes `day` in `region`: event id `clock:<region>:<YYYY-MM-DD>`,
// account = region (the partition key), tenant "" (every tenant of the region).
v1::Event DayClosedEvent(const RegionZone& region, absl::CivilDay day);
// The idempotency key of the command that closes `day` (the same as the event id).
std::string DayClosedId(std::string_view region, absl::CivilDay day);

}  // namespace ar::clock
