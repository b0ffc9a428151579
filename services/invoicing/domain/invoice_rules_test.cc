#include "services/invoicing/domain/invoice_rules.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "libs/protoconv/protoconv.h"

namespace ar::invoicing {
namespace {

using ::testing::HasSubstr;

v1::Date D(int y, int m, int d) { return protoconv::DateProto(y, m, d); }

v1::Money M(int64_t minor, const std::string& currency = "EUR") {
  return MakeMoneyProto(minor, currency);
}

v1::LogPosition Pos(const std::string& topic, int64_t offset, int32_t partition = 0) {
  v1::LogPosition position;
  position.set_topic(topic);
  position.set_partition(partition);
  position.set_offset(offset);
  return position;
}

v1::IssueInvoiceRequest Request(const std::string& invoice_id = "INV-1") {
  v1::IssueInvoiceRequest request;
  v1::AccountRef* account = request.mutable_account();
  account->set_tenant("acme");
  account->set_region("eu");
  account->set_subsidiary("acme-de");
  account->set_account("C-100");
  request.set_account_name("Customer 100 GmbH");
  request.set_invoice_id(invoice_id);
  request.set_invoice_number("2027-0001");
  *request.mutable_issue_date() = D(2027, 1, 15);
  request.mutable_payment_terms()->set_kind(v1::PaymentTerms::KIND_NET_DAYS);
  request.mutable_payment_terms()->set_days(30);
  request.set_currency("EUR");
  v1::InvoiceLineInput* line = request.add_lines();
  line->set_description("widgets");
  line->set_quantity_milli(3000);  // 3 units
  line->set_unit_price_minor(1999);
  line->set_tax_rate_bp(1900);
  line = request.add_lines();
  line->set_description("service");
  line->set_quantity_milli(1500);  // 1.5 hours
  line->set_unit_price_minor(8000);
  line->set_tax_rate_bp(700);
  return request;
}

CommandContext Ctx() {
  CommandContext context;
  context.recorded_at_unix_micros = 1'800'000'000'000'000;
  context.correlation_id = "corr-1";
  return context;
}

absl::Status Code(const absl::StatusOr<Decision>& decision) { return decision.status(); }

// Issues `request` into a fresh invoice (decide + evolve at `offset`).
v1::Invoice Issue(const v1::IssueInvoiceRequest& request = Request(), int64_t offset = 0) {
  absl::StatusOr<Decision> decision =
      DecideIssueInvoice(request, std::nullopt, AccountView{}, CreditHoldPolicy::kReject, Ctx());
  EXPECT_TRUE(decision.ok()) << decision.status();
  v1::Invoice invoice;
  if (!decision.ok()) return invoice;
  EXPECT_EQ(decision->events.size(), 1u);
  EXPECT_TRUE(Evolve(invoice, decision->events[0], Pos("ar.invoicing.events", offset)));
  return invoice;
}

void ApplyDecision(v1::Invoice& invoice, const absl::StatusOr<Decision>& decision, int64_t offset) {
  ASSERT_TRUE(decision.ok()) << decision.status();
  for (const v1::Event& event : decision->events) {
    Evolve(invoice, event, Pos("ar.invoicing.events", offset));
  }
}

v1::Event Allocated(const std::string& event_id, const std::string& payment_id, int64_t amount,
                    const std::string& invoice_id = "INV-1", const std::string& currency = "EUR") {
  v1::Event event;
  event.set_event_id(event_id);
  event.set_tenant("acme");
  event.set_account("C-100");
  v1::PaymentAllocated* body = event.mutable_payment_allocated();
  body->set_payment_id(payment_id);
  body->set_invoice_id(invoice_id);
  *body->mutable_amount() = M(amount, currency);
  *body->mutable_allocation_date() = D(2027, 2, 1);
  return event;
}

v1::Event Reversed(const std::string& event_id, const std::string& payment_id,
                   std::vector<std::pair<std::string, int64_t>> lines) {
  v1::Event event;
  event.set_event_id(event_id);
  event.set_tenant("acme");
  event.set_account("C-100");
  v1::PaymentReversed* body = event.mutable_payment_reversed();
  body->set_payment_id(payment_id);
  body->set_reason("bounced");
  *body->mutable_reversal_date() = D(2027, 2, 5);
  int64_t sum = 0;
  for (const auto& [invoice, amount] : lines) {
    v1::PaymentAllocationLine* line = body->add_reversed_allocations();
    line->set_invoice_id(invoice);
    *line->mutable_amount() = M(amount);
    sum += amount;
  }
  *body->mutable_amount() = M(sum);
  return event;
}

v1::Event WrittenOff(const std::string& event_id, int64_t amount) {
  v1::Event event;
  event.set_event_id(event_id);
  event.set_tenant("acme");
  event.set_account("C-100");
  v1::DebtWrittenOff* body = event.mutable_debt_written_off();
  body->set_invoice_id("INV-1");
  *body->mutable_amount() = M(amount);
  body->set_reason("insolvent");
  *body->mutable_as_of() = D(2027, 6, 30);
  return event;
}

// ---- Rounding -------------------------------------------------------------------------

TEST(RoundingTest, HalfAwayFromZeroOnTies) {
  EXPECT_EQ(DivideRoundHalfAwayFromZero(5, 10), 1);
  EXPECT_EQ(DivideRoundHalfAwayFromZero(-5, 10), -1);
  EXPECT_EQ(DivideRoundHalfAwayFromZero(4, 10), 0);
  EXPECT_EQ(DivideRoundHalfAwayFromZero(-4, 10), 0);
  EXPECT_EQ(DivideRoundHalfAwayFromZero(15, 10), 2);
  EXPECT_EQ(DivideRoundHalfAwayFromZero(25, 10), 3);  // away from zero, not to even
  EXPECT_EQ(DivideRoundHalfAwayFromZero(-25, 10), -3);
  EXPECT_EQ(DivideRoundHalfAwayFromZero(0, 10), 0);
}

TEST(RoundingTest, LineNetRoundsQuantityTimesPrice) {
  // 1.5 units at 0.01 = 0.015 -> 0.02 (tie, away from zero).
  auto tie = ComputeLine(1500, 1, 0);
  ASSERT_TRUE(tie.ok());
  EXPECT_EQ(tie->net_minor, 2);
  // 1.234 units at 9.99 = 12.32766 -> 12.33.
  auto plain = ComputeLine(1234, 999, 0);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->net_minor, 1233);
  // 0.001 units at 4.99 = 0.00499 -> 0.00.
  auto tiny = ComputeLine(1, 499, 0);
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->net_minor, 0);
  // A discount line rounds symmetrically: -0.015 -> -0.02.
  auto discount = ComputeLine(1500, -1, 0);
  ASSERT_TRUE(discount.ok());
  EXPECT_EQ(discount->net_minor, -2);
}

