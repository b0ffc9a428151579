#pragma once
// Business dates and region time zones.
//
// A business date (due date, closing date, promise date) is a civil day, not an instant:
// "due 2027-03-31" means the same day whoever reads it. Instants (absl::Time) turn into
// business dates only through a region's time zone, and the day a region is in changes at
// its local midnight (see NextLocalMidnight), which drives BusinessDayClosed.
//
// Supported dates are 0001-01-01 .. 9999-12-31 (what YYYY-MM-DD can spell); every
// function taking input from outside checks that range, so no arithmetic can overflow.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace ar::core {

inline constexpr absl::CivilDay kMinBusinessDate = absl::CivilDay(1, 1, 1);
inline constexpr absl::CivilDay kMaxBusinessDate = absl::CivilDay(9999, 12, 31);

// Strict "YYYY-MM-DD": exactly 10 characters, zero-padded, year 0001..9999, and a day
// that exists (2027-02-29 and 2027-04-31 are rejected, 2028-02-29 is fine). Anything else
// -> INVALID_ARGUMENT; nothing is normalised or guessed.
absl::StatusOr<absl::CivilDay> ParseDate(std::string_view text);

// "YYYY-MM-DD" (zero-padded); ParseDate reads it back for every supported date.
std::string FormatDate(absl::CivilDay day);

// OK when `day` lies in [kMinBusinessDate, kMaxBusinessDate]; otherwise INVALID_ARGUMENT
// naming `what`.
absl::Status ValidateBusinessDate(absl::CivilDay day, std::string_view what);

// Days since 1970-01-01 (negative before it): an integer that sorts like the dates, for
// sorted-set scores and compact storage.
int64_t DayNumber(absl::CivilDay day);
// The inverse of DayNumber; numbers outside the supported dates -> INVALID_ARGUMENT.
absl::StatusOr<absl::CivilDay> DayFromNumber(int64_t day_number);

// b - a in days (positive when b is later): DaysBetween(2028-02-28, 2028-03-01) == 2.
int64_t DaysBetween(absl::CivilDay a, absl::CivilDay b);

// The last day of `day`'s month: 2028-02-10 -> 2028-02-29, 2027-02-10 -> 2027-02-28.
absl::CivilDay EndOfMonth(absl::CivilDay day);

// The most days of payment terms accepted (100 years: no real contract comes near it,
// and it keeps every due date inside the supported range checks meaningful).
inline constexpr int64_t kMaxTermDays = 36'525;

// "Net N": issue + N days. N outside [0, kMaxTermDays], an issue date or due date outside
// the supported dates -> INVALID_ARGUMENT.
absl::StatusOr<absl::CivilDay> DueDateNetDays(absl::CivilDay issue, int64_t days);

// "EOM + N": N days after the end of the issue month, the usual reading of end-of-month
// terms: issued anywhere in January 2027 with EOM+30 -> 2027-01-31 + 30 = 2027-03-02
// (2028: 2028-03-01). Same argument checks as DueDateNetDays.
absl::StatusOr<absl::CivilDay> DueDateEndOfMonthPlus(absl::CivilDay issue, int64_t days);

// Loads an IANA time zone ("Europe/Berlin", "Asia/Shanghai", "UTC") from the system
// zoneinfo database (Debian package tzdata). Unknown names, names that are not plain
// zone names (empty, absolute paths, "..", odd characters) and "localtime" (which would
// make a region's calendar depend on the server's configuration) -> INVALID_ARGUMENT.
absl::StatusOr<absl::TimeZone> LoadRegionTimeZone(std::string_view name);

// The business date in force at `instant` in `zone`: one UTC instant can be two dates
// (2027-03-31T20:00Z is 2027-04-01 in Asia/Shanghai but 2027-03-31 in America/New_York).
absl::CivilDay BusinessDateAt(absl::Time instant, absl::TimeZone zone);

// The instant at which the business date in force at `instant` ends in `zone`: the first
// instant whose local date is later. Correct across DST changes, including zones where
// local midnight is skipped (the day then starts at the transition) or happens twice (the
// first occurrence after `instant`). The next date is usually, but not always, one day
// later (Pacific/Apia skipped 2011-12-30). Infinite instants are returned unchanged.
absl::Time NextLocalMidnight(absl::Time instant, absl::TimeZone zone);

}  // namespace ar::core
