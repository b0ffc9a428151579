#pragma once
// Conversions between the proto contract's value types (ar.v1.Date, ar.v1.Money) and
// libs/core's, in one place for every service.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"

namespace ar::protoconv {

// Whether any of year, month and day is set (proto3 has no presence for them).
bool IsDateSet(const v1::Date& date);

// A real business date, or INVALID_ARGUMENT naming `what`: unset ("... is missing"),
// not a calendar date (2027-02-30), or outside core's supported range.
absl::StatusOr<absl::CivilDay> DayFromProto(const v1::Date& date, std::string_view what);

v1::Date DayToProto(absl::CivilDay day);

// The date exactly as given, not normalised (requests, including impossible dates that
// a test wants rejected).
v1::Date DateProto(int year, int month, int day);

// "2027-03-01", also for dates that are not valid (for messages).
std::string DescribeDay(const v1::Date& date);

v1::Money MoneyProto(int64_t minor_units, const std::string& currency);

// The envelope fields every event of a command shares: who it is about, when it was
// recorded (also taken as when it occurred), and which command and request it came from.
struct EnvelopeSource {
  int64_t recorded_at_unix_micros = 0;
  std::string correlation_id;
  std::string causation_id;
};
void StampEnvelope(v1::Event& event, const v1::AccountRef& account, std::string event_id,
                   const EnvelopeSource& source);

}  // namespace ar::protoconv
