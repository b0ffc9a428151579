#include "services/gateway/subscription/overdue_filter.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/money.h"

namespace ar::gateway {

std::vector<AgingBucket> DefaultAgingBuckets() {
  return {{"current", 0}, {"1-30", 1}, {"31-60", 31}, {"61-90", 61}, {"90+", 91}};
}

absl::StatusOr<OverdueFilterMatcher> OverdueFilterMatcher::Compile(
    const v1::OverdueFilter& filter, const std::vector<AgingBucket>& buckets) {
  OverdueFilterMatcher matcher;
  matcher.tenant_ = filter.tenant();
  matcher.regions_.insert(filter.regions().begin(), filter.regions().end());
  matcher.subsidiaries_.insert(filter.subsidiaries().begin(), filter.subsidiaries().end());
  for (const std::string& grade : filter.grades()) {
    if (!grade.empty() && (grade.size() != 1 || grade[0] < 'A' || grade[0] > 'E')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filter.grades: '", grade, "' is not a grade; use A..E, or \"\" for unrated accounts"));
    }
    matcher.grades_.insert(grade);
  }
  matcher.any_grade_ = filter.grades().empty();
  if (!filter.min_bucket().empty()) {
    bool found = false;
    std::vector<std::string> labels;
    for (const AgingBucket& bucket : buckets) {
      labels.push_back(bucket.label);
      if (bucket.label == filter.min_bucket()) {
        matcher.min_days_past_due_ = bucket.min_days_past_due;
        found = true;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat("filter.min_bucket: unknown bucket '",
                                                     filter.min_bucket(), "'; the buckets are ",
                                                     absl::StrJoin(labels, ", ")));
    }
  }
  if (filter.has_min_amount()) {
    if (!core::LookupCurrency(filter.min_amount().currency()).ok()) {
      return absl::InvalidArgumentError(absl::StrCat("filter.min_amount: unknown currency '",
                                                     filter.min_amount().currency(),
                                                     "'; use an ISO 4217 code"));
    }
    if (filter.min_amount().minor_units() < 0) {
      return absl::InvalidArgumentError("filter.min_amount must not be negative");
    }
    matcher.has_min_amount_ = true;
    matcher.min_amount_currency_ = filter.min_amount().currency();
    matcher.min_amount_minor_ = filter.min_amount().minor_units();
  }
  return matcher;
}

bool OverdueFilterMatcher::Matches(const v1::OverdueUpdate& update) const {
  const v1::Event& event = update.event();
  if (!tenant_.empty() && event.tenant() != tenant_) return false;
  if (!regions_.empty() && !regions_.contains(event.region())) return false;
  if (!subsidiaries_.empty() && !subsidiaries_.contains(event.subsidiary())) return false;
  if (!any_grade_ && !grades_.contains(update.account_grade())) return false;
  if (update.days_past_due() < min_days_past_due_) return false;
  if (has_min_amount_) {
    // An overdue total in another currency says nothing about this one.
    const v1::Money& total = update.account_overdue_total();
    if (total.currency() != min_amount_currency_ || total.minor_units() < min_amount_minor_) {
      return false;
    }
  }
  return true;
}

}  // namespace ar::gateway
