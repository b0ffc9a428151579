// arctl as a user runs it: the real binary against a real ar-suite child process on a free
// port, checking what it prints and the exit code it returns.

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ar/v1/clock.pb.h"
#include "ar/v1/gateway.pb.h"
#include "ar/v1/invoicing.pb.h"
#include "ar/v1/payments.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/protoconv/protoconv.h"
#include "libs/testing/child_process.h"
#include "libs/testing/ports.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/suite/testing/suite_process.h"
#include "tools/arctl/commands.h"

namespace ar::arctl {
namespace {

using suite::testing::CommandOutput;
using suite::testing::SuiteProcess;
using ::testing::HasSubstr;

class ArctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new ar::testing::TempDir();
    suite_ = new SuiteProcess(data_->path());
    start_status_ = new absl::Status(suite_->Start());
  }
  static void TearDownTestSuite() {
    suite_->Stop(SIGTERM);
    delete suite_;
    delete data_;
    delete start_status_;
  }
  void SetUp() override { ASSERT_TRUE(start_status_->ok()) << *start_status_; }

  // Runs arctl against the suite (tenant "arctl-test").
  static CommandOutput Arctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {suite::testing::ArctlBinary(), "--server", suite_->address(),
                                     "--tenant", "arctl-test"};
    argv.insert(argv.end(), args.begin(), args.end());
    return suite::testing::RunCommand(argv);
  }

  static ar::testing::TempDir* data_;
  static SuiteProcess* suite_;
  static absl::Status* start_status_;
};

ar::testing::TempDir* ArctlTest::data_ = nullptr;
SuiteProcess* ArctlTest::suite_ = nullptr;
absl::Status* ArctlTest::start_status_ = nullptr;

// The command's --json output as a message; a parse failure fails the test.
template <typename Message>
Message FromJson(const CommandOutput& output) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(output.out, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << output.out << output.err;
  return message;
}

std::string PositionText(const v1::LogPosition& position) {
  return absl::StrCat(position.topic(), "/", position.partition(), "/", position.offset());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The event ids of `arctl --json watch` output (one OverdueUpdate per line).
std::vector<std::string> WatchedEventIds(const std::string& out) {
  std::vector<std::string> ids;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    v1::OverdueUpdate update;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &update).ok())
        << line;
    ids.push_back(update.event().event_id());
  }
  return ids;
}

// The position a command printed ("... at ar.invoicing.events/3/17").
std::string PrintedPosition(const std::string& out) {
  std::smatch match;
  if (!std::regex_search(out, match, std::regex(R"(at (\S+/\d+/\d+))"))) return "";
  return match[1];
}

TEST_F(ArctlTest, IssuesShowsAndRepeatsAnInvoice) {
  CommandOutput issued =
      Arctl({"invoice", "issue", "T1-INV", "--account", "T1", "--currency", "eur", "--amount",
             "1000.00", "--tax", "19", "--issue-date", "2026-10-01", "--terms", "net:30"});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  EXPECT_THAT(issued.out, HasSubstr("issued invoice T1-INV at ar.invoicing.events/"));
  const std::string position = PrintedPosition(issued.out);
  ASSERT_FALSE(position.empty()) << issued.out;

  CommandOutput shown = Arctl({"invoice", "show", "T1-INV", "--min-position", position});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("total      1190.00 EUR (net 1000.00 EUR, tax 190.00 EUR)"));
  EXPECT_THAT(shown.out, HasSubstr("issued     2026-10-01, due 2026-10-31"));
  EXPECT_THAT(shown.out, HasSubstr("status     open"));

  CommandOutput repeated =
      Arctl({"invoice", "issue", "T1-INV", "--account", "T1", "--currency", "EUR", "--amount",
             "1000", "--tax", "19", "--issue-date", "2026-10-01", "--terms", "net:30"});
  EXPECT_EQ(repeated.exit_code, 0) << repeated.err;
  EXPECT_THAT(repeated.out, HasSubstr("already issued with this content"));
  EXPECT_THAT(repeated.out, HasSubstr(position));
}

