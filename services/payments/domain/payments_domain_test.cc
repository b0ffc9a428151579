#include "services/payments/domain/payments_domain.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/payments/domain/test_events.h"

namespace ar::payments {
namespace {

using namespace ar::payments::testing;  // NOLINT: test builders
using ::testing::HasSubstr;

// The account as the projection would hold it: events evolve the view and the payments.
class World {
 public:
  void Apply(const std::vector<v1::Event>& events) {
    v1::LogPosition position;
    position.set_topic("ar.payments.events");
    position.set_offset(next_offset_++);
    for (const v1::Event& event : events) {
      EvolveAccountView(view_, event);
      std::string payment_id;
      switch (event.body_case()) {
        case v1::Event::kPaymentReceived:
          payment_id = event.payment_received().payment_id();
          break;
        case v1::Event::kPaymentAllocated:
          payment_id = event.payment_allocated().payment_id();
          break;
        case v1::Event::kPaymentHoldReleased:
          payment_id = event.payment_hold_released().payment_id();
          break;
        case v1::Event::kPaymentReversed:
          payment_id = event.payment_reversed().payment_id();
          break;
        default:
          continue;
      }
      v1::Payment& payment = payments_[payment_id];
      ASSERT_TRUE(EvolvePayment(payment, event, position).ok());
      SetPaymentOpen(view_, payment_id, PaymentCarriesCash(payment));
    }
  }
  void Apply(const v1::Event& event) { Apply(std::vector<v1::Event>{event}); }

  AccountState State() const {
    AccountState state;
    state.view = view_;
    for (const std::string& id : view_.open_payment_ids())
      state.open_payments.push_back(payments_.at(id));
    return state;
  }

  absl::StatusOr<Outcome> Record(const v1::RecordPaymentRequest& request) {
    auto it = payments_.find(request.payment_id());
    CommandContext context{RecordPaymentCommandId(request.payment_id()), 1000, ""};
    absl::StatusOr<Outcome> outcome = DecideRecordPayment(
        request, it == payments_.end() ? nullptr : &it->second, State(), context);
    if (outcome.ok()) Apply(outcome->events);
    return outcome;
  }
  absl::StatusOr<Outcome> Reverse(const std::string& payment_id,
                                  const std::string& reason = "bounced",
                                  v1::Date date = D(2027, 5, 1)) {
    v1::ReversePaymentRequest request;
    request.set_tenant("t1");
    request.set_payment_id(payment_id);
    request.set_reason(reason);
    *request.mutable_reversal_date() = date;
    auto it = payments_.find(payment_id);
    absl::StatusOr<Outcome> outcome =
        DecideReversePayment(request, it == payments_.end() ? nullptr : &it->second,
                             {ReversePaymentCommandId(payment_id), 2000, ""});
    if (outcome.ok()) Apply(outcome->events);
    return outcome;
  }
  // InvoiceIssued arrives, then the reactor decides.
  Outcome InvoiceAppears(const v1::Event& issued, Settings settings = {}) {
    Apply(issued);
    Outcome outcome = DecideInvoiceAppeared(issued.invoice_issued().invoice_id(), State(), settings,
                                            {ReactionCommandId(issued.event_id()), 3000, ""});
    Apply(outcome.events);
    return outcome;
  }

  int64_t Open(const std::string& invoice_id) const {
    const v1::PaymentsInvoiceView* invoice = FindInvoice(view_, invoice_id);
    return invoice == nullptr ? -1 : OpenAmount(*invoice);
  }
  const v1::Payment& Payment(const std::string& id) const { return payments_.at(id); }
  const v1::PaymentsAccountView& view() const { return view_; }

