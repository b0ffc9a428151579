#include "libs/protoconv/protoconv.h"

#include <gtest/gtest.h>

namespace ar::protoconv {
namespace {

v1::Date Date(int y, int m, int d) { return protoconv::DateProto(y, m, d); }

TEST(ProtoconvTest, DatesRoundTrip) {
  auto day = DayFromProto(Date(2028, 2, 29), "due_date");
  ASSERT_TRUE(day.ok()) << day.status();
  EXPECT_EQ(*day, absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(DayToProto(*day).SerializeAsString(), Date(2028, 2, 29).SerializeAsString());
}

TEST(ProtoconvTest, BadDatesNameTheField) {
  EXPECT_EQ(DayFromProto(v1::Date(), "issue_date").status().message(), "issue_date is missing");
  EXPECT_EQ(DayFromProto(Date(2027, 2, 29), "issue_date").status().message(),
            "issue_date 2027-02-29 is not a calendar date");
  EXPECT_TRUE(absl::IsInvalidArgument(DayFromProto(Date(2027, 13, 1), "d").status()));
}

TEST(ProtoconvTest, MoneyProtoCarriesBoth) {
  v1::Money money = MoneyProto(-1234, "JPY");
  EXPECT_EQ(money.minor_units(), -1234);
  EXPECT_EQ(money.currency(), "JPY");
}

}  // namespace
}  // namespace ar::protoconv