TEST_F(ArctlTest, JsonIsTheServersAnswer) {
  ASSERT_EQ(Arctl({"invoice", "issue", "T2-INV", "--account", "T2", "--currency", "JPY", "--amount",
                   "12000", "--issue-date", "2026-10-01", "--due-date", "2026-11-01"})
                .exit_code,
            0);
  CommandOutput shown = Arctl({"--json", "invoice", "show", "T2-INV"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  v1::Invoice invoice;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(shown.out, &invoice).ok()) << shown.out;
  EXPECT_EQ(invoice.invoice_id(), "T2-INV");
  EXPECT_EQ(invoice.total().minor_units(), 12000);  // JPY has no minor unit
  EXPECT_EQ(invoice.total().currency(), "JPY");
}

TEST_F(ArctlTest, PaymentsStatementBalanceAndUnappliedCash) {
  ASSERT_EQ(Arctl({"invoice", "issue", "T3-INV", "--account", "T3", "--currency", "USD", "--line",
                   "3:400.00:0:Licences", "--issue-date", "2026-09-15", "--terms", "eom:30"})
                .exit_code,
            0);
  // Pays the invoice in full and leaves 50.00 unapplied.
  CommandOutput paid = Arctl({"payment", "record", "T3-PAY", "--account", "T3", "--amount",
                              "1250.00", "--currency", "USD", "--value-date", "2026-10-01"});
  ASSERT_EQ(paid.exit_code, 0) << paid.err;
  EXPECT_THAT(paid.out, HasSubstr("recorded payment T3-PAY at ar.payments.events/"));
  const std::string position = PrintedPosition(paid.out);

  CommandOutput balance = Arctl({"balance", "--account", "T3", "--min-position", position});
  ASSERT_EQ(balance.exit_code, 0) << balance.err;
  EXPECT_THAT(balance.out, ::testing::AnyOf(HasSubstr("nothing open"), HasSubstr("USD  0.00")));
  CommandOutput unapplied = Arctl({"unapplied", "--account", "T3", "--min-position", position});
  ASSERT_EQ(unapplied.exit_code, 0) << unapplied.err;
  EXPECT_THAT(unapplied.out, HasSubstr("USD      50.00"));
  CommandOutput statement =
      Arctl({"statement", "--account", "T3", "--currency", "usd", "--min-position", position});
  ASSERT_EQ(statement.exit_code, 0) << statement.err;
  EXPECT_THAT(statement.out, HasSubstr("1200.00"));
  EXPECT_THAT(statement.out, HasSubstr("unapplied cash at the end: 50.00 USD"));

  CommandOutput reversed =
      Arctl({"payment", "reverse", "T3-PAY", "--reason", "bounced", "--date", "2026-10-05"});
  ASSERT_EQ(reversed.exit_code, 0) << reversed.err;
  CommandOutput reopened =
      Arctl({"balance", "--account", "T3", "--min-position", PrintedPosition(reversed.out)});
  EXPECT_THAT(reopened.out, HasSubstr("USD  1200.00"));
  // A second reversal is refused by the business rules.
  CommandOutput again =
      Arctl({"payment", "reverse", "T3-PAY", "--reason", "bounced", "--date", "2026-10-05"});
  EXPECT_EQ(again.exit_code, kExitRejected);
  EXPECT_THAT(again.err, HasSubstr("already reversed"));
}

TEST_F(ArctlTest, UnknownIdsExitWithNotFound) {
  CommandOutput invoice = Arctl({"invoice", "show", "NO-SUCH-INVOICE"});
  EXPECT_EQ(invoice.exit_code, kExitNotFound);
  EXPECT_THAT(invoice.err, HasSubstr("not found"));
  EXPECT_TRUE(invoice.out.empty());
  EXPECT_EQ(Arctl({"payment", "show", "NO-SUCH-PAYMENT"}).exit_code, kExitNotFound);
}

TEST_F(ArctlTest, BusinessRuleViolationsExitWithRejected) {
  ASSERT_EQ(Arctl({"invoice", "issue", "T5-INV", "--account", "T5", "--currency", "EUR", "--amount",
                   "100.00"})
                .exit_code,
            0);
  CommandOutput too_much =
      Arctl({"invoice", "credit-note", "T5-INV", "--id", "T5-CN", "--amount", "500.00"});
  EXPECT_EQ(too_much.exit_code, kExitRejected);
  EXPECT_THAT(too_much.err, HasSubstr("rejected"));
  // The same invoice id with other content: a conflict.
  CommandOutput conflict = Arctl(
      {"invoice", "issue", "T5-INV", "--account", "T5", "--currency", "EUR", "--amount", "999.00"});
  EXPECT_EQ(conflict.exit_code, kExitRejected);
  EXPECT_THAT(conflict.err, HasSubstr("conflict"));
}

TEST_F(ArctlTest, BadCommandLinesExitWithUsage) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"no-such-command"},
      {"invoice"},
      {"invoice", "frobnicate"},
      {"invoice", "show"},                                              // missing INVOICE_ID
      {"invoice", "issue", "X", "--currency", "EUR", "--amount", "1"},  // missing --account
      {"invoice", "issue", "X", "--account", "A", "--currency", "EUR", "--amount",
       "1.234"},  // 3 decimals
      {"invoice", "issue", "X", "--account", "A", "--currency", "XXX", "--amount",
       "1"},  // unknown currency
      {"invoice", "issue", "X", "--account", "A", "--currency", "EUR", "--amount", "1",
       "--issue-date", "2027-02-29"},
      {"balance", "--account", "A", "--bogus"},
      {"balance", "--account", "A", "--min-position", "nonsense"},
      {"payment", "record", "P", "--account", "A", "--amount", "1", "--currency", "EUR", "--method",
       "barter"},
      {"invoice", "list"},  // missing --account
      {"invoice", "list", "--account", "A", "--limit", "0"},
      {"invoice", "credit-note", "X", "--id", "CN"},  // missing --amount
      {"invoice", "cancel", "X"},                     // missing --reason
      {"invoice", "dispute", "X", "--reason", "r", "--date", "yesterday"},
      {"invoice", "resolve", "X"},  // missing --resolution
      {"payment", "show"},
      {"payment", "list"},
      {"payment", "reverse", "P"},      // missing --reason
      {"statement", "--account", "A"},  // missing --currency
      {"unapplied"},
      {"credit", "set-limit", "--account", "A"},  // missing --limit
      {"credit", "set-limit", "--account", "A", "--limit", "1", "--group", "G"},
      {"credit", "fx-rate", "--from", "USD", "--to", "EUR", "--rate", "0"},
      {"credit", "show"},
      {"promise", "record", "P", "--account", "A", "--amount", "1", "--currency", "EUR"},
      {"writeoff", "X", "--account", "A", "--reason", "r"},  // missing --approver
      {"overdue", "--sort", "bogus"},
      {"overdue", "--min-amount", "5"},  // needs --currency
      {"aging", "--group-by", "planet"},
      {"aging", "--as-of", "2027-13-01"},
      {"kpis", "--from", "2027-13"},
      {"kpis", "--to", "May"},
      {"customer"},
      {"watch", "--max-events", "0"},
      {"clock", "advance", "--region", "eu"},  // missing --to
      {"clock", "show", "extra"},
      {"health", "--service"},
      {"--timeout", "soon", "health"},
  };
  for (const std::vector<std::string>& args : bad) {
    CommandOutput result = Arctl(args);
    EXPECT_EQ(result.exit_code, kExitUsage) << absl::StrJoin(args, " ") << "\n" << result.err;
    EXPECT_THAT(result.err, HasSubstr("arctl")) << absl::StrJoin(args, " ");
  }
}