 private:
  v1::PaymentsAccountView view_;
  std::map<std::string, v1::Payment> payments_;
  int64_t next_offset_ = 0;
};

v1::RecordPaymentRequest Payment(const std::string& id, int64_t amount,
                                 const std::string& currency = "EUR",
                                 v1::Date value_date = D(2027, 4, 1)) {
  v1::RecordPaymentRequest request;
  *request.mutable_account() = Account();
  request.set_payment_id(id);
  *request.mutable_amount() = Amount(amount, currency);
  request.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
  *request.mutable_value_date() = value_date;
  request.set_reference("remittance " + id);
  return request;
}
v1::RecordPaymentRequest WithAllocation(v1::RecordPaymentRequest request,
                                        const std::string& invoice_id, int64_t amount) {
  v1::PaymentAllocationLine* line = request.add_allocations();
  line->set_invoice_id(invoice_id);
  *line->mutable_amount() = Amount(amount, request.amount().currency());
  return request;
}

struct AllocationSeen {
  std::string invoice_id;
  int64_t amount;
  bool automatic;
  friend bool operator==(const AllocationSeen&, const AllocationSeen&) = default;
};
std::vector<AllocationSeen> Allocations(const Outcome& outcome) {
  std::vector<AllocationSeen> seen;
  for (const v1::Event& e : outcome.events) {
    if (e.has_payment_allocated()) {
      seen.push_back({e.payment_allocated().invoice_id(),
                      e.payment_allocated().amount().minor_units(),
                      e.payment_allocated().automatic()});
    }
  }
  return seen;
}

// Invariant of every unreversed payment: amount == allocated + held + unapplied.
void ExpectConserved(const v1::Payment& p) {
  if (p.reversed()) return;
  EXPECT_EQ(p.amount().minor_units(),
            p.allocated().minor_units() + p.held().minor_units() + p.unapplied().minor_units())
      << p.DebugString();
}

TEST(RecordPayment, AllocatesOldestDueFirstWithTiesByIssueDateThenId) {
  World w;
  w.Apply(InvoiceIssued("inv-c", 100, D(2027, 1, 5), D(2027, 2, 1)));
  w.Apply(InvoiceIssued("inv-b", 100, D(2027, 1, 1), D(2027, 2, 1)));     // same due, earlier issue
  w.Apply(InvoiceIssued("inv-a", 100, D(2027, 1, 5), D(2027, 2, 1)));     // same due+issue as c
  w.Apply(InvoiceIssued("inv-old", 100, D(2027, 1, 9), D(2027, 1, 20)));  // oldest due
  auto outcome = w.Record(Payment("p1", 350));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(Allocations(*outcome), (std::vector<AllocationSeen>{{"inv-old", 100, true},
                                                                {"inv-b", 100, true},
                                                                {"inv-a", 100, true},
                                                                {"inv-c", 50, true}}));
  EXPECT_EQ(w.Open("inv-c"), 50);
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 0);
  ExpectConserved(w.Payment("p1"));
}

TEST(RecordPayment, PartialPaymentLeavesInvoicePartlyOpen) {
  World w;
  w.Apply(InvoiceIssued("inv-1", 1000, D(2027, 1, 1), D(2027, 2, 1)));
  ASSERT_TRUE(w.Record(Payment("p1", 300)).ok());
  EXPECT_EQ(w.Open("inv-1"), 700);
  ASSERT_TRUE(w.Record(Payment("p2", 300)).ok());
  EXPECT_EQ(w.Open("inv-1"), 400);
}

TEST(RecordPayment, RemainderBecomesUnappliedCash) {
  World w;
  w.Apply(InvoiceIssued("inv-1", 1000, D(2027, 1, 1), D(2027, 2, 1)));
  ASSERT_TRUE(w.Record(Payment("p1", 1500)).ok());
  EXPECT_EQ(w.Open("inv-1"), 0);
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 500);
  EXPECT_EQ(w.Payment("p1").allocated().minor_units(), 1000);
  EXPECT_THAT(w.view().open_payment_ids(), ::testing::ElementsAre("p1"));
  ExpectConserved(w.Payment("p1"));
}

TEST(RecordPayment, AutomaticAllocationSkipsOtherCurrenciesAndClosedInvoices) {
  World w;
  w.Apply(InvoiceIssued("usd", 100, D(2027, 1, 1), D(2027, 1, 2), "USD"));
  w.Apply(InvoiceIssued("cancelled", 100, D(2027, 1, 1), D(2027, 1, 3)));
  w.Apply(Cancelled("cancelled", D(2027, 1, 4)));
  w.Apply(InvoiceIssued("written", 100, D(2027, 1, 1), D(2027, 1, 4)));
  w.Apply(WrittenOff("written", 100, D(2027, 3, 1)));
  w.Apply(InvoiceIssued("eur", 100, D(2027, 1, 1), D(2027, 1, 5)));
  auto outcome = w.Record(Payment("p1", 100));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(Allocations(*outcome), (std::vector<AllocationSeen>{{"eur", 100, true}}));
}

