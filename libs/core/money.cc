#include "libs/core/money.h"

#include <algorithm>
#include <array>
#include <limits>
#include <numeric>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/text.h"

namespace ar::core {
namespace {

// Active ISO 4217 currencies (list one, national currencies), sorted by code for binary
// search. Exponents are ISO's "minor unit" column.
constexpr auto kCurrencies = std::to_array<Currency>({
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2},
    {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHF", 2}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CRC", 2},
    {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2},
    {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2},
    {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2},
    {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2},
    {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0},
    {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2},
    {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2},
    {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2},
    {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2},
    {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2},
    {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2},
    {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2},
    {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"UYU", 2}, {"UZS", 2}, {"VED", 2},
    {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0},
    {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
});

constexpr bool IsStrictlySortedAndWellFormed() {
  for (std::size_t i = 0; i < kCurrencies.size(); ++i) {
    const Currency& c = kCurrencies[i];
    if (c.code.size() != 3 || c.exponent < 0 || c.exponent > 3) return false;
    if (i > 0 && !(kCurrencies[i - 1].code < c.code)) return false;
  }
  return true;
}
static_assert(IsStrictlySortedAndWellFormed(), "kCurrencies must stay sorted for lookup");

// 10^exponent for the exponents in the table (0..3) plus the 1e9 of FX rates.
constexpr int64_t PowerOfTen(int exponent) {
  int64_t result = 1;
  for (int i = 0; i < exponent; ++i) result *= 10;
  return result;
}

constexpr __int128 kInt64Max = std::numeric_limits<int64_t>::max();
constexpr __int128 kInt64Min = std::numeric_limits<int64_t>::min();

bool FitsInt64(__int128 value) { return value >= kInt64Min && value <= kInt64Max; }

absl::Status CurrencyMismatch(std::string_view operation, const Money& a, const Money& b) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot ", ToAbsl(operation), " amounts in different currencies: ",
                   QuoteForMessage(a.currency), " and ", QuoteForMessage(b.currency)));
}

absl::Status OutOfRange(std::string_view operation, std::string_view currency) {
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(operation),
                                                 " result does not fit in int64 minor units of ",
                                                 QuoteForMessage(currency)));
}

// numerator / denominator rounded to an integer by `rounding`; denominator > 0.
// C++ division truncates toward zero, so the remainder has the numerator's sign.
__int128 DivideRounded(__int128 numerator, __int128 denominator, Rounding rounding) {
  __int128 quotient = numerator / denominator;
  const __int128 remainder = numerator % denominator;
  if (remainder == 0) return quotient;
  const __int128 twice_remainder = remainder < 0 ? -2 * remainder : 2 * remainder;
  const int away_from_zero = numerator < 0 ? -1 : 1;
  if (twice_remainder > denominator) {
    quotient += away_from_zero;
  } else if (twice_remainder == denominator) {
    const bool quotient_is_odd = quotient % 2 != 0;
    if (rounding == Rounding::kHalfUp || quotient_is_odd) quotient += away_from_zero;
  }
  return quotient;
}

}  // namespace

absl::StatusOr<Currency> LookupCurrency(std::string_view code) {
  const auto it =
      std::lower_bound(kCurrencies.begin(), kCurrencies.end(), code,
                       [](const Currency& c, std::string_view k) { return c.code < k; });
  if (it == kCurrencies.end() || it->code != code) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown currency ", QuoteForMessage(code),
                     " (expected an active ISO 4217 code such as \"EUR\")"));
  }
  return *it;
}

std::span<const Currency> AllCurrencies() { return kCurrencies; }

absl::StatusOr<Money> MakeMoney(int64_t minor_units, std::string_view currency) {
  const absl::StatusOr<Currency> found = LookupCurrency(currency);
  if (!found.ok()) return found.status();
  return Money{minor_units, std::string(found->code)};
}

