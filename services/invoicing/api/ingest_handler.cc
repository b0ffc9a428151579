#include "services/invoicing/api/ingest_handler.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"

namespace ar::invoicing {

absl::Status IngestHandler::Apply(const v1::Event& event, const eventlog::Record& source,
                                  store::WriteBatch& /*batch*/) {
  // A region's feed speaks for that region only.
  const std::string expected_topic = topics::IngestTopic(event.region());
  if (source.topic != expected_topic) {
    return absl::InvalidArgumentError(
        absl::StrCat("event for region '", event.region(), "' arrived on ", source.topic));
  }
  ASSIGN_OR_RETURN(v1::IssueInvoiceRequest request, RequestFromRawInvoice(event));
  CommandContext context;
  context.recorded_at_unix_micros = absl::ToUnixMicros(absl::Now());
  context.correlation_id =
      event.correlation_id().empty() ? event.event_id() : event.correlation_id();
  context.causation_id = event.event_id();
  // Every other outcome is either success (new or duplicate) or the rejection to report.
  return commands_.IssueInvoice(request, context).status();
}

}  // namespace ar::invoicing
