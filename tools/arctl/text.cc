#include "tools/arctl/text.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/core/dates.h"
#include "libs/core/money.h"
#include "tools/arctl/cli.h"

namespace ar::arctl {

absl::StatusOr<v1::Money> ParseAmount(absl::string_view text, absl::string_view currency,
                                      absl::string_view flag) {
  const std::string code = absl::AsciiStrToUpper(currency);
  absl::StatusOr<core::Money> money = core::ParseMoney(std::string(text), code);
  if (!money.ok()) {
    return UsageError(
        absl::StrCat("--", flag, " '", text, "' (", code, "): ", money.status().message()));
  }
  v1::Money proto;
  proto.set_minor_units(money->minor_units);
  proto.set_currency(money->currency);
  return proto;
}

std::string FormatDecimal(int64_t minor_units, absl::string_view currency) {
  absl::StatusOr<core::Currency> known = core::LookupCurrency(std::string(currency));
  if (!known.ok()) return absl::StrCat(minor_units, " (minor units)");
  return core::FormatMoney(minor_units, *known);
}

std::string FormatAmount(int64_t minor_units, absl::string_view currency) {
  return absl::StrCat(FormatDecimal(minor_units, currency), " ", currency);
}

std::string FormatAmount(const v1::Money& money) {
  return FormatAmount(money.minor_units(), money.currency());
}

absl::StatusOr<v1::Date> ParseDate(absl::string_view text, absl::string_view flag) {
  absl::StatusOr<absl::CivilDay> day = core::ParseDate(std::string(text));
  if (!day.ok()) return UsageError(absl::StrCat("--", flag, ": ", day.status().message()));
  v1::Date date;
  date.set_year(static_cast<int32_t>(day->year()));
  date.set_month(day->month());
  date.set_day(day->day());
  return date;
}

std::string FormatDate(const v1::Date& date) {
  if (date.year() == 0) return "-";
  return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(), date.day());
}

v1::Date Today() {
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  v1::Date date;
  date.set_year(static_cast<int32_t>(today.year()));
  date.set_month(today.month());
  date.set_day(today.day());
  return date;
}

absl::StatusOr<v1::LogPosition> ParsePosition(absl::string_view text) {
  const size_t last = text.rfind('/');
  const size_t middle = last == absl::string_view::npos || last == 0 ? absl::string_view::npos
                                                                     : text.rfind('/', last - 1);
  v1::LogPosition position;
  int32_t partition = 0;
  int64_t offset = 0;
  if (middle == absl::string_view::npos || middle == 0 ||
      !absl::SimpleAtoi(text.substr(middle + 1, last - middle - 1), &partition) ||
      !absl::SimpleAtoi(text.substr(last + 1), &offset) || partition < 0 || offset < 0) {
    return UsageError(absl::StrCat(
        "--min-position wants TOPIC/PARTITION/OFFSET as a command printed it, got '", text, "'"));
  }
  position.set_topic(std::string(text.substr(0, middle)));
  position.set_partition(partition);
  position.set_offset(offset);
  return position;
}

std::string FormatPosition(const v1::LogPosition& position) {
  return absl::StrCat(position.topic(), "/", position.partition(), "/", position.offset());
}

absl::StatusOr<int64_t> ParseScaledDecimal(absl::string_view text, int digits,
                                           absl::string_view what) {
  const size_t point = text.find('.');
  const absl::string_view whole = text.substr(0, point);
  const absl::string_view fraction = point == absl::string_view::npos ? "" : text.substr(point + 1);
  auto all_digits = [](absl::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 12 || !all_digits(whole) || !all_digits(fraction) ||
      (point != absl::string_view::npos && fraction.empty()) ||
      fraction.size() > static_cast<size_t>(digits)) {
    return UsageError(absl::StrCat(what, " '", text, "' is not a decimal with at most ", digits,
                                   " digits after the point"));
  }
  int64_t value = 0;
  for (char c : whole) value = value * 10 + (c - '0');
  for (int i = 0; i < digits; ++i) {
    value = value * 10 + (i < static_cast<int>(fraction.size()) ? fraction[i] - '0' : 0);
  }
  return value;
}

std::string FormatScaledDecimal(int64_t value, int digits) {
  const bool negative = value < 0;
  // Work on the unsigned magnitude so INT64_MIN negates safely.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string text = absl::StrCat(negative ? "-" : "", magnitude / scale);
  if (digits > 0) absl::StrAppend(&text, ".", absl::StrFormat("%0*d", digits, magnitude % scale));
  return text;
}

std::string EnumLabel(absl::string_view full_name, absl::string_view prefix) {
  if (full_name.substr(0, prefix.size()) == prefix) full_name.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(full_name);
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    return "{}";  // cannot happen for messages the server sent: they parsed
  }
  return json;
}

Table::Table(std::vector<std::string> headers, std::set<size_t> right_aligned)
    : headers_(std::move(headers)), right_aligned_(std::move(right_aligned)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void Table::Print(std::ostream& os, absl::string_view indent) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = headers_[c].size();
    for (const auto& row : rows_) widths[c] = std::max(widths[c], row[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line(indent);
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(widths[c] - cells[c].size(), ' ');
      line +=
          right_aligned_.count(c) ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
      if (c + 1 < cells.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    os << line << "\n";
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

}  // namespace ar::arctl
