#include "services/clock/clock_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, regions, ar::clock::kDefaultRegions,
          "the regions and their IANA time zones: region=Zone/Name,...");
ABSL_FLAG(bool, wall_clock, true, "close each region's business day as its local midnight passes");
ABSL_FLAG(bool, wall_clock_starts_regions, true,
          "the wall clock starts a region that never closed a day at its last ended day "
          "(false: only regions an AdvanceBusinessDay started move, e.g. a demo replaying "
          "history)");

namespace ar::clock {

absl::StatusOr<ClockOptions> ClockOptionsFromFlags() {
  ClockOptions options;
  absl::StatusOr<std::map<std::string, RegionZone>> regions =
      ParseRegionZones(absl::GetFlag(FLAGS_regions));
  if (!regions.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--regions: ", regions.status().message()));
  }
  options.regions = *std::move(regions);
  options.wall_clock = absl::GetFlag(FLAGS_wall_clock);
  options.wall_clock_starts_regions = absl::GetFlag(FLAGS_wall_clock_starts_regions);
  return options;
}

}  // namespace ar::clock
