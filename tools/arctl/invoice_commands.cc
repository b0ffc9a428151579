// arctl invoice ... and arctl balance: the invoicing service's commands and queries.

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "libs/core/status_macros.h"
#include "tools/arctl/command_support.h"
#include "tools/arctl/commands.h"
#include "tools/arctl/text.h"

namespace ar::arctl {
namespace {

std::string StatusLabel(v1::InvoiceStatus status) {
  return EnumLabel(v1::InvoiceStatus_Name(status), "INVOICE_STATUS_");
}

// "net:30" or "eom:30" (end of month + 30 days).
absl::StatusOr<v1::PaymentTerms> ParseTerms(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  v1::PaymentTerms terms;
  int32_t days = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &days) || days < 0) {
    return UsageError(absl::StrCat("--terms wants net:DAYS or eom:DAYS, got '", text, "'"));
  }
  const std::string kind = absl::AsciiStrToLower(parts[0]);
  if (kind == "net") {
    terms.set_kind(v1::PaymentTerms::KIND_NET_DAYS);
  } else if (kind == "eom") {
    terms.set_kind(v1::PaymentTerms::KIND_END_OF_MONTH_PLUS_DAYS);
  } else {
    return UsageError(absl::StrCat("--terms wants net:DAYS or eom:DAYS, got '", text, "'"));
  }
  terms.set_days(days);
  return terms;
}

// --line QTY:UNIT_PRICE:TAX_PERCENT[:DESCRIPTION] (the description may contain ':').
absl::StatusOr<v1::InvoiceLineInput> ParseLine(const std::string& text,
                                               const std::string& currency) {
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits(':', 3));
  if (parts.size() < 3) {
    return UsageError(
        absl::StrCat("--line wants QTY:UNIT_PRICE:TAX_PERCENT[:DESCRIPTION], got '", text, "'"));
  }
  v1::InvoiceLineInput line;
  ASSIGN_OR_RETURN(const int64_t quantity_milli,
                   ParseScaledDecimal(parts[0], 3, "--line quantity"));
  ASSIGN_OR_RETURN(const v1::Money price, ParseAmount(parts[1], currency, "line"));
  ASSIGN_OR_RETURN(const int64_t tax_bp, ParseScaledDecimal(parts[2], 2, "--line tax percent"));
  if (tax_bp > 10'000)
    return UsageError(absl::StrCat("--line tax percent '", parts[2], "' is above 100"));
  line.set_quantity_milli(quantity_milli);
  line.set_unit_price_minor(price.minor_units());
  line.set_tax_rate_bp(static_cast<int32_t>(tax_bp));
  line.set_description(parts.size() == 4 ? parts[3] : "");
  return line;
}