TEST(RecordPayment, CreditNotesReduceWhatIsAllocated) {
  World w;
  w.Apply(InvoiceIssued("inv-1", 1000, D(2027, 1, 1), D(2027, 2, 1)));
  w.Apply(CreditNote("cn-1", "inv-1", 250, D(2027, 1, 10)));
  w.Apply(CreditNote("cn-1", "inv-1", 250, D(2027, 1, 10)));  // a repeat counts once
  auto outcome = w.Record(Payment("p1", 1000));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(Allocations(*outcome), (std::vector<AllocationSeen>{{"inv-1", 750, true}}));
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 250);
}

TEST(RecordPayment, ExplicitAllocationsGoWhereTheyAreNamed) {
  World w;
  w.Apply(InvoiceIssued("old", 100, D(2027, 1, 1), D(2027, 1, 10)));
  w.Apply(InvoiceIssued("new", 100, D(2027, 1, 1), D(2027, 3, 10)));
  auto outcome = w.Record(WithAllocation(Payment("p1", 150), "new", 100));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(Allocations(*outcome), (std::vector<AllocationSeen>{{"new", 100, false}}));
  EXPECT_EQ(w.Open("old"), 100);
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 50);
  // One record: PaymentReceived first, then the allocation.
  ASSERT_EQ(outcome->events.size(), 2u);
  EXPECT_TRUE(outcome->events[0].has_payment_received());
}

TEST(RecordPayment, OverAllocationIsRejected) {
  World w;
  w.Apply(InvoiceIssued("inv-1", 100, D(2027, 1, 1), D(2027, 2, 1)));
  auto outcome = w.Record(WithAllocation(Payment("p1", 500), "inv-1", 101));
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(outcome.status().message(), HasSubstr("over-allocation"));
  EXPECT_THAT(outcome.status().message(), HasSubstr("inv-1"));
}

