#include "services/payments/payments_reactor.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/status_macros.h"
#include "services/payments/projection/payments_projection.h"

namespace ar::payments {

PaymentsReactor::PaymentsReactor(store::Store& store, command::CommandExecutor& executor,
                                 projection::ProjectionRunner& payments_projection,
                                 Settings settings, absl::Duration projection_wait)
    : store_(store),
      executor_(executor),
      payments_projection_(payments_projection),
      settings_(settings),
      projection_wait_(projection_wait) {}

absl::Status PaymentsReactor::Apply(const v1::Event& event, const eventlog::Record& source,
                                    store::WriteBatch&) {
  if (!event.has_invoice_issued()) return absl::OkStatus();
  const eventlog::LogPosition position{source.topic, source.partition, source.offset};
  // Short slices so that Stop() is not held up by a lagging projection.
  const absl::Time deadline = absl::Now() + projection_wait_;
  while (!payments_projection_.WaitForPosition(position, absl::Milliseconds(100))) {
    if (stopping_) return absl::UnavailableError("payments reactor is stopping");
    if (absl::Now() > deadline) {
      return absl::UnavailableError(absl::StrCat("the payments projection has not applied ",
                                                 source.topic, "/", source.partition, "@",
                                                 source.offset, " yet"));
    }
  }
  const std::string& tenant = event.tenant();
  const std::string& account = event.account();
  const std::string& invoice_id = event.invoice_issued().invoice_id();
  const std::string command_id = ReactionCommandId(event.event_id());
  absl::StatusOr<v1::CommandResult> result =
      executor_.Execute(tenant, account, [&]() -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(AccountState state, LoadAccountState(store_, tenant, account));
        CommandContext context{command_id, absl::ToUnixMicros(absl::Now()), event.correlation_id()};
        Outcome outcome = DecideInvoiceAppeared(invoice_id, state, settings_, context);
        command::Decision decision;
        decision.events = std::move(outcome.events);
        decision.command_id = command_id;
        return decision;
      });
  // UNAVAILABLE (log or store down) retries the record; anything else is a bug worth a
  // dead letter with the reason.
  return result.status();
}

}  // namespace ar::payments
