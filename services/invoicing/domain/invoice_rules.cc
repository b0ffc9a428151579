#include "services/invoicing/domain/invoice_rules.h"

#include <algorithm>
#include <limits>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/dates.h"
#include "libs/core/ids.h"
#include "libs/core/money.h"
#include "libs/core/status_macros.h"

namespace ar::invoicing {
namespace {

// "12.34 EUR" for messages; falls back to minor units for an unknown currency.
std::string Describe(int64_t minor_units, const std::string& currency) {
  absl::StatusOr<core::Currency> known = core::LookupCurrency(currency);
  if (!known.ok()) return absl::StrCat(minor_units, " minor units of '", currency, "'");
  return absl::StrCat(core::FormatMoney(minor_units, *known), " ", currency);
}

using protoconv::DescribeDay;

bool SameDate(const v1::Date& a, const v1::Date& b) {
  return a.year() == b.year() && a.month() == b.month() && a.day() == b.day();
}

bool SameMoney(const v1::Money& a, const v1::Money& b) {
  return a.minor_units() == b.minor_units() && a.currency() == b.currency();
}

absl::Status ValidateText(const std::string& text, const std::string& what, size_t max_length) {
  if (text.size() > max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", text.size(), " bytes long; at most ", max_length, " allowed"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAmountRange(int64_t minor_units, const std::string& what) {
  if (minor_units > kMaxAmountMinor || minor_units < -kMaxAmountMinor) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " of ", minor_units, " minor units is beyond the limit of ", kMaxAmountMinor));
  }
  return absl::OkStatus();
}