TEST(RecordPayment, AllocationsAboveThePaymentAreInvalid) {
  World w;
  auto request = WithAllocation(WithAllocation(Payment("p1", 100), "a", 60), "b", 60);
  EXPECT_EQ(w.Record(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RecordPayment, CurrencyMismatchWithInvoiceIsAFailedPrecondition) {
  World w;
  w.Apply(InvoiceIssued("usd", 100, D(2027, 1, 1), D(2027, 2, 1), "USD"));
  auto outcome = w.Record(WithAllocation(Payment("p1", 100), "usd", 100));
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(outcome.status().message(), HasSubstr("USD"));
}

TEST(RecordPayment, AllocationLineInAnotherCurrencyIsInvalid) {
  World w;
  auto request = Payment("p1", 100);
  v1::PaymentAllocationLine* line = request.add_allocations();
  line->set_invoice_id("x");
  *line->mutable_amount() = Amount(100, "USD");
  EXPECT_EQ(w.Record(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RecordPayment, CancelledAndWrittenOffTargetsAreRejected) {
  World w;
  w.Apply(InvoiceIssued("c", 100, D(2027, 1, 1), D(2027, 2, 1)));
  w.Apply(Cancelled("c", D(2027, 1, 2)));
  w.Apply(InvoiceIssued("w", 100, D(2027, 1, 1), D(2027, 2, 1)));
  w.Apply(WrittenOff("w", 100, D(2027, 3, 2)));
  auto cancelled = w.Record(WithAllocation(Payment("p1", 100), "c", 50));
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(cancelled.status().message(), HasSubstr("cancelled"));
  auto written = w.Record(WithAllocation(Payment("p2", 100), "w", 50));
  EXPECT_EQ(written.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(written.status().message(), HasSubstr("written off"));
}

TEST(RecordPayment, InvalidInputIsRejected) {
  World w;
  auto expect_invalid = [&](v1::RecordPaymentRequest request, const std::string& mentions) {
    absl::StatusOr<Outcome> outcome = w.Record(request);
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument) << mentions;
    EXPECT_THAT(outcome.status().message(), HasSubstr(mentions));
  };
  expect_invalid(Payment("p", 0), "greater than zero");
  expect_invalid(Payment("p", -5), "greater than zero");
  expect_invalid(Payment("p", kMaxAmountMinor + 1), "limit");
  expect_invalid(Payment("p", 100, "XXX"), "currency");
  expect_invalid(Payment("p", 100, ""), "currency");
  expect_invalid(Payment("", 100), "payment_id");
  expect_invalid(Payment("has space", 100), "payment_id");
  auto no_method = Payment("p", 100);
  no_method.set_method(v1::PAYMENT_METHOD_UNSPECIFIED);
  expect_invalid(no_method, "method");
  auto bad_date = Payment("p", 100, "EUR", D(2027, 2, 30));
  expect_invalid(bad_date, "value_date");
  auto no_date = Payment("p", 100);
  no_date.clear_value_date();
  expect_invalid(no_date, "value_date");
  auto no_account = Payment("p", 100);
  no_account.mutable_account()->set_account("");
  expect_invalid(no_account, "account");
  auto twice = WithAllocation(WithAllocation(Payment("p", 100), "a", 10), "a", 10);
  expect_invalid(twice, "second time");
  auto zero_line = WithAllocation(Payment("p", 100), "a", 0);
  expect_invalid(zero_line, "greater than zero");
}

TEST(RecordPayment, SameContentReturnsTheOriginalResultAndPublishesNothing) {
  World w;
  w.Apply(InvoiceIssued("inv-1", 100, D(2027, 1, 1), D(2027, 2, 1)));
  auto first = w.Record(Payment("p1", 150));
  ASSERT_TRUE(first.ok());
  auto again = w.Record(Payment("p1", 150));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->events.empty());
  ASSERT_TRUE(again->duplicate_of.has_value());
  EXPECT_TRUE(again->duplicate_of->duplicate());
  ASSERT_EQ(again->duplicate_of->event_ids_size(), 2);
  EXPECT_EQ(again->duplicate_of->event_ids(0), first->events[0].event_id());
  EXPECT_EQ(again->duplicate_of->event_ids(1), first->events[1].event_id());
  EXPECT_EQ(again->duplicate_of->position().offset(), w.Payment("p1").recorded_at().offset());
}

TEST(RecordPayment, DifferentContentIsAlreadyExistsNamingTheField) {
  World w;
  ASSERT_TRUE(w.Record(Payment("p1", 150)).ok());
  auto other_amount = w.Record(Payment("p1", 151));
  EXPECT_EQ(other_amount.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(other_amount.status().message(), HasSubstr("amount"));
  auto other_reference = Payment("p1", 150);
  other_reference.set_reference("else");
  EXPECT_THAT(w.Record(other_reference).status().message(), HasSubstr("reference"));
  auto other_method = Payment("p1", 150);
  other_method.set_method(v1::PAYMENT_METHOD_CARD);
  EXPECT_THAT(w.Record(other_method).status().message(), HasSubstr("method"));
  EXPECT_THAT(w.Record(WithAllocation(Payment("p1", 150), "x", 1)).status().message(),
              HasSubstr("allocations"));
}

TEST(RecordPayment, EventIdsAreDerivedFromTheCommand) {
  World a, b;
  auto first = a.Record(Payment("p1", 150));
  auto second = b.Record(Payment("p1", 150));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->events[0].event_id(), second->events[0].event_id());
  EXPECT_EQ(first->events[0].causation_id(), RecordPaymentCommandId("p1"));
}

TEST(HeldAllocation, IsAppliedWhenTheInvoiceAppears) {
  World w;
  auto outcome = w.Record(WithAllocation(Payment("p1", 500), "later", 300));
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(Allocations(*outcome).empty());
  ASSERT_EQ(outcome->events[0].payment_received().held_allocations_size(), 1);
  EXPECT_EQ(w.Payment("p1").held().minor_units(), 300);
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 200);
  ExpectConserved(w.Payment("p1"));

  Outcome reaction = w.InvoiceAppears(InvoiceIssued("later", 1000, D(2027, 4, 5), D(2027, 5, 5)),
                                      Settings{.auto_apply_unapplied_cash = false});
  EXPECT_EQ(Allocations(reaction), (std::vector<AllocationSeen>{{"later", 300, false}}));
  EXPECT_TRUE(reaction.events[0].payment_allocated().from_held());
  EXPECT_EQ(w.Open("later"), 700);
  EXPECT_EQ(w.Payment("p1").held().minor_units(), 0);
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 200);
  ExpectConserved(w.Payment("p1"));

  // Deciding again on the new state finds nothing left to do.
  Outcome again = DecideInvoiceAppeared("later", w.State(), {.auto_apply_unapplied_cash = false},
                                        {"react:x", 1, ""});
  EXPECT_TRUE(again.events.empty());
}

TEST(HeldAllocation, MoreHeldThanOpenIsReleasedToUnappliedCash) {
  World w;
  ASSERT_TRUE(w.Record(WithAllocation(Payment("p1", 500), "later", 500)).ok());
  Outcome reaction = w.InvoiceAppears(InvoiceIssued("later", 200, D(2027, 4, 5), D(2027, 5, 5)),
                                      Settings{.auto_apply_unapplied_cash = false});
  ASSERT_EQ(reaction.events.size(), 2u);
  EXPECT_EQ(reaction.events[0].payment_allocated().amount().minor_units(), 200);
  EXPECT_EQ(reaction.events[1].payment_hold_released().amount().minor_units(), 300);
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 300);
  EXPECT_EQ(w.Payment("p1").held().minor_units(), 0);
  ExpectConserved(w.Payment("p1"));
}

