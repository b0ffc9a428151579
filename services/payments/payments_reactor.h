#pragma once
// The payments reactor: decisions that follow invoicing events. When an invoice appears,
// held allocations naming it are applied (or released) and, if the setting is on,
// unapplied cash is applied to it.
//
// A decision that publishes events cannot run inside the payments projection's handler
// (publishing and committing the checkpoint are not atomic), so the reactor is a second
// ProjectionRunner ("payments-reactor") over ar.invoicing.events. For each InvoiceIssued it
// first waits until the payments projection has applied that same record (its invoice
// view follows the same topic), then runs the decision through the CommandExecutor (one
// command per source event, command id "react:" + event id, serialized with the account's
// other commands). A replay after a crash re-decides on caught-up state and finds nothing
// left; a batch published twice is skipped by the payments projection (same command id).

#include <atomic>

#include "absl/time/time.h"
#include "libs/command/command_executor.h"
#include "libs/projection/projection.h"
#include "libs/store/store.h"
#include "services/payments/domain/payments_domain.h"

namespace ar::payments {

inline constexpr char kReactorProjectionName[] = "payments-reactor";

class PaymentsReactor : public projection::Handler {
 public:
  PaymentsReactor(store::Store& store, command::CommandExecutor& executor,
                  projection::ProjectionRunner& payments_projection, Settings settings,
                  absl::Duration projection_wait = absl::Seconds(30));

  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;

  // Makes a waiting Apply give up (UNAVAILABLE: the record is retried after a restart).
  void RequestStop() { stopping_ = true; }

 private:
  store::Store& store_;
  command::CommandExecutor& executor_;
  projection::ProjectionRunner& payments_projection_;
  Settings settings_;
  absl::Duration projection_wait_;
  std::atomic<bool> stopping_{false};
};

}  // namespace ar::payments
