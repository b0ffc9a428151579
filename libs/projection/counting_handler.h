#pragma once
// A projection handler for tests: counts events per account, so that a lost or doubled
// event shows up as a wrong count. Events of account "poison" are rejected.

#include "libs/projection/projection.h"

namespace ar::projection {

class CountingHandler : public Handler {
 public:
  static constexpr const char* kCountsKey = "counts";  // hash: account -> events
  static constexpr const char* kPoisonAccount = "poison";

  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;
};

// Every record's value in the counting tests: a batch of `events` events for `account`.
std::string MakeCountingRecord(const std::string& account, int events, int64_t sequence);

}  // namespace ar::projection