TEST(HeldAllocation, CancelledOrOtherCurrencyInvoiceReleasesTheHold) {
  World w;
  ASSERT_TRUE(w.Record(WithAllocation(Payment("p1", 500), "usd", 100)).ok());
  ASSERT_TRUE(w.Record(WithAllocation(Payment("p2", 500), "gone", 100)).ok());
  w.Apply(InvoiceIssued("gone", 200, D(2027, 4, 5), D(2027, 5, 5)));
  w.Apply(Cancelled("gone", D(2027, 4, 6)));  // cancelled before the reaction ran
  Outcome gone = DecideInvoiceAppeared("gone", w.State(), {.auto_apply_unapplied_cash = false},
                                       {"react:gone", 1, ""});
  w.Apply(gone.events);
  ASSERT_EQ(gone.events.size(), 1u);
  EXPECT_THAT(gone.events[0].payment_hold_released().reason(), HasSubstr("cancelled"));
  Outcome usd = w.InvoiceAppears(InvoiceIssued("usd", 100, D(2027, 4, 5), D(2027, 5, 5), "USD"));
  ASSERT_EQ(usd.events.size(), 1u);
  EXPECT_THAT(usd.events[0].payment_hold_released().reason(), HasSubstr("USD"));
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 500);
  EXPECT_EQ(w.Payment("p2").unapplied().minor_units(), 500);
}

TEST(UnappliedCash, IsAppliedToLaterInvoicesOldestPaymentFirst) {
  World w;
  ASSERT_TRUE(w.Record(Payment("young", 300, "EUR", D(2027, 4, 3))).ok());
  ASSERT_TRUE(w.Record(Payment("old", 300, "EUR", D(2027, 4, 1))).ok());
  ASSERT_TRUE(w.Record(Payment("dollars", 300, "USD", D(2027, 3, 1))).ok());
  Outcome reaction = w.InvoiceAppears(InvoiceIssued("inv-1", 400, D(2027, 4, 5), D(2027, 5, 5)));
  ASSERT_EQ(reaction.events.size(), 2u);
  EXPECT_EQ(reaction.events[0].payment_allocated().payment_id(), "old");
  EXPECT_EQ(reaction.events[0].payment_allocated().amount().minor_units(), 300);
  EXPECT_TRUE(reaction.events[0].payment_allocated().automatic());
  EXPECT_EQ(reaction.events[1].payment_allocated().payment_id(), "young");
  EXPECT_EQ(reaction.events[1].payment_allocated().amount().minor_units(), 100);
  EXPECT_EQ(w.Open("inv-1"), 0);
  EXPECT_EQ(w.Payment("young").unapplied().minor_units(), 200);
  EXPECT_EQ(w.Payment("dollars").unapplied().minor_units(), 300);
  EXPECT_THAT(w.view().open_payment_ids(), ::testing::ElementsAre("dollars", "young"));
  // Allocation date: when both the cash and the invoice exist.
  EXPECT_EQ(DayNumberOf(reaction.events[0].payment_allocated().allocation_date()),
            DayNumberOf(D(2027, 4, 5)));
}

