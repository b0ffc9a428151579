#include "services/clock/domain/clock_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/civil_time.h"
#include "libs/core/dates.h"

namespace ar::clock {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ParseRegionZones, ReadsTheDefaultRegions) {
  auto regions = ParseRegionZones(kDefaultRegions);
  ASSERT_TRUE(regions.ok()) << regions.status();
  ASSERT_EQ(regions->size(), 3u);
  EXPECT_EQ(regions->at("apac").time_zone_name, "Asia/Shanghai");
  EXPECT_EQ(regions->at("eu").region, "eu");
}

TEST(ParseRegionZones, RejectsMalformedEntriesNamingThem) {
  EXPECT_THAT(ParseRegionZones("eu=Europe/Berlin,us").status().message(), HasSubstr("'us'"));
  EXPECT_EQ(ParseRegionZones("eu=Europe/Berlin,eu=Europe/Paris").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRegionZones("eu=Mars/Olympus").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRegionZones("eu=localtime").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRegionZones("=Europe/Berlin").status().code(), absl::StatusCode::kInvalidArgument);
  auto empty = ParseRegionZones("");
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(*empty, IsEmpty());
}

TEST(DaysToClose, ANewRegionStartsAtTheRequestedDay) {
  auto days = DaysToClose(std::nullopt, absl::CivilDay(2027, 3, 31));
  ASSERT_TRUE(days.ok());
  EXPECT_THAT(*days, ElementsAre(absl::CivilDay(2027, 3, 31)));
}

TEST(DaysToClose, ThirtyDaysAheadAreThirtyDaysInOrder) {
  auto days = DaysToClose(absl::CivilDay(2027, 1, 31), absl::CivilDay(2027, 3, 2));
  ASSERT_TRUE(days.ok());
  ASSERT_EQ(days->size(), 30u);
  for (size_t i = 0; i < days->size(); ++i) {
    EXPECT_EQ((*days)[i], absl::CivilDay(2027, 2, 1) + static_cast<int>(i));
  }
  EXPECT_EQ(days->back(), absl::CivilDay(2027, 3, 2));
}

TEST(DaysToClose, CrossesLeapDaysAndYearEnds) {
  auto leap = DaysToClose(absl::CivilDay(2028, 2, 27), absl::CivilDay(2028, 3, 1));
  ASSERT_TRUE(leap.ok());
  EXPECT_THAT(*leap, ElementsAre(absl::CivilDay(2028, 2, 28), absl::CivilDay(2028, 2, 29),
                                 absl::CivilDay(2028, 3, 1)));
  auto year_end = DaysToClose(absl::CivilDay(2027, 12, 30), absl::CivilDay(2028, 1, 1));
  ASSERT_TRUE(year_end.ok());
  EXPECT_THAT(*year_end, ElementsAre(absl::CivilDay(2027, 12, 31), absl::CivilDay(2028, 1, 1)));
}

TEST(DaysToClose, ADayAlreadyClosedClosesNothing) {
  auto same = DaysToClose(absl::CivilDay(2027, 3, 31), absl::CivilDay(2027, 3, 31));
  ASSERT_TRUE(same.ok());
  EXPECT_THAT(*same, IsEmpty());
  auto earlier = DaysToClose(absl::CivilDay(2027, 3, 31), absl::CivilDay(2027, 1, 1));
  ASSERT_TRUE(earlier.ok());
  EXPECT_THAT(*earlier, IsEmpty());
}

TEST(DaysToClose, RefusesAbsurdAdvancesAndUnsupportedDates) {
  auto far = DaysToClose(absl::CivilDay(2027, 1, 1), absl::CivilDay(2047, 1, 1));
  EXPECT_EQ(far.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(far.status().message(), HasSubstr("at most"));
  EXPECT_TRUE(
      DaysToClose(absl::CivilDay(2027, 1, 1), absl::CivilDay(2027, 1, 1) + kMaxDaysPerAdvance)
          .ok());
  EXPECT_FALSE(DaysToClose(std::nullopt, core::kMaxBusinessDate).ok());
  EXPECT_FALSE(DaysToClose(std::nullopt, absl::CivilDay(0, 12, 31)).ok());
}

TEST(LastEndedDay, OneInstantIsADifferentBusinessDateInShanghaiAndNewYork) {
  auto shanghai = core::LoadRegionTimeZone("Asia/Shanghai");
  auto new_york = core::LoadRegionTimeZone("America/New_York");
  auto kolkata = core::LoadRegionTimeZone("Asia/Kolkata");
  ASSERT_TRUE(shanghai.ok() && new_york.ok() && kolkata.ok());
  // 2027-03-31T20:00Z: already 2027-04-01 04:00 in Shanghai, still 16:00 on 03-31 in
  // New York, 2027-04-01 01:30 in Kolkata.
  const absl::Time instant =
      absl::FromCivil(absl::CivilSecond(2027, 3, 31, 20, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(LastEndedDay(instant, *shanghai), absl::CivilDay(2027, 3, 31));
  EXPECT_EQ(LastEndedDay(instant, *new_york), absl::CivilDay(2027, 3, 30));
  EXPECT_EQ(LastEndedDay(instant, *kolkata), absl::CivilDay(2027, 3, 31));
  // 18:29:59Z is still 2027-03-31 23:59:59 in Kolkata (UTC+5:30).
  const absl::Time before_kolkata_midnight =
      absl::FromCivil(absl::CivilSecond(2027, 3, 31, 18, 29, 59), absl::UTCTimeZone());
  EXPECT_EQ(LastEndedDay(before_kolkata_midnight, *kolkata), absl::CivilDay(2027, 3, 30));
}

TEST(DayClosedEvent, IsKeyedByRegionWithADeterministicIdAndInstant) {
  auto regions = ParseRegionZones("apac=Asia/Shanghai");
  ASSERT_TRUE(regions.ok());
  const v1::Event event = DayClosedEvent(regions->at("apac"), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(event.event_id(), "clock:apac:2028-02-29");
  EXPECT_EQ(DayClosedId("apac", absl::CivilDay(2028, 2, 29)), event.event_id());
  EXPECT_EQ(event.account(), "apac");
  EXPECT_EQ(event.region(), "apac");
  EXPECT_EQ(event.tenant(), "");
  EXPECT_EQ(event.business_day_closed().date().day(), 29);
  EXPECT_EQ(event.business_day_closed().time_zone(), "Asia/Shanghai");
  // Midnight at the start of 2028-03-01 in Shanghai is 2028-02-29T16:00Z.
  EXPECT_EQ(event.occurred_at_unix_micros(),
            absl::ToUnixMicros(
                absl::FromCivil(absl::CivilSecond(2028, 2, 29, 16, 0, 0), absl::UTCTimeZone())));
}

}  // namespace
}  // namespace ar::clock
