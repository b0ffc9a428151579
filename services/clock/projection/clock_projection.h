#pragma once
// The clock's read model: one hash per region, `clk:region:<region>`, with
//   closed    day number (core::DayNumber) of the last closed day
//   zone      the IANA zone it was closed in
//   partition, offset   where the record that closed it is in ar.clock.events
// A BusinessDayClosed for a day already closed (a replay, a retried record) changes
// nothing.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"

namespace ar::clock {

inline constexpr char kClockProjection[] = "clock";

struct RegionCalendar {
  absl::CivilDay closed_through;
  std::string time_zone;
  eventlog::LogPosition closed_by;  // the record that closed `closed_through`
};

// The region's calendar, or none if it never closed a day.
absl::StatusOr<std::optional<RegionCalendar>> LoadRegionCalendar(store::Store& store,
                                                                 const std::string& region);

class ClockProjection : public projection::Handler {
 public:
  explicit ClockProjection(store::Store& store) : store_(store) {}

  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;
  void Discard() override { pending_.clear(); }
  void Committed() override { pending_.clear(); }

  static std::vector<std::string> Topics();

 private:
  store::Store& store_;
  // Days closed by the batch being built, not yet in the store.
  std::map<std::string, absl::CivilDay> pending_;
};

}  // namespace ar::clock
