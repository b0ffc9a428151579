#pragma once
// How arctl reads values from the command line and writes them for people: money as
// decimals in the currency's exponent, dates as YYYY-MM-DD, log positions as
// topic/partition/offset, aligned tables, and JSON for scripts.

#include <google/protobuf/message.h>

#include <cstdint>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/events.pb.h"

namespace ar::arctl {

// Reads "12.50" in `currency` (upper-cased) into minor units; a malformed amount or an
// unknown currency is a usage error naming `flag`.
absl::StatusOr<v1::Money> ParseAmount(absl::string_view text, absl::string_view currency,
                                      absl::string_view flag);
// "1190.00 EUR"; an unknown currency shows its minor units rather than guessing.
std::string FormatAmount(const v1::Money& money);
std::string FormatAmount(int64_t minor_units, absl::string_view currency);
// Just the decimal, for table columns under a currency header.
std::string FormatDecimal(int64_t minor_units, absl::string_view currency);

// Strict YYYY-MM-DD; a usage error naming `flag` otherwise.
absl::StatusOr<v1::Date> ParseDate(absl::string_view text, absl::string_view flag);
// "2027-03-31"; "-" for an unset date.
std::string FormatDate(const v1::Date& date);
// Today in UTC: the default business date of commands.
v1::Date Today();

// "ar.invoicing.events/3/17" <-> LogPosition (the topic may hold anything but '/').
absl::StatusOr<v1::LogPosition> ParsePosition(absl::string_view text);
std::string FormatPosition(const v1::LogPosition& position);

// A non-negative decimal with at most `digits` fraction digits, scaled: ("1.5", 3) -> 1500.
absl::StatusOr<int64_t> ParseScaledDecimal(absl::string_view text, int digits,
                                           absl::string_view what);

// The inverse: (1500, 3) -> "1.500", (1900, 2) -> "19.00".
std::string FormatScaledDecimal(int64_t value, int digits);

// Lowercased enum value name without its prefix: INVOICE_STATUS_PARTIALLY_PAID -> partially_paid.
std::string EnumLabel(absl::string_view full_name, absl::string_view prefix);

// The message as one line of JSON (proto field names, defaults included).
std::string ToJson(const google::protobuf::Message& message);

// A plain text table: a header row and aligned columns; `right_aligned` columns (by index)
// are for numbers.
class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::set<size_t> right_aligned = {});
  void AddRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  void Print(std::ostream& os, absl::string_view indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::set<size_t> right_aligned_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ar::arctl