TEST(RoundingTest, LineTaxRoundsNetTimesRate) {
  // 0.05 at 10 % = 0.005 -> 0.01 (tie).
  auto tie = ComputeLine(1000, 5, 1000);
  ASSERT_TRUE(tie.ok());
  EXPECT_EQ(tie->tax_minor, 1);
  // 0.15 at 19 % = 0.0285 -> 0.03.
  auto up = ComputeLine(1000, 15, 1900);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->tax_minor, 3);
  // 0.12 at 19 % = 0.0228 -> 0.02.
  auto down = ComputeLine(1000, 12, 1900);
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->tax_minor, 2);
  // Discount: -0.05 at 10 % = -0.005 -> -0.01.
  auto negative = ComputeLine(1000, -5, 1000);
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(negative->tax_minor, -1);
  // 100 % and 0 % are the bounds.
  EXPECT_EQ(ComputeLine(1000, 777, 10'000)->tax_minor, 777);
  EXPECT_EQ(ComputeLine(1000, 777, 0)->tax_minor, 0);
}

TEST(RoundingTest, TotalsAreSumsOfLineFiguresSoNoCentIsCreatedOrLost) {
  // Three lines of 1/3 of a euro each at 19 %: each line is rounded once, and the totals
  // are the sums of what the lines print.
  v1::IssueInvoiceRequest request = Request();
  request.clear_lines();
  for (int i = 0; i < 3; ++i) {
    v1::InvoiceLineInput* line = request.add_lines();
    line->set_description("a third");
    line->set_quantity_milli(333);  // 0.333 units
    line->set_unit_price_minor(100);
    line->set_tax_rate_bp(1900);
  }
  v1::InvoiceLineInput* discount = request.add_lines();
  discount->set_description("discount");
  discount->set_quantity_milli(1000);
  discount->set_unit_price_minor(-15);
  discount->set_tax_rate_bp(1900);
  auto issued = BuildInvoiceIssued(request);
  ASSERT_TRUE(issued.ok()) << issued.status();
  int64_t net = 0, tax = 0;
  for (const v1::InvoiceLine& line : issued->lines()) {
    net += line.net_amount().minor_units();
    tax += line.tax_amount().minor_units();
    EXPECT_EQ(line.net_amount().currency(), "EUR");
  }
  // 0.333 * 1.00 = 0.333 -> 0.33; tax 0.0627 -> 0.06; discount -0.15, tax -0.0285 -> -0.03.
  EXPECT_EQ(issued->lines(0).net_amount().minor_units(), 33);
  EXPECT_EQ(issued->lines(0).tax_amount().minor_units(), 6);
  EXPECT_EQ(issued->lines(3).net_amount().minor_units(), -15);
  EXPECT_EQ(issued->lines(3).tax_amount().minor_units(), -3);
  EXPECT_EQ(issued->net_total().minor_units(), net);
  EXPECT_EQ(issued->tax_total().minor_units(), tax);
  EXPECT_EQ(net, 3 * 33 - 15);
  EXPECT_EQ(tax, 3 * 6 - 3);
  EXPECT_EQ(issued->total().minor_units(), net + tax);
}

TEST(RoundingTest, ExampleInvoiceTotals) {
  auto issued = BuildInvoiceIssued(Request());
  ASSERT_TRUE(issued.ok()) << issued.status();
  // 3 x 19.99 = 59.97, tax 11.3943 -> 11.39; 1.5 x 80.00 = 120.00, tax 8.40.
  EXPECT_EQ(issued->lines(0).net_amount().minor_units(), 5997);
  EXPECT_EQ(issued->lines(0).tax_amount().minor_units(), 1139);
  EXPECT_EQ(issued->lines(1).net_amount().minor_units(), 12000);
  EXPECT_EQ(issued->lines(1).tax_amount().minor_units(), 840);
  EXPECT_EQ(issued->net_total().minor_units(), 17997);
  EXPECT_EQ(issued->tax_total().minor_units(), 1979);
  EXPECT_EQ(issued->total().minor_units(), 19976);
  EXPECT_EQ(issued->total().currency(), "EUR");
}

TEST(RoundingTest, ZeroExponentCurrencyUsesTheSameRule) {
  v1::IssueInvoiceRequest request = Request();
  request.set_currency("JPY");
  request.clear_lines();
  v1::InvoiceLineInput* line = request.add_lines();
  line->set_quantity_milli(2500);
  line->set_unit_price_minor(333);  // 2.5 x 333 = 832.5 -> 833
  line->set_tax_rate_bp(1000);      // 83.3 -> 83
  auto issued = BuildInvoiceIssued(request);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->total().minor_units(), 833 + 83);
  EXPECT_EQ(issued->total().currency(), "JPY");
}

// ---- Validation -----------------------------------------------------------------------

struct BadRequestCase {
  std::string name;
  std::function<void(v1::IssueInvoiceRequest&)> mutate;
  std::string message;
};

class IssueInvoiceValidationTest : public ::testing::TestWithParam<BadRequestCase> {};

TEST_P(IssueInvoiceValidationTest, IsInvalidArgumentWithAClearMessage) {
  v1::IssueInvoiceRequest request = Request();
  GetParam().mutate(request);
  auto decision =
      DecideIssueInvoice(request, std::nullopt, AccountView{}, CreditHoldPolicy::kReject, Ctx());
  ASSERT_FALSE(decision.ok());
  EXPECT_EQ(decision.status().code(), absl::StatusCode::kInvalidArgument) << decision.status();
  EXPECT_THAT(std::string(decision.status().message()), HasSubstr(GetParam().message));
}