absl::Status IssueInvoice(Invocation& invocation) {
  v1::IssueInvoiceRequest request;
  *request.mutable_account() = AccountFrom(invocation);
  request.set_account_name(invocation.GetOr("name", request.account().account()));
  request.set_invoice_id(invocation.subject());
  request.set_invoice_number(invocation.GetOr("number", invocation.subject()));
  const std::string currency = absl::AsciiStrToUpper(*invocation.Get("currency"));
  request.set_currency(currency);
  ASSIGN_OR_RETURN(*request.mutable_issue_date(), DateOrToday(invocation, "issue-date"));
  if (invocation.Has("due-date") && invocation.Has("terms")) {
    return UsageError("give --due-date or --terms, not both");
  }
  if (invocation.Has("due-date")) {
    ASSIGN_OR_RETURN(*request.mutable_due_date(),
                     ParseDate(*invocation.Get("due-date"), "due-date"));
  } else {
    ASSIGN_OR_RETURN(*request.mutable_payment_terms(),
                     ParseTerms(invocation.GetOr("terms", "net:30")));
  }
  if (invocation.Has("amount") == !invocation.GetAll("line").empty()) {
    return UsageError("give either --amount (one line) or one or more --line");
  }
  if (std::optional<std::string> amount = invocation.Get("amount")) {
    ASSIGN_OR_RETURN(const v1::Money net, ParseAmount(*amount, currency, "amount"));
    ASSIGN_OR_RETURN(const int64_t tax_bp,
                     ParseScaledDecimal(invocation.GetOr("tax", "0"), 2, "--tax"));
    if (tax_bp > 10'000) return UsageError("--tax is a percentage between 0 and 100");
    v1::InvoiceLineInput* line = request.add_lines();
    line->set_description(invocation.GetOr("description", "services"));
    line->set_quantity_milli(1000);
    line->set_unit_price_minor(net.minor_units());
    line->set_tax_rate_bp(static_cast<int32_t>(tax_bp));
  }
  for (const std::string& text : invocation.GetAll("line")) {
    ASSIGN_OR_RETURN(*request.add_lines(), ParseLine(text, currency));
  }
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->IssueInvoice(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "issued", absl::StrCat("invoice ", request.invoice_id()));
  return absl::OkStatus();
}

absl::StatusOr<v1::Invoice> FetchInvoice(Invocation& invocation, const std::string& invoice_id) {
  v1::GetInvoiceRequest request;
  request.set_tenant(invocation.tenant());
  request.set_invoice_id(invoice_id);
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::Invoice invoice;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetInvoice(call.get(), request, &invoice)));
  return invoice;
}

