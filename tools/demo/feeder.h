#pragma once
// Feeds a generated history into ar-suite through the ar.v1.Gateway API, as the
// subsidiaries would: day by day, every command of the day first (N workers; the commands
// of one account stay in order on one worker), then the day closed in every region.
//
// Re-running is harmless: every command is idempotent on its id and a repeat answers
// `duplicate`. DisputeInvoice has no idempotency key, so a dispute the invoice already
// had is detected by reading the invoice first; a ReversePayment or ResolveDispute that
// fails because it was already applied is recognised by reading the payment or invoice.
//
// Failures never stop the feed: UNAVAILABLE (and a call deadline) is retried with
// backoff, UNIMPLEMENTED (a service the gateway does not reach yet) is counted and
// skipped with one warning per method, business-rule rejections are counted with their
// first messages. Only a server that stays unreachable ends the feed with an error.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/demo/history.h"

namespace ar::demo {

struct FeederOptions {
  int workers = 16;
  absl::Duration call_timeout = absl::Seconds(30);
  // Attempts of a call answered UNAVAILABLE or DEADLINE_EXCEEDED; the wait doubles from
  // initial_backoff up to max_backoff.
  int max_attempts = 10;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Progress lines (days, commands/s) and warnings; null: quiet.
  std::ostream* progress = nullptr;
  absl::Duration progress_every = absl::Seconds(5);
  std::vector<std::string> regions = DemoRegions();
};

// What happened to the commands of one kind (IssueInvoice, ..., AdvanceBusinessDay).
struct KindCounts {
  int64_t sent = 0;
  int64_t published = 0;      // accepted, events published
  int64_t duplicates = 0;     // already applied earlier: nothing published
  int64_t conflicts = 0;      // ALREADY_EXISTS: the id was used with other content
  int64_t unimplemented = 0;  // the gateway does not serve it (yet)
  int64_t rejected = 0;       // any other error (business rules, bad input)
  int64_t unavailable = 0;    // still UNAVAILABLE after every retry

  void Add(const KindCounts& other);
};

struct FeedSummary {
  std::map<std::string, KindCounts> by_kind;
  int days = 0;             // days fed
  int64_t days_closed = 0;  // BusinessDayClosed records the clock published (all regions)
  std::vector<std::string> first_errors;  // the first few error messages, with their command
  absl::Duration elapsed;

  KindCounts Total() const;  // every kind but AdvanceBusinessDay
  // A table for people: one row per kind, totals, rate.
  std::string ToString() const;
};

// Feeds `history` through `channel` (a channel to ar.v1.Gateway). UNAVAILABLE when the
// server stays unreachable for a day close.
absl::StatusOr<FeedSummary> FeedHistory(const History& history,
                                        std::shared_ptr<grpc::Channel> channel,
                                        const FeederOptions& options);

}  // namespace ar::demo