TEST(UnappliedCash, StaysUnappliedWhenTheSettingIsOff) {
  World w;
  ASSERT_TRUE(w.Record(Payment("p1", 300)).ok());
  Outcome reaction = w.InvoiceAppears(InvoiceIssued("inv-1", 400, D(2027, 4, 5), D(2027, 5, 5)),
                                      Settings{.auto_apply_unapplied_cash = false});
  EXPECT_TRUE(reaction.events.empty());
  EXPECT_EQ(w.Open("inv-1"), 400);
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 300);
}

TEST(UnappliedCash, HeldCashIsAppliedBeforeUnappliedCashOfOlderPayments) {
  World w;
  ASSERT_TRUE(w.Record(Payment("older", 300, "EUR", D(2027, 3, 1))).ok());
  ASSERT_TRUE(
      w.Record(WithAllocation(Payment("named", 300, "EUR", D(2027, 4, 1)), "inv-1", 300)).ok());
  Outcome reaction = w.InvoiceAppears(InvoiceIssued("inv-1", 400, D(2027, 4, 5), D(2027, 5, 5)));
  EXPECT_EQ(Allocations(reaction),
            (std::vector<AllocationSeen>{{"inv-1", 300, false}, {"inv-1", 100, true}}));
  EXPECT_EQ(reaction.events[1].payment_allocated().payment_id(), "older");
}

TEST(ReversePayment, ReopensExactlyWhatItAllocated) {
  World w;
  w.Apply(InvoiceIssued("a", 100, D(2027, 1, 1), D(2027, 1, 10)));
  w.Apply(InvoiceIssued("b", 100, D(2027, 1, 1), D(2027, 1, 20)));
  ASSERT_TRUE(w.Record(Payment("other", 30)).ok());  // a: 70 open
  ASSERT_TRUE(w.Record(Payment("p1", 150)).ok());    // a: 0, b: 20 open
  ASSERT_EQ(w.Open("a"), 0);
  ASSERT_EQ(w.Open("b"), 20);
  auto reversal = w.Reverse("p1", "chargeback");
  ASSERT_TRUE(reversal.ok()) << reversal.status();
  const v1::PaymentReversed& reversed = reversal->events[0].payment_reversed();
  ASSERT_EQ(reversed.reversed_allocations_size(), 2);
  EXPECT_EQ(reversed.reversed_allocations(0).amount().minor_units(), 70);
  EXPECT_EQ(reversed.reversed_allocations(1).amount().minor_units(), 80);
  EXPECT_EQ(w.Open("a"), 70);
  EXPECT_EQ(w.Open("b"), 100);
  EXPECT_TRUE(w.Payment("p1").reversed());
  EXPECT_EQ(w.Payment("p1").reversal_reason(), "chargeback");
  EXPECT_EQ(w.Payment("p1").unapplied().minor_units(), 0);
  EXPECT_THAT(w.view().open_payment_ids(), ::testing::IsEmpty());
}

TEST(ReversePayment, ReleasesHeldAndUnappliedCashSoItIsNeverAppliedLater) {
  World w;
  ASSERT_TRUE(w.Record(WithAllocation(Payment("p1", 500), "later", 200)).ok());
  ASSERT_TRUE(w.Reverse("p1").ok());
  EXPECT_EQ(w.Payment("p1").held().minor_units(), 0);
  Outcome reaction = w.InvoiceAppears(InvoiceIssued("later", 1000, D(2027, 5, 5), D(2027, 6, 5)));
  EXPECT_TRUE(reaction.events.empty());
  EXPECT_EQ(w.Open("later"), 1000);
}