absl::Status ShowInvoice(Invocation& invocation) {
  ASSIGN_OR_RETURN(const v1::Invoice invoice, FetchInvoice(invocation, invocation.subject()));
  std::ostream& out = invocation.out();
  if (invocation.json()) {
    out << ToJson(invoice) << "\n";
    return absl::OkStatus();
  }
  const v1::AccountRef& account = invoice.account();
  out << "invoice    " << invoice.invoice_id() << " (number " << invoice.invoice_number() << ")\n"
      << "account    " << account.account() << " \"" << invoice.account_name() << "\" ("
      << account.region() << "/" << account.subsidiary() << ")\n"
      << "status     " << StatusLabel(invoice.status())
      << (invoice.issued_on_credit_hold() ? " (issued on credit hold)" : "") << "\n"
      << "issued     " << FormatDate(invoice.issue_date()) << ", due "
      << FormatDate(invoice.due_date())
      << (invoice.payment_terms().empty() ? "" : absl::StrCat(" (", invoice.payment_terms(), ")"))
      << "\n"
      << "total      " << FormatAmount(invoice.total()) << " (net "
      << FormatAmount(invoice.net_total()) << ", tax " << FormatAmount(invoice.tax_total()) << ")\n"
      << "credited   " << FormatAmount(invoice.credited()) << "\n"
      << "paid       " << FormatAmount(invoice.allocated()) << "\n";
  if (invoice.written_off().minor_units() != 0 || invoice.is_written_off()) {
    out << "written off " << FormatAmount(invoice.written_off()) << "\n";
  }
  if (invoice.disputed().minor_units() != 0)
    out << "disputed   " << FormatAmount(invoice.disputed()) << "\n";
  out << "open       " << FormatAmount(invoice.open_balance()) << "\n";
  const std::string& currency = invoice.total().currency();
  Table lines({"QTY", "UNIT PRICE", "TAX %", "NET", "TAX", "DESCRIPTION"}, {0, 1, 2, 3, 4});
  for (const v1::InvoiceLine& line : invoice.lines()) {
    lines.AddRow({FormatScaledDecimal(line.quantity_milli(), 3),
                  FormatDecimal(line.unit_price().minor_units(), currency),
                  FormatScaledDecimal(line.tax_rate_bp(), 2),
                  FormatDecimal(line.net_amount().minor_units(), currency),
                  FormatDecimal(line.tax_amount().minor_units(), currency), line.description()});
  }
  out << "\nlines (" << currency << "):\n";
  lines.Print(out, "  ");
  Table history({"DATE", "WHAT", "AMOUNT", "REFERENCE", "POSITION"}, {2});
  for (const v1::InvoiceHistoryEntry& entry : invoice.history()) {
    history.AddRow({FormatDate(entry.date()), entry.kind(),
                    entry.has_amount() ? FormatAmount(entry.amount()) : "", entry.reference(),
                    FormatPosition(entry.position())});
  }
  out << "\nhistory:\n";
  history.Print(out, "  ");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::InvoiceStatus>> ParseStatuses(const std::string& text) {
  std::vector<v1::InvoiceStatus> statuses;
  for (absl::string_view word : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    v1::InvoiceStatus status;
    const std::string name = absl::StrCat("INVOICE_STATUS_", absl::AsciiStrToUpper(word));
    if (!v1::InvoiceStatus_Parse(name, &status) || status == v1::INVOICE_STATUS_UNSPECIFIED) {
      return UsageError(absl::StrCat(
          "--status: unknown status '", word,
          "' (open, partially_paid, paid, credited, cancelled, disputed, written_off)"));
    }
    statuses.push_back(status);
  }
  return statuses;
}

absl::Status ListInvoices(Invocation& invocation) {
  v1::ListInvoicesRequest request;
  request.set_tenant(invocation.tenant());
  request.set_account(invocation.GetOr("account", ""));
  if (std::optional<std::string> statuses = invocation.Get("status")) {
    ASSIGN_OR_RETURN(const std::vector<v1::InvoiceStatus> parsed, ParseStatuses(*statuses));
    for (v1::InvoiceStatus status : parsed) request.add_statuses(status);
  }
  if (std::optional<std::string> from = invocation.Get("due-from")) {
    ASSIGN_OR_RETURN(*request.mutable_due_from(), ParseDate(*from, "due-from"));
  }
  if (std::optional<std::string> to = invocation.Get("due-to")) {
    ASSIGN_OR_RETURN(*request.mutable_due_to(), ParseDate(*to, "due-to"));
  }
  int limit = 0;
  if (!absl::SimpleAtoi(invocation.GetOr("limit", "100"), &limit) || limit < 1) {
    return UsageError("--limit wants a positive number");
  }
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::ListInvoicesResponse all;
  auto stub = Gateway(invocation);
  do {
    request.set_page_size(std::min(limit - all.invoices_size(), 500));
    v1::ListInvoicesResponse page;
    auto call = invocation.context().NewCall();
    RETURN_IF_ERROR(FromGrpc(stub->ListInvoices(call.get(), request, &page)));
    for (v1::Invoice& invoice : *page.mutable_invoices()) *all.add_invoices() = std::move(invoice);
    all.set_next_page_token(page.next_page_token());
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty() && all.invoices_size() < limit);

  if (invocation.json()) {
    invocation.out() << ToJson(all) << "\n";
    return absl::OkStatus();
  }
  Table table({"INVOICE", "ACCOUNT", "STATUS", "ISSUED", "DUE", "TOTAL", "OPEN", "CUR"}, {5, 6});
  for (const v1::Invoice& invoice : all.invoices()) {
    const std::string& currency = invoice.total().currency();
    table.AddRow({invoice.invoice_id(), invoice.account().account(), StatusLabel(invoice.status()),
                  FormatDate(invoice.issue_date()), FormatDate(invoice.due_date()),
                  FormatDecimal(invoice.total().minor_units(), currency),
                  FormatDecimal(invoice.open_balance().minor_units(), currency), currency});
  }
  if (table.empty()) {
    invocation.out() << "no invoices\n";
  } else {
    table.Print(invocation.out());
    if (!all.next_page_token().empty()) {
      invocation.out() << "(first " << all.invoices_size() << " shown; raise --limit for more)\n";
    }
  }
  return absl::OkStatus();
}

// The currency of an amount given for an invoice: --currency, else the invoice's own.
absl::StatusOr<std::string> InvoiceCurrency(Invocation& invocation) {
  if (std::optional<std::string> currency = invocation.Get("currency"))
    return absl::AsciiStrToUpper(*currency);
  ASSIGN_OR_RETURN(const v1::Invoice invoice, FetchInvoice(invocation, invocation.subject()));
  return invoice.total().currency();
}

absl::Status IssueCreditNote(Invocation& invocation) {
  v1::IssueCreditNoteRequest request;
  request.set_tenant(invocation.tenant());
  request.set_invoice_id(invocation.subject());
  request.set_credit_note_id(*invocation.Get("id"));
  ASSIGN_OR_RETURN(const std::string currency, InvoiceCurrency(invocation));
  ASSIGN_OR_RETURN(*request.mutable_amount(),
                   ParseAmount(*invocation.Get("amount"), currency, "amount"));
  ASSIGN_OR_RETURN(*request.mutable_issue_date(), DateOrToday(invocation, "date"));
  request.set_reason(invocation.GetOr("reason", ""));
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->IssueCreditNote(call.get(), request, &result)));
  PrintCommandResult(
      invocation, result, "issued",
      absl::StrCat("credit note ", request.credit_note_id(), " on invoice ", request.invoice_id()));
  return absl::OkStatus();
}