v1::InvoiceLineInput* FirstLine(v1::IssueInvoiceRequest& r) { return r.mutable_lines(0); }

INSTANTIATE_TEST_SUITE_P(
    Rules, IssueInvoiceValidationTest,
    ::testing::Values(
        BadRequestCase{"UnknownCurrency", [](auto& r) { r.set_currency("XYZ"); },
                       "'XYZ' is not a known ISO 4217 currency"},
        BadRequestCase{"LowerCaseCurrency", [](auto& r) { r.set_currency("eur"); },
                       "not a known ISO 4217"},
        BadRequestCase{"MissingCurrency", [](auto& r) { r.clear_currency(); },
                       "currency is missing"},
        BadRequestCase{"ZeroTotal",
                       [](auto& r) {
                         FirstLine(r)->set_unit_price_minor(0);
                         r.mutable_lines()->RemoveLast();
                       },
                       "total must be positive, got 0.00 EUR"},
        BadRequestCase{"NegativeTotal",
                       [](auto& r) {
                         FirstLine(r)->set_unit_price_minor(-100);
                         r.mutable_lines()->RemoveLast();
                       },
                       "total must be positive, got -3.57 EUR"},
        BadRequestCase{"DueBeforeIssue",
                       [](auto& r) {
                         r.clear_payment_terms();
                         *r.mutable_due_date() = D(2027, 1, 14);
                       },
                       "due date 2027-01-14 is before issue date 2027-01-15"},
        BadRequestCase{"MissingTenant", [](auto& r) { r.mutable_account()->clear_tenant(); },
                       "account.tenant"},
        BadRequestCase{"MissingRegion", [](auto& r) { r.mutable_account()->clear_region(); },
                       "account.region"},
        BadRequestCase{"MissingSubsidiary",
                       [](auto& r) { r.mutable_account()->clear_subsidiary(); },
                       "account.subsidiary"},
        BadRequestCase{"MissingAccount", [](auto& r) { r.mutable_account()->clear_account(); },
                       "account.account"},
        BadRequestCase{"MissingInvoiceId", [](auto& r) { r.clear_invoice_id(); }, "invoice_id"},
        BadRequestCase{"InvoiceIdWithSpace", [](auto& r) { r.set_invoice_id("INV 1"); },
                       "invoice_id"},
        BadRequestCase{"MissingInvoiceNumber", [](auto& r) { r.clear_invoice_number(); },
                       "invoice_number is missing"},
        BadRequestCase{"EmptyLines", [](auto& r) { r.clear_lines(); }, "at least one line"},
        BadRequestCase{"TooManyLines",
                       [](auto& r) {
                         while (r.lines_size() <= kMaxLines) *r.add_lines() = r.lines(0);
                       },
                       "at most 1000 lines, got 1001"},
        BadRequestCase{"ZeroQuantity", [](auto& r) { FirstLine(r)->set_quantity_milli(0); },
                       "lines[0].quantity_milli must be positive, got 0"},
        BadRequestCase{"NegativeQuantity",
                       [](auto& r) { r.mutable_lines(1)->set_quantity_milli(-1000); },
                       "lines[1].quantity_milli must be positive"},
        BadRequestCase{"NegativeTaxRate", [](auto& r) { FirstLine(r)->set_tax_rate_bp(-1); },
                       "lines[0].tax_rate_bp must be within 0..10000, got -1"},
        BadRequestCase{"TaxRateAbove100Percent",
                       [](auto& r) { FirstLine(r)->set_tax_rate_bp(10'001); },
                       "tax_rate_bp must be within 0..10000, got 10001"},
        BadRequestCase{"HugeUnitPrice",
                       [](auto& r) { FirstLine(r)->set_unit_price_minor(INT64_MAX); },
                       "unit_price_minor"},
        BadRequestCase{"LineOverflow", [](auto& r) { FirstLine(r)->set_quantity_milli(INT64_MAX); },
                       "beyond the limit"},
        BadRequestCase{"TotalOverflow",
                       [](auto& r) {
                         r.clear_lines();
                         for (int i = 0; i < 3; ++i) {
                           auto* line = r.add_lines();
                           line->set_quantity_milli(1000);
                           line->set_unit_price_minor(kMaxAmountMinor / 2);
                         }
                       },
                       "overflow"},
        BadRequestCase{"ImpossibleIssueDate",
                       [](auto& r) { *r.mutable_issue_date() = D(2027, 2, 30); },
                       "issue_date 2027-02-30 is not a calendar date"},
        BadRequestCase{"MissingIssueDate", [](auto& r) { r.clear_issue_date(); },
                       "issue_date is missing"},
        BadRequestCase{"NoDueDateNorTerms", [](auto& r) { r.clear_payment_terms(); },
                       "either due_date or payment_terms"},
        BadRequestCase{"DueDateDisagreesWithTerms",
                       [](auto& r) { *r.mutable_due_date() = D(2027, 3, 1); },
                       "does not match payment terms NET30 (2027-02-14)"},
        BadRequestCase{"NegativeTermDays", [](auto& r) { r.mutable_payment_terms()->set_days(-1); },
                       "payment_terms"},
        BadRequestCase{"TermsWithoutKind",
                       [](auto& r) {
                         r.mutable_payment_terms()->set_kind(v1::PaymentTerms::KIND_UNSPECIFIED);
                       },
                       "payment_terms.kind is missing"}),
    [](const ::testing::TestParamInfo<BadRequestCase>& info) { return info.param.name; });

TEST(DueDateTest, FromNetDaysEndOfMonthOrExplicit) {
  v1::IssueInvoiceRequest request = Request();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      BuildInvoiceIssued(request)->due_date(), D(2027, 2, 14)));
  EXPECT_EQ(BuildInvoiceIssued(request)->payment_terms(), "NET30");

  request.mutable_payment_terms()->set_kind(v1::PaymentTerms::KIND_END_OF_MONTH_PLUS_DAYS);
  request.mutable_payment_terms()->set_days(15);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      BuildInvoiceIssued(request)->due_date(), D(2027, 2, 15)));
  EXPECT_EQ(BuildInvoiceIssued(request)->payment_terms(), "EOM+15");

  request.clear_payment_terms();
  *request.mutable_due_date() = D(2027, 1, 15);  // due on the issue day is fine
  auto explicit_due = BuildInvoiceIssued(request);
  ASSERT_TRUE(explicit_due.ok()) << explicit_due.status();
  EXPECT_EQ(explicit_due->due_date().day(), 15);
  EXPECT_EQ(explicit_due->payment_terms(), "");

  // Both given and agreeing.
  request.mutable_payment_terms()->set_kind(v1::PaymentTerms::KIND_NET_DAYS);
  request.mutable_payment_terms()->set_days(0);
  EXPECT_TRUE(BuildInvoiceIssued(request).ok());
}

