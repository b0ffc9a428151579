#include "libs/protoconv/protoconv.h"

#include "absl/strings/str_cat.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "libs/core/text.h"

namespace ar::protoconv {

bool IsDateSet(const v1::Date& date) {
  return date.year() != 0 || date.month() != 0 || date.day() != 0;
}

std::string DescribeDay(const v1::Date& date) {
  return absl::StrCat(date.year(), "-", absl::Dec(date.month(), absl::kZeroPad2), "-",
                      absl::Dec(date.day(), absl::kZeroPad2));
}

absl::StatusOr<absl::CivilDay> DayFromProto(const v1::Date& date, std::string_view what) {
  if (!IsDateSet(date))
    return absl::InvalidArgumentError(absl::StrCat(core::ToAbsl(what), " is missing"));
  const absl::CivilDay day(date.year(), date.month(), date.day());
  // CivilDay normalises (2027-02-30 -> 2027-03-02); a date that does not survive the
  // round trip does not exist.
  if (day.year() != date.year() || day.month() != date.month() || day.day() != date.day()) {
    return absl::InvalidArgumentError(
        absl::StrCat(core::ToAbsl(what), " ", DescribeDay(date), " is not a calendar date"));
  }
  RETURN_IF_ERROR(core::ValidateBusinessDate(day, what));
  return day;
}

v1::Date DateProto(int year, int month, int day) {
  v1::Date date;
  date.set_year(year);
  date.set_month(month);
  date.set_day(day);
  return date;
}

v1::Date DayToProto(absl::CivilDay day) {
  return DateProto(static_cast<int>(day.year()), day.month(), day.day());
}

v1::Money MoneyProto(int64_t minor_units, const std::string& currency) {
  v1::Money money;
  money.set_minor_units(minor_units);
  money.set_currency(currency);
  return money;
}

void StampEnvelope(v1::Event& event, const v1::AccountRef& account, std::string event_id,
                   const EnvelopeSource& source) {
  event.set_event_id(std::move(event_id));
  event.set_tenant(account.tenant());
  event.set_region(account.region());
  event.set_subsidiary(account.subsidiary());
  event.set_account(account.account());
  event.set_occurred_at_unix_micros(source.recorded_at_unix_micros);
  event.set_recorded_at_unix_micros(source.recorded_at_unix_micros);
  event.set_correlation_id(source.correlation_id);
  event.set_causation_id(source.causation_id);
  event.set_schema_version(1);
}

}  // namespace ar::protoconv
