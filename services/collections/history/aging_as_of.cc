#include "services/collections/history/aging_as_of.h"

#include <optional>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"
#include "libs/eventlog/scan.h"
#include "libs/protoconv/protoconv.h"
#include "services/collections/domain/collections_domain.h"

namespace ar::collections {
namespace {

// The business date of an event that moves an invoice's open amount; nullopt for every
// other event (disputes stay in their bucket in the aging report, so they are left out).
std::optional<absl::CivilDay> OpenAmountDate(const v1::Event& event) {
  const v1::Date* date = nullptr;
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued:
      date = &event.invoice_issued().issue_date();
      break;
    case v1::Event::kCreditNoteIssued:
      date = &event.credit_note_issued().issue_date();
      break;
    case v1::Event::kInvoiceCancelled:
      date = &event.invoice_cancelled().cancel_date();
      break;
    case v1::Event::kPaymentAllocated:
      date = &event.payment_allocated().allocation_date();
      break;
    case v1::Event::kPaymentReversed:
      date = &event.payment_reversed().reversal_date();
      break;
    case v1::Event::kDebtWrittenOff:
      date = &event.debt_written_off().as_of();
      break;
    default:
      return std::nullopt;
  }
  absl::StatusOr<absl::CivilDay> day = protoconv::DayFromProto(*date, "date");
  if (!day.ok()) return std::nullopt;  // the live projections refused it too
  return *day;
}

}  // namespace

void AgingAsOf::Add(const v1::Event& event) {
  if (event.tenant() != tenant_ || event.account().empty()) return;
  const std::optional<absl::CivilDay> date = OpenAmountDate(event);
  if (!date || *date > as_of_) return;
  EvolveAccount(accounts_[event.account()], event);
  ++events_folded_;
}

v1::AgingReport AgingAsOf::Report(const v1::CollectionsPolicy& policy,
                                  const v1::GetAgingReportRequest& request) const {
  AgingSums sums;
  for (const auto& [id, account] : accounts_) {
    for (const v1::CollectionsInvoice& invoice : account.invoices()) {
      const int64_t open = OpenAmount(invoice);
      if (open == 0) continue;
      if (!request.region().empty() && invoice.region() != request.region()) continue;
      if (!request.subsidiary().empty() && invoice.subsidiary() != request.subsidiary()) continue;
      if (!request.currency().empty() && invoice.currency() != request.currency()) continue;
      auto& labels = sums[{invoice.region(), invoice.subsidiary(), invoice.currency()}];
      labels[AgingLabel(policy, invoice, {{invoice.region(), as_of_}})] += open;
      labels[kOpenLabel] += open;
    }
  }
  return AgingReportOf(policy, std::move(sums));
}

absl::StatusOr<v1::AgingReport> ReplayAgingReport(eventlog::EventLog& log,
                                                  const v1::CollectionsPolicy& policy,
                                                  const v1::GetAgingReportRequest& request,
                                                  absl::CivilDay as_of, absl::Duration timeout) {
  AgingAsOf fold(request.tenant(), as_of);
  v1::EventBatch batch;
  RETURN_IF_ERROR(eventlog::ScanToEnd(
      log, {topics::kInvoicing, topics::kPayments, topics::kCollections}, timeout,
      [&](const eventlog::Record& record) -> absl::Status {
        if (!batch.ParseFromString(record.value)) {
          return absl::DataLossError(absl::StrCat(record.topic, "/", record.partition, "@",
                                                  record.offset, " is not an EventBatch"));
        }
        for (const v1::Event& event : batch.events()) fold.Add(event);
        return absl::OkStatus();
      }));
  v1::AgingReport report = fold.Report(policy, request);
  *report.mutable_as_of() = protoconv::DayToProto(as_of);
  report.set_replayed(true);
  return report;
}

}  // namespace ar::collections