absl::StatusOr<Money> ParseMoney(std::string_view text, std::string_view currency_code) {
  const absl::StatusOr<Currency> currency = LookupCurrency(currency_code);
  if (!currency.ok()) return currency.status();
  const auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ", ToAbsl(currency->code), " amount ",
                                                   QuoteForMessage(text), ": ", ToAbsl(why)));
  };

  std::string_view rest = text;
  const bool negative = !rest.empty() && rest.front() == '-';
  if (negative) rest.remove_prefix(1);
  const std::size_t point = rest.find('.');
  const std::string_view whole = rest.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : rest.substr(point + 1);

  if (whole.empty()) return invalid("expected at least one digit before any '.'");
  if (point != std::string_view::npos && fraction.empty())
    return invalid("expected digits after '.'");
  const auto all_digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!all_digits(whole) || !all_digits(fraction)) {
    return invalid(
        "expected a plain decimal number like 1234.56 (optional leading '-', no exponent)");
  }
  if (static_cast<int>(fraction.size()) > currency->exponent) {
    return invalid(absl::StrCat("more than ", currency->exponent, " digits after the point"));
  }

  // Accumulate on the negative side: int64 has one more negative value than positive,
  // so the most negative amount parses too.
  int64_t value = 0;
  const auto push_digit = [&value](int digit) {
    return !__builtin_mul_overflow(value, 10, &value) &&
           !__builtin_sub_overflow(value, digit, &value);
  };
  for (char c : whole) {
    if (!push_digit(c - '0')) return invalid("does not fit in int64 minor units");
  }
  for (int i = 0; i < currency->exponent; ++i) {
    const int digit = i < static_cast<int>(fraction.size()) ? fraction[i] - '0' : 0;
    if (!push_digit(digit)) return invalid("does not fit in int64 minor units");
  }
  if (!negative && __builtin_mul_overflow(value, -1, &value)) {
    return invalid("does not fit in int64 minor units");
  }
  return Money{value, std::string(currency->code)};
}

std::string FormatMoney(int64_t minor_units, const Currency& currency) {
  // The magnitude as unsigned, so INT64_MIN formats without overflow.
  const uint64_t magnitude = minor_units < 0 ? uint64_t{0} - static_cast<uint64_t>(minor_units)
                                             : static_cast<uint64_t>(minor_units);
  const uint64_t scale = static_cast<uint64_t>(PowerOfTen(currency.exponent));
  std::string result = minor_units < 0 ? "-" : "";
  absl::StrAppend(&result, magnitude / scale);
  if (currency.exponent > 0) {
    const std::string fraction = absl::StrCat(magnitude % scale);
    absl::StrAppend(&result, ".", std::string(currency.exponent - fraction.size(), '0'), fraction);
  }
  return result;
}

absl::StatusOr<std::string> FormatMoney(const Money& money) {
  const absl::StatusOr<Currency> currency = LookupCurrency(money.currency);
  if (!currency.ok()) return currency.status();
  return FormatMoney(money.minor_units, *currency);
}

absl::StatusOr<Money> Add(const Money& a, const Money& b) {
  if (a.currency != b.currency) return CurrencyMismatch("add", a, b);
  if (absl::Status known = LookupCurrency(a.currency).status(); !known.ok()) return known;
  int64_t sum = 0;
  if (__builtin_add_overflow(a.minor_units, b.minor_units, &sum))
    return OutOfRange("addition", a.currency);
  return Money{sum, a.currency};
}

absl::StatusOr<Money> Subtract(const Money& a, const Money& b) {
  if (a.currency != b.currency) return CurrencyMismatch("subtract", a, b);
  if (absl::Status known = LookupCurrency(a.currency).status(); !known.ok()) return known;
  int64_t difference = 0;
  if (__builtin_sub_overflow(a.minor_units, b.minor_units, &difference)) {
    return OutOfRange("subtraction", a.currency);
  }
  return Money{difference, a.currency};
}

absl::StatusOr<Money> Negate(const Money& a) {
  if (absl::Status known = LookupCurrency(a.currency).status(); !known.ok()) return known;
  int64_t negated = 0;
  if (__builtin_sub_overflow(int64_t{0}, a.minor_units, &negated))
    return OutOfRange("negation", a.currency);
  return Money{negated, a.currency};
}

absl::StatusOr<std::strong_ordering> Compare(const Money& a, const Money& b) {
  if (a.currency != b.currency) return CurrencyMismatch("compare", a, b);
  if (absl::Status known = LookupCurrency(a.currency).status(); !known.ok()) return known;
  return a.minor_units <=> b.minor_units;
}