TEST_F(ArctlTest, ClockAdvancesAndShowsRegions) {
  // The suite's wall clock has closed yesterday already; a future date closes days.
  CommandOutput advanced = Arctl({"clock", "advance", "--region", "apac", "--to", "2027-01-10"});
  ASSERT_EQ(advanced.exit_code, 0) << advanced.err;
  EXPECT_THAT(advanced.out, HasSubstr(".. 2027-01-10); business date is now 2027-01-11"));
  CommandOutput again = Arctl({"clock", "advance", "--region", "apac", "--to", "2027-01-10"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("already closed through 2027-01-10"));
  CommandOutput shown = Arctl({"clock", "show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("Asia/Shanghai"));
  EXPECT_THAT(shown.out, HasSubstr("2027-01-11"));
  const auto dates = FromJson<v1::GetBusinessDatesResponse>(Arctl({"--json", "clock", "show"}));
  std::set<std::string> regions;
  for (const v1::RegionBusinessDate& region : dates.regions()) regions.insert(region.region());
  EXPECT_TRUE(regions.contains("apac"));
  EXPECT_EQ(Arctl({"clock", "advance", "--region", "mars", "--to", "2027-01-10"}).exit_code, 3);
  EXPECT_EQ(Arctl({"clock", "advance", "--region", "apac", "--to", "2027-02-30"}).exit_code, 2);
}

TEST_F(ArctlTest, EveryCommandHasHelp) {
  for (const CommandSpec& command : AllCommands()) {
    std::vector<std::string> args = absl::StrSplit(command.path, ' ');
    args.push_back("--help");
    CommandOutput help = Arctl(args);
    EXPECT_EQ(help.exit_code, 0) << command.path;
    EXPECT_THAT(help.out, HasSubstr("usage: arctl " + command.path)) << command.path;
    // The group level too ("arctl invoice --help").
    if (args.size() > 2) {
      CommandOutput group = Arctl({args[0], "--help"});
      EXPECT_EQ(group.exit_code, 0);
      EXPECT_THAT(group.out, HasSubstr(command.path));
    }
  }
  CommandOutput top = Arctl({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("exit codes"));
}

TEST_F(ArctlTest, InvoiceListCreditNoteDisputeResolveCancel) {
  for (const auto& [id, amount] : std::vector<std::pair<std::string, std::string>>{
           {"L1-A", "100.00"}, {"L1-B", "200.00"}, {"L1-C", "300.00"}}) {
    CommandOutput issued = Arctl({"invoice", "issue", id, "--account", "L1", "--currency", "EUR",
                                  "--amount", amount, "--issue-date", "2026-10-01"});
    ASSERT_EQ(issued.exit_code, 0) << issued.err;
  }
  CommandOutput credited = Arctl({"invoice", "credit-note", "L1-A", "--id", "L1-CN", "--amount",
                                  "10.00", "--date", "2026-10-05", "--reason", "goodwill"});
  ASSERT_EQ(credited.exit_code, 0) << credited.err;
  EXPECT_THAT(credited.out, HasSubstr("L1-CN"));
  const v1::CommandResult credited_json =
      FromJson<v1::CommandResult>(Arctl({"--json", "invoice", "credit-note", "L1-A", "--id",
                                         "L1-CN2", "--amount", "5.00", "--date", "2026-10-06"}));
  EXPECT_EQ(credited_json.position().topic(), "ar.invoicing.events");

  CommandOutput disputed =
      Arctl({"invoice", "dispute", "L1-B", "--reason", "wrong quantity", "--date", "2026-10-07"});
  ASSERT_EQ(disputed.exit_code, 0) << disputed.err;
  EXPECT_THAT(disputed.out, HasSubstr("disputed invoice L1-B at ar.invoicing.events/"));
  CommandOutput shown =
      Arctl({"invoice", "show", "L1-B", "--min-position", PrintedPosition(disputed.out)});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("status     disputed"));
  CommandOutput resolved =
      Arctl({"invoice", "resolve", "L1-B", "--resolution", "corrected", "--date", "2026-10-08"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.err;
  EXPECT_THAT(resolved.out, HasSubstr("resolved the dispute on invoice L1-B at "));
  // No open dispute left to resolve: a business rule.
  CommandOutput resolved_again =
      Arctl({"invoice", "resolve", "L1-B", "--resolution", "again", "--date", "2026-10-09"});
  EXPECT_EQ(resolved_again.exit_code, kExitRejected) << resolved_again.out;

  const v1::CommandResult cancelled = FromJson<v1::CommandResult>(Arctl(
      {"--json", "invoice", "cancel", "L1-C", "--reason", "duplicate", "--date", "2026-10-02"}));
  EXPECT_EQ(cancelled.position().topic(), "ar.invoicing.events");
  CommandOutput dispute_cancelled =
      Arctl({"invoice", "dispute", "L1-C", "--reason", "late", "--date", "2026-10-09"});
  EXPECT_EQ(dispute_cancelled.exit_code, kExitRejected) << dispute_cancelled.out;
  EXPECT_EQ(Arctl({"invoice", "cancel", "NO-SUCH-INVOICE", "--reason", "x"}).exit_code,
            kExitNotFound);
  EXPECT_EQ(Arctl({"invoice", "dispute", "NO-SUCH-INVOICE", "--reason", "x"}).exit_code,
            kExitNotFound);

  const std::string position = PositionText(cancelled.position());
  CommandOutput listed = Arctl({"invoice", "list", "--account", "L1", "--min-position", position});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("INVOICE"));
  EXPECT_THAT(listed.out, ::testing::ContainsRegex("L1-A +L1 +open .* 85\\.00 +EUR"));
  EXPECT_THAT(listed.out, ::testing::ContainsRegex("L1-C +L1 +cancelled"));
  const auto open_only =
      FromJson<v1::ListInvoicesResponse>(Arctl({"--json", "invoice", "list", "--account", "L1",
                                                "--status", "open", "--min-position", position}));
  std::set<std::string> open_ids;
  for (const v1::Invoice& invoice : open_only.invoices()) open_ids.insert(invoice.invoice_id());
  EXPECT_EQ(open_ids, (std::set<std::string>{"L1-A", "L1-B"}));
  EXPECT_THAT(Arctl({"invoice", "list", "--account", "NOBODY"}).out, HasSubstr("no invoices"));
}

TEST_F(ArctlTest, PaymentShowAndList) {
  ASSERT_EQ(Arctl({"invoice", "issue", "P1-INV", "--account", "P1", "--currency", "EUR", "--amount",
                   "80.00", "--issue-date", "2026-10-01"})
                .exit_code,
            0);
  const v1::CommandResult paid = FromJson<v1::CommandResult>(
      Arctl({"--json", "payment", "record", "P1-PAY", "--account", "P1", "--amount", "100.00",
             "--currency", "EUR", "--value-date", "2026-10-10", "--allocate", "P1-INV=80.00"}));
  ASSERT_EQ(paid.position().topic(), "ar.payments.events");
  const std::string position = PositionText(paid.position());
  CommandOutput shown = Arctl({"payment", "show", "P1-PAY", "--min-position", position});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("P1-INV"));
  EXPECT_THAT(shown.out, HasSubstr("100.00"));
  const auto payment = FromJson<v1::Payment>(
      Arctl({"--json", "payment", "show", "P1-PAY", "--min-position", position}));
  EXPECT_EQ(payment.payment_id(), "P1-PAY");
  EXPECT_EQ(payment.amount().minor_units(), 10000);
  EXPECT_EQ(payment.unapplied().minor_units(), 2000);

  CommandOutput listed = Arctl({"payment", "list", "--account", "P1", "--min-position", position});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, ::testing::ContainsRegex("P1-PAY +2026-10-10 +100\\.00 +80\\.00 +20\\.00 "
                                                   "+EUR +recorded"));
  const auto payments = FromJson<v1::ListPaymentsResponse>(
      Arctl({"--json", "payment", "list", "--account", "P1", "--min-position", position}));
  ASSERT_EQ(payments.payments_size(), 1);
  EXPECT_THAT(Arctl({"payment", "list", "--account", "NOBODY"}).out, HasSubstr("no payments"));

  // The JSON forms of balance, unapplied and statement.
  const auto balance = FromJson<v1::OpenBalance>(
      Arctl({"--json", "balance", "--account", "P1", "--min-position", position}));
  EXPECT_EQ(balance.account(), "P1");
  const auto cash = FromJson<v1::UnappliedCash>(
      Arctl({"--json", "unapplied", "--account", "P1", "--min-position", position}));
  ASSERT_EQ(cash.unapplied().amounts_size(), 1);
  EXPECT_EQ(cash.unapplied().amounts(0).minor_units(), 2000);
  const auto statement = FromJson<v1::Statement>(Arctl(
      {"--json", "statement", "--account", "P1", "--currency", "EUR", "--min-position", position}));
  EXPECT_FALSE(statement.lines().empty());
  EXPECT_EQ(Arctl({"payment", "reverse", "NO-SUCH-PAYMENT", "--reason", "bounced"}).exit_code,
            kExitNotFound);
}

TEST_F(ArctlTest, CreditLimitFxRateAndProfile) {
  ASSERT_EQ(Arctl({"invoice", "issue", "CR1-INV", "--account", "CR1", "--currency", "USD",
                   "--amount", "1000.00", "--issue-date", "2026-10-01"})
                .exit_code,
            0);
  CommandOutput rate = Arctl({"credit", "fx-rate", "--from", "USD", "--to", "EUR", "--rate", "0.5",
                              "--date", "2026-09-01"});
  ASSERT_EQ(rate.exit_code, 0) << rate.err;
  EXPECT_THAT(rate.out, HasSubstr("set FX rate USD/EUR at ar.credit.events/"));
  const v1::CommandResult rate_again =
      FromJson<v1::CommandResult>(Arctl({"--json", "credit", "fx-rate", "--from", "USD", "--to",
                                         "EUR", "--rate", "0.5", "--date", "2026-09-01"}));
  EXPECT_TRUE(rate_again.duplicate());
  CommandOutput limit = Arctl({"credit", "set-limit", "--account", "CR1", "--limit", "4000"});
  ASSERT_EQ(limit.exit_code, 0) << limit.err;
  EXPECT_THAT(limit.out, HasSubstr("set the credit limit of CR1 at ar.credit.events/"));
  const v1::CommandResult limit_json = FromJson<v1::CommandResult>(
      Arctl({"--json", "credit", "set-limit", "--account", "CR1", "--limit", "4000"}));
  const std::string position = PositionText(limit_json.position());

  CommandOutput profile = Arctl({"credit", "show", "--account", "CR1", "--min-position", position});
  ASSERT_EQ(profile.exit_code, 0) << profile.err;
  EXPECT_THAT(profile.out, HasSubstr("account      CR1"));
  EXPECT_THAT(profile.out, HasSubstr("limit        4000.00 EUR"));
  EXPECT_THAT(profile.out, HasSubstr("credit hold  no"));
  const auto profile_json = FromJson<v1::GatewayCreditProfile>(
      Arctl({"--json", "credit", "show", "--account", "CR1", "--min-position", position}));
  EXPECT_EQ(profile_json.credit_limit().minor_units(), 400000);

  EXPECT_EQ(Arctl({"credit", "show", "--account", "NO-SUCH-ACCOUNT"}).exit_code, kExitNotFound);
  // A rate of a currency into itself is refused by credit-risk.
  CommandOutput same = Arctl({"credit", "fx-rate", "--from", "EUR", "--to", "EUR", "--rate", "2"});
  EXPECT_EQ(same.exit_code, kExitRejected) << same.out << same.err;
  EXPECT_EQ(Arctl({"credit", "set-limit", "--account", "CR1", "--limit", "-5"}).exit_code,
            kExitRejected);
}

// Collections as users drive it: invoices in region "us" become overdue when the clock
// closes days; overdue, aging, kpis, customer, promises, write-offs and the overdue stream
// (resumed from a cursor file) show it.
TEST_F(ArctlTest, CollectionsThroughTheClockAndTheOverdueStream) {
  // K1 (subsidiary "w", two invoices) is the one watched: its events share a partition, so
  // the stream's order is the log's.
  for (const auto& [account, invoice, subsidiary] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"K1", "K1-INV", "w"},
                                                                      {"K1", "K1-INV2", "w"},
                                                                      {"K2", "K2-INV", "main"},
                                                                      {"K3", "K3-INV", "main"}}) {
    CommandOutput issued =
        Arctl({"invoice", "issue", invoice, "--account", account, "--region", "us", "--subsidiary",
               subsidiary, "--name", "Customer " + account, "--currency", "USD", "--amount",
               "500.00", "--issue-date", "2027-04-01", "--due-date", "2027-05-01"});
    ASSERT_EQ(issued.exit_code, 0) << issued.err;
  }
  const std::vector<std::string> watch_k1 = {"watch", "--region", "us", "--subsidiary", "w"};
  auto with = [](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  // A watch from now, saving its cursor; it stops after two updates.
  const std::string cursor_file = data_->Join("watch-cursor");
  const std::string first_out = data_->Join("watch-1.out");
  std::string command = "exec";
  for (const std::string& arg :
       with({suite::testing::ArctlBinary(), "--server", suite_->address(), "--tenant", "arctl-test",
             "--json"},
            with(watch_k1, {"--cursor-file", cursor_file, "--max-events", "2"}))) {
    absl::StrAppend(&command, " '", arg, "'");
  }
  absl::StrAppend(&command, " > '", first_out, "' 2>&1");
  ar::testing::ChildProcess watch = ar::testing::ChildProcess::Exec({"/bin/sh", "-c", command});
  // The stream's first message carries its start: the file has a cursor before any event.
  ASSERT_TRUE(
      ar::testing::WaitFor([&] { return !ReadFile(cursor_file).empty(); }, absl::Seconds(10)));
  const std::string start_cursor(absl::StripAsciiWhitespace(ReadFile(cursor_file)));

  CommandOutput advanced =
      Arctl({"--json", "clock", "advance", "--region", "us", "--to", "2027-05-20"});
  ASSERT_EQ(advanced.exit_code, 0) << advanced.err;
  const auto advance = FromJson<v1::GatewayAdvanceBusinessDayResponse>(advanced);
  EXPECT_EQ(advance.region(), "us");
  EXPECT_EQ(protoconv::DescribeDay(advance.closed_through()), "2027-05-20");
  EXPECT_EQ(protoconv::DescribeDay(advance.business_date()), "2027-05-21");
  const std::string position = PositionText(advance.result().position());

  ASSERT_TRUE(ar::testing::WaitFor([&] { return watch.HasExited(); }, absl::Seconds(20)))
      << ReadFile(first_out);
  EXPECT_EQ(watch.Wait(), 0) << ReadFile(first_out);
  const std::vector<std::string> first = WatchedEventIds(ReadFile(first_out));
  ASSERT_EQ(first.size(), 2u) << ReadFile(first_out);
  // From the start cursor: the same two, then a third.
  CommandOutput replay =
      Arctl(with({"--json"}, with(watch_k1, {"--cursor", start_cursor, "--max-events", "3"})));
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  const std::vector<std::string> all = WatchedEventIds(replay.out);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(all.begin(), all.begin() + 2), first);
  // Resumed from the file: the third, nothing printed twice.
  CommandOutput resumed =
      Arctl(with({"--json"}, with(watch_k1, {"--cursor-file", cursor_file, "--max-events", "1"})));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(WatchedEventIds(resumed.out), std::vector<std::string>{all[2]});
  CommandOutput table_watch =
      Arctl(with(watch_k1, {"--cursor", start_cursor, "--max-events", "1"}));
  ASSERT_EQ(table_watch.exit_code, 0) << table_watch.err;
  EXPECT_THAT(table_watch.out, ::testing::ContainsRegex(
                                   "^us/w K1 [A-E-] +OVERDUE +K1-INV2? 1-30 \\(1 days\\) 500\\.00 "
                                   "USD\n$"));

  // The overdue table, once collections has decided on the close.
  CommandOutput overdue;
  ASSERT_TRUE(ar::testing::WaitFor(
      [&] {
        overdue = Arctl({"overdue", "--region", "us", "--min-position", position});
        return overdue.exit_code == 0 && absl::StrContains(overdue.out, "K3");
      },
      absl::Seconds(20)))
      << overdue.out << overdue.err;
  EXPECT_THAT(overdue.out,
              ::testing::ContainsRegex("K1 +Customer K1 +us +w +1000\\.00 USD +20 +1-30"));
  const auto overdue_json = FromJson<v1::GatewayListOverdueAccountsResponse>(
      Arctl({"--json", "overdue", "--region", "us", "--sort", "amount", "--page-size", "2"}));
  ASSERT_EQ(overdue_json.accounts_size(), 2);
  EXPECT_EQ(overdue_json.accounts(0).account().account(), "K1");  // the largest amount
  EXPECT_FALSE(overdue_json.next_page_token().empty());
  EXPECT_THAT(Arctl({"overdue", "--region", "apac"}).out, HasSubstr("no overdue accounts match"));

  CommandOutput aging = Arctl({"aging", "--region", "us", "--min-position", position});
  ASSERT_EQ(aging.exit_code, 0) << aging.err;
  EXPECT_THAT(aging.out, ::testing::ContainsRegex("us +\\* +USD +0\\.00 +2000\\.00 .* 2000\\.00"));
  const auto aging_json = FromJson<v1::GatewayAgingReport>(
      Arctl({"--json", "aging", "--region", "us", "--group-by", "subsidiary"}));
  ASSERT_EQ(aging_json.rows_size(), 2);  // subsidiaries main and w
  EXPECT_EQ(aging_json.rows(0).total().minor_units() + aging_json.rows(1).total().minor_units(),
            200000);

  // KPIs: April has the sales, May (the business date's month) the receivables.
  CommandOutput kpis = Arctl({"kpis", "--region", "us", "--min-position", position});
  ASSERT_EQ(kpis.exit_code, 0) << kpis.err;
  EXPECT_THAT(kpis.out,
              ::testing::ContainsRegex("us +2027-04 +USD +2000\\.00 +0\\.00 +- +- +- +- +-"));
  EXPECT_THAT(kpis.out,
              ::testing::ContainsRegex(
                  "us +2027-05 +USD +0\\.00 +0\\.00 +2000\\.00 +2000\\.00 +- +0\\.00 +100\\.00"));
  const auto kpis_json =
      FromJson<v1::GatewayKpis>(Arctl({"--json", "kpis", "--region", "us", "--from", "2027-05"}));
  ASSERT_EQ(kpis_json.rows_size(), 1);
  EXPECT_EQ(kpis_json.rows(0).overdue_ratio_bp(), 10000);
  EXPECT_TRUE(kpis_json.rows(0).receivables_known());
  EXPECT_THAT(Arctl({"kpis", "--region", "us", "--from", "2020-01", "--to", "2020-02"}).out,
              HasSubstr("no figures"));
  EXPECT_EQ(Arctl({"kpis", "--from", "2027-05", "--to", "2027-04"}).exit_code, kExitRejected);

  // A promise, then the customer's view.
  const std::vector<std::string> promise = {
      "promise", "record",   "K1-PTP", "--account",  "K1",  "--region", "us",        "--subsidiary",
      "w",       "--amount", "250",    "--currency", "USD", "--date",   "2027-05-28"};
  CommandOutput promised = Arctl(promise);
  ASSERT_EQ(promised.exit_code, 0) << promised.err;
  EXPECT_THAT(promised.out, HasSubstr("recorded promise K1-PTP at ar.collections.events/"));
  const v1::CommandResult promised_again =
      FromJson<v1::CommandResult>(Arctl(with({"--json"}, promise)));
  EXPECT_TRUE(promised_again.duplicate());
  CommandOutput past = Arctl({"promise", "record", "K2-PTP", "--account", "K2", "--region", "us",
                              "--amount", "250", "--currency", "USD", "--date", "2027-05-01"});
  EXPECT_EQ(past.exit_code, kExitRejected) << past.out << past.err;
  const std::string promise_position = PrintedPosition(promised.out);
  CommandOutput customer =
      Arctl({"customer", "--account", "K1", "--min-position", promise_position});
  ASSERT_EQ(customer.exit_code, 0) << customer.err;
  EXPECT_THAT(customer.out, HasSubstr("account      K1"));
  EXPECT_THAT(customer.out, HasSubstr("overdue      1000.00 USD (20 days past due"));
  EXPECT_THAT(customer.out, HasSubstr("promise      250.00 USD by 2027-05-28 (open)"));
  EXPECT_THAT(customer.out, HasSubstr("K1-INV2"));
  const auto customer_json = FromJson<v1::Customer360>(
      Arctl({"--json", "customer", "--account", "K1", "--min-position", promise_position}));
  EXPECT_EQ(customer_json.open_promise().promise_id(), "K1-PTP");
  EXPECT_EQ(customer_json.open_invoices_size(), 2);

  // Write-offs: the whole invoice; an unknown invoice; a partial amount the gateway refuses.
  CommandOutput written = Arctl(
      {"writeoff", "K3-INV", "--account", "K3", "--reason", "insolvent", "--approver", "cfo"});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_THAT(written.out, HasSubstr("wrote off invoice K3-INV at ar.collections.events/"));
  EXPECT_EQ(Arctl({"--json", "writeoff", "NO-SUCH-INVOICE", "--account", "K3", "--reason", "x",
                   "--approver", "cfo"})
                .exit_code,
            kExitNotFound);
  EXPECT_EQ(Arctl({"writeoff", "K2-INV", "--account", "K2", "--reason", "x", "--approver", "cfo",
                   "--amount", "1", "--currency", "USD"})
                .exit_code,
            kExitFailure);
}