TEST(PaymentTermsTest, ParsesNetAndEndOfMonthOnly) {
  EXPECT_EQ(ParsePaymentTerms("NET30")->days(), 30);
  EXPECT_EQ(ParsePaymentTerms("NET30")->kind(), v1::PaymentTerms::KIND_NET_DAYS);
  EXPECT_EQ(ParsePaymentTerms("EOM+15")->kind(), v1::PaymentTerms::KIND_END_OF_MONTH_PLUS_DAYS);
  EXPECT_EQ(ParsePaymentTerms("NET0")->days(), 0);
  for (const char* bad : {"", "net30", "NET", "NET-1", "NET+1", "EOM15", "EOM+", "NET 30",
                          "NET99999999", "NET40000"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParsePaymentTerms(bad).status())) << bad;
  }
}

// ---- Idempotency ----------------------------------------------------------------------

TEST(IssueInvoiceTest, PublishesOneEventWithDeterministicIds) {
  auto first =
      DecideIssueInvoice(Request(), std::nullopt, AccountView{}, CreditHoldPolicy::kReject, Ctx());
  auto again =
      DecideIssueInvoice(Request(), std::nullopt, AccountView{}, CreditHoldPolicy::kReject, Ctx());
  ASSERT_TRUE(first.ok() && again.ok());
  ASSERT_EQ(first->events.size(), 1u);
  EXPECT_EQ(first->events[0].event_id(), again->events[0].event_id());
  EXPECT_EQ(first->command_id, "IssueInvoice/acme/INV-1");
  const v1::Event& event = first->events[0];
  EXPECT_EQ(event.tenant(), "acme");
  EXPECT_EQ(event.account(), "C-100");
  EXPECT_EQ(event.subsidiary(), "acme-de");
  EXPECT_EQ(event.correlation_id(), "corr-1");
  EXPECT_EQ(event.invoice_issued().total().minor_units(), 19976);
  EXPECT_FALSE(event.invoice_issued().issued_on_credit_hold());
  auto other = DecideIssueInvoice(Request("INV-2"), std::nullopt, AccountView{},
                                  CreditHoldPolicy::kReject, Ctx());
  EXPECT_NE(other->events[0].event_id(), event.event_id());
}

TEST(IssueInvoiceTest, SameContentReturnsTheOriginalResultAndPublishesNothing) {
  v1::Invoice invoice = Issue(Request(), 41);
  auto repeat =
      DecideIssueInvoice(Request(), invoice, AccountView{}, CreditHoldPolicy::kReject, Ctx());
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_TRUE(repeat->events.empty());
  ASSERT_TRUE(repeat->duplicate_of.has_value());
  EXPECT_TRUE(repeat->duplicate_of->duplicate());
  EXPECT_EQ(repeat->duplicate_of->position().offset(), 41);
  EXPECT_EQ(repeat->duplicate_of->position().topic(), "ar.invoicing.events");
  ASSERT_EQ(repeat->duplicate_of->event_ids_size(), 1);
  EXPECT_EQ(repeat->duplicate_of->event_ids(0), invoice.issued_event_ids(0));
}

TEST(IssueInvoiceTest, SameIdDifferentContentIsAlreadyExistsNamingTheField) {
  v1::Invoice invoice = Issue();
  struct Change {
    std::function<void(v1::IssueInvoiceRequest&)> mutate;
    std::string field;
  };
  std::vector<Change> changes = {
      {[](auto& r) { r.set_invoice_number("2027-0002"); }, "invoice_number"},
      {[](auto& r) { r.set_account_name("Other"); }, "account_name"},
      {[](auto& r) { r.mutable_account()->set_account("C-200"); }, "account.account"},
      {[](auto& r) { *r.mutable_issue_date() = D(2027, 1, 16); }, "issue_date"},
      {[](auto& r) { r.mutable_payment_terms()->set_days(60); }, "due_date"},
      {[](auto& r) {
         r.clear_payment_terms();
         *r.mutable_due_date() = D(2027, 2, 14);
       },
       "payment_terms"},
      {[](auto& r) { r.set_currency("USD"); }, "currency"},
      {[](auto& r) { r.mutable_lines()->RemoveLast(); }, "lines (count)"},
      {[](auto& r) { r.mutable_lines(1)->set_quantity_milli(2000); }, "lines[1].quantity_milli"},
      {[](auto& r) { r.mutable_lines(0)->set_unit_price_minor(2000); },
       "lines[0].unit_price_minor"},
      {[](auto& r) { r.mutable_lines(0)->set_tax_rate_bp(700); }, "lines[0].tax_rate_bp"},
      {[](auto& r) { r.mutable_lines(1)->set_description("consulting"); }, "lines[1].description"},
  };
  for (const Change& change : changes) {
    v1::IssueInvoiceRequest request = Request();
    change.mutate(request);
    auto decision =
        DecideIssueInvoice(request, invoice, AccountView{}, CreditHoldPolicy::kReject, Ctx());
    ASSERT_FALSE(decision.ok()) << change.field;
    EXPECT_EQ(decision.status().code(), absl::StatusCode::kAlreadyExists) << decision.status();
    EXPECT_THAT(std::string(decision.status().message()),
                HasSubstr("invoice INV-1 already exists with a different " + change.field));
  }
}

TEST(IssueInvoiceTest, InvalidRepeatIsStillInvalid) {
  v1::Invoice invoice = Issue();
  v1::IssueInvoiceRequest request = Request();
  request.set_currency("XXX");
  EXPECT_TRUE(absl::IsInvalidArgument(
      Code(DecideIssueInvoice(request, invoice, AccountView{}, CreditHoldPolicy::kReject, Ctx()))));
}

