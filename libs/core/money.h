#pragma once
// Money as an exact integer count of a currency's minor units (cents, fils, yen), never
// floating point. Every operation that can lose or invent a minor unit either rounds by a
// named rule or refuses with a Status.
//
// Status codes (chosen per the guidance in absl/status/status.h):
//  - INVALID_ARGUMENT for everything that is wrong with the arguments themselves, whatever
//    the state of the system: malformed decimal text, an unknown currency code, two amounts
//    in different currencies, a result that does not fit in int64 minor units (like a read
//    offset outside the representable range, which absl also files under
//    kInvalidArgument, not kOutOfRange), bad weights or rates.
//    Currency mismatch is deliberately not FAILED_PRECONDITION: no change of system state
//    can make EUR + USD valid, so a caller must not be told to "fix the state and retry".
//  - Nothing here returns any other code.
//
// Conversion to and from the proto `ar.v1.Money` lives next to the protos, so this
// library stays free of generated code.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ar::core {

// An ISO 4217 currency: its alphabetic code and its minor-unit exponent (the number of
// decimal digits after the point: 2 for EUR, 0 for JPY, 3 for KWD).
struct Currency {
  std::string_view code;  // points into a static table; valid for the whole program
  int exponent = 2;

  friend bool operator==(const Currency&, const Currency&) = default;
};

// Looks up an active ISO 4217 currency by its upper-case alphabetic code ("EUR").
// Codes are case-sensitive on purpose: events must carry one canonical spelling, so
// normalising user input belongs at the API edge. Fund codes (BOV, CLF, USN, ...),
// precious metals (XAU, ...), XDR, test codes and withdrawn codes (HRK, ...) are not
// accepted. Unknown -> INVALID_ARGUMENT.
absl::StatusOr<Currency> LookupCurrency(std::string_view code);

// Every currency LookupCurrency accepts, sorted by code.
std::span<const Currency> AllCurrencies();

// An amount: minor units of `currency` (an ISO 4217 code accepted by LookupCurrency).
// Equality compares amount and currency (EUR 1.00 != USD 1.00). There is deliberately no
// operator<: ordering amounts of different currencies is a bug, so use Compare().
struct Money {
  int64_t minor_units = 0;
  std::string currency;

  friend bool operator==(const Money&, const Money&) = default;
};

// A Money after checking that its currency is known.
absl::StatusOr<Money> MakeMoney(int64_t minor_units, std::string_view currency);

// Parses a plain decimal string: an optional leading '-', at least one digit, and
// optionally '.' followed by 1..exponent digits ("1234.56", "-0.05", "7", "1.5" = 1.50
// EUR). Rejected with INVALID_ARGUMENT: more fraction digits than the currency has
// (no silent rounding), '+', spaces, thousands separators, exponent notation, a lone '.'
// or '-', values that do not fit in int64 minor units, unknown currencies.
absl::StatusOr<Money> ParseMoney(std::string_view text, std::string_view currency);

// Formats with exactly the currency's exponent digits after the point: "1234.56",
// "-0.05", "1200" (JPY), "1.000" (KWD). Never loses information; ParseMoney reads it back.
std::string FormatMoney(int64_t minor_units, const Currency& currency);
// As above; unknown currency -> INVALID_ARGUMENT.
absl::StatusOr<std::string> FormatMoney(const Money& money);

// a + b and a - b. Different currencies or int64 overflow -> INVALID_ARGUMENT.
absl::StatusOr<Money> Add(const Money& a, const Money& b);
absl::StatusOr<Money> Subtract(const Money& a, const Money& b);

// -a. Fails only for the single int64 value without a positive counterpart.
absl::StatusOr<Money> Negate(const Money& a);

// Orders two amounts of the same currency; different currencies -> INVALID_ARGUMENT.
absl::StatusOr<std::strong_ordering> Compare(const Money& a, const Money& b);

// Splits `total` into weights.size() parts proportional to `weights` so that the parts
// add up to exactly `total` (largest-remainder method):
//  1. each part gets floor(|total| * w_i / sum(w)) (exact, with 128-bit products);
//  2. the few minor units still missing go one each to the parts with the largest
//     remainders; ties go to the lower index, so the result is deterministic;
//  3. a negative total is split as its magnitude and every part negated, so
//     Allocate(-t) == -Allocate(t) part by part.
// A part whose weight is 0 always gets 0. Weights must be >= 0 with a positive sum that
// fits in int64; an empty list, a negative weight, all-zero weights or an unknown
// currency -> INVALID_ARGUMENT.
absl::StatusOr<std::vector<Money>> Allocate(const Money& total, std::span<const int64_t> weights);

// The most parts SplitEvenly will create (so a bad `parts` cannot exhaust memory).
inline constexpr int64_t kMaxSplitParts = 1'000'000;

// Allocate with `parts` equal weights: 1.00 / 3 -> 0.34, 0.33, 0.33 (the earlier parts
// get the extra minor units). parts outside [1, kMaxSplitParts] -> INVALID_ARGUMENT.
absl::StatusOr<std::vector<Money>> SplitEvenly(const Money& total, int64_t parts);

// How a result that falls between two minor units is rounded.
enum class Rounding {
  // Ties away from zero ("commercial" rounding, java.math.RoundingMode.HALF_UP):
  // 0.125 -> 0.13, -0.125 -> -0.13. Symmetric, so negating the input negates the result.
  kHalfUp,
  // Ties to the even neighbour (banker's rounding): 0.125 -> 0.12, 0.135 -> 0.14,
  // -0.125 -> -0.12. No upward bias when many amounts are rounded.
  kHalfEven,
};

// amount * basis_points / 10'000, rounded to the currency's minor unit by `rounding`
// (1 bp = 0.01 %; 19 % VAT = 1900 bp). Negative amounts and rates are allowed (credit
// notes, discounts); the exact product is taken in 128 bits, so only a result outside
// int64 -> INVALID_ARGUMENT.
absl::StatusOr<Money> ApplyRateBasisPoints(const Money& amount, int64_t basis_points,
                                           Rounding rounding);

// Converts `amount` into `to_currency` at `rate_nano` = units of the target currency per
// unit of the source currency, times 1e9 (EUR->USD 1.0825 -> 1'082'500'000). The exact
// result is rounded half-even to the target's minor unit; the exponents of both
// currencies are respected (EUR 1.00 at 161.5 -> JPY 162, since 161.5 is a tie and 162
// is even). rate_nano <= 0, an unknown currency, or a result outside int64 ->
// INVALID_ARGUMENT.
absl::StatusOr<Money> ConvertFx(const Money& amount, std::string_view to_currency,
                                int64_t rate_nano);

}  // namespace ar::core