absl::Status ValidateCurrency(const std::string& currency, const std::string& what) {
  if (currency.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is missing"));
  if (!core::LookupCurrency(currency).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", currency, "' is not a known ISO 4217 currency"));
  }
  return absl::OkStatus();
}

// A positive amount of a known currency, within the limits.
absl::Status ValidatePositiveMoney(const v1::Money& money, const std::string& what) {
  RETURN_IF_ERROR(ValidateCurrency(money.currency(), absl::StrCat(what, ".currency")));
  if (money.minor_units() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be positive, got ", Describe(money.minor_units(), money.currency())));
  }
  return ValidateAmountRange(money.minor_units(), what);
}

void StampEnvelope(v1::Event& event, const v1::AccountRef& account, std::string event_id,
                   const CommandContext& context) {
  protoconv::StampEnvelope(
      event, account, std::move(event_id),
      {context.recorded_at_unix_micros, context.correlation_id, context.causation_id});
}

// A decision publishing one event built by `fill`.
template <typename Fill>
Decision SingleEventDecision(std::string command_id, const v1::AccountRef& account,
                             const CommandContext& context, Fill fill) {
  Decision decision;
  v1::Event& event = decision.events.emplace_back();
  fill(event);
  StampEnvelope(event, account, EventIdFor(command_id, 0), context);
  decision.command_id = std::move(command_id);
  return decision;
}

Decision DuplicateDecision(std::string command_id, const v1::LogPosition& position,
                           const std::vector<std::string>& event_ids) {
  Decision decision;
  v1::CommandResult result;
  *result.mutable_position() = position;
  for (const std::string& id : event_ids) result.add_event_ids(id);
  result.set_duplicate(true);
  decision.duplicate_of = std::move(result);
  decision.command_id = std::move(command_id);
  return decision;
}

absl::Status RequireOpenForChanges(const v1::Invoice& invoice, const std::string& action) {
  if (invoice.cancelled()) {
    return absl::FailedPreconditionError(
        absl::StrCat("invoice ", invoice.invoice_id(), " is cancelled; cannot ", action));
  }
  if (invoice.is_written_off()) {
    return absl::FailedPreconditionError(
        absl::StrCat("invoice ", invoice.invoice_id(), " is written off; cannot ", action));
  }
  return absl::OkStatus();
}

// The first field in which an issued invoice differs from a new request, or "" when the
// content is the same.
std::string FirstDifference(const v1::Invoice& existing, const v1::InvoiceIssued& issued,
                            const v1::AccountRef& account) {
  if (existing.account().region() != account.region()) return "account.region";
  if (existing.account().subsidiary() != account.subsidiary()) return "account.subsidiary";
  if (existing.account().account() != account.account()) return "account.account";
  if (existing.account_name() != issued.account_name()) return "account_name";
  if (existing.invoice_number() != issued.invoice_number()) return "invoice_number";
  if (!SameDate(existing.issue_date(), issued.issue_date())) return "issue_date";
  if (!SameDate(existing.due_date(), issued.due_date())) return "due_date";
  if (existing.payment_terms() != issued.payment_terms()) return "payment_terms";
  if (existing.total().currency() != issued.total().currency()) return "currency";
  if (existing.lines_size() != issued.lines_size()) return "lines (count)";
  for (int i = 0; i < issued.lines_size(); ++i) {
    const v1::InvoiceLine& a = existing.lines(i);
    const v1::InvoiceLine& b = issued.lines(i);
    const std::string prefix = absl::StrCat("lines[", i, "].");
    if (a.description() != b.description()) return prefix + "description";
    if (a.quantity_milli() != b.quantity_milli()) return prefix + "quantity_milli";
    if (a.unit_price().minor_units() != b.unit_price().minor_units())
      return prefix + "unit_price_minor";
    if (a.tax_rate_bp() != b.tax_rate_bp()) return prefix + "tax_rate_bp";
  }
  return "";
}

// ---- Evolve helpers ----

bool HasApplied(const v1::Invoice& invoice, const std::string& event_id) {
  if (event_id.empty()) return false;
  for (const std::string& id : invoice.issued_event_ids()) {
    if (id == event_id) return true;
  }
  for (const v1::InvoiceHistoryEntry& entry : invoice.history()) {
    if (entry.event_id() == event_id) return true;
  }
  return false;
}

auto HistoryOrderKey(const v1::InvoiceHistoryEntry& entry) {
  return std::make_tuple(entry.date().year(), entry.date().month(), entry.date().day(),
                         std::string_view(entry.position().topic()), entry.position().partition(),
                         entry.position().offset(), std::string_view(entry.event_id()));
}

// Inserts in the canonical order (the "issued" entry stays first), so the history is the
// same whatever order the topics were consumed in.
void AddHistory(v1::Invoice& invoice, v1::InvoiceHistoryEntry entry) {
  auto* history = invoice.mutable_history();
  const int first_sortable = history->empty() ? 0 : 1;
  int at = history->size();
  while (at > first_sortable && HistoryOrderKey(entry) < HistoryOrderKey(history->Get(at - 1)))
    --at;
  history->Add(std::move(entry));
  for (int i = history->size() - 1; i > at; --i) history->SwapElements(i, i - 1);
}

v1::InvoiceHistoryEntry Entry(const v1::Event& event, const v1::LogPosition& position,
                              std::string kind, const v1::Date& date, const v1::Money* amount,
                              std::string reference) {
  v1::InvoiceHistoryEntry entry;
  entry.set_event_id(event.event_id());
  entry.set_kind(std::move(kind));
  *entry.mutable_date() = date;
  if (amount != nullptr) *entry.mutable_amount() = *amount;
  entry.set_reference(std::move(reference));
  *entry.mutable_position() = position;
  return entry;
}

void Ignore(v1::Invoice& invoice, const v1::Event& event, const v1::LogPosition& position,
            const v1::Date& date, std::string reason) {
  AddHistory(invoice, Entry(event, position, "ignored", date, nullptr, std::move(reason)));
}

// money += delta (same currency); false on a currency mismatch or overflow.
bool AddTo(v1::Money& money, int64_t delta) {
  int64_t sum = 0;
  if (__builtin_add_overflow(money.minor_units(), delta, &sum)) return false;
  money.set_minor_units(sum);
  return true;
}

void Recompute(v1::Invoice& invoice) {
  invoice.mutable_open_balance()->set_minor_units(DeriveOpenBalance(invoice));
  invoice.mutable_open_balance()->set_currency(invoice.total().currency());
  invoice.set_status(DeriveStatus(invoice));
}

void InitializeFromIssued(v1::Invoice& invoice, const v1::Event& event,
                          const v1::LogPosition& position) {
  const v1::InvoiceIssued& issued = event.invoice_issued();
  const std::string& currency = issued.total().currency();
  v1::AccountRef* account = invoice.mutable_account();
  account->set_tenant(event.tenant());
  account->set_region(event.region());
  account->set_subsidiary(event.subsidiary());
  account->set_account(event.account());
  invoice.set_account_name(issued.account_name());
  invoice.set_invoice_id(issued.invoice_id());
  invoice.set_invoice_number(issued.invoice_number());
  *invoice.mutable_issue_date() = issued.issue_date();
  *invoice.mutable_due_date() = issued.due_date();
  invoice.set_payment_terms(issued.payment_terms());
  *invoice.mutable_lines() = issued.lines();
  *invoice.mutable_net_total() = issued.net_total();
  *invoice.mutable_tax_total() = issued.tax_total();
  *invoice.mutable_total() = issued.total();
  *invoice.mutable_credited() = MakeMoneyProto(0, currency);
  *invoice.mutable_allocated() = MakeMoneyProto(0, currency);
  *invoice.mutable_written_off() = MakeMoneyProto(0, currency);
  *invoice.mutable_disputed() = MakeMoneyProto(0, currency);
  invoice.set_issued_on_credit_hold(issued.issued_on_credit_hold());
  *invoice.mutable_issued_at() = position;
  invoice.add_issued_event_ids(event.event_id());
  // The issued entry goes first, whatever else (pending facts) is already in the history.
  v1::InvoiceHistoryEntry entry = Entry(event, position, "issued", issued.issue_date(),
                                        &issued.total(), issued.invoice_number());
  auto* history = invoice.mutable_history();
  history->Add(std::move(entry));
  for (int i = history->size() - 1; i > 0; --i) history->SwapElements(i, i - 1);
}

}  // namespace

// ---- Values -------------------------------------------------------------------------

absl::StatusOr<CreditHoldPolicy> ParseCreditHoldPolicy(const std::string& text) {
  if (text == "reject") return CreditHoldPolicy::kReject;
  if (text == "flag") return CreditHoldPolicy::kFlag;
  return absl::InvalidArgumentError(
      absl::StrCat("credit hold policy must be 'reject' or 'flag', got '", text, "'"));
}

std::string EventIdFor(const std::string& command_id, int index) {
  return core::DerivedEventId(command_id, absl::StrCat("#", index));
}

