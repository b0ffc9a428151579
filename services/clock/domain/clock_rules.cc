#include "services/clock/domain/clock_rules.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/dates.h"
#include "libs/core/ids.h"
#include "libs/core/status_macros.h"
#include "libs/core/text.h"
#include "libs/protoconv/protoconv.h"

namespace ar::clock {

absl::StatusOr<std::map<std::string, RegionZone>> ParseRegionZones(std::string_view spec) {
  std::map<std::string, RegionZone> regions;
  for (absl::string_view entry : absl::StrSplit(core::ToAbsl(spec), ',', absl::SkipEmpty())) {
    const std::vector<absl::string_view> parts = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("region entry '", entry, "' is not region=Time/Zone"));
    }
    RegionZone region;
    region.region = std::string(parts[0]);
    region.time_zone_name = std::string(parts[1]);
    RETURN_IF_ERROR(core::ValidateId(region.region, "region"));
    ASSIGN_OR_RETURN(region.zone, core::LoadRegionTimeZone(region.time_zone_name));
    if (regions.count(region.region) > 0) {
      return absl::InvalidArgumentError(absl::StrCat("region '", region.region, "' named twice"));
    }
    regions.emplace(region.region, std::move(region));
  }
  return regions;
}

absl::StatusOr<std::vector<absl::CivilDay>> DaysToClose(
    std::optional<absl::CivilDay> closed_through, absl::CivilDay to_date) {
  RETURN_IF_ERROR(core::ValidateBusinessDate(to_date, "to_date"));
  // The last supported day can be closed only if its successor (the new business date)
  // is supported too.
  if (to_date >= core::kMaxBusinessDate) {
    return absl::InvalidArgumentError("to_date must be before 9999-12-31");
  }
  std::vector<absl::CivilDay> days;
  if (!closed_through.has_value()) {
    days.push_back(to_date);
    return days;
  }
  const int64_t count = core::DaysBetween(*closed_through, to_date);
  if (count <= 0) return days;
  if (count > kMaxDaysPerAdvance) {
    return absl::InvalidArgumentError(absl::StrCat(
        "advancing from ", core::FormatDate(*closed_through), " to ", core::FormatDate(to_date),
        " would close ", count, " days; at most ", kMaxDaysPerAdvance, " per call"));
  }
  days.reserve(count);
  for (absl::CivilDay day = *closed_through + 1; day <= to_date; ++day) days.push_back(day);
  return days;
}

absl::CivilDay LastEndedDay(absl::Time now, absl::TimeZone zone) {
  return core::BusinessDateAt(now, zone) - 1;
}

std::string DayClosedId(std::string_view region, absl::CivilDay day) {
  return absl::StrCat("clock:", core::ToAbsl(region), ":", core::FormatDate(day));
}

v1::Event DayClosedEvent(const RegionZone& region, absl::CivilDay day) {
  v1::Event event;
  event.set_event_id(DayClosedId(region.region, day));
  event.set_region(region.region);
  event.set_account(region.region);
  event.set_schema_version(1);
  // The instant the day ended there: the same for every replay and every retry.
  event.set_occurred_at_unix_micros(absl::ToUnixMicros(absl::FromCivil(day + 1, region.zone)));
  v1::BusinessDayClosed* closed = event.mutable_business_day_closed();
  *closed->mutable_date() = protoconv::DayToProto(day);
  closed->set_time_zone(region.time_zone_name);
  return event;
}

}  // namespace ar::clock
