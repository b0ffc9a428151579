// arctl as a user runs it: the real binary against a real ar-suite child process on a free
// port, checking what it prints and the exit code it returns.

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <regex>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ar/v1/invoicing.pb.h"
#include "libs/testing/ports.h"
#include "libs/testing/temp_dir.h"
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

TEST(ArctlWithoutServerTest, UnreachableServerExitsWithUnavailable) {
  const std::string address = "127.0.0.1:" + std::to_string(ar::testing::FreeLoopbackPort());
  CommandOutput result = suite::testing::RunCommand(
      {suite::testing::ArctlBinary(), "--timeout", "2s", "balance", "--account", "A"},
      {"AR_SERVER=" + address});
  EXPECT_EQ(result.exit_code, kExitUnavailable);
  EXPECT_THAT(result.err, HasSubstr(address));  // AR_SERVER was used
  EXPECT_EQ(suite::testing::RunCommand(
                {suite::testing::ArctlBinary(), "--server", address, "--timeout", "2s", "health"})
                .exit_code,
            kExitUnavailable);
}

}  // namespace
}  // namespace ar::arctl