absl::StatusOr<v1::PaymentTerms> ParsePaymentTerms(const std::string& text) {
  v1::PaymentTerms terms;
  std::string digits;
  if (absl::StartsWith(text, "NET")) {
    terms.set_kind(v1::PaymentTerms::KIND_NET_DAYS);
    digits = text.substr(3);
  } else if (absl::StartsWith(text, "EOM+")) {
    terms.set_kind(v1::PaymentTerms::KIND_END_OF_MONTH_PLUS_DAYS);
    digits = text.substr(4);
  }
  int days = 0;
  const bool all_digits =
      !digits.empty() && digits.size() <= 6 &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return absl::ascii_isdigit(c); });
  if (terms.kind() == v1::PaymentTerms::KIND_UNSPECIFIED || !all_digits ||
      !absl::SimpleAtoi(digits, &days) || days > core::kMaxTermDays) {
    return absl::InvalidArgumentError(absl::StrCat("payment terms '", text,
                                                   "' are not NET<days> or EOM+<days> (days 0..",
                                                   core::kMaxTermDays, ")"));
  }
  terms.set_days(days);
  return terms;
}

std::string FormatPaymentTerms(const v1::PaymentTerms& terms) {
  switch (terms.kind()) {
    case v1::PaymentTerms::KIND_NET_DAYS:
      return absl::StrCat("NET", terms.days());
    case v1::PaymentTerms::KIND_END_OF_MONTH_PLUS_DAYS:
      return absl::StrCat("EOM+", terms.days());
    default:
      return "";
  }
}

__int128 DivideRoundHalfAwayFromZero(__int128 numerator, __int128 denominator) {
  const bool negative = numerator < 0;
  const __int128 magnitude = negative ? -numerator : numerator;
  // floor(|n| / d + 1/2) = floor((2|n| + d) / 2d): ties go up in magnitude.
  const __int128 rounded = (2 * magnitude + denominator) / (2 * denominator);
  return negative ? -rounded : rounded;
}

absl::StatusOr<LineFigures> ComputeLine(int64_t quantity_milli, int64_t unit_price_minor,
                                        int32_t tax_rate_bp) {
  if (quantity_milli <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("quantity_milli must be positive, got ", quantity_milli));
  }
  if (tax_rate_bp < 0 || tax_rate_bp > 10'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("tax_rate_bp must be within 0..10000, got ", tax_rate_bp));
  }
  RETURN_IF_ERROR(ValidateAmountRange(unit_price_minor, "unit_price_minor"));
  // |quantity| < 2^63 and |price| <= 10^15: the product fits easily in 128 bits.
  const __int128 net =
      DivideRoundHalfAwayFromZero(static_cast<__int128>(quantity_milli) * unit_price_minor, 1000);
  if (net > kMaxAmountMinor || net < -kMaxAmountMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat("net amount (quantity x unit price) is beyond the limit of ", kMaxAmountMinor,
                     " minor units"));
  }
  const __int128 tax = DivideRoundHalfAwayFromZero(net * tax_rate_bp, 10'000);
  return LineFigures{static_cast<int64_t>(net), static_cast<int64_t>(tax)};
}

absl::Status ValidateId(const std::string& id, const std::string& what) {
  return core::ValidateId(id, what);
}

// ---- Commands -----------------------------------------------------------------------

std::string IssueInvoiceCommandId(const std::string& tenant, const std::string& invoice_id) {
  return absl::StrCat("IssueInvoice/", tenant, "/", invoice_id);
}

