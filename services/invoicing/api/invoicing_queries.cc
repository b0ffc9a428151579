#include "services/invoicing/api/invoicing_queries.h"

#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/command/command_executor.h"
#include "libs/command/read_consistency.h"
#include "libs/core/dates.h"
#include "libs/core/status_macros.h"
#include "services/invoicing/projection/invoice_projection.h"

namespace ar::invoicing {
namespace {

// Where the previous page ended.
struct PageCursor {
  int64_t due_day = 0;
  std::string invoice_id;
};

constexpr char kPageTokenVersion[] = "inv1";

std::string EncodePageToken(const PageCursor& cursor) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kPageTokenVersion, "|", cursor.due_day, "|", cursor.invoice_id));
}

absl::StatusOr<PageCursor> DecodePageToken(const std::string& token) {
  const auto invalid = [] {
    return absl::InvalidArgumentError("page_token is not one this service issued");
  };
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return invalid();
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 2));
  PageCursor cursor;
  if (parts.size() != 3 || parts[0] != kPageTokenVersion ||
      !absl::SimpleAtoi(parts[1], &cursor.due_day) || parts[2].empty()) {
    return invalid();
  }
  cursor.invoice_id = parts[2];
  return cursor;
}

}  // namespace

InvoicingQueries::InvoicingQueries(store::Store& store, projection::ProjectionRunner& projection,
                                   absl::Duration read_wait_timeout)
    : store_(store),
      read_model_(store),
      projection_(projection),
      read_wait_timeout_(read_wait_timeout) {}

absl::Status InvoicingQueries::AwaitConsistency(const v1::ReadConsistency& consistency,
                                                absl::Time caller_deadline) {
  // With replicas the read model is shared: a position in a partition another replica
  // projects is found in the store's checkpoints.
  return command::AwaitReadConsistency(projection_, {&store_, kInvoicingProjection}, consistency,
                                       InvoiceProjection::Topics(), "invoicing", read_wait_timeout_,
                                       caller_deadline);
}

absl::StatusOr<v1::Invoice> InvoicingQueries::GetInvoice(const v1::GetInvoiceRequest& request,
                                                         absl::Time caller_deadline) {
  RETURN_IF_ERROR(ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(ValidateId(request.invoice_id(), "invoice_id"));
  RETURN_IF_ERROR(AwaitConsistency(request.consistency(), caller_deadline));
  ASSIGN_OR_RETURN(std::optional<v1::Invoice> invoice,
                   read_model_.GetInvoice(request.tenant(), request.invoice_id()));
  if (!invoice.has_value()) {
    return absl::NotFoundError(absl::StrCat("invoice ", request.invoice_id(), " of tenant ",
                                            request.tenant(), " not found"));
  }
  return *std::move(invoice);
}

absl::StatusOr<v1::ListInvoicesResponse> InvoicingQueries::ListInvoices(
    const v1::ListInvoicesRequest& request, absl::Time caller_deadline) {
  RETURN_IF_ERROR(ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(ValidateId(request.account(), "account"));
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must not be negative, got ", request.page_size()));
  }
  const int32_t page_size =
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  int64_t min_day = store::kMinScore;
  int64_t max_day = store::kMaxScore;
  if (IsDateSet(request.due_from())) {
    ASSIGN_OR_RETURN(absl::CivilDay from, DayFromProto(request.due_from(), "due_from"));
    min_day = core::DayNumber(from);
  }
  if (IsDateSet(request.due_to())) {
    ASSIGN_OR_RETURN(absl::CivilDay to, DayFromProto(request.due_to(), "due_to"));
    max_day = core::DayNumber(to);
  }
  if (min_day > max_day) return absl::InvalidArgumentError("due_from is after due_to");
  std::optional<PageCursor> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(after, DecodePageToken(request.page_token()));
    min_day = std::max(min_day, after->due_day);
  }
  const std::set<int> statuses(request.statuses().begin(), request.statuses().end());
  RETURN_IF_ERROR(AwaitConsistency(request.consistency(), caller_deadline));

  v1::ListInvoicesResponse response;
  constexpr int64_t kChunk = 256;
  int64_t offset = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<store::ScoredMember> chunk,
                     read_model_.InvoicesByDueDay(request.tenant(), request.account(), min_day,
                                                  max_day, offset, kChunk));
    offset += static_cast<int64_t>(chunk.size());
    for (const store::ScoredMember& entry : chunk) {
      if (after && entry.score == after->due_day && entry.member <= after->invoice_id) continue;
      ASSIGN_OR_RETURN(std::optional<v1::Invoice> invoice,
                       read_model_.GetInvoice(request.tenant(), entry.member));
      if (!invoice.has_value()) continue;  // written in the same commit as the index; defensive
      if (!statuses.empty() && !statuses.contains(invoice->status())) continue;
      if (response.invoices_size() == page_size) {
        // One more match exists: the next page starts after the last one returned.
        const v1::Invoice& last = response.invoices(page_size - 1);
        ASSIGN_OR_RETURN(absl::CivilDay last_due, DayFromProto(last.due_date(), "due_date"));
        response.set_next_page_token(
            EncodePageToken({core::DayNumber(last_due), last.invoice_id()}));
        return response;
      }
      *response.add_invoices() = *std::move(invoice);
    }
    if (static_cast<int64_t>(chunk.size()) < kChunk) return response;
  }
}

absl::StatusOr<v1::OpenBalance> InvoicingQueries::GetOpenBalance(
    const v1::GetOpenBalanceRequest& request, absl::Time caller_deadline) {
  RETURN_IF_ERROR(ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(ValidateId(request.account(), "account"));
  RETURN_IF_ERROR(AwaitConsistency(request.consistency(), caller_deadline));
  ASSIGN_OR_RETURN(auto balances, read_model_.OpenBalances(request.tenant(), request.account()));
  ASSIGN_OR_RETURN(AccountView view, read_model_.GetAccount(request.tenant(), request.account()));
  v1::OpenBalance response;
  response.set_tenant(request.tenant());
  response.set_account(request.account());
  for (const auto& [currency, minor_units] : balances) {  // std::map: sorted by currency
    if (minor_units == 0) continue;
    *response.mutable_open()->add_amounts() = MakeMoneyProto(minor_units, currency);
  }
  response.set_on_credit_hold(view.on_credit_hold);
  return response;
}

}  // namespace ar::invoicing
