// arctl payment ..., statement and unapplied: the payments service's commands and queries.

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "ar/v1/gateway.grpc.pb.h"
#include "libs/core/status_macros.h"
#include "tools/arctl/command_support.h"
#include "tools/arctl/commands.h"
#include "tools/arctl/text.h"

namespace ar::arctl {
namespace {

// "bank-transfer" -> PAYMENT_METHOD_BANK_TRANSFER.
absl::StatusOr<v1::PaymentMethod> ParseMethod(const std::string& text) {
  v1::PaymentMethod method;
  const std::string name = absl::StrCat(
      "PAYMENT_METHOD_", absl::AsciiStrToUpper(absl::StrReplaceAll(text, {{"-", "_"}})));
  if (!v1::PaymentMethod_Parse(name, &method) || method == v1::PAYMENT_METHOD_UNSPECIFIED) {
    return UsageError(
        absl::StrCat("--method: unknown payment method '", text,
                     "' (bank-transfer, card, direct-debit, cash, cheque, online-wallet)"));
  }
  return method;
}

std::string MethodLabel(v1::PaymentMethod method) {
  return absl::StrReplaceAll(EnumLabel(v1::PaymentMethod_Name(method), "PAYMENT_METHOD_"),
                             {{"_", "-"}});
}

absl::Status RecordPayment(Invocation& invocation) {
  v1::RecordPaymentRequest request;
  *request.mutable_account() = AccountFrom(invocation);
  request.set_payment_id(invocation.subject());
  const std::string currency = absl::AsciiStrToUpper(*invocation.Get("currency"));
  ASSIGN_OR_RETURN(*request.mutable_amount(),
                   ParseAmount(*invocation.Get("amount"), currency, "amount"));
  ASSIGN_OR_RETURN(const v1::PaymentMethod method,
                   ParseMethod(invocation.GetOr("method", "bank-transfer")));
  request.set_method(method);
  ASSIGN_OR_RETURN(*request.mutable_value_date(), DateOrToday(invocation, "value-date"));
  request.set_reference(invocation.GetOr("reference", ""));
  for (const std::string& text : invocation.GetAll("allocate")) {
    std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty()) {
      return UsageError(absl::StrCat("--allocate wants INVOICE_ID=AMOUNT, got '", text, "'"));
    }
    v1::PaymentAllocationLine* line = request.add_allocations();
    line->set_invoice_id(parts[0]);
    ASSIGN_OR_RETURN(*line->mutable_amount(), ParseAmount(parts[1], currency, "allocate"));
  }
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->RecordPayment(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "recorded",
                     absl::StrCat("payment ", request.payment_id()));
  return absl::OkStatus();
}

void PrintPayment(const v1::Payment& payment, std::ostream& out) {
  out << "payment    " << payment.payment_id() << (payment.reversed() ? " (REVERSED)" : "") << "\n"
      << "account    " << payment.account().account() << " (" << payment.account().region() << "/"
      << payment.account().subsidiary() << ")\n"
      << "amount     " << FormatAmount(payment.amount()) << " by " << MethodLabel(payment.method())
      << ", value date " << FormatDate(payment.value_date()) << "\n";
  if (!payment.reference().empty()) out << "reference  " << payment.reference() << "\n";
  out << "allocated  " << FormatAmount(payment.allocated()) << "\n"
      << "held       " << FormatAmount(payment.held()) << " (for invoices not seen yet)\n"
      << "unapplied  " << FormatAmount(payment.unapplied()) << "\n";
  if (payment.reversed()) {
    out << "reversed   " << FormatDate(payment.reversal_date()) << ": " << payment.reversal_reason()
        << "\n";
  }
  Table allocations({"INVOICE", "AMOUNT", "DATE", "HOW"}, {1});
  for (const v1::Allocation& allocation : payment.allocations()) {
    std::string how = allocation.held()        ? "held"
                      : allocation.automatic() ? "automatic"
                                               : "explicit";
    if (allocation.reversed()) how += ", reversed";
    allocations.AddRow({allocation.invoice_id(), FormatAmount(allocation.amount()),
                        FormatDate(allocation.allocation_date()), how});
  }
  out << "\nallocations:\n";
  if (allocations.empty()) {
    out << "  none\n";
  } else {
    allocations.Print(out, "  ");
  }
}

absl::Status ShowPayment(Invocation& invocation) {
  v1::GetPaymentRequest request;
  request.set_tenant(invocation.tenant());
  request.set_payment_id(invocation.subject());
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::Payment payment;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetPayment(call.get(), request, &payment)));
  if (invocation.json()) {
    invocation.out() << ToJson(payment) << "\n";
  } else {
    PrintPayment(payment, invocation.out());
  }
  return absl::OkStatus();
}

