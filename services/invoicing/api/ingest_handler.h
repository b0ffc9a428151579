#pragma once
// The raw subsidiary feed: records on ar.ingest.<region> carry EventBatches of
// InvoiceIssued events as a subsidiary's system produced them (the envelope names tenant,
// region, subsidiary and account). Each becomes an IssueInvoice command through the same
// rules and executor as the gRPC API, so a repeated feed is idempotent.
//
// Nothing is dropped silently: an invalid or refused invoice (bad input, a different
// invoice under a known id, a credit hold under the reject policy) is returned as the
// rejection, so the projection loop sends the record to ar.deadletter with the message.
// UNAVAILABLE (log or read model lagging/down) asks the loop to retry the record later.

#include "libs/projection/projection.h"
#include "services/invoicing/api/invoicing_commands.h"

namespace ar::invoicing {

class IngestHandler : public projection::Handler {
 public:
  explicit IngestHandler(InvoicingCommands& commands) : commands_(commands) {}

  absl::Status Apply(const v1::Event& event, const eventlog::Record& source,
                     store::WriteBatch& batch) override;

 private:
  InvoicingCommands& commands_;
};

}  // namespace ar::invoicing