// ---- Credit hold ----------------------------------------------------------------------

TEST(CreditHoldTest, RejectPolicyRefusesNewInvoices) {
  AccountView held{.on_credit_hold = true, .name = "C"};
  auto decision =
      DecideIssueInvoice(Request(), std::nullopt, held, CreditHoldPolicy::kReject, Ctx());
  EXPECT_EQ(decision.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(decision.status().message()), HasSubstr("credit hold"));
}

TEST(CreditHoldTest, FlagPolicyAcceptsAndFlags) {
  AccountView held{.on_credit_hold = true, .name = "C"};
  auto decision = DecideIssueInvoice(Request(), std::nullopt, held, CreditHoldPolicy::kFlag, Ctx());
  ASSERT_TRUE(decision.ok()) << decision.status();
  EXPECT_TRUE(decision->events[0].invoice_issued().issued_on_credit_hold());
  v1::Invoice invoice;
  Evolve(invoice, decision->events[0], Pos("t", 0));
  EXPECT_TRUE(invoice.issued_on_credit_hold());
}

TEST(CreditHoldTest, RepeatOfAnInvoiceIssuedBeforeTheHoldIsStillADuplicate) {
  v1::Invoice invoice = Issue();
  AccountView held{.on_credit_hold = true, .name = "C"};
  auto decision = DecideIssueInvoice(Request(), invoice, held, CreditHoldPolicy::kReject, Ctx());
  ASSERT_TRUE(decision.ok()) << decision.status();
  EXPECT_TRUE(decision->duplicate_of.has_value());
}

TEST(CreditHoldTest, ParsesPolicy) {
  EXPECT_EQ(*ParseCreditHoldPolicy("reject"), CreditHoldPolicy::kReject);
  EXPECT_EQ(*ParseCreditHoldPolicy("flag"), CreditHoldPolicy::kFlag);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseCreditHoldPolicy("maybe").status()));
}

// ---- Credit notes ---------------------------------------------------------------------

v1::IssueCreditNoteRequest CreditNote(const std::string& id, int64_t amount,
                                      const std::string& currency = "EUR") {
  v1::IssueCreditNoteRequest request;
  request.set_tenant("acme");
  request.set_credit_note_id(id);
  request.set_invoice_id("INV-1");
  *request.mutable_amount() = M(amount, currency);
  *request.mutable_issue_date() = D(2027, 1, 20);
  request.set_reason("damaged goods");
  return request;
}

TEST(CreditNoteTest, ReducesTheOpenBalance) {
  v1::Invoice invoice = Issue();
  auto decision = DecideIssueCreditNote(CreditNote("CN-1", 976), invoice, std::nullopt, Ctx());
  ASSERT_TRUE(decision.ok()) << decision.status();
  ASSERT_EQ(decision->events.size(), 1u);
  EXPECT_EQ(decision->events[0].account(), "C-100");  // the invoice's account
  ApplyDecision(invoice, decision, 2);
  EXPECT_EQ(invoice.credited().minor_units(), 976);
  EXPECT_EQ(invoice.open_balance().minor_units(), 19000);
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_OPEN);
  ASSERT_EQ(invoice.credit_notes_size(), 1);
  EXPECT_EQ(invoice.credit_notes(0).position().offset(), 2);
  EXPECT_EQ(invoice.history(1).kind(), "credit_note");
  EXPECT_EQ(invoice.history(1).reference(), "CN-1");
}

TEST(CreditNoteTest, CreditingTheWholeBalanceMakesItCredited) {
  v1::Invoice invoice = Issue();
  ApplyDecision(invoice,
                DecideIssueCreditNote(CreditNote("CN-1", 19976), invoice, std::nullopt, Ctx()), 2);
  EXPECT_EQ(invoice.open_balance().minor_units(), 0);
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_CREDITED);
}

TEST(CreditNoteTest, NeverBelowZero) {
  v1::Invoice invoice = Issue();
  ApplyDecision(invoice,
                DecideIssueCreditNote(CreditNote("CN-1", 19000), invoice, std::nullopt, Ctx()), 2);
  auto decision = DecideIssueCreditNote(CreditNote("CN-2", 977), invoice, std::nullopt, Ctx());
  EXPECT_EQ(decision.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(decision.status().message()),
              HasSubstr("credit note of 9.77 EUR would take the open balance of 9.76 EUR"));
}

TEST(CreditNoteTest, IdempotentOnCreditNoteId) {
  v1::Invoice invoice = Issue();
  ApplyDecision(invoice,
                DecideIssueCreditNote(CreditNote("CN-1", 19976), invoice, std::nullopt, Ctx()), 7);
  // Same content after the balance is gone: still the original answer.
  auto repeat = DecideIssueCreditNote(CreditNote("CN-1", 19976), invoice, "INV-1", Ctx());
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  ASSERT_TRUE(repeat->duplicate_of.has_value());
  EXPECT_EQ(repeat->duplicate_of->position().offset(), 7);
  EXPECT_EQ(repeat->duplicate_of->event_ids(0), invoice.credit_notes(0).event_ids(0));

  auto other_amount = DecideIssueCreditNote(CreditNote("CN-1", 100), invoice, "INV-1", Ctx());
  EXPECT_EQ(other_amount.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(other_amount.status().message()), HasSubstr("different amount"));

  v1::IssueCreditNoteRequest other_reason = CreditNote("CN-1", 19976);
  other_reason.set_reason("goodwill");
  EXPECT_THAT(
      std::string(DecideIssueCreditNote(other_reason, invoice, "INV-1", Ctx()).status().message()),
      HasSubstr("different reason"));

  auto other_invoice = DecideIssueCreditNote(CreditNote("CN-1", 100), invoice, "INV-9", Ctx());
  EXPECT_EQ(other_invoice.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(other_invoice.status().message()),
              HasSubstr("different invoice_id (INV-9)"));
}