absl::StatusOr<v1::InvoiceIssued> BuildInvoiceIssued(const v1::IssueInvoiceRequest& request) {
  const v1::AccountRef& account = request.account();
  RETURN_IF_ERROR(ValidateId(account.tenant(), "account.tenant"));
  RETURN_IF_ERROR(ValidateId(account.region(), "account.region"));
  RETURN_IF_ERROR(ValidateId(account.subsidiary(), "account.subsidiary"));
  RETURN_IF_ERROR(ValidateId(account.account(), "account.account"));
  RETURN_IF_ERROR(ValidateId(request.invoice_id(), "invoice_id"));
  if (request.invoice_number().empty())
    return absl::InvalidArgumentError("invoice_number is missing");
  RETURN_IF_ERROR(ValidateText(request.invoice_number(), "invoice_number", kMaxIdLength));
  RETURN_IF_ERROR(ValidateText(request.account_name(), "account_name", kMaxTextLength));
  RETURN_IF_ERROR(ValidateCurrency(request.currency(), "currency"));
  ASSIGN_OR_RETURN(absl::CivilDay issue_day, DayFromProto(request.issue_date(), "issue_date"));

  // Due date: explicit, from the terms, or both when they agree.
  std::optional<absl::CivilDay> due_day;
  if (IsDateSet(request.due_date())) {
    ASSIGN_OR_RETURN(due_day, DayFromProto(request.due_date(), "due_date"));
  }
  std::string terms_text;
  if (request.has_payment_terms() &&
      request.payment_terms().kind() != v1::PaymentTerms::KIND_UNSPECIFIED) {
    const v1::PaymentTerms& terms = request.payment_terms();
    absl::StatusOr<absl::CivilDay> from_terms =
        terms.kind() == v1::PaymentTerms::KIND_NET_DAYS
            ? core::DueDateNetDays(issue_day, terms.days())
        : terms.kind() == v1::PaymentTerms::KIND_END_OF_MONTH_PLUS_DAYS
            ? core::DueDateEndOfMonthPlus(issue_day, terms.days())
            : absl::InvalidArgumentError(
                  absl::StrCat("payment_terms.kind ", terms.kind(), " is unknown"));
    if (!from_terms.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("payment_terms: ", from_terms.status().message()));
    }
    terms_text = FormatPaymentTerms(terms);
    if (due_day && *due_day != *from_terms) {
      return absl::InvalidArgumentError(absl::StrCat(
          "due_date ", core::FormatDate(*due_day), " does not match payment terms ", terms_text,
          " (", core::FormatDate(*from_terms), "); give one or make them agree"));
    }
    due_day = *from_terms;
  } else if (request.has_payment_terms() && request.payment_terms().days() != 0) {
    return absl::InvalidArgumentError("payment_terms.kind is missing");
  }
  if (!due_day) {
    return absl::InvalidArgumentError("either due_date or payment_terms is required");
  }
  if (*due_day < issue_day) {
    return absl::InvalidArgumentError(absl::StrCat("due date ", core::FormatDate(*due_day),
                                                   " is before issue date ",
                                                   core::FormatDate(issue_day)));
  }

  if (request.lines().empty()) {
    return absl::InvalidArgumentError("an invoice needs at least one line");
  }
  if (request.lines_size() > kMaxLines) {
    return absl::InvalidArgumentError(
        absl::StrCat("an invoice has at most ", kMaxLines, " lines, got ", request.lines_size()));
  }

  const std::string& currency = request.currency();
  v1::InvoiceIssued issued;
  issued.set_invoice_id(request.invoice_id());
  issued.set_invoice_number(request.invoice_number());
  issued.set_account_name(request.account_name());
  *issued.mutable_issue_date() = DayToProto(issue_day);
  *issued.mutable_due_date() = DayToProto(*due_day);
  issued.set_payment_terms(terms_text);
  int64_t net_total = 0;
  int64_t tax_total = 0;
  for (int i = 0; i < request.lines_size(); ++i) {
    const v1::InvoiceLineInput& input = request.lines(i);
    RETURN_IF_ERROR(ValidateText(input.description(), absl::StrCat("lines[", i, "].description"),
                                 kMaxTextLength));
    absl::StatusOr<LineFigures> figures =
        ComputeLine(input.quantity_milli(), input.unit_price_minor(), input.tax_rate_bp());
    if (!figures.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("lines[", i, "].", figures.status().message()));
    }
    if (__builtin_add_overflow(net_total, figures->net_minor, &net_total) ||
        __builtin_add_overflow(tax_total, figures->tax_minor, &tax_total) ||
        net_total > kMaxAmountMinor || net_total < -kMaxAmountMinor ||
        tax_total > kMaxAmountMinor || tax_total < -kMaxAmountMinor) {
      return absl::InvalidArgumentError(absl::StrCat("invoice totals overflow the limit of ",
                                                     kMaxAmountMinor, " minor units at lines[", i,
                                                     "]"));
    }
    v1::InvoiceLine* line = issued.add_lines();
    line->set_description(input.description());
    line->set_quantity_milli(input.quantity_milli());
    *line->mutable_unit_price() = MakeMoneyProto(input.unit_price_minor(), currency);
    line->set_tax_rate_bp(input.tax_rate_bp());
    *line->mutable_net_amount() = MakeMoneyProto(figures->net_minor, currency);
    *line->mutable_tax_amount() = MakeMoneyProto(figures->tax_minor, currency);
  }
  int64_t total = 0;
  if (__builtin_add_overflow(net_total, tax_total, &total) || total > kMaxAmountMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat("invoice total overflows the limit of ", kMaxAmountMinor, " minor units"));
  }
  if (total <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invoice total must be positive, got ", Describe(total, currency)));
  }
  *issued.mutable_net_total() = MakeMoneyProto(net_total, currency);
  *issued.mutable_tax_total() = MakeMoneyProto(tax_total, currency);
  *issued.mutable_total() = MakeMoneyProto(total, currency);
  return issued;
}

