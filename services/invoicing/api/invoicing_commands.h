#pragma once
// Invoicing commands: read the state the rules need from the read model, run the pure
// domain decision under the command executor (one command per account at a time, after
// the read model caught up with the account's earlier commands), publish the events as
// one record. Shared by the gRPC API and the raw ingest feed, so both obey the same rules
// and the same idempotency.

#include "absl/status/statusor.h"
#include "ar/v1/common.pb.h"
#include "ar/v1/invoicing.pb.h"
#include "libs/command/command_executor.h"
#include "libs/store/store.h"
#include "services/invoicing/domain/invoice_rules.h"
#include "services/invoicing/projection/read_model.h"

namespace ar::invoicing {

class InvoicingCommands {
 public:
  InvoicingCommands(store::Store& store, command::CommandExecutor& executor,
                    CreditHoldPolicy credit_hold_policy);

  // `XAsync` calls `done` once with the result and never waits for the log or the read
  // model (the gRPC API). `request` must live until `done` runs.
  void IssueInvoiceAsync(const v1::IssueInvoiceRequest& request, const CommandContext& context,
                         command::CommandDone done);
  // The commands below name only the invoice: its account comes from the stored invoice
  // (NOT_FOUND when the tenant has no such invoice).
  void IssueCreditNoteAsync(const v1::IssueCreditNoteRequest& request,
                            const CommandContext& context, command::CommandDone done);
  void CancelInvoiceAsync(const v1::CancelInvoiceRequest& request, const CommandContext& context,
                          command::CommandDone done);
  void DisputeInvoiceAsync(const v1::DisputeInvoiceRequest& request, const CommandContext& context,
                           command::CommandDone done);
  void ResolveDisputeAsync(const v1::ResolveDisputeRequest& request, const CommandContext& context,
                           command::CommandDone done);

  // The account a command is about: the request's for a new invoice, the stored invoice's
  // for the others (nullopt when there is no such invoice, or it cannot be read: the
  // command itself then answers). Routes commands between replicas.
  std::optional<std::string> AccountOf(const v1::IssueInvoiceRequest& request);
  template <typename InvoiceRequest>
  std::optional<std::string> AccountOf(const InvoiceRequest& request) {
    return StoredInvoiceAccount(request.tenant(), request.invoice_id());
  }

  // IssueInvoiceAsync, waiting for the result (the raw feed's handler has a thread to spend).
  absl::StatusOr<v1::CommandResult> IssueInvoice(const v1::IssueInvoiceRequest& request,
                                                 const CommandContext& context);

 private:
  std::optional<std::string> StoredInvoiceAccount(const std::string& tenant,
                                                  const std::string& invoice_id);
  // Runs `decide(invoice)` for an existing invoice under its account's executor slot.
  template <typename DecideOnInvoice>
  void ExecuteOnInvoice(const std::string& tenant, const std::string& invoice_id,
                        DecideOnInvoice decide, command::CommandDone done);

  ReadModel read_model_;
  command::CommandExecutor& executor_;
  CreditHoldPolicy credit_hold_policy_;
};

// The executor's form of a domain decision.
command::Decision ToCommandDecision(Decision decision);

}  // namespace ar::invoicing