absl::Status ListPayments(Invocation& invocation) {
  v1::ListPaymentsRequest request;
  request.set_tenant(invocation.tenant());
  request.set_account(*invocation.Get("account"));
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::ListPaymentsResponse all;
  auto stub = Gateway(invocation);
  do {
    v1::ListPaymentsResponse page;
    auto call = invocation.context().NewCall();
    RETURN_IF_ERROR(FromGrpc(stub->ListPayments(call.get(), request, &page)));
    for (v1::Payment& payment : *page.mutable_payments()) *all.add_payments() = std::move(payment);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  if (invocation.json()) {
    invocation.out() << ToJson(all) << "\n";
    return absl::OkStatus();
  }
  Table table({"PAYMENT", "VALUE DATE", "AMOUNT", "ALLOCATED", "UNAPPLIED", "CUR", "STATE"},
              {2, 3, 4});
  for (const v1::Payment& payment : all.payments()) {
    const std::string& currency = payment.amount().currency();
    table.AddRow({payment.payment_id(), FormatDate(payment.value_date()),
                  FormatDecimal(payment.amount().minor_units(), currency),
                  FormatDecimal(payment.allocated().minor_units(), currency),
                  FormatDecimal(payment.unapplied().minor_units(), currency), currency,
                  payment.reversed()                 ? "reversed"
                  : payment.held().minor_units() > 0 ? "held"
                                                     : "recorded"});
  }
  if (table.empty()) {
    invocation.out() << "no payments\n";
  } else {
    table.Print(invocation.out());
  }
  return absl::OkStatus();
}

absl::Status ReversePayment(Invocation& invocation) {
  v1::ReversePaymentRequest request;
  request.set_tenant(invocation.tenant());
  request.set_payment_id(invocation.subject());
  request.set_reason(*invocation.Get("reason"));
  ASSIGN_OR_RETURN(*request.mutable_reversal_date(), DateOrToday(invocation, "date"));
  v1::CommandResult result;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->ReversePayment(call.get(), request, &result)));
  PrintCommandResult(invocation, result, "reversed",
                     absl::StrCat("payment ", request.payment_id()));
  return absl::OkStatus();
}

absl::Status ShowStatement(Invocation& invocation) {
  v1::GetStatementRequest request;
  request.set_tenant(invocation.tenant());
  request.set_account(*invocation.Get("account"));
  request.set_currency(absl::AsciiStrToUpper(*invocation.Get("currency")));
  // Without bounds: everything (the widest range the business dates allow).
  ASSIGN_OR_RETURN(*request.mutable_from(),
                   ParseDate(invocation.GetOr("from", "0001-01-01"), "from"));
  ASSIGN_OR_RETURN(*request.mutable_to(), ParseDate(invocation.GetOr("to", "9999-12-31"), "to"));
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::Statement statement;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetStatement(call.get(), request, &statement)));
  if (invocation.json()) {
    invocation.out() << ToJson(statement) << "\n";
    return absl::OkStatus();
  }
  const std::string& currency = statement.currency();
  std::ostream& out = invocation.out();
  out << "statement of " << statement.account() << " in " << currency;
  if (invocation.Has("from") || invocation.Has("to")) {
    out << " from " << FormatDate(statement.from()) << " to " << FormatDate(statement.to());
  }
  out << "\n";
  Table table({"DATE", "KIND", "DOCUMENT", "REFERENCE", "DEBIT", "CREDIT", "BALANCE"}, {4, 5, 6});
  table.AddRow({"", "opening balance", "", "", "", "",
                FormatDecimal(statement.opening_balance_minor(), currency)});
  for (const v1::StatementLine& line : statement.lines()) {
    table.AddRow({FormatDate(line.date()), line.kind(), line.document(), line.reference(),
                  line.debit_minor() ? FormatDecimal(line.debit_minor(), currency) : "",
                  line.credit_minor() ? FormatDecimal(line.credit_minor(), currency) : "",
                  FormatDecimal(line.balance_minor(), currency)});
  }
  table.AddRow({"", "closing balance", "", "", "", "",
                FormatDecimal(statement.closing_balance_minor(), currency)});
  table.Print(out);
  out << "unapplied cash at the end: " << FormatAmount(statement.unapplied_cash_minor(), currency)
      << "\n";
  return absl::OkStatus();
}

