// arctl customer and watch: the gateway's own views (customer 360 across the services, the
// live overdue stream).

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "libs/core/status_macros.h"
#include "tools/arctl/command_support.h"
#include "tools/arctl/commands.h"
#include "tools/arctl/text.h"

namespace ar::arctl {
namespace {

std::string Amounts(const v1::MoneyByCurrency& amounts) {
  std::vector<std::string> parts;
  for (const v1::Money& money : amounts.amounts()) parts.push_back(FormatAmount(money));
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

absl::Status ShowCustomer(Invocation& invocation) {
  v1::GetCustomer360Request request;
  request.set_tenant(invocation.tenant());
  request.set_account(*invocation.Get("account"));
  RETURN_IF_ERROR(ApplyMinPosition(invocation, request.mutable_consistency()));
  v1::Customer360 customer;
  auto call = invocation.context().NewCall();
  RETURN_IF_ERROR(FromGrpc(Gateway(invocation)->GetCustomer360(call.get(), request, &customer)));
  if (invocation.json()) {
    invocation.out() << ToJson(customer) << "\n";
    return absl::OkStatus();
  }
  std::ostream& out = invocation.out();
  const v1::GatewayCreditProfile& credit = customer.credit_profile();
  const v1::GatewayCollectionStatus& collection = customer.collection_status();
  out << "account      " << customer.account() << "\n"
      << "open         " << Amounts(customer.open_balance()) << "\n"
      << "unapplied    " << Amounts(customer.unapplied_cash()) << "\n"
      << "overdue      " << Amounts(collection.overdue()) << " (" << collection.days_past_due()
      << " days past due, dunning level " << collection.dunning_level() << ")\n"
      << "credit       grade " << (credit.grade().empty() ? "-" : credit.grade()) << ", score "
      << credit.score() << ", exposure " << FormatAmount(credit.exposure())
      << (customer.on_credit_hold() || credit.on_credit_hold() ? ", ON CREDIT HOLD" : "") << "\n";
  if (customer.has_open_promise()) {
    const v1::GatewayPromiseToPay& promise = customer.open_promise();
    out << "promise      " << FormatAmount(promise.amount()) << " by "
        << FormatDate(promise.promised_date()) << " (" << promise.state() << ")\n";
  }
  Table invoices({"INVOICE", "DUE", "OPEN", "STATUS"}, {2});
  for (const v1::Invoice& invoice : customer.open_invoices()) {
    invoices.AddRow({invoice.invoice_id(), FormatDate(invoice.due_date()),
                     FormatAmount(invoice.open_balance()),
                     EnumLabel(v1::InvoiceStatus_Name(invoice.status()), "INVOICE_STATUS_")});
  }
  if (!invoices.empty()) {
    out << "\nopen invoices" << (customer.open_invoices_truncated() ? " (first page)" : "")
        << ":\n";
    invoices.Print(out, "  ");
  }
  for (const v1::Customer360SectionError& error : customer.section_errors()) {
    out << "\n(" << error.section() << " unavailable: " << error.message() << ")";
  }
  if (customer.section_errors_size() > 0) out << "\n";
  return absl::OkStatus();
}

std::string DescribeUpdate(const v1::OverdueUpdate& update) {
  const v1::Event& event = update.event();
  std::string what;
  switch (event.body_case()) {
    case v1::Event::kAccountOverdue: {
      const v1::AccountOverdue& overdue = event.account_overdue();
      what =
          absl::StrCat("OVERDUE   ", overdue.invoice_id(), " ", overdue.aging_bucket(), " (",
                       overdue.days_past_due(), " days) ", FormatAmount(overdue.overdue_amount()));
      break;
    }
    case v1::Event::kDunningLevelRaised: {
      const v1::DunningLevelRaised& dunning = event.dunning_level_raised();
      what = absl::StrCat("DUNNING   ", dunning.invoice_id(), " level ", dunning.level(), " ",
                          EnumLabel(v1::DunningChannel_Name(dunning.channel()), "DUNNING_CHANNEL_"),
                          " ", dunning.template_key());
      break;
    }
    case v1::Event::kPromiseToPayBroken:
      what = absl::StrCat("BROKEN    promise ", event.promise_to_pay_broken().promise_id(), " (",
                          FormatAmount(event.promise_to_pay_broken().amount_promised()), ")");
      break;
    case v1::Event::kCreditHoldPlaced:
      what = absl::StrCat("HOLD      ", event.credit_hold_placed().reason());
      break;
    case v1::Event::kAccountCured:
      what = absl::StrCat("CURED     by ", event.account_cured().cause());
      break;
    default:
      what = absl::StrCat("event ", event.body_case());
  }
  return absl::StrCat(event.region(), "/", event.subsidiary(), " ", event.account(), " ",
                      update.account_grade().empty() ? "-" : update.account_grade(), "  ", what);
}

absl::Status Watch(Invocation& invocation) {
  v1::SubscribeOverdueRequest request;
  v1::OverdueFilter* filter = request.mutable_filter();
  filter->set_tenant(invocation.tenant());
  for (const std::string& region : invocation.GetAll("region")) filter->add_regions(region);
  for (const std::string& sub : invocation.GetAll("subsidiary")) filter->add_subsidiaries(sub);
  for (const std::string& grade : invocation.GetAll("grade")) {
    filter->add_grades(absl::AsciiStrToUpper(grade));
  }
  filter->set_min_bucket(invocation.GetOr("min-bucket", ""));
  if (auto amount = invocation.Get("min-amount")) {
    const std::optional<std::string> currency = invocation.Get("currency");
    if (!currency) return UsageError("--min-amount needs --currency");
    ASSIGN_OR_RETURN(*filter->mutable_min_amount(),
                     ParseAmount(*amount, absl::AsciiStrToUpper(*currency), "min-amount"));
  }
  const std::string cursor_file = invocation.GetOr("cursor-file", "");
  request.set_cursor(invocation.GetOr("cursor", ""));
  if (request.cursor().empty() && !cursor_file.empty()) {
    std::ifstream saved(cursor_file);
    std::stringstream text;
    text << saved.rdbuf();
    request.set_cursor(std::string(absl::StripAsciiWhitespace(text.str())));
  }
  int64_t max_events = -1;
  if (auto max = invocation.Get("max-events")) {
    if (!absl::SimpleAtoi(*max, &max_events) || max_events < 1) {
      return UsageError("--max-events wants a positive number");
    }
  }
  // A stream lives as long as the user watches: no deadline.
  grpc::ClientContext call;
  auto reader = Gateway(invocation)->SubscribeOverdue(&call, request);
  v1::OverdueUpdate update;
  int64_t seen = 0;
  std::string last_cursor = request.cursor();
  while (reader->Read(&update)) {
    last_cursor = update.cursor();
    // The stream's first message carries only where it starts: nothing to show, but its
    // cursor is saved, so a watch stopped before any event resumes from there.
    if (update.has_event()) {
      if (invocation.json()) {
        invocation.out() << ToJson(update) << std::endl;
      } else {
        invocation.out() << DescribeUpdate(update) << std::endl;
      }
    }
    if (!cursor_file.empty()) {
      // Written after each update is shown: a watch resumed with the file repeats nothing.
      std::ofstream saved(cursor_file, std::ios::trunc);
      saved << last_cursor << "\n";
    }
    if (!update.has_event()) continue;
    if (max_events > 0 && ++seen >= max_events) {
      call.TryCancel();
      break;
    }
  }
  const grpc::Status finished = reader->Finish();
  if (max_events > 0 && seen >= max_events) return absl::OkStatus();
  if (!finished.ok() && !last_cursor.empty() && cursor_file.empty()) {
    return absl::Status(
        static_cast<absl::StatusCode>(finished.error_code()),
        absl::StrCat(finished.error_message(), " (resume with --cursor ", last_cursor, ")"));
  }
  return FromGrpc(finished);
}

}  // namespace

std::vector<CommandSpec> GatewayCommands() {
  return {
      {"customer",
       "Customer 360: balances, open invoices, credit, collection status, promise",
       "",
       {{"account", "ID", "customer account id", true}, MinPositionFlag()},
       "",
       ShowCustomer},
      {"watch",
       "The live overdue stream (overdue, dunning, broken promises, holds, cures)",
       "",
       {{"region", "ID", "only these regions", false, true},
        {"subsidiary", "ID", "only these subsidiaries", false, true},
        {"grade", "A-E", "only accounts with these risk grades", false, true},
        {"min-bucket", "LABEL", "only this aging bucket or later, e.g. 31-60"},
        {"min-amount", "AMOUNT", "only overdue amounts of at least this much"},
        {"currency", "CODE", "currency of --min-amount"},
        {"cursor", "CURSOR", "resume after this update (default: from now)"},
        {"cursor-file", "PATH", "resume from the cursor saved here; save each new cursor here"},
        {"max-events", "N", "stop after N updates"}},
       "Without a cursor the stream starts from now. With --cursor-file, stop any time\n"
       "(Ctrl-C) and run the same command again: it resumes with nothing lost or repeated.\n"
       "example:\n  arctl watch --region eu --min-bucket 31-60 --cursor-file ~/.ar-watch",
       Watch},
  };
}

}  // namespace ar::arctl