absl::StatusOr<v1::IssueInvoiceRequest> RequestFromRawInvoice(const v1::Event& raw) {
  if (raw.body_case() != v1::Event::kInvoiceIssued) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an ingest record must carry InvoiceIssued events, got body case ", raw.body_case()));
  }
  const v1::InvoiceIssued& body = raw.invoice_issued();
  v1::IssueInvoiceRequest request;
  v1::AccountRef* account = request.mutable_account();
  account->set_tenant(raw.tenant());
  account->set_region(raw.region());
  account->set_subsidiary(raw.subsidiary());
  account->set_account(raw.account());
  request.set_account_name(body.account_name());
  request.set_invoice_id(body.invoice_id());
  request.set_invoice_number(body.invoice_number());
  *request.mutable_issue_date() = body.issue_date();
  *request.mutable_due_date() = body.due_date();
  if (!body.payment_terms().empty()) {
    ASSIGN_OR_RETURN(*request.mutable_payment_terms(), ParsePaymentTerms(body.payment_terms()));
  }
  // The currency: the one every stated amount uses.
  std::string currency = body.total().currency();
  for (int i = 0; i < body.lines_size(); ++i) {
    const std::string& line_currency = body.lines(i).unit_price().currency();
    if (currency.empty()) currency = line_currency;
    if (line_currency != currency) {
      return absl::InvalidArgumentError(
          absl::StrCat("lines[", i, "].unit_price.currency '", line_currency,
                       "' differs from the invoice's '", currency, "'"));
    }
    v1::InvoiceLineInput* line = request.add_lines();
    line->set_description(body.lines(i).description());
    line->set_quantity_milli(body.lines(i).quantity_milli());
    line->set_unit_price_minor(body.lines(i).unit_price().minor_units());
    line->set_tax_rate_bp(body.lines(i).tax_rate_bp());
  }
  request.set_currency(currency);

  // Figures the source stated must be the ones our rounding gives: a mismatch means the
  // two systems disagree about what the customer owes, which a person must look at.
  ASSIGN_OR_RETURN(v1::InvoiceIssued computed, BuildInvoiceIssued(request));
  const auto check = [](const v1::Money& stated, const v1::Money& ours,
                        const std::string& what) -> absl::Status {
    if (stated.minor_units() == 0 && stated.currency().empty()) return absl::OkStatus();
    if (!SameMoney(stated, ours)) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " stated by the source (", Describe(stated.minor_units(), stated.currency()),
          ") differs from the computed ", Describe(ours.minor_units(), ours.currency())));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check(body.net_total(), computed.net_total(), "net_total"));
  RETURN_IF_ERROR(check(body.tax_total(), computed.tax_total(), "tax_total"));
  RETURN_IF_ERROR(check(body.total(), computed.total(), "total"));
  for (int i = 0; i < body.lines_size(); ++i) {
    RETURN_IF_ERROR(check(body.lines(i).net_amount(), computed.lines(i).net_amount(),
                          absl::StrCat("lines[", i, "].net_amount")));
    RETURN_IF_ERROR(check(body.lines(i).tax_amount(), computed.lines(i).tax_amount(),
                          absl::StrCat("lines[", i, "].tax_amount")));
  }
  return request;
}

absl::StatusOr<Decision> DecideIssueInvoice(const v1::IssueInvoiceRequest& request,
                                            const std::optional<v1::Invoice>& existing,
                                            const AccountView& account, CreditHoldPolicy policy,
                                            const CommandContext& context) {
  ASSIGN_OR_RETURN(v1::InvoiceIssued issued, BuildInvoiceIssued(request));
  std::string command_id = IssueInvoiceCommandId(request.account().tenant(), request.invoice_id());
  if (existing.has_value()) {
    const std::string differs = FirstDifference(*existing, issued, request.account());
    if (!differs.empty()) {
      return absl::AlreadyExistsError(absl::StrCat("invoice ", request.invoice_id(),
                                                   " already exists with a different ", differs));
    }
    // The same invoice again (a retry, a duplicate feed): the original answer.
    return DuplicateDecision(
        std::move(command_id), existing->issued_at(),
        {existing->issued_event_ids().begin(), existing->issued_event_ids().end()});
  }
  if (account.on_credit_hold) {
    if (policy == CreditHoldPolicy::kReject) {
      return absl::FailedPreconditionError(
          absl::StrCat("account ", request.account().account(),
                       " is on credit hold; new invoices are rejected until the hold is released"));
    }
    issued.set_issued_on_credit_hold(true);
  }
  return SingleEventDecision(
      std::move(command_id), request.account(), context,
      [&](v1::Event& event) { *event.mutable_invoice_issued() = std::move(issued); });
}