TEST_F(ArctlTest, HealthIsServing) {
  CommandOutput health = Arctl({"health"});
  ASSERT_EQ(health.exit_code, 0) << health.err;
  EXPECT_THAT(health.out, HasSubstr(suite_->address() + ": SERVING"));
  const auto json = FromJson<grpc::health::v1::HealthCheckResponse>(Arctl({"--json", "health"}));
  EXPECT_EQ(json.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  // The server reports its overall status only: a service name is not known to it.
  EXPECT_EQ(Arctl({"health", "--service", "ar.v1.NoSuchService"}).exit_code, kExitNotFound);
}

TEST(ArctlWithoutServerTest, UnreachableServerExitsWithUnavailable) {
  const std::string address = "127.0.0.1:" + std::to_string(ar::testing::FreeLoopbackPort());
  CommandOutput result = suite::testing::RunCommand(
      {suite::testing::ArctlBinary(), "--timeout", "2s", "balance", "--account", "A"},
      {"AR_SERVER=" + address});
  EXPECT_EQ(result.exit_code, kExitUnavailable);
  EXPECT_THAT(result.err, HasSubstr(address));  // AR_SERVER was used
  // Every command that talks to the server.
  const std::vector<std::vector<std::string>> commands = {
      {"health"},
      {"invoice", "issue", "X", "--account", "A", "--currency", "EUR", "--amount", "1"},
      {"invoice", "show", "X"},
      {"invoice", "list", "--account", "A"},
      {"invoice", "credit-note", "X", "--id", "CN", "--amount", "1"},
      {"invoice", "cancel", "X", "--reason", "r"},
      {"invoice", "dispute", "X", "--reason", "r"},
      {"invoice", "resolve", "X", "--resolution", "r"},
      {"payment", "record", "P", "--account", "A", "--amount", "1", "--currency", "EUR"},
      {"payment", "show", "P"},
      {"payment", "list", "--account", "A"},
      {"payment", "reverse", "P", "--reason", "r"},
      {"statement", "--account", "A", "--currency", "EUR"},
      {"unapplied", "--account", "A"},
      {"credit", "set-limit", "--account", "A", "--limit", "1"},
      {"credit", "fx-rate", "--from", "USD", "--to", "EUR", "--rate", "1"},
      {"credit", "show", "--account", "A"},
      {"promise", "record", "P", "--account", "A", "--amount", "1", "--currency", "EUR", "--date",
       "2027-01-01"},
      {"writeoff", "X", "--account", "A", "--reason", "r", "--approver", "a"},
      {"overdue"},
      {"aging"},
      {"kpis"},
      {"customer", "--account", "A"},
      {"watch"},
      {"clock", "advance", "--region", "eu", "--to", "2027-01-01"},
      {"clock", "show"},
  };
  for (const std::vector<std::string>& command : commands) {
    std::vector<std::string> argv = {suite::testing::ArctlBinary(), "--server", address,
                                     "--timeout", "2s"};
    argv.insert(argv.end(), command.begin(), command.end());
    CommandOutput result = suite::testing::RunCommand(argv);
    EXPECT_EQ(result.exit_code, kExitUnavailable) << absl::StrJoin(command, " ") << "\n"
                                                  << result.err;
    EXPECT_THAT(result.err, HasSubstr("unavailable")) << absl::StrJoin(command, " ");
    EXPECT_TRUE(result.out.empty()) << absl::StrJoin(command, " ");
  }
}

}  // namespace
}  // namespace ar::arctl
