#include "libs/core/dates.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "libs/core/text.h"

namespace ar::core {
namespace {

constexpr absl::CivilDay kEpoch = absl::CivilDay(1970, 1, 1);

bool IsSupported(absl::CivilDay day) { return day >= kMinBusinessDate && day <= kMaxBusinessDate; }

absl::Status ValidateTermDays(int64_t days) {
  if (days < 0 || days > kMaxTermDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("payment terms of ", days, " days are outside 0..", kMaxTermDays));
  }
  return absl::OkStatus();
}

// Checked again on the result so that a valid issue date plus valid terms can never
// produce a date FormatDate/ParseDate cannot round-trip.
absl::StatusOr<absl::CivilDay> CheckedDueDate(absl::CivilDay due) {
  if (absl::Status valid = ValidateBusinessDate(due, "due date"); !valid.ok()) return valid;
  return due;
}

// A zone name as IANA spells them: segments of letters, digits, '_', '-', '+' separated by
// single '/'. This also keeps absl from being pointed at arbitrary files.
bool IsPlainZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (absl::string_view segment : absl::StrSplit(ToAbsl(name), '/')) {
    if (segment.empty() || segment == "." || segment == "..") return false;
    const bool plain = std::all_of(segment.begin(), segment.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '+';
    });
    if (!plain) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<absl::CivilDay> ParseDate(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid date ", QuoteForMessage(text), ": ", ToAbsl(why)));
  };
  constexpr std::string_view kShape = "expected YYYY-MM-DD";
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return invalid(kShape);
  const auto number = [&](std::size_t begin, std::size_t length, int& out) {
    out = 0;
    for (std::size_t i = begin; i < begin + length; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int year = 0, month = 0, day = 0;
  if (!number(0, 4, year) || !number(5, 2, month) || !number(8, 2, day)) return invalid(kShape);
  if (year < 1) return invalid("year must be 0001..9999");
  if (month < 1 || month > 12) return invalid("month must be 01..12");
  // absl normalises out-of-range fields (02-30 becomes 03-02); a date is real exactly when
  // normalisation leaves it unchanged.
  const absl::CivilDay civil(year, month, day);
  if (day < 1 || civil.day() != day || civil.month() != month) {
    return invalid(absl::StrFormat("%04d-%02d has no day %02d", year, month, day));
  }
  return civil;
}

std::string FormatDate(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

absl::Status ValidateBusinessDate(absl::CivilDay day, std::string_view what) {
  if (IsSupported(day)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(what), " ", FormatDate(day),
                   " is outside the supported dates 0001-01-01..9999-12-31"));
}

int64_t DayNumber(absl::CivilDay day) { return day - kEpoch; }

absl::StatusOr<absl::CivilDay> DayFromNumber(int64_t day_number) {
  if (day_number < DayNumber(kMinBusinessDate) || day_number > DayNumber(kMaxBusinessDate)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "day number ", day_number, " is outside the supported dates 0001-01-01..9999-12-31"));
  }
  return kEpoch + day_number;
}

int64_t DaysBetween(absl::CivilDay a, absl::CivilDay b) { return b - a; }

absl::CivilDay EndOfMonth(absl::CivilDay day) {
  return absl::CivilDay(absl::CivilMonth(day) + 1) - 1;
}

absl::StatusOr<absl::CivilDay> DueDateNetDays(absl::CivilDay issue, int64_t days) {
  if (absl::Status valid = ValidateBusinessDate(issue, "issue date"); !valid.ok()) return valid;
  if (absl::Status valid = ValidateTermDays(days); !valid.ok()) return valid;
  return CheckedDueDate(issue + days);
}

absl::StatusOr<absl::CivilDay> DueDateEndOfMonthPlus(absl::CivilDay issue, int64_t days) {
  if (absl::Status valid = ValidateBusinessDate(issue, "issue date"); !valid.ok()) return valid;
  if (absl::Status valid = ValidateTermDays(days); !valid.ok()) return valid;
  return CheckedDueDate(EndOfMonth(issue) + days);
}

absl::StatusOr<absl::TimeZone> LoadRegionTimeZone(std::string_view name) {
  if (!IsPlainZoneName(name) || name == "localtime") {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid time zone name ", QuoteForMessage(name),
                     " (expected an IANA name such as \"Europe/Berlin\")"));
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(std::string(name), &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown time zone ", QuoteForMessage(name),
                     " (an IANA name such as \"Europe/Berlin\"; is tzdata installed?)"));
  }
  return zone;
}

absl::CivilDay BusinessDateAt(absl::Time instant, absl::TimeZone zone) {
  return absl::ToCivilDay(instant, zone);
}

absl::Time NextLocalMidnight(absl::Time instant, absl::TimeZone zone) {
  if (instant == absl::InfiniteFuture() || instant == absl::InfinitePast()) return instant;
  const absl::CivilSecond next_day_start(absl::ToCivilDay(instant, zone) + 1);
  const absl::TimeZone::TimeInfo info = zone.At(next_day_start);
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::UNIQUE:
      return info.pre;
    case absl::TimeZone::TimeInfo::SKIPPED:
      // Local midnight never happens; the new day starts when the clocks jump.
      return info.trans;
    case absl::TimeZone::TimeInfo::REPEATED:
      // Midnight happens twice. Normally the first one ends the day; but if `instant` lies
      // in the repeated hour after it (the clocks went back across midnight), the day
      // closes again at the second.
      return info.pre > instant ? info.pre : info.post;
  }
  return info.pre;
}

}  // namespace ar::core
