#pragma once
// The receivables simulation's independent recomputation: what the aging report, the
// overdue table and the credit profiles must say after a generated history
// (tools/demo/history.h) has been fed day by day and every day closed in every region.
//
// Written plainly from the documented rules (services/invoicing/README.md for totals and
// due dates, services/payments for allocation order, services/collections/README.md for
// buckets, disputes and promises, docs/credit-scoring.md for exposure and the score) with
// the default policies' numbers. It uses no service code, only the proto request types
// the history is made of, so a rule the services get wrong shows up as a difference.

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "tools/demo/history.h"

namespace ar::sim {

// The default collections policy's buckets, in order, by their first day past due.
struct Bucket {
  const char* label;
  int64_t min_days_past_due;
};
inline constexpr Bucket kBuckets[] = {
    {"1-30", 1}, {"31-60", 31}, {"61-90", 61}, {"91-180", 91}, {">180", 181}};
inline constexpr char kNotYetDue[] = "not_yet_due";
inline constexpr char kOpen[] = "open";

// round half away from zero of num / den (den > 0), as services/invoicing/README.md says.
int64_t RoundHalfAwayFromZero(__int128 num, int64_t den);

// One aging line: (region, subsidiary, currency) -> label -> minor units; labels are the
// buckets, not_yet_due and open; zero amounts are left out.
using AgingKey = std::tuple<std::string, std::string, std::string>;
using AgingLines = std::map<AgingKey, std::map<std::string, int64_t>>;

struct ExpectedOverdueRow {
  std::string region, subsidiary, currency;
  int64_t total_overdue = 0;
  std::map<std::string, int64_t> buckets;  // only non-zero buckets
  int32_t max_days_past_due = 0;
  int64_t open_dispute_amount = 0;
  std::string worst_bucket;
};

struct ExpectedProfile {
  int64_t exposure = 0;  // base currency minor units
  int64_t limit = 0;
  int32_t utilisation_bp = 0;
  int32_t max_days_past_due = 0;
  int64_t days_beyond_terms = 0;
  int64_t overdue_share_bp = 0;
  int broken_promises = 0;
  int bounced_payments = 0;
  std::map<std::string, int32_t> factor_points;  // by factor name
  int32_t score = 0;
  std::string grade;
  std::map<std::string, int64_t> open_by_currency;  // non-zero only
};

struct Expected {
  absl::CivilDay business_date;  // the day after the last closed day, in every region
  AgingLines aging;
  std::map<std::string, ExpectedOverdueRow> overdue;  // by account; accounts with overdue > 0
  std::map<std::string, ExpectedProfile> profiles;    // by account; accounts with an invoice
  std::map<std::string, int> counts;                  // what the history covered
};

// The score (1000 + the factors' points, clamped to 0..1000) and its grade, by
// docs/credit-scoring.md with the default thresholds.
std::pair<int32_t, std::string> ScoreAndGrade(const std::map<std::string, int32_t>& factor_points);

// Replays `history` (every command of every day, then the day closed everywhere).
Expected Recompute(const demo::History& history);

}  // namespace ar::sim
