#include "libs/core/dates.h"

#include <cstdint>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ar::core {
namespace {

using ::testing::HasSubstr;

absl::Time Utc(int year, int month, int day, int hour, int minute, int second = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                         absl::UTCTimeZone());
}

absl::TimeZone Zone(const char* name) {
  absl::StatusOr<absl::TimeZone> zone = LoadRegionTimeZone(name);
  EXPECT_TRUE(zone.ok()) << name << ": " << zone.status();
  return zone.ok() ? *zone : absl::UTCTimeZone();
}

// ---- parse / format -----------------------------------------------------------------

TEST(ParseDateTest, ParsesRealCalendarDates) {
  EXPECT_EQ(ParseDate("2027-03-31").value(), absl::CivilDay(2027, 3, 31));
  EXPECT_EQ(ParseDate("2028-02-29").value(), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(ParseDate("2000-02-29").value(), absl::CivilDay(2000, 2, 29));
  EXPECT_EQ(ParseDate("0001-01-01").value(), absl::CivilDay(1, 1, 1));
  EXPECT_EQ(ParseDate("9999-12-31").value(), absl::CivilDay(9999, 12, 31));
  EXPECT_EQ(ParseDate("2027-12-31").value(), absl::CivilDay(2027, 12, 31));
}

TEST(ParseDateTest, RejectsDaysThatDoNotExist) {
  for (const char* text :
       {"2027-02-29", "2100-02-29", "1900-02-29", "2027-04-31", "2027-06-31", "2027-02-30",
        "2027-01-32", "2027-01-00", "2027-00-10", "2027-13-01", "0000-01-01"}) {
    EXPECT_EQ(ParseDate(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_THAT(ParseDate("2027-02-29").status().message(), HasSubstr("2027-02-29"));
}

TEST(ParseDateTest, RejectsAnythingButStrictYyyyMmDd) {
  for (const char* text :
       {"", "2027-3-31", "27-03-31", "2027/03/31", "20270331", "2027-03-31T00:00", " 2027-03-31",
        "2027-03-31 ", "2027-03-3a", "+027-03-31", "-027-03-31", "2027-+3-31", "2027--3-31",
        "12027-03-31", "2027-03-31\n"}) {
    EXPECT_EQ(ParseDate(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(FormatDateTest, ZeroPadsAndRoundTrips) {
  EXPECT_EQ(FormatDate(absl::CivilDay(2027, 3, 5)), "2027-03-05");
  EXPECT_EQ(FormatDate(absl::CivilDay(1, 1, 1)), "0001-01-01");
  EXPECT_EQ(FormatDate(absl::CivilDay(2028, 2, 29)), "2028-02-29");
  for (absl::CivilDay day = absl::CivilDay(2027, 12, 1); day <= absl::CivilDay(2028, 3, 31);
       ++day) {
    EXPECT_EQ(ParseDate(FormatDate(day)).value(), day);
  }
}

// ---- day numbers and arithmetic -----------------------------------------------------

TEST(DayNumberTest, CountsDaysSinceTheUnixEpoch) {
  EXPECT_EQ(DayNumber(absl::CivilDay(1970, 1, 1)), 0);
  EXPECT_EQ(DayNumber(absl::CivilDay(1970, 1, 2)), 1);
  EXPECT_EQ(DayNumber(absl::CivilDay(1969, 12, 31)), -1);
  EXPECT_EQ(DayNumber(absl::CivilDay(2000, 1, 1)), 10957);
  EXPECT_EQ(DayNumber(absl::CivilDay(2028, 2, 29)), 21243);
  EXPECT_EQ(DayNumber(kMinBusinessDate), -719162);
  EXPECT_EQ(DayNumber(kMaxBusinessDate), 2932896);
}

TEST(DayNumberTest, DayFromNumberIsTheInverseWithinTheSupportedRange) {
  EXPECT_EQ(DayFromNumber(21243).value(), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(DayFromNumber(-719162).value(), kMinBusinessDate);
  EXPECT_EQ(DayFromNumber(2932896).value(), kMaxBusinessDate);
  for (int64_t n = 21000; n < 21500; ++n) EXPECT_EQ(DayNumber(DayFromNumber(n).value()), n);
  EXPECT_EQ(DayFromNumber(-719163).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DayFromNumber(2932897).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DayFromNumber(std::numeric_limits<int64_t>::max()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DayFromNumber(std::numeric_limits<int64_t>::min()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DateArithmeticTest, DaysBetweenAcrossLeapDays) {
  EXPECT_EQ(DaysBetween(absl::CivilDay(2028, 2, 28), absl::CivilDay(2028, 3, 1)), 2);
  EXPECT_EQ(DaysBetween(absl::CivilDay(2027, 2, 28), absl::CivilDay(2027, 3, 1)), 1);
  EXPECT_EQ(DaysBetween(absl::CivilDay(2028, 3, 1), absl::CivilDay(2028, 2, 28)), -2);
  EXPECT_EQ(DaysBetween(absl::CivilDay(2027, 1, 1), absl::CivilDay(2028, 1, 1)), 365);
  EXPECT_EQ(DaysBetween(absl::CivilDay(2028, 1, 1), absl::CivilDay(2029, 1, 1)), 366);
  EXPECT_EQ(DaysBetween(absl::CivilDay(2027, 3, 31), absl::CivilDay(2027, 3, 31)), 0);
}

TEST(DateArithmeticTest, EndOfMonth) {
  EXPECT_EQ(EndOfMonth(absl::CivilDay(2028, 2, 10)), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(EndOfMonth(absl::CivilDay(2027, 2, 10)), absl::CivilDay(2027, 2, 28));
  EXPECT_EQ(EndOfMonth(absl::CivilDay(2100, 2, 1)), absl::CivilDay(2100, 2, 28));
  EXPECT_EQ(EndOfMonth(absl::CivilDay(2000, 2, 1)), absl::CivilDay(2000, 2, 29));
  EXPECT_EQ(EndOfMonth(absl::CivilDay(2027, 12, 15)), absl::CivilDay(2027, 12, 31));
  EXPECT_EQ(EndOfMonth(absl::CivilDay(2027, 4, 30)), absl::CivilDay(2027, 4, 30));
  EXPECT_EQ(EndOfMonth(absl::CivilDay(2027, 1, 31)), absl::CivilDay(2027, 1, 31));
  EXPECT_EQ(EndOfMonth(kMaxBusinessDate), kMaxBusinessDate);
}

TEST(PaymentTermsTest, NetDays) {
  EXPECT_EQ(DueDateNetDays(absl::CivilDay(2027, 1, 31), 30).value(), absl::CivilDay(2027, 3, 2));
  EXPECT_EQ(DueDateNetDays(absl::CivilDay(2028, 1, 31), 30).value(), absl::CivilDay(2028, 3, 1));
  EXPECT_EQ(DueDateNetDays(absl::CivilDay(2028, 1, 30), 30).value(), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(DueDateNetDays(absl::CivilDay(2027, 12, 15), 30).value(), absl::CivilDay(2028, 1, 14));
  EXPECT_EQ(DueDateNetDays(absl::CivilDay(2027, 3, 31), 0).value(), absl::CivilDay(2027, 3, 31));
  EXPECT_EQ(DueDateNetDays(absl::CivilDay(2027, 3, 31), 90).value(), absl::CivilDay(2027, 6, 29));
}

TEST(PaymentTermsTest, EndOfMonthPlus) {
  EXPECT_EQ(DueDateEndOfMonthPlus(absl::CivilDay(2027, 1, 31), 30).value(),
            absl::CivilDay(2027, 3, 2));
  EXPECT_EQ(DueDateEndOfMonthPlus(absl::CivilDay(2027, 1, 1), 30).value(),
            absl::CivilDay(2027, 3, 2));
  EXPECT_EQ(DueDateEndOfMonthPlus(absl::CivilDay(2028, 1, 31), 30).value(),
            absl::CivilDay(2028, 3, 1));
  EXPECT_EQ(DueDateEndOfMonthPlus(absl::CivilDay(2028, 1, 31), 29).value(),
            absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(DueDateEndOfMonthPlus(absl::CivilDay(2027, 1, 31), 0).value(),
            absl::CivilDay(2027, 1, 31));
  EXPECT_EQ(DueDateEndOfMonthPlus(absl::CivilDay(2028, 2, 1), 0).value(),
            absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(DueDateEndOfMonthPlus(absl::CivilDay(2027, 2, 15), 30).value(),
            absl::CivilDay(2027, 3, 30));
  EXPECT_EQ(DueDateEndOfMonthPlus(absl::CivilDay(2027, 12, 10), 45).value(),
            absl::CivilDay(2028, 2, 14));
}

TEST(PaymentTermsTest, BadTermsAndDatesAreInvalidArgument) {
  const absl::CivilDay issue(2027, 3, 31);
  EXPECT_EQ(DueDateNetDays(issue, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DueDateNetDays(issue, kMaxTermDays + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DueDateNetDays(issue, std::numeric_limits<int64_t>::max()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DueDateEndOfMonthPlus(issue, -30).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DueDateNetDays(absl::CivilDay(9999, 12, 1), 60).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DueDateEndOfMonthPlus(absl::CivilDay(9999, 12, 1), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DueDateNetDays(absl::CivilDay(10000, 1, 1), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DueDateNetDays(absl::CivilDay(0, 12, 31), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DueDateNetDays(issue, kMaxTermDays).value(), issue + kMaxTermDays);
}

// ---- time zones ---------------------------------------------------------------------

TEST(TimeZoneTest, LoadsIanaZones) {
  EXPECT_EQ(Zone("Europe/Berlin").name(), "Europe/Berlin");
  EXPECT_EQ(Zone("UTC").name(), "UTC");
  EXPECT_EQ(Zone("America/Argentina/Buenos_Aires").name(), "America/Argentina/Buenos_Aires");
  EXPECT_EQ(Zone("Etc/GMT+5").name(), "Etc/GMT+5");
}

TEST(TimeZoneTest, UnknownOrUnsafeNamesAreInvalidArgument) {
  for (const char* name :
       {"", "Mars/Olympus_Mons", "Europe/Berlinn", "localtime", "/etc/passwd", "../../etc/passwd",
        "Europe/../Europe/Berlin", "Europe//Berlin", "Europe/Berlin/", "Europe/Berlin\n",
        "Europe/Berlin ", "Europe\\Berlin"}) {
    EXPECT_EQ(LoadRegionTimeZone(name).status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_THAT(LoadRegionTimeZone("Mars/Olympus_Mons").status().message(),
              HasSubstr("Mars/Olympus_Mons"));
}

TEST(BusinessDateTest, OneInstantIsTwoDatesInTwoRegions) {
  const absl::Time instant = Utc(2027, 3, 31, 20, 0);
  EXPECT_EQ(BusinessDateAt(instant, Zone("Asia/Shanghai")), absl::CivilDay(2027, 4, 1));
  EXPECT_EQ(BusinessDateAt(instant, Zone("America/New_York")), absl::CivilDay(2027, 3, 31));
  EXPECT_EQ(BusinessDateAt(instant, Zone("UTC")), absl::CivilDay(2027, 3, 31));
  EXPECT_EQ(BusinessDateAt(Utc(2028, 2, 28, 16, 0), Zone("Asia/Shanghai")),
            absl::CivilDay(2028, 2, 29));
}

TEST(NextLocalMidnightTest, BerlinSpringForwardDayHas23Hours) {
  const absl::TimeZone berlin = Zone("Europe/Berlin");
  // 2027-03-28 starts at 00:00 CET (23:00Z the day before) and ends at 00:00 CEST (22:00Z).
  EXPECT_EQ(NextLocalMidnight(Utc(2027, 3, 27, 12, 0), berlin), Utc(2027, 3, 27, 23, 0));
  EXPECT_EQ(NextLocalMidnight(Utc(2027, 3, 27, 23, 0), berlin), Utc(2027, 3, 28, 22, 0));
  EXPECT_EQ(NextLocalMidnight(Utc(2027, 3, 28, 12, 0), berlin), Utc(2027, 3, 28, 22, 0));
  EXPECT_EQ(NextLocalMidnight(Utc(2027, 3, 28, 22, 0) - absl::Nanoseconds(1), berlin),
            Utc(2027, 3, 28, 22, 0));
  EXPECT_EQ(BusinessDateAt(Utc(2027, 3, 28, 22, 0) - absl::Nanoseconds(1), berlin),
            absl::CivilDay(2027, 3, 28));
  EXPECT_EQ(BusinessDateAt(Utc(2027, 3, 28, 22, 0), berlin), absl::CivilDay(2027, 3, 29));
}

TEST(NextLocalMidnightTest, BerlinFallBackDayHas25Hours) {
  const absl::TimeZone berlin = Zone("Europe/Berlin");
  // 2027-10-31 starts at 00:00 CEST (22:00Z the day before) and ends at 00:00 CET (23:00Z).
  EXPECT_EQ(NextLocalMidnight(Utc(2027, 10, 30, 21, 59), berlin), Utc(2027, 10, 30, 22, 0));
  EXPECT_EQ(NextLocalMidnight(Utc(2027, 10, 30, 22, 0), berlin), Utc(2027, 10, 31, 23, 0));
  EXPECT_EQ(NextLocalMidnight(Utc(2027, 10, 31, 1, 30), berlin),
            Utc(2027, 10, 31, 23, 0));  // 02:30 twice
  EXPECT_EQ(BusinessDateAt(Utc(2027, 10, 31, 22, 59, 59), berlin), absl::CivilDay(2027, 10, 31));
}

TEST(NextLocalMidnightTest, SkippedMidnightStartsTheDayAtTheTransition) {
  // Brazil began DST on 2018-11-04 at 00:00, jumping straight to 01:00 (03:00Z).
  const absl::TimeZone sao_paulo = Zone("America/Sao_Paulo");
  EXPECT_EQ(NextLocalMidnight(Utc(2018, 11, 3, 12, 0), sao_paulo), Utc(2018, 11, 4, 3, 0));
  EXPECT_EQ(BusinessDateAt(Utc(2018, 11, 4, 3, 0), sao_paulo), absl::CivilDay(2018, 11, 4));
  EXPECT_EQ(BusinessDateAt(Utc(2018, 11, 4, 3, 0) - absl::Nanoseconds(1), sao_paulo),
            absl::CivilDay(2018, 11, 3));
}

TEST(NextLocalMidnightTest, RepeatedEveningBeforeMidnight) {
  // Brazil ended DST on 2019-02-17 at 00:00 by going back to 23:00 on the 16th: the
  // 16th has 25 hours and ends at 00:00 BRT (03:00Z), whichever 23:30 we start from.
  const absl::TimeZone sao_paulo = Zone("America/Sao_Paulo");
  EXPECT_EQ(NextLocalMidnight(Utc(2019, 2, 17, 1, 30), sao_paulo), Utc(2019, 2, 17, 3, 0));
  EXPECT_EQ(NextLocalMidnight(Utc(2019, 2, 17, 2, 30), sao_paulo), Utc(2019, 2, 17, 3, 0));
}

TEST(NextLocalMidnightTest, RepeatedMidnightClosesAtItsFirstOccurrence) {
  // Havana went back from 01:00 CDT to 00:00 CST on 2019-11-03: midnight happened twice,
  // at 04:00Z and 05:00Z. The 2nd closes at the first one.
  const absl::TimeZone havana = Zone("America/Havana");
  EXPECT_EQ(NextLocalMidnight(Utc(2019, 11, 2, 12, 0), havana), Utc(2019, 11, 3, 4, 0));
  EXPECT_EQ(BusinessDateAt(Utc(2019, 11, 3, 4, 30), havana), absl::CivilDay(2019, 11, 3));
  EXPECT_EQ(NextLocalMidnight(Utc(2019, 11, 3, 4, 30), havana), Utc(2019, 11, 4, 5, 0));
}

TEST(NextLocalMidnightTest, SkippedDayInApia) {
  // Samoa crossed the date line: 2011-12-29 23:59:59 -10 was followed by 2011-12-31 00:00 +14.
  const absl::TimeZone apia = Zone("Pacific/Apia");
  const absl::Time close = NextLocalMidnight(Utc(2011, 12, 29, 20, 0), apia);
  EXPECT_EQ(close, Utc(2011, 12, 30, 10, 0));
  EXPECT_EQ(BusinessDateAt(close, apia), absl::CivilDay(2011, 12, 31));
}

TEST(NextLocalMidnightTest, WalkingDayByDayVisitsEveryMidnightOnce) {
  for (const char* name : {"Europe/Berlin", "America/New_York", "America/Sao_Paulo",
                           "America/Havana", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"}) {
    const absl::TimeZone zone = Zone(name);
    absl::Time instant = Utc(2018, 1, 1, 12, 0);
    absl::CivilDay previous = BusinessDateAt(instant, zone);
    for (int step = 0; step < 800; ++step) {
      const absl::Time close = NextLocalMidnight(instant, zone);
      ASSERT_GT(close, instant) << name;
      ASSERT_EQ(BusinessDateAt(close - absl::Nanoseconds(1), zone), previous)
          << name << " " << previous;
      const absl::CivilDay next = BusinessDateAt(close, zone);
      ASSERT_EQ(next, previous + 1) << name << " " << previous;
      const absl::Duration day_length = NextLocalMidnight(close, zone) - close;
      ASSERT_GE(day_length, absl::Hours(23)) << name << " " << next;
      ASSERT_LE(day_length, absl::Hours(25)) << name << " " << next;
      instant = close;
      previous = next;
    }
  }
}

TEST(NextLocalMidnightTest, InfiniteInstantsAreReturnedUnchanged) {
  EXPECT_EQ(NextLocalMidnight(absl::InfiniteFuture(), absl::UTCTimeZone()), absl::InfiniteFuture());
  EXPECT_EQ(NextLocalMidnight(absl::InfinitePast(), absl::UTCTimeZone()), absl::InfinitePast());
}

}  // namespace
}  // namespace ar::core