absl::StatusOr<std::vector<Money>> Allocate(const Money& total, std::span<const int64_t> weights) {
  if (absl::Status known = LookupCurrency(total.currency).status(); !known.ok()) return known;
  if (weights.empty()) return absl::InvalidArgumentError("allocation needs at least one weight");
  int64_t weight_sum = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("allocation weight ", i, " is negative (", weights[i], ")"));
    }
    if (__builtin_add_overflow(weight_sum, weights[i], &weight_sum)) {
      return absl::InvalidArgumentError("allocation weights add up to more than int64 can hold");
    }
  }
  if (weight_sum == 0) return absl::InvalidArgumentError("allocation weights are all zero");

  // |total| <= 2^63 and each weight < 2^63, so every product fits in a signed 128-bit
  // integer (< 2^126).
  const __int128 magnitude = total.minor_units < 0 ? -static_cast<__int128>(total.minor_units)
                                                   : static_cast<__int128>(total.minor_units);
  std::vector<__int128> shares(weights.size());
  std::vector<__int128> remainders(weights.size());
  __int128 assigned = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const __int128 product = magnitude * weights[i];
    shares[i] = product / weight_sum;
    remainders[i] = product % weight_sum;
    assigned += shares[i];
  }
  // The shortfall is the sum of the remainders divided by weight_sum, so it is smaller
  // than the number of parts with a non-zero remainder: zero-weight parts never get one.
  const std::size_t shortfall = static_cast<std::size_t>(magnitude - assigned);
  if (shortfall > 0) {
    std::vector<std::size_t> order(weights.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shortfall),
                      order.end(), [&](std::size_t x, std::size_t y) {
                        if (remainders[x] != remainders[y]) return remainders[x] > remainders[y];
                        return x < y;  // deterministic tie-break: earlier part first
                      });
    for (std::size_t k = 0; k < shortfall; ++k) shares[order[k]] += 1;
  }

  std::vector<Money> parts;
  parts.reserve(weights.size());
  for (const __int128 share : shares) {
    // share <= |total|, so the signed value fits in int64 (even for INT64_MIN).
    const __int128 signed_share = total.minor_units < 0 ? -share : share;
    parts.push_back(Money{static_cast<int64_t>(signed_share), total.currency});
  }
  return parts;
}

absl::StatusOr<std::vector<Money>> SplitEvenly(const Money& total, int64_t parts) {
  if (parts < 1 || parts > kMaxSplitParts) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot split into ", parts, " parts (allowed: 1..", kMaxSplitParts, ")"));
  }
  const std::vector<int64_t> equal_weights(static_cast<std::size_t>(parts), 1);
  return Allocate(total, equal_weights);
}

absl::StatusOr<Money> ApplyRateBasisPoints(const Money& amount, int64_t basis_points,
                                           Rounding rounding) {
  if (absl::Status known = LookupCurrency(amount.currency).status(); !known.ok()) return known;
  // Both factors are int64, so the product is below 2^126 in magnitude.
  const __int128 product = static_cast<__int128>(amount.minor_units) * basis_points;
  const __int128 result = DivideRounded(product, 10'000, rounding);
  if (!FitsInt64(result)) return OutOfRange("rate", amount.currency);
  return Money{static_cast<int64_t>(result), amount.currency};
}

absl::StatusOr<Money> ConvertFx(const Money& amount, std::string_view to_currency,
                                int64_t rate_nano) {
  const absl::StatusOr<Currency> from = LookupCurrency(amount.currency);
  if (!from.ok()) return from.status();
  const absl::StatusOr<Currency> to = LookupCurrency(to_currency);
  if (!to.ok()) return to.status();
  if (rate_nano <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("FX rate must be positive, got ", rate_nano, "e-9"));
  }
  // target_minor = source_minor * rate_nano * 10^to.exponent / (1e9 * 10^from.exponent).
  // Scale only one side by the exponent difference (at most 10^3) so the numerator stays
  // below 2^126 * 10^3; anything that still overflows 128 bits is far outside int64.
  const int shift = to->exponent - from->exponent;
  __int128 numerator = static_cast<__int128>(amount.minor_units) * rate_nano;
  __int128 denominator = PowerOfTen(9);
  if (shift > 0) {
    if (__builtin_mul_overflow(numerator, static_cast<__int128>(PowerOfTen(shift)), &numerator)) {
      return OutOfRange("FX conversion", to->code);
    }
  } else {
    denominator *= PowerOfTen(-shift);
  }
  const __int128 result = DivideRounded(numerator, denominator, Rounding::kHalfEven);
  if (!FitsInt64(result)) return OutOfRange("FX conversion", to->code);
  return Money{static_cast<int64_t>(result), std::string(to->code)};
}

}  // namespace ar::core