TEST(CreditNoteTest, Errors) {
  v1::Invoice invoice = Issue();
  EXPECT_EQ(
      Code(DecideIssueCreditNote(CreditNote("CN-1", 100, "USD"), invoice, std::nullopt, Ctx()))
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(DecideIssueCreditNote(CreditNote("CN-1", 0), invoice, std::nullopt, Ctx())).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Code(DecideIssueCreditNote(CreditNote("CN-1", -5), invoice, std::nullopt, Ctx())).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(DecideIssueCreditNote(CreditNote("", 5), invoice, std::nullopt, Ctx())).code(),
            absl::StatusCode::kInvalidArgument);
  v1::IssueCreditNoteRequest early = CreditNote("CN-1", 5);
  *early.mutable_issue_date() = D(2027, 1, 1);
  EXPECT_THAT(
      std::string(DecideIssueCreditNote(early, invoice, std::nullopt, Ctx()).status().message()),
      HasSubstr("before the invoice's issue date"));
  v1::IssueCreditNoteRequest undated = CreditNote("CN-1", 5);
  undated.clear_issue_date();
  EXPECT_EQ(Code(DecideIssueCreditNote(undated, invoice, std::nullopt, Ctx())).code(),
            absl::StatusCode::kInvalidArgument);

  v1::CancelInvoiceRequest cancel;
  cancel.set_tenant("acme");
  cancel.set_invoice_id("INV-1");
  *cancel.mutable_cancel_date() = D(2027, 1, 16);
  ApplyDecision(invoice, DecideCancelInvoice(cancel, invoice, Ctx()), 3);
  EXPECT_EQ(Code(DecideIssueCreditNote(CreditNote("CN-1", 5), invoice, std::nullopt, Ctx())).code(),
            absl::StatusCode::kFailedPrecondition);
}

// ---- Cancel ---------------------------------------------------------------------------

v1::CancelInvoiceRequest Cancel(const std::string& reason = "issued in error") {
  v1::CancelInvoiceRequest request;
  request.set_tenant("acme");
  request.set_invoice_id("INV-1");
  request.set_reason(reason);
  *request.mutable_cancel_date() = D(2027, 1, 20);
  return request;
}

TEST(CancelTest, OnlyWhileNothingIsAllocated) {
  v1::Invoice invoice = Issue();
  Evolve(invoice, Allocated("pa-1", "P-1", 100), Pos("ar.payments.events", 0));
  auto refused = DecideCancelInvoice(Cancel(), invoice, Ctx());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("1.00 EUR of payments allocated"));

  // Once the payment is reversed the invoice can be cancelled.
  Evolve(invoice, Reversed("pr-1", "P-1", {{"INV-1", 100}}), Pos("ar.payments.events", 1));
  auto decision = DecideCancelInvoice(Cancel(), invoice, Ctx());
  ASSERT_TRUE(decision.ok()) << decision.status();
  ApplyDecision(invoice, decision, 5);
  EXPECT_TRUE(invoice.cancelled());
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_CANCELLED);
  EXPECT_EQ(invoice.open_balance().minor_units(), 0);
}

TEST(CancelTest, RetryIsADuplicateAnotherCancelIsRefused) {
  v1::Invoice invoice = Issue();
  ApplyDecision(invoice, DecideCancelInvoice(Cancel(), invoice, Ctx()), 5);
  auto retry = DecideCancelInvoice(Cancel(), invoice, Ctx());
  ASSERT_TRUE(retry.ok()) << retry.status();
  ASSERT_TRUE(retry->duplicate_of.has_value());
  EXPECT_EQ(retry->duplicate_of->position().offset(), 5);
  auto again = DecideCancelInvoice(Cancel("another reason"), invoice, Ctx());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("is cancelled"));
}

TEST(CancelTest, NotWhenWrittenOffAndNotBeforeIssue) {
  v1::Invoice invoice = Issue();
  v1::CancelInvoiceRequest early = Cancel();
  *early.mutable_cancel_date() = D(2027, 1, 1);
  EXPECT_EQ(Code(DecideCancelInvoice(early, invoice, Ctx())).code(),
            absl::StatusCode::kInvalidArgument);
  v1::CancelInvoiceRequest undated = Cancel();
  undated.clear_cancel_date();
  EXPECT_EQ(Code(DecideCancelInvoice(undated, invoice, Ctx())).code(),
            absl::StatusCode::kInvalidArgument);
  Evolve(invoice, WrittenOff("wo-1", 19976), Pos("ar.collections.events", 0));
  auto refused = DecideCancelInvoice(Cancel(), invoice, Ctx());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("written off"));
}

// ---- Disputes -------------------------------------------------------------------------

v1::DisputeInvoiceRequest Dispute(std::optional<int64_t> amount = std::nullopt) {
  v1::DisputeInvoiceRequest request;
  request.set_tenant("acme");
  request.set_invoice_id("INV-1");
  if (amount) *request.mutable_disputed_amount() = M(*amount);
  request.set_reason("wrong quantity");
  *request.mutable_dispute_date() = D(2027, 1, 25);
  return request;
}

v1::ResolveDisputeRequest Resolve() {
  v1::ResolveDisputeRequest request;
  request.set_tenant("acme");
  request.set_invoice_id("INV-1");
  request.set_resolution("customer accepted");
  *request.mutable_resolution_date() = D(2027, 1, 28);
  return request;
}

TEST(DisputeTest, WholeBalanceThenResolveThenAgain) {
  v1::Invoice invoice = Issue();
  auto whole = DecideDisputeInvoice(Dispute(), invoice, Ctx());
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->events[0].invoice_disputed().disputed_amount().minor_units(), 19976);
  ApplyDecision(invoice, whole, 2);
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_DISPUTED);
  EXPECT_EQ(invoice.disputed().minor_units(), 19976);

  auto second = DecideDisputeInvoice(Dispute(5), invoice, Ctx());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("already has an open dispute"));

  auto resolve = DecideResolveDispute(Resolve(), invoice, Ctx());
  ASSERT_TRUE(resolve.ok()) << resolve.status();
  ApplyDecision(invoice, resolve, 3);
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_OPEN);
  EXPECT_EQ(invoice.disputed().minor_units(), 0);

  auto again = DecideDisputeInvoice(Dispute(500), invoice, Ctx());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->events[0].event_id(), whole->events[0].event_id());
  ApplyDecision(invoice, again, 4);
  EXPECT_EQ(invoice.disputed().minor_units(), 500);
  EXPECT_EQ(invoice.disputes_opened(), 2);
}