absl::Status CancelInvoice(Invocation& invocation) {
  v1::CancelInvoiceRequest request;
  request.set_tenant(invocation.tenant());
  request.set_invoice_id(invocation.subject());
  request.set_reason(*invocation.Get("reason"));
  ASSIGN_OR_RETURN(*request.mutable_cancel_date(), DateOrToday(invocation, "date"));
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->CancelInvoice(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "cancelled",
                     absl::StrCat("invoice ", request.invoice_id()));
  return absl::OkStatus();
}

absl::Status DisputeInvoice(Invocation& invocation) {
  v1::DisputeInvoiceRequest request;
  request.set_tenant(invocation.tenant());
  request.set_invoice_id(invocation.subject());
  request.set_reason(*invocation.Get("reason"));
  ASSIGN_OR_RETURN(*request.mutable_dispute_date(), DateOrToday(invocation, "date"));
  if (std::optional<std::string> amount = invocation.Get("amount")) {
    ASSIGN_OR_RETURN(const std::string currency, InvoiceCurrency(invocation));
    ASSIGN_OR_RETURN(*request.mutable_disputed_amount(), ParseAmount(*amount, currency, "amount"));
  }
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->DisputeInvoice(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "disputed",
                     absl::StrCat("invoice ", request.invoice_id()));
  return absl::OkStatus();
}

absl::Status ResolveDispute(Invocation& invocation) {
  v1::ResolveDisputeRequest request;
  request.set_tenant(invocation.tenant());
  request.set_invoice_id(invocation.subject());
  request.set_resolution(*invocation.Get("resolution"));
  ASSIGN_OR_RETURN(*request.mutable_resolution_date(), DateOrToday(invocation, "date"));
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->ResolveDispute(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "resolved the dispute on",
                     absl::StrCat("invoice ", request.invoice_id()));
  return absl::OkStatus();
}