absl::StatusOr<Decision> DecideIssueCreditNote(
    const v1::IssueCreditNoteRequest& request, const v1::Invoice& invoice,
    const std::optional<std::string>& credit_note_invoice_id, const CommandContext& context) {
  RETURN_IF_ERROR(ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(ValidateId(request.credit_note_id(), "credit_note_id"));
  RETURN_IF_ERROR(ValidateId(request.invoice_id(), "invoice_id"));
  RETURN_IF_ERROR(ValidatePositiveMoney(request.amount(), "amount"));
  ASSIGN_OR_RETURN(absl::CivilDay issue_day, DayFromProto(request.issue_date(), "issue_date"));
  RETURN_IF_ERROR(ValidateText(request.reason(), "reason", kMaxTextLength));
  const std::string command_id =
      absl::StrCat("IssueCreditNote/", request.tenant(), "/", request.credit_note_id());

  if (credit_note_invoice_id.has_value() && *credit_note_invoice_id != request.invoice_id()) {
    return absl::AlreadyExistsError(absl::StrCat("credit note ", request.credit_note_id(),
                                                 " already exists with a different invoice_id (",
                                                 *credit_note_invoice_id, ")"));
  }
  for (const v1::CreditNote& note : invoice.credit_notes()) {
    if (note.credit_note_id() != request.credit_note_id()) continue;
    std::string differs;
    if (!SameMoney(note.amount(), request.amount()))
      differs = "amount";
    else if (!SameDate(note.issue_date(), request.issue_date()))
      differs = "issue_date";
    else if (note.reason() != request.reason())
      differs = "reason";
    if (!differs.empty()) {
      return absl::AlreadyExistsError(absl::StrCat("credit note ", request.credit_note_id(),
                                                   " already exists with a different ", differs));
    }
    return DuplicateDecision(command_id, note.position(),
                             {note.event_ids().begin(), note.event_ids().end()});
  }

  const std::string& currency = invoice.total().currency();
  if (request.amount().currency() != currency) {
    return absl::InvalidArgumentError(
        absl::StrCat("credit note currency ", request.amount().currency(),
                     " differs from the invoice currency ", currency));
  }
  ASSIGN_OR_RETURN(absl::CivilDay invoice_day,
                   DayFromProto(invoice.issue_date(), "invoice issue_date"));
  if (issue_day < invoice_day) {
    return absl::InvalidArgumentError(absl::StrCat("credit note date ", core::FormatDate(issue_day),
                                                   " is before the invoice's issue date ",
                                                   core::FormatDate(invoice_day)));
  }
  RETURN_IF_ERROR(RequireOpenForChanges(invoice, "issue a credit note"));
  const int64_t open = DeriveOpenBalance(invoice);
  if (request.amount().minor_units() > open) {
    return absl::FailedPreconditionError(
        absl::StrCat("a credit note of ", Describe(request.amount().minor_units(), currency),
                     " would take the open balance of ", Describe(open, currency), " of invoice ",
                     invoice.invoice_id(), " below zero"));
  }
  return SingleEventDecision(command_id, invoice.account(), context, [&](v1::Event& event) {
    v1::CreditNoteIssued* note = event.mutable_credit_note_issued();
    note->set_credit_note_id(request.credit_note_id());
    note->set_invoice_id(request.invoice_id());
    *note->mutable_amount() = request.amount();
    *note->mutable_issue_date() = request.issue_date();
    note->set_reason(request.reason());
  });
}

absl::StatusOr<Decision> DecideCancelInvoice(const v1::CancelInvoiceRequest& request,
                                             const v1::Invoice& invoice,
                                             const CommandContext& context) {
  RETURN_IF_ERROR(ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(ValidateId(request.invoice_id(), "invoice_id"));
  ASSIGN_OR_RETURN(absl::CivilDay cancel_day, DayFromProto(request.cancel_date(), "cancel_date"));
  RETURN_IF_ERROR(ValidateText(request.reason(), "reason", kMaxTextLength));
  const std::string command_id =
      absl::StrCat("CancelInvoice/", request.tenant(), "/", request.invoice_id());
  if (invoice.cancelled()) {
    // A retried cancellation (same date and reason) gets the original answer; any other
    // cancellation of a cancelled invoice is a business-rule violation.
    for (const v1::InvoiceHistoryEntry& entry : invoice.history()) {
      if (entry.kind() == "cancelled" && SameDate(entry.date(), request.cancel_date()) &&
          entry.reference() == request.reason()) {
        return DuplicateDecision(command_id, entry.position(), {entry.event_id()});
      }
    }
  }
  RETURN_IF_ERROR(RequireOpenForChanges(invoice, "cancel it"));
  ASSIGN_OR_RETURN(absl::CivilDay invoice_day,
                   DayFromProto(invoice.issue_date(), "invoice issue_date"));
  if (cancel_day < invoice_day) {
    return absl::InvalidArgumentError(absl::StrCat("cancel_date ", core::FormatDate(cancel_day),
                                                   " is before the invoice's issue date ",
                                                   core::FormatDate(invoice_day)));
  }
  if (invoice.allocated().minor_units() != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("invoice ", invoice.invoice_id(), " has ",
                     Describe(invoice.allocated().minor_units(), invoice.allocated().currency()),
                     " of payments allocated; reverse them before cancelling"));
  }
  return SingleEventDecision(command_id, invoice.account(), context, [&](v1::Event& event) {
    v1::InvoiceCancelled* cancelled = event.mutable_invoice_cancelled();
    cancelled->set_invoice_id(request.invoice_id());
    cancelled->set_reason(request.reason());
    *cancelled->mutable_cancel_date() = request.cancel_date();
  });
}

absl::StatusOr<Decision> DecideDisputeInvoice(const v1::DisputeInvoiceRequest& request,
                                              const v1::Invoice& invoice,
                                              const CommandContext& context) {
  RETURN_IF_ERROR(ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(ValidateId(request.invoice_id(), "invoice_id"));
  RETURN_IF_ERROR(DayFromProto(request.dispute_date(), "dispute_date").status());
  RETURN_IF_ERROR(ValidateText(request.reason(), "reason", kMaxTextLength));
  const bool whole_balance = !request.has_disputed_amount();
  if (!whole_balance)
    RETURN_IF_ERROR(ValidatePositiveMoney(request.disputed_amount(), "disputed_amount"));
  const std::string& currency = invoice.total().currency();
  if (!whole_balance && request.disputed_amount().currency() != currency) {
    return absl::InvalidArgumentError(
        absl::StrCat("disputed amount currency ", request.disputed_amount().currency(),
                     " differs from the invoice currency ", currency));
  }
  RETURN_IF_ERROR(RequireOpenForChanges(invoice, "dispute it"));
  if (invoice.disputed().minor_units() > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("invoice ", invoice.invoice_id(), " already has an open dispute of ",
                     Describe(invoice.disputed().minor_units(), currency), "; resolve it first"));
  }
  const int64_t open = DeriveOpenBalance(invoice);
  if (open <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("invoice ", invoice.invoice_id(), " has no open balance to dispute"));
  }
  const int64_t amount = whole_balance ? open : request.disputed_amount().minor_units();
  if (amount > open) {
    return absl::FailedPreconditionError(
        absl::StrCat("disputed amount ", Describe(amount, currency), " exceeds the open balance ",
                     Describe(open, currency), " of invoice ", invoice.invoice_id()));
  }
  // Disputes can be opened again after a resolution; the count names each one.
  const std::string command_id =
      absl::StrCat("DisputeInvoice/", request.tenant(), "/", request.invoice_id(), "/",
                   invoice.disputes_opened() + 1);
  return SingleEventDecision(command_id, invoice.account(), context, [&](v1::Event& event) {
    v1::InvoiceDisputed* disputed = event.mutable_invoice_disputed();
    disputed->set_invoice_id(request.invoice_id());
    *disputed->mutable_disputed_amount() = MakeMoneyProto(amount, currency);
    disputed->set_reason(request.reason());
    *disputed->mutable_dispute_date() = request.dispute_date();
  });
}

