#pragma once
// The credit reactor: the decisions that follow what the credit read model applied.
//
// Publishing cannot happen inside the projection's handler (publishing and committing the
// checkpoint are not atomic), so the reactor is a second ProjectionRunner ("credit-reactor")
// over the same topics. For each record that can change an account's score, grade, exposure
// or hold (an invoice, a credit note, a cancellation, an allocation, a reversal, a broken
// promise, a write-off, a limit change) it waits until the credit projection has applied
// that record and reviews the account through the CommandExecutor (command id
// "review:<event id>"). A BusinessDayClosed(D) of a region reviews only the accounts of the
// region's due-date index with an invoice due before B = D + 1 (the only ones whose days
// past due moved), one command per account ("dayclose:<region>:<D>:<tenant>:<account>").
// An FxRateSet into the base currency reviews the tenant's accounts with open invoices in
// that currency ("fxreview:<event id>:<account>"): utilisation moves with the rate.
// A review decides on the current state and publishes only what changed, so replaying a
// record after a crash, or a duplicate day close, publishes nothing new, and a batch
// published twice is skipped by the projection (same command id).

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "libs/command/command_executor.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"
#include "services/credit_risk/domain/credit_rules.h"

namespace ar::credit {

inline constexpr char kReactorProjectionName[] = "credit-reactor";
// How many accounts a day close or an FX change reviews at once.
inline constexpr size_t kReviewParallelism = 32;

class CreditReactor : public projection::Handler {
 public:
  CreditReactor(store::Store& store, command::CommandExecutor& executor,
                projection::ProjectionRunner& credit_projection, Settings settings,
                absl::Duration projection_wait = absl::Seconds(30));

  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;

  // Makes a waiting Apply give up (UNAVAILABLE: the record is retried after a restart).
  void RequestStop() { stopping_ = true; }

  // Reviews of accounts run (whether or not they published), for tests and benchmarks.
  int64_t reviews() const { return reviews_.load(); }

 private:
  struct Trigger {
    std::string command_id;
    std::string event_id;
    std::string issued_invoice_id;
    std::optional<int64_t> day;
  };
  absl::Status WaitForProjection(const eventlog::Record& source);
  absl::Status ReviewAccount(const std::string& tenant, const std::string& account,
                             const Trigger& trigger, const std::string& correlation_id);
  absl::Status DayClosed(const v1::Event& event);
  absl::Status FxRateChanged(const v1::Event& event);
  // Reviews (tenant, account) pairs, up to kReviewParallelism at once.
  absl::Status ReviewMany(
      const std::vector<std::pair<std::string, std::string>>& accounts,
      const std::function<Trigger(const std::string&, const std::string&)>& trigger_of,
      const std::string& correlation_id);

  store::Store& store_;
  command::CommandExecutor& executor_;
  projection::ProjectionRunner& credit_projection_;
  Settings settings_;
  absl::Duration projection_wait_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> reviews_{0};
  // The last record and account reviewed: the other events of one record (a payment's
  // allocations) need no second review.
  std::string last_record_;
};

}  // namespace ar::credit
