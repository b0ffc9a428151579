#include "services/invoicing/api/invoicing_commands.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status_macros.h"

namespace ar::invoicing {

command::Decision ToCommandDecision(Decision decision) {
  command::Decision out;
  out.events = std::move(decision.events);
  out.duplicate_of = std::move(decision.duplicate_of);
  out.command_id = std::move(decision.command_id);
  return out;
}

InvoicingCommands::InvoicingCommands(store::Store& store, command::CommandExecutor& executor,
                                     CreditHoldPolicy credit_hold_policy)
    : read_model_(store), executor_(executor), credit_hold_policy_(credit_hold_policy) {}

void InvoicingCommands::IssueInvoiceAsync(const v1::IssueInvoiceRequest& request,
                                          const CommandContext& context,
                                          command::CommandDone done) {
  const v1::AccountRef& account = request.account();
  // Checked before the executor keys its per-account slot by them.
  for (const absl::Status& id : {ValidateId(account.tenant(), "account.tenant"),
                                 ValidateId(account.account(), "account.account")}) {
    if (!id.ok()) return done(id);
  }
  executor_.ExecuteAsync(
      account.tenant(), account.account(),
      [this, &request, context]() -> absl::StatusOr<command::Decision> {
        const v1::AccountRef& account = request.account();
        std::optional<v1::Invoice> existing;
        if (!request.invoice_id().empty()) {
          ASSIGN_OR_RETURN(existing,
                           read_model_.GetInvoice(account.tenant(), request.invoice_id()));
        }
        ASSIGN_OR_RETURN(AccountView view,
                         read_model_.GetAccount(account.tenant(), account.account()));
        ASSIGN_OR_RETURN(Decision decision,
                         DecideIssueInvoice(request, existing, view, credit_hold_policy_, context));
        return ToCommandDecision(std::move(decision));
      },
      std::move(done));
}

std::optional<std::string> InvoicingCommands::AccountOf(const v1::IssueInvoiceRequest& request) {
  return request.account().account();
}

std::optional<std::string> InvoicingCommands::StoredInvoiceAccount(const std::string& tenant,
                                                                   const std::string& invoice_id) {
  if (tenant.empty() || invoice_id.empty()) return std::nullopt;
  absl::StatusOr<std::optional<v1::Invoice>> found = read_model_.GetInvoice(tenant, invoice_id);
  if (!found.ok() || !found->has_value()) return std::nullopt;
  return (*found)->account().account();
}

template <typename DecideOnInvoice>
void InvoicingCommands::ExecuteOnInvoice(const std::string& tenant, const std::string& invoice_id,
                                         DecideOnInvoice decide, command::CommandDone done) {
  for (const absl::Status& id :
       {ValidateId(tenant, "tenant"), ValidateId(invoice_id, "invoice_id")}) {
    if (!id.ok()) return done(id);
  }
  auto not_found = [tenant, invoice_id] {
    return absl::NotFoundError(
        absl::StrCat("invoice ", invoice_id, " of tenant ", tenant, " not found"));
  };
  // The account is the executor's key, so it is looked up first; the decision reads the
  // invoice again under the account's slot, where no other command changes it.
  absl::StatusOr<std::optional<v1::Invoice>> found = read_model_.GetInvoice(tenant, invoice_id);
  if (!found.ok()) return done(found.status());
  if (!found->has_value()) return done(not_found());
  executor_.ExecuteAsync(
      tenant, (*found)->account().account(),
      [this, tenant, invoice_id, not_found,
       decide = std::move(decide)]() -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(std::optional<v1::Invoice> invoice,
                         read_model_.GetInvoice(tenant, invoice_id));
        if (!invoice.has_value()) return not_found();
        ASSIGN_OR_RETURN(Decision decision, decide(*invoice));
        return ToCommandDecision(std::move(decision));
      },
      std::move(done));
}

void InvoicingCommands::IssueCreditNoteAsync(const v1::IssueCreditNoteRequest& request,
                                             const CommandContext& context,
                                             command::CommandDone done) {
  ExecuteOnInvoice(
      request.tenant(), request.invoice_id(),
      [this, &request, context](const v1::Invoice& invoice) -> absl::StatusOr<Decision> {
        std::optional<std::string> used_for;
        if (!request.credit_note_id().empty()) {
          ASSIGN_OR_RETURN(
              used_for, read_model_.CreditNoteInvoice(request.tenant(), request.credit_note_id()));
        }
        return DecideIssueCreditNote(request, invoice, used_for, context);
      },
      std::move(done));
}

void InvoicingCommands::CancelInvoiceAsync(const v1::CancelInvoiceRequest& request,
                                           const CommandContext& context,
                                           command::CommandDone done) {
  ExecuteOnInvoice(
      request.tenant(), request.invoice_id(),
      [&request, context](const v1::Invoice& invoice) {
        return DecideCancelInvoice(request, invoice, context);
      },
      std::move(done));
}

void InvoicingCommands::DisputeInvoiceAsync(const v1::DisputeInvoiceRequest& request,
                                            const CommandContext& context,
                                            command::CommandDone done) {
  ExecuteOnInvoice(
      request.tenant(), request.invoice_id(),
      [&request, context](const v1::Invoice& invoice) {
        return DecideDisputeInvoice(request, invoice, context);
      },
      std::move(done));
}

void InvoicingCommands::ResolveDisputeAsync(const v1::ResolveDisputeRequest& request,
                                            const CommandContext& context,
                                            command::CommandDone done) {
  ExecuteOnInvoice(
      request.tenant(), request.invoice_id(),
      [&request, context](const v1::Invoice& invoice) {
        return DecideResolveDispute(request, invoice, context);
      },
      std::move(done));
}

absl::StatusOr<v1::CommandResult> InvoicingCommands::IssueInvoice(
    const v1::IssueInvoiceRequest& request, const CommandContext& context) {
  return command::AwaitCommand(
      [&](command::CommandDone done) { IssueInvoiceAsync(request, context, std::move(done)); });
}

}  // namespace ar::invoicing