absl::StatusOr<Decision> DecideResolveDispute(const v1::ResolveDisputeRequest& request,
                                              const v1::Invoice& invoice,
                                              const CommandContext& context) {
  RETURN_IF_ERROR(ValidateId(request.tenant(), "tenant"));
  RETURN_IF_ERROR(ValidateId(request.invoice_id(), "invoice_id"));
  RETURN_IF_ERROR(DayFromProto(request.resolution_date(), "resolution_date").status());
  RETURN_IF_ERROR(ValidateText(request.resolution(), "resolution", kMaxTextLength));
  if (invoice.disputed().minor_units() <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("invoice ", invoice.invoice_id(), " has no open dispute to resolve"));
  }
  const std::string command_id = absl::StrCat("ResolveDispute/", request.tenant(), "/",
                                              request.invoice_id(), "/", invoice.disputes_opened());
  return SingleEventDecision(command_id, invoice.account(), context, [&](v1::Event& event) {
    v1::DisputeResolved* resolved = event.mutable_dispute_resolved();
    resolved->set_invoice_id(request.invoice_id());
    resolved->set_resolution(request.resolution());
    *resolved->mutable_resolution_date() = request.resolution_date();
  });
}

// ---- Events -------------------------------------------------------------------------

std::vector<std::string> InvoiceIdsOf(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kInvoiceIssued:
      return {event.invoice_issued().invoice_id()};
    case v1::Event::kCreditNoteIssued:
      return {event.credit_note_issued().invoice_id()};
    case v1::Event::kInvoiceCancelled:
      return {event.invoice_cancelled().invoice_id()};
    case v1::Event::kInvoiceDisputed:
      return {event.invoice_disputed().invoice_id()};
    case v1::Event::kDisputeResolved:
      return {event.dispute_resolved().invoice_id()};
    case v1::Event::kPaymentAllocated:
      return {event.payment_allocated().invoice_id()};
    case v1::Event::kDebtWrittenOff:
      return {event.debt_written_off().invoice_id()};
    case v1::Event::kPaymentReversed: {
      std::vector<std::string> ids;
      for (const v1::PaymentAllocationLine& line :
           event.payment_reversed().reversed_allocations()) {
        if (std::find(ids.begin(), ids.end(), line.invoice_id()) == ids.end()) {
          ids.push_back(line.invoice_id());
        }
      }
      return ids;
    }
    default:
      return {};
  }
}