TEST(ReversePayment, Errors) {
  World w;
  ASSERT_TRUE(w.Record(Payment("p1", 500)).ok());
  EXPECT_EQ(w.Reverse("missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(w.Reverse("p1", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.Reverse("p1", "bounced", D(2027, 13, 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.Reverse("p1", "bounced", D(2027, 3, 1)).status().code(),
            absl::StatusCode::kFailedPrecondition);  // before the value date
  ASSERT_TRUE(w.Reverse("p1").ok());
  auto twice = w.Reverse("p1");
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(twice.status().message(), HasSubstr("already reversed"));
}

TEST(Conservation, NoMinorUnitIsCreatedOrLostAcrossAllocations) {
  World w;
  int64_t invoiced = 0;
  for (int i = 0; i < 17; ++i) {
    const int64_t total = 97 + 13 * i;
    invoiced += total;
    w.Apply(InvoiceIssued("inv-" + std::to_string(100 + i), total, D(2027, 1, 1 + i),
                          D(2027, 2, 1 + i)));
  }
  int64_t received = 0;
  for (int i = 0; i < 11; ++i) {
    const int64_t amount = 101 + 37 * i;
    received += amount;
    ASSERT_TRUE(w.Record(Payment("p-" + std::to_string(100 + i), amount)).ok());
  }
  ASSERT_TRUE(w.Reverse("p-105").ok());
  received -= 101 + 37 * 5;
  for (int i = 0; i < 3; ++i) {
    const int64_t amount = 500;
    received += amount;
    ASSERT_TRUE(w.Record(Payment("q-" + std::to_string(i), amount)).ok());
  }
  int64_t open = 0, allocated_to_invoices = 0;
  for (const v1::PaymentsInvoiceView& invoice : w.view().invoices()) {
    open += OpenAmount(invoice);
    allocated_to_invoices += invoice.allocated_minor();
    EXPECT_GE(OpenAmount(invoice), 0);
    EXPECT_LE(invoice.allocated_minor(), invoice.total_minor());
  }
  int64_t allocated_from_payments = 0, unapplied = 0;
  for (const char* prefix : {"p-", "q-"}) {
    for (int i = 0; i < 11; ++i) {
      const std::string id = prefix + std::to_string(prefix[0] == 'p' ? 100 + i : i);
      if (prefix[0] == 'q' && i >= 3) break;
      const v1::Payment& p = w.Payment(id);
      ExpectConserved(p);
      allocated_from_payments += p.allocated().minor_units();
      unapplied += p.unapplied().minor_units();
    }
  }
  EXPECT_EQ(allocated_to_invoices, allocated_from_payments);
  EXPECT_EQ(invoiced - open, allocated_to_invoices);
  EXPECT_EQ(received, allocated_from_payments + unapplied);
}

TEST(ProjectionGuards, RepeatedCommandFromAnotherRecordIsDetected) {
  v1::PaymentsAccountView view;
  v1::LogPosition first, second;
  first.set_offset(3);
  second.set_offset(9);
  EXPECT_TRUE(NoteCommandApplied(view, "react:e1", first));
  EXPECT_TRUE(NoteCommandApplied(view, "react:e1", first));  // more events of the same record
  EXPECT_FALSE(NoteCommandApplied(view, "react:e1", second));
  EXPECT_TRUE(NoteCommandApplied(view, "react:e0", second));
  ASSERT_EQ(view.applied_commands_size(), 2);
  EXPECT_EQ(view.applied_commands(0).command_id(), "react:e0");  // kept sorted
}

TEST(ProjectionGuards, AllocationBeyondUnappliedCashIsRejectedByEvolve) {
  v1::Payment payment;
  v1::Event received = Envelope("e1");
  received.mutable_payment_received()->set_payment_id("p1");
  *received.mutable_payment_received()->mutable_amount() = Eur(100);
  ASSERT_TRUE(EvolvePayment(payment, received, {}).ok());
  v1::Event allocated = Envelope("e2");
  allocated.mutable_payment_allocated()->set_payment_id("p1");
  allocated.mutable_payment_allocated()->set_invoice_id("i");
  *allocated.mutable_payment_allocated()->mutable_amount() = Eur(101);
  EXPECT_EQ(EvolvePayment(payment, allocated, {}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(EvolvePayment(payment, received, {}).code(), absl::StatusCode::kAlreadyExists);
}

TEST(Dates, OnlyRealDaysAreAccepted) {
  EXPECT_TRUE(DayFromProto(D(2028, 2, 29), "d").ok());
  EXPECT_FALSE(DayFromProto(D(2027, 2, 29), "d").ok());
  EXPECT_FALSE(DayFromProto(D(0, 1, 1), "d").ok());
  EXPECT_FALSE(DayFromProto(D(2027, 0, 1), "d").ok());
}

}  // namespace
}  // namespace ar::payments
