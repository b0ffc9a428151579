#pragma once
// Conversions between the proto contract's value types (ar.v1.Date, ar.v1.Money) and
// libs/core's, in one place for every service.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ar/v1/events.pb.h"

namespace ar::protoconv {

// Whether any of year, month and day is set (proto3 has no presence for them).
bool IsDateSet(const v1::Date& date);

// A real business date, or INVALID_ARGUMENT naming `what`: unset ("... is missing"),
// not a calendar date (2027-02-30), or outside core's supported range.
absl::StatusOr<absl::CivilDay> DayFromProto(const v1::Date& date, std::string_view what);

v1::Date DayToProto(absl::CivilDay day);

// "2027-03-01", also for dates that are not valid (for messages).
std::string DescribeDay(const v1::Date& date);

v1::Money MoneyProto(int64_t minor_units, const std::string& currency);

}  // namespace ar::protoconv