TEST(DisputeTest, Errors) {
  v1::Invoice invoice = Issue();
  EXPECT_EQ(Code(DecideDisputeInvoice(Dispute(19977), invoice, Ctx())).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Code(DecideDisputeInvoice(Dispute(0), invoice, Ctx())).code(),
            absl::StatusCode::kInvalidArgument);
  v1::DisputeInvoiceRequest usd = Dispute(5);
  usd.mutable_disputed_amount()->set_currency("USD");
  EXPECT_EQ(Code(DecideDisputeInvoice(usd, invoice, Ctx())).code(),
            absl::StatusCode::kInvalidArgument);
  v1::DisputeInvoiceRequest undated = Dispute();
  undated.clear_dispute_date();
  EXPECT_EQ(Code(DecideDisputeInvoice(undated, invoice, Ctx())).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(DecideResolveDispute(Resolve(), invoice, Ctx())).code(),
            absl::StatusCode::kFailedPrecondition);

  Evolve(invoice, Allocated("pa-1", "P-1", 19976), Pos("ar.payments.events", 0));
  auto paid = DecideDisputeInvoice(Dispute(), invoice, Ctx());
  EXPECT_EQ(paid.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(paid.status().message()), HasSubstr("no open balance"));
}

// ---- Consumed events and status -------------------------------------------------------

TEST(StatusTest, PaymentsMoveOpenPartiallyPaidPaidAndReversalReopens) {
  v1::Invoice invoice = Issue();
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_OPEN);
  EXPECT_EQ(invoice.open_balance().minor_units(), 19976);
  Evolve(invoice, Allocated("pa-1", "P-1", 9976), Pos("ar.payments.events", 0));
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_PARTIALLY_PAID);
  EXPECT_EQ(invoice.open_balance().minor_units(), 10000);
  Evolve(invoice, Allocated("pa-2", "P-2", 10000), Pos("ar.payments.events", 1));
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_PAID);
  EXPECT_EQ(invoice.open_balance().minor_units(), 0);
  // P-2 bounces: it reversed 10000 on this invoice and 500 on another one.
  Evolve(invoice, Reversed("pr-2", "P-2", {{"INV-1", 10000}, {"INV-9", 500}}),
         Pos("ar.payments.events", 2));
  EXPECT_EQ(invoice.allocated().minor_units(), 9976);
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_PARTIALLY_PAID);
  EXPECT_EQ(invoice.open_balance().minor_units(), 10000);
  Evolve(invoice, Reversed("pr-1", "P-1", {{"INV-1", 9976}}), Pos("ar.payments.events", 3));
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_OPEN);
  EXPECT_EQ(invoice.history_size(), 5);
  EXPECT_EQ(invoice.history(3).kind(), "payment_reversed");
}

TEST(StatusTest, PaidWithCreditNoteAndPaymentIsPaid) {
  v1::Invoice invoice = Issue();
  ApplyDecision(invoice,
                DecideIssueCreditNote(CreditNote("CN-1", 976), invoice, std::nullopt, Ctx()), 1);
  Evolve(invoice, Allocated("pa-1", "P-1", 19000), Pos("ar.payments.events", 0));
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_PAID);
}

TEST(StatusTest, Precedence) {
  v1::Invoice invoice = Issue();
  ApplyDecision(invoice, DecideDisputeInvoice(Dispute(100), invoice, Ctx()), 1);
  Evolve(invoice, Allocated("pa-1", "P-1", 19976), Pos("ar.payments.events", 0));
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_DISPUTED);  // disputed > paid
  Evolve(invoice, WrittenOff("wo-1", 0), Pos("ar.collections.events", 0));
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_WRITTEN_OFF);  // written off > disputed
  invoice.set_cancelled(true);
  EXPECT_EQ(DeriveStatus(invoice), v1::INVOICE_STATUS_CANCELLED);  // cancelled > all
}

TEST(StatusTest, WriteOffClosesTheInvoice) {
  v1::Invoice invoice = Issue();
  Evolve(invoice, Allocated("pa-1", "P-1", 9976), Pos("ar.payments.events", 0));
  Evolve(invoice, WrittenOff("wo-1", 10000), Pos("ar.collections.events", 0));
  EXPECT_EQ(invoice.status(), v1::INVOICE_STATUS_WRITTEN_OFF);
  EXPECT_EQ(invoice.written_off().minor_units(), 10000);
  EXPECT_EQ(invoice.open_balance().minor_units(), 0);
  EXPECT_EQ(invoice.history().rbegin()->kind(), "written_off");
}

TEST(EvolveTest, AnEventIsAppliedOnce) {
  v1::Invoice invoice = Issue();
  EXPECT_TRUE(Evolve(invoice, Allocated("pa-1", "P-1", 100), Pos("ar.payments.events", 0)));
  const v1::Invoice once = invoice;
  EXPECT_FALSE(Evolve(invoice, Allocated("pa-1", "P-1", 100), Pos("ar.payments.events", 0)));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(invoice, once));
  // The issue event itself too.
  auto issue =
      DecideIssueInvoice(Request(), std::nullopt, AccountView{}, CreditHoldPolicy::kReject, Ctx());
  EXPECT_FALSE(Evolve(invoice, issue->events[0], Pos("ar.invoicing.events", 0)));
}

TEST(EvolveTest, EventsForOtherInvoicesOrBeforeIssueChangeNothing) {
  v1::Invoice invoice = Issue();
  EXPECT_FALSE(Evolve(invoice, Allocated("pa-1", "P-1", 100, "INV-2"), Pos("p", 0)));
  EXPECT_FALSE(Evolve(invoice, Reversed("pr-1", "P-1", {{"INV-2", 100}}), Pos("p", 1)));
  v1::Invoice unseen;
  EXPECT_FALSE(Evolve(unseen, Allocated("pa-1", "P-1", 100), Pos("p", 0)));
  EXPECT_TRUE(unseen.invoice_id().empty());
}