absl::Status ShowUnapplied(Invocation& invocation) {
  v1::GetUnappliedCashRequest request;
  request.set_tenant(invocation.tenant());
  request.set_account(*invocation.Get("account"));
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::UnappliedCash cash;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetUnappliedCash(call.get(), request, &cash)));
  if (invocation.json()) {
    invocation.out() << ToJson(cash) << "\n";
    return absl::OkStatus();
  }
  std::ostream& out = invocation.out();
  out << "unapplied cash of " << request.account() << ":\n";
  Table totals({"CUR", "UNAPPLIED", "HELD"}, {1, 2});
  std::map<std::string, std::pair<int64_t, int64_t>> by_currency;
  for (const v1::Money& money : cash.unapplied().amounts())
    by_currency[money.currency()].first = money.minor_units();
  for (const v1::Money& money : cash.held().amounts())
    by_currency[money.currency()].second = money.minor_units();
  for (const auto& [currency, amounts] : by_currency) {
    totals.AddRow({currency, FormatDecimal(amounts.first, currency),
                   FormatDecimal(amounts.second, currency)});
  }
  if (totals.empty()) {
    out << "  none\n";
    return absl::OkStatus();
  }
  totals.Print(out, "  ");
  Table payments({"PAYMENT", "VALUE DATE", "AMOUNT", "UNAPPLIED", "HELD", "CUR"}, {2, 3, 4});
  for (const v1::Payment& payment : cash.payments()) {
    const std::string& currency = payment.amount().currency();
    payments.AddRow({payment.payment_id(), FormatDate(payment.value_date()),
                     FormatDecimal(payment.amount().minor_units(), currency),
                     FormatDecimal(payment.unapplied().minor_units(), currency),
                     FormatDecimal(payment.held().minor_units(), currency), currency});
  }
  out << "\nfrom payments:\n";
  payments.Print(out, "  ");
  return absl::OkStatus();
}

}  // namespace

std::vector<CommandSpec> PaymentCommands() {
  std::vector<FlagSpec> record_flags = AccountFlags();
  record_flags.insert(
      record_flags.end(),
      {
          {"amount", "DECIMAL", "amount received", /*required=*/true},
          {"currency", "CODE", "ISO 4217 currency", /*required=*/true},
          {"method", "METHOD",
           "bank-transfer (default), card, direct-debit, cash, cheque, online-wallet"},
          {"value-date", "YYYY-MM-DD", "value date (default today, UTC)"},
          {"reference", "TEXT", "the payer's reference"},
          {"allocate", "INVOICE_ID=AMOUNT",
           "pay this invoice (may name one not issued yet: held until it is); without any, "
           "oldest due first and the rest unapplied",
           false, /*repeated=*/true},
      });
  return {
      {"payment record", "Record a received payment (idempotent on PAYMENT_ID)", "PAYMENT_ID",
       record_flags,
       "examples:\n"
       "  arctl payment record PAY-1 --account ACME --amount 500.00 --currency EUR\n"
       "  arctl payment record PAY-2 --account ACME --amount 80 --currency EUR --allocate INV-7=80",
       RecordPayment},
      {"payment show",
       "Show a payment and its allocations",
       "PAYMENT_ID",
       {MinPositionFlag()},
       "",
       ShowPayment},
      {"payment list",
       "List an account's payments",
       "",
       {{"account", "ID", "customer account id", true}, MinPositionFlag()},
       "",
       ListPayments},
      {"payment reverse",
       "Reverse a payment (bounced, charged back): re-opens what it paid",
       "PAYMENT_ID",
       {{"reason", "TEXT", "why, e.g. bounced or chargeback", true},
        {"date", "YYYY-MM-DD", "reversal date (default today)"}},
       "",
       ReversePayment},
      {"statement",
       "Customer statement for reconciliation, in one currency",
       "",
       {{"account", "ID", "customer account id", true},
        {"currency", "CODE", "statement currency", true},
        {"from", "YYYY-MM-DD", "first day (default: from the beginning)"},
        {"to", "YYYY-MM-DD", "last day (default: to the end)"},
        MinPositionFlag()},
       "",
       ShowStatement},
      {"unapplied",
       "Unapplied and held cash of an account",
       "",
       {{"account", "ID", "customer account id", true}, MinPositionFlag()},
       "",
       ShowUnapplied},
  };
}

}  // namespace ar::arctl
