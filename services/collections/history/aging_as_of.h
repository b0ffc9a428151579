#pragma once
// The aging report as it stood at the end of a past business date, rebuilt from the log:
// the live aggregates only know today. Every event that moves an invoice's open amount
// carries its own business date (issue, credit note, cancellation, allocation, reversal,
// write-off), so "as of D" is the fold of the events dated on or before D, whatever order
// the topics were written or are read in; the buckets are then those of business date D.

#include <cstdint>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ar/v1/collections.pb.h"
#include "ar/v1/events.pb.h"
#include "libs/eventlog/eventlog.h"

namespace ar::collections {

// The fold itself, with no I/O: Add every event (of any topic, any tenant, any order),
// then Report.
class AgingAsOf {
 public:
  AgingAsOf(std::string tenant, absl::CivilDay as_of) : tenant_(std::move(tenant)), as_of_(as_of) {}

  void Add(const v1::Event& event);
  // Filters (region, subsidiary, currency) as GetAgingReport's; the as_of is the fold's.
  v1::AgingReport Report(const v1::CollectionsPolicy& policy,
                         const v1::GetAgingReportRequest& request) const;

  int64_t events_folded() const { return events_folded_; }

 private:
  std::string tenant_;
  absl::CivilDay as_of_;
  std::unordered_map<std::string, v1::CollectionsAccount> accounts_;
  int64_t events_folded_ = 0;
};

// Scans the invoicing, payments and collections topics up to their current ends into an
// AgingAsOf of the request's tenant. DEADLINE_EXCEEDED after `timeout`; DATA_LOSS for a
// record that is not an EventBatch.
absl::StatusOr<v1::AgingReport> ReplayAgingReport(eventlog::EventLog& log,
                                                  const v1::CollectionsPolicy& policy,
                                                  const v1::GetAgingReportRequest& request,
                                                  absl::CivilDay as_of, absl::Duration timeout);

}  // namespace ar::collections