absl::Status ShowBalance(Invocation& invocation) {
  v1::GetOpenBalanceRequest request;
  request.set_tenant(invocation.tenant());
  request.set_account(*invocation.Get("account"));
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::OpenBalance balance;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetOpenBalance(call.get(), request, &balance)));
  if (invocation.json()) {
    invocation.out() << ToJson(balance) << "\n";
    return absl::OkStatus();
  }
  invocation.out() << "open balance of " << request.account()
                   << (balance.on_credit_hold() ? " (on credit hold)" : "") << ":\n";
  Table table({"CUR", "OPEN"}, {1});
  for (const v1::Money& amount : balance.open().amounts()) {
    table.AddRow({amount.currency(), FormatDecimal(amount.minor_units(), amount.currency())});
  }
  if (table.empty()) {
    invocation.out() << "  nothing open\n";
  } else {
    table.Print(invocation.out(), "  ");
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> InvoiceCommands() {
  std::vector<FlagSpec> issue_flags = AccountFlags();
  issue_flags.insert(
      issue_flags.end(),
      {
          {"currency", "CODE", "ISO 4217 currency of the invoice", /*required=*/true},
          {"amount", "DECIMAL", "net amount of a single line (or use --line)"},
          {"tax", "PERCENT", "tax rate of the --amount line, e.g. 19 or 7.5 (default 0)"},
          {"description", "TEXT", "description of the --amount line (default services)"},
          {"line", "QTY:PRICE:TAX%[:TEXT]", "an invoice line, e.g. 2:49.90:19:Widgets", false,
           /*repeated=*/true},
          {"name", "TEXT", "account name (default the account id)"},
          {"number", "TEXT", "printed invoice number (default the invoice id)"},
          {"issue-date", "YYYY-MM-DD", "issue date (default today, UTC)"},
          {"due-date", "YYYY-MM-DD", "due date (or --terms)"},
          {"terms", "net:DAYS|eom:DAYS", "payment terms when no --due-date (default net:30)"},
      });
  return {
      {"invoice issue", "Issue an invoice (idempotent on INVOICE_ID)", "INVOICE_ID", issue_flags,
       "examples:\n"
       "  arctl invoice issue INV-1 --account ACME --currency EUR --amount 1000.00 --tax 19\n"
       "  arctl invoice issue INV-2 --account ACME --currency USD --line 3:25.00:0:Licences "
       "--terms eom:30",
       IssueInvoice},
      {"invoice show",
       "Show an invoice: amounts, lines and history",
       "INVOICE_ID",
       {MinPositionFlag()},
       "",
       ShowInvoice},
      {"invoice list",
       "List an account's invoices (by status, by due date)",
       "",
       {{"account", "ID", "customer account id", true},
        {"status", "S1,S2",
         "only these statuses: open, partially_paid, paid, credited, cancelled, disputed, "
         "written_off"},
        {"due-from", "YYYY-MM-DD", "due on or after"},
        {"due-to", "YYYY-MM-DD", "due on or before"},
        {"limit", "N", "at most N invoices (default 100)"},
        MinPositionFlag()},
       "",
       ListInvoices},
      {"invoice credit-note",
       "Issue a credit note that reduces an invoice (idempotent on --id)",
       "INVOICE_ID",
       {{"id", "ID", "credit note id", true},
        {"amount", "DECIMAL", "amount credited", true},
        {"currency", "CODE", "currency of --amount (default the invoice's)"},
        {"date", "YYYY-MM-DD", "issue date (default today)"},
        {"reason", "TEXT", "why"}},
       "",
       IssueCreditNote},
      {"invoice cancel",
       "Cancel an invoice that has no payments",
       "INVOICE_ID",
       {{"reason", "TEXT", "why", true},
        {"date", "YYYY-MM-DD", "cancellation date (default today)"}},
       "",
       CancelInvoice},
      {"invoice dispute",
       "Open a dispute on an invoice (pauses dunning)",
       "INVOICE_ID",
       {{"reason", "TEXT", "what the customer disputes", true},
        {"amount", "DECIMAL", "disputed amount (default the whole open balance)"},
        {"currency", "CODE", "currency of --amount (default the invoice's)"},
        {"date", "YYYY-MM-DD", "dispute date (default today)"}},
       "",
       DisputeInvoice},
      {"invoice resolve",
       "Resolve an invoice's open dispute",
       "INVOICE_ID",
       {{"resolution", "TEXT", "how it was resolved", true},
        {"date", "YYYY-MM-DD", "resolution date (default today)"}},
       "",
       ResolveDispute},
      {"balance",
       "Open balance of an account, per currency",
       "",
       {{"account", "ID", "customer account id", true}, MinPositionFlag()},
       "",
       ShowBalance},
  };
}

}  // namespace ar::arctl