bool Evolve(v1::Invoice& invoice, const v1::Event& event, const v1::LogPosition& position) {
  if (HasApplied(invoice, event.event_id())) return false;
  if (event.body_case() == v1::Event::kInvoiceIssued) {
    if (invoice.invoice_id().empty()) {
      InitializeFromIssued(invoice, event, position);
    } else {
      Ignore(invoice, event, position, event.invoice_issued().issue_date(),
             absl::StrCat("a second InvoiceIssued for this invoice id (from account ",
                          event.account(), ") was ignored; the first one stands"));
    }
    Recompute(invoice);
    return true;
  }
  if (invoice.invoice_id().empty()) return false;  // not issued yet: the caller holds it
  const std::string& currency = invoice.total().currency();

  switch (event.body_case()) {
    case v1::Event::kCreditNoteIssued: {
      const v1::CreditNoteIssued& body = event.credit_note_issued();
      if (body.invoice_id() != invoice.invoice_id()) return false;
      if (body.amount().currency() != currency ||
          !AddTo(*invoice.mutable_credited(), body.amount().minor_units())) {
        Ignore(invoice, event, position, body.issue_date(),
               absl::StrCat("credit note ", body.credit_note_id(), " in ", body.amount().currency(),
                            " cannot apply to an invoice in ", currency));
        break;
      }
      v1::CreditNote* note = invoice.add_credit_notes();
      note->set_credit_note_id(body.credit_note_id());
      note->set_invoice_id(body.invoice_id());
      *note->mutable_amount() = body.amount();
      *note->mutable_issue_date() = body.issue_date();
      note->set_reason(body.reason());
      *note->mutable_position() = position;
      note->add_event_ids(event.event_id());
      AddHistory(invoice, Entry(event, position, "credit_note", body.issue_date(), &body.amount(),
                                body.credit_note_id()));
      break;
    }
    case v1::Event::kInvoiceCancelled: {
      const v1::InvoiceCancelled& body = event.invoice_cancelled();
      if (body.invoice_id() != invoice.invoice_id()) return false;
      invoice.set_cancelled(true);
      AddHistory(invoice,
                 Entry(event, position, "cancelled", body.cancel_date(), nullptr, body.reason()));
      break;
    }
    case v1::Event::kInvoiceDisputed: {
      const v1::InvoiceDisputed& body = event.invoice_disputed();
      if (body.invoice_id() != invoice.invoice_id()) return false;
      if (body.disputed_amount().currency() != currency) {
        Ignore(invoice, event, position, body.dispute_date(), "dispute in another currency");
        break;
      }
      *invoice.mutable_disputed() = body.disputed_amount();
      invoice.set_disputes_opened(invoice.disputes_opened() + 1);
      AddHistory(invoice, Entry(event, position, "disputed", body.dispute_date(),
                                &body.disputed_amount(), body.reason()));
      break;
    }
    case v1::Event::kDisputeResolved: {
      const v1::DisputeResolved& body = event.dispute_resolved();
      if (body.invoice_id() != invoice.invoice_id()) return false;
      invoice.mutable_disputed()->set_minor_units(0);
      AddHistory(invoice, Entry(event, position, "dispute_resolved", body.resolution_date(),
                                nullptr, body.resolution()));
      break;
    }
    case v1::Event::kPaymentAllocated: {
      const v1::PaymentAllocated& body = event.payment_allocated();
      if (body.invoice_id() != invoice.invoice_id()) return false;
      if (body.amount().currency() != currency ||
          !AddTo(*invoice.mutable_allocated(), body.amount().minor_units())) {
        Ignore(invoice, event, position, body.allocation_date(),
               absl::StrCat("allocation of payment ", body.payment_id(), " in ",
                            body.amount().currency(), " cannot apply to an invoice in ", currency));
        break;
      }
      AddHistory(invoice, Entry(event, position, "payment_allocated", body.allocation_date(),
                                &body.amount(), body.payment_id()));
      break;
    }
    case v1::Event::kPaymentReversed: {
      const v1::PaymentReversed& body = event.payment_reversed();
      int64_t reversed = 0;
      bool names_invoice = false;
      bool applicable = true;
      for (const v1::PaymentAllocationLine& line : body.reversed_allocations()) {
        if (line.invoice_id() != invoice.invoice_id()) continue;
        names_invoice = true;
        if (line.amount().currency() != currency ||
            __builtin_add_overflow(reversed, line.amount().minor_units(), &reversed)) {
          applicable = false;
        }
      }
      if (!names_invoice) return false;
      if (!applicable || reversed == std::numeric_limits<int64_t>::min() ||
          !AddTo(*invoice.mutable_allocated(), -reversed)) {
        Ignore(invoice, event, position, body.reversal_date(),
               absl::StrCat("reversal of payment ", body.payment_id(),
                            " names amounts that cannot apply to an invoice in ", currency));
        break;
      }
      const v1::Money amount = MakeMoneyProto(reversed, currency);
      AddHistory(invoice, Entry(event, position, "payment_reversed", body.reversal_date(), &amount,
                                absl::StrCat(body.payment_id(), ": ", body.reason())));
      break;
    }
    case v1::Event::kDebtWrittenOff: {
      const v1::DebtWrittenOff& body = event.debt_written_off();
      if (body.invoice_id() != invoice.invoice_id()) return false;
      if (body.amount().currency() != currency) {
        Ignore(invoice, event, position, body.as_of(),
               absl::StrCat("write-off in ", body.amount().currency(),
                            " cannot apply to an invoice in ", currency));
        break;
      }
      *invoice.mutable_written_off() = body.amount();
      invoice.set_is_written_off(true);
      AddHistory(invoice, Entry(event, position, "written_off", body.as_of(), &body.amount(),
                                body.reason()));
      break;
    }
    default:
      return false;
  }
  Recompute(invoice);
  return true;
}

int64_t DeriveOpenBalance(const v1::Invoice& invoice) {
  if (invoice.cancelled() || invoice.is_written_off()) return 0;
  const __int128 open = static_cast<__int128>(invoice.total().minor_units()) -
                        invoice.credited().minor_units() - invoice.allocated().minor_units() -
                        invoice.written_off().minor_units();
  if (open <= 0) return 0;
  if (open > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(open);
}

v1::InvoiceStatus DeriveStatus(const v1::Invoice& invoice) {
  if (invoice.cancelled()) return v1::INVOICE_STATUS_CANCELLED;
  if (invoice.is_written_off()) return v1::INVOICE_STATUS_WRITTEN_OFF;
  if (invoice.disputed().minor_units() > 0) return v1::INVOICE_STATUS_DISPUTED;
  const int64_t open = DeriveOpenBalance(invoice);
  const bool any_allocated = invoice.allocated().minor_units() > 0;
  if (open == 0 && any_allocated) return v1::INVOICE_STATUS_PAID;
  if (open == 0) return v1::INVOICE_STATUS_CREDITED;
  if (any_allocated) return v1::INVOICE_STATUS_PARTIALLY_PAID;
  return v1::INVOICE_STATUS_OPEN;
}

}  // namespace ar::invoicing
