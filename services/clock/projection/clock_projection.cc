#include "services/clock/projection/clock_projection.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"

namespace ar::clock {
namespace {

std::string RegionKey(const std::string& region) { return absl::StrCat("clk:region:", region); }

absl::StatusOr<int64_t> IntField(const std::map<std::string, std::string>& fields,
                                 const std::string& name, const std::string& key) {
  auto it = fields.find(name);
  int64_t value = 0;
  if (it == fields.end() || !absl::SimpleAtoi(it->second, &value)) {
    return absl::DataLossError(
        absl::StrCat("clock read model: field '", name, "' of ", key, " missing or not a number"));
  }
  return value;
}

}  // namespace

absl::StatusOr<std::optional<RegionCalendar>> LoadRegionCalendar(store::Store& store,
                                                                 const std::string& region) {
  const std::string key = RegionKey(region);
  ASSIGN_OR_RETURN(auto fields, store.HGetAll(key));
  if (fields.empty()) return std::optional<RegionCalendar>();
  RegionCalendar calendar;
  ASSIGN_OR_RETURN(int64_t day_number, IntField(fields, "closed", key));
  ASSIGN_OR_RETURN(calendar.closed_through, core::DayFromNumber(day_number));
  calendar.time_zone = fields["zone"];
  calendar.closed_by.topic = topics::kClock;
  ASSIGN_OR_RETURN(int64_t partition, IntField(fields, "partition", key));
  calendar.closed_by.partition = static_cast<int32_t>(partition);
  ASSIGN_OR_RETURN(calendar.closed_by.offset, IntField(fields, "offset", key));
  return std::optional<RegionCalendar>(std::move(calendar));
}

std::vector<std::string> ClockProjection::Topics() { return {topics::kClock}; }

absl::Status ClockProjection::Apply(const v1::Event& event, const eventlog::Record& source,
                                    store::WriteBatch& batch) {
  if (event.body_case() != v1::Event::kBusinessDayClosed) return absl::OkStatus();
  if (event.region().empty()) {
    return absl::InvalidArgumentError("BusinessDayClosed without a region");
  }
  ASSIGN_OR_RETURN(absl::CivilDay day,
                   protoconv::DayFromProto(event.business_day_closed().date(), "date"));
  std::optional<absl::CivilDay> closed;
  if (auto it = pending_.find(event.region()); it != pending_.end()) {
    closed = it->second;
  } else {
    ASSIGN_OR_RETURN(std::optional<RegionCalendar> calendar,
                     LoadRegionCalendar(store_, event.region()));
    if (calendar.has_value()) closed = calendar->closed_through;
  }
  if (closed.has_value() && day <= *closed) return absl::OkStatus();  // already closed
  pending_[event.region()] = day;
  const std::string key = RegionKey(event.region());
  batch.HSet(key, "closed", absl::StrCat(core::DayNumber(day)));
  batch.HSet(key, "zone", event.business_day_closed().time_zone());
  batch.HSet(key, "partition", absl::StrCat(source.partition));
  batch.HSet(key, "offset", absl::StrCat(source.offset));
  return absl::OkStatus();
}

}  // namespace ar::clock
