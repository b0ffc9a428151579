#pragma once
// Which overdue updates a subscriber wants (ar.v1.OverdueFilter), compiled once per
// subscription so matching an update is a few comparisons.
//
// The aging-bucket filter is defined by days past due: each configured bucket has a
// label and the fewest days past due it holds; `min_bucket` = label L passes an update
// whose account is at least L's minimum days past due. That works for every event kind
// (the hub knows each account's days past due from AccountOverdue / DunningLevelRaised),
// not only for the AccountOverdue events that carry a bucket label.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ar/v1/gateway.pb.h"

namespace ar::gateway {

struct AgingBucket {
  std::string label;
  int32_t min_days_past_due = 0;
};

// current (0), 1-30, 31-60, 61-90, 90+ (91 and more): the report buckets of DOMAIN.md.
std::vector<AgingBucket> DefaultAgingBuckets();

class OverdueFilterMatcher {
 public:
  // INVALID_ARGUMENT for an unknown bucket label, a negative or currency-less minimum
  // amount, or a grade outside "A".."E" (and "" for unrated accounts).
  static absl::StatusOr<OverdueFilterMatcher> Compile(const v1::OverdueFilter& filter,
                                                      const std::vector<AgingBucket>& buckets);

  // `update` carries the event and the account facts the hub annotated it with.
  bool Matches(const v1::OverdueUpdate& update) const;

 private:
  std::string tenant_;
  std::set<std::string> regions_;
  std::set<std::string> subsidiaries_;
  std::set<std::string> grades_;
  bool any_grade_ = true;
  int32_t min_days_past_due_ = 0;
  bool has_min_amount_ = false;
  std::string min_amount_currency_;
  int64_t min_amount_minor_ = 0;
};

}  // namespace ar::gateway
