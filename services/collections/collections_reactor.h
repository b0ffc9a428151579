#pragma once
// The collections reactor: the decisions that publish events. A second ProjectionRunner
// ("collections-reactor") over ar.clock.events, ar.invoicing.events, ar.payments.events
// and ar.collections.events; decisions are never published from the projection's handler
// (publishing and committing a checkpoint are not atomic).
//
// BusinessDayClosed(region, D), B = D + 1:
//  1. a close <= the last one this reactor finished for the region (kept in the store and
//     committed with the reactor's checkpoint) is a no-op;
//  2. wait until the collections read model has applied this record and everything
//     already in its input topics (so every invoice and payment acknowledged before the
//     close is decided on);
//  3. the accounts to decide: invoices in the due-date index ranges that change state on
//     B, promises dated before B, and the accounts the read model marked for attention;
//  3a. a close the read model knows as completed (CollectionsDayCloseCompleted, step 5)
//     is a no-op: this is what a rebuild from offset zero meets for every old close, and
//     deciding an old date against today's state would publish reminders and bucket
//     changes that were never due on that date;
//  4. for each, a command "dayclose:<region>:<D>:<tenant>:<account>" through the
//     CommandExecutor: DecideDayClose on the account's current state. The decision
//     returns only what is not yet decided, and the read model skips a command id it has
//     applied, so a crash between two accounts' records re-decides nothing on replay;
//  5. last, "dayclose:<region>:<D>:completed" publishes CollectionsDayCloseCompleted
//     (account = region), which the read model keeps as the region's decided_through.
// Any event that lowers what is overdue (allocation, credit note, cancellation, dispute,
// write-off) or pays towards a promise: once the read model has applied its record,
// DecideImmediate (AccountCured at once, PromiseToPayKept), command "colreact:<event id>".

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ar/v1/collections.pb.h"
#include "libs/command/command_executor.h"
#include "libs/eventlog/eventlog.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"

namespace ar::collections {

inline constexpr char kReactorProjectionName[] = "collections-reactor";

class CollectionsReactor : public projection::Handler {
 public:
  CollectionsReactor(store::Store& store, eventlog::EventLog& log,
                     command::CommandExecutor& executor,
                     projection::ProjectionRunner& collections_projection,
                     std::vector<std::string> projection_topics, v1::CollectionsPolicy policy,
                     absl::Duration projection_wait = absl::Seconds(60));

  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;
  void Discard() override { closed_pending_.clear(); }
  void Committed() override { closed_pending_.clear(); }

  // Makes a waiting Apply give up (UNAVAILABLE: the record is retried after a restart).
  void RequestStop() { stopping_ = true; }

  int64_t day_close_commands() const { return day_close_commands_.load(); }

 private:
  absl::Status WaitForProjection(const eventlog::LogPosition& position, absl::Time deadline);
  absl::Status WaitForInputs(absl::Time deadline);
  absl::Status DayClosed(const v1::Event& event, const eventlog::Record& source,
                         store::WriteBatch& batch);
  absl::Status React(const v1::Event& event, const eventlog::Record& source);

  store::Store& store_;
  eventlog::EventLog& log_;
  command::CommandExecutor& executor_;
  projection::ProjectionRunner& projection_;
  std::vector<std::string> projection_topics_;
  v1::CollectionsPolicy policy_;
  absl::Duration projection_wait_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> day_close_commands_{0};
  // Closes finished in the batch not yet committed (region -> day number).
  std::map<std::string, int64_t> closed_pending_;
};

}  // namespace ar::collections