TEST(EvolveTest, FactsThatCannotApplyAreRecordedNotDropped) {
  v1::Invoice invoice = Issue();
  EXPECT_TRUE(Evolve(invoice, Allocated("pa-1", "P-1", 100, "INV-1", "USD"), Pos("p", 0)));
  EXPECT_EQ(invoice.allocated().minor_units(), 0);
  ASSERT_EQ(invoice.history_size(), 2);
  EXPECT_EQ(invoice.history(1).kind(), "ignored");
  EXPECT_THAT(invoice.history(1).reference(), HasSubstr("USD"));
  // A second InvoiceIssued with another id for the same invoice keeps the first.
  v1::IssueInvoiceRequest other = Request();
  other.set_invoice_number("X");
  auto second =
      DecideIssueInvoice(other, std::nullopt, AccountView{}, CreditHoldPolicy::kReject, Ctx());
  second->events[0].set_event_id("another-id");
  EXPECT_TRUE(Evolve(invoice, second->events[0], Pos("ar.invoicing.events", 9)));
  EXPECT_EQ(invoice.invoice_number(), "2027-0001");
  EXPECT_EQ(invoice.history().rbegin()->kind(), "ignored");
}

TEST(EvolveTest, AnyOrderOfFactsEndsInTheSameInvoice) {
  // Facts from three topics, including a reversal of one allocation, a credit note and a
  // dispute; every permutation after the issue must give the identical invoice.
  auto credit = DecideIssueCreditNote(CreditNote("CN-1", 976), Issue(), std::nullopt, Ctx());
  ASSERT_TRUE(credit.ok());
  std::vector<std::pair<v1::Event, v1::LogPosition>> facts = {
      {Allocated("pa-1", "P-1", 5000), Pos("ar.payments.events", 10)},
      {Allocated("pa-2", "P-2", 3000), Pos("ar.payments.events", 11)},
      {Reversed("pr-1", "P-1", {{"INV-1", 5000}}), Pos("ar.payments.events", 12)},
      {credit->events[0], Pos("ar.invoicing.events", 1)},
  };
  std::vector<int> order = {0, 1, 2, 3};
  std::optional<v1::Invoice> first;
  do {
    v1::Invoice invoice = Issue();
    for (int i : order) Evolve(invoice, facts[i].first, facts[i].second);
    if (!first) {
      first = invoice;
      EXPECT_EQ(invoice.allocated().minor_units(), 3000);
      EXPECT_EQ(invoice.open_balance().minor_units(), 19976 - 976 - 3000);
      continue;
    }
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(invoice, *first))
        << invoice.DebugString() << "\nvs\n"
        << first->DebugString();
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(EvolveTest, HistoryRecordsEveryChange) {
  v1::Invoice invoice = Issue();
  ApplyDecision(invoice, DecideDisputeInvoice(Dispute(), invoice, Ctx()), 1);
  ApplyDecision(invoice, DecideResolveDispute(Resolve(), invoice, Ctx()), 2);
  ApplyDecision(invoice,
                DecideIssueCreditNote(CreditNote("CN-1", 976), invoice, std::nullopt, Ctx()), 3);
  ApplyDecision(invoice, DecideCancelInvoice(Cancel(), invoice, Ctx()), 4);
  std::vector<std::string> kinds;
  for (const auto& entry : invoice.history()) kinds.push_back(entry.kind());
  // Sorted by business date: issued 01-15, credit note 01-20, cancel 01-20, dispute 01-25/28.
  EXPECT_THAT(kinds, ::testing::ElementsAre("issued", "credit_note", "cancelled", "disputed",
                                            "dispute_resolved"));
  EXPECT_EQ(invoice.history(0).position().offset(), 0);
  EXPECT_EQ(invoice.history(0).amount().minor_units(), 19976);
}

// ---- Raw feed -------------------------------------------------------------------------

v1::Event RawInvoice() {
  auto decision =
      DecideIssueInvoice(Request(), std::nullopt, AccountView{}, CreditHoldPolicy::kFlag, Ctx());
  v1::Event raw = decision->events[0];
  raw.set_event_id("erp-event-1");
  return raw;
}

TEST(RawFeedTest, ValidRawInvoiceBecomesTheSameRequest) {
  auto request = RequestFromRawInvoice(RawInvoice());
  ASSERT_TRUE(request.ok()) << request.status();
  auto issued = BuildInvoiceIssued(*request);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->total().minor_units(), 19976);
  EXPECT_EQ(issued->payment_terms(), "NET30");
  EXPECT_EQ(request->account().subsidiary(), "acme-de");
}

TEST(RawFeedTest, RawInvoiceWithoutStatedTotalsIsComputed) {
  v1::Event raw = RawInvoice();
  raw.mutable_invoice_issued()->clear_total();
  raw.mutable_invoice_issued()->clear_net_total();
  raw.mutable_invoice_issued()->clear_tax_total();
  for (auto& line : *raw.mutable_invoice_issued()->mutable_lines()) {
    line.clear_net_amount();
    line.clear_tax_amount();
  }
  EXPECT_TRUE(RequestFromRawInvoice(raw).ok());
}

TEST(RawFeedTest, InvalidRawInvoicesAreInvalidArgument) {
  v1::Event wrong_total = RawInvoice();
  wrong_total.mutable_invoice_issued()->mutable_total()->set_minor_units(19977);
  auto status = RequestFromRawInvoice(wrong_total).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("total stated by the source (199.77 EUR) differs"));

  v1::Event mixed = RawInvoice();
  mixed.mutable_invoice_issued()->mutable_lines(1)->mutable_unit_price()->set_currency("USD");
  EXPECT_TRUE(absl::IsInvalidArgument(RequestFromRawInvoice(mixed).status()));

  v1::Event bad_terms = RawInvoice();
  bad_terms.mutable_invoice_issued()->set_payment_terms("net 30");
  EXPECT_TRUE(absl::IsInvalidArgument(RequestFromRawInvoice(bad_terms).status()));

  v1::Event not_an_invoice = RawInvoice();
  not_an_invoice.mutable_payment_allocated()->set_invoice_id("x");
  EXPECT_TRUE(absl::IsInvalidArgument(RequestFromRawInvoice(not_an_invoice).status()));

  v1::Event no_account = RawInvoice();
  no_account.clear_account();
  EXPECT_TRUE(absl::IsInvalidArgument(RequestFromRawInvoice(no_account).status()));
}

}  // namespace
}  // namespace ar::invoicing
