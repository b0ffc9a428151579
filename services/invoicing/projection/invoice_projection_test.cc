#include "services/invoicing/projection/invoice_projection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/topics.h"
#include "libs/protoconv/protoconv.h"
#include "libs/store/memory_store.h"

namespace ar::invoicing {
namespace {

using ::testing::HasSubstr;

v1::Date D(int y, int m, int d) { return protoconv::DateProto(y, m, d); }

v1::Money Eur(int64_t minor) { return MakeMoneyProto(minor, "EUR"); }

v1::Event Envelope(const std::string& event_id, const std::string& account = "C-100") {
  v1::Event event;
  event.set_event_id(event_id);
  event.set_tenant("acme");
  event.set_region("eu");
  event.set_subsidiary("acme-de");
  event.set_account(account);
  return event;
}

// A real InvoiceIssued, built by the domain: 100.00 EUR net + 19 % = 119.00 EUR.
v1::Event Issued(const std::string& invoice_id, int due_day, const std::string& account = "C-100",
                 const std::string& name = "Customer 100") {
  v1::IssueInvoiceRequest request;
  v1::AccountRef* ref = request.mutable_account();
  ref->set_tenant("acme");
  ref->set_region("eu");
  ref->set_subsidiary("acme-de");
  ref->set_account(account);
  request.set_account_name(name);
  request.set_invoice_id(invoice_id);
  request.set_invoice_number("N-" + invoice_id);
  *request.mutable_issue_date() = D(2027, 1, 1);
  *request.mutable_due_date() = D(2027, 1, due_day);
  request.set_currency("EUR");
  v1::InvoiceLineInput* line = request.add_lines();
  line->set_quantity_milli(1000);
  line->set_unit_price_minor(10000);
  line->set_tax_rate_bp(1900);
  auto decision = DecideIssueInvoice(request, std::nullopt, AccountView{}, CreditHoldPolicy::kFlag,
                                     CommandContext{});
  EXPECT_TRUE(decision.ok()) << decision.status();
  return decision->events[0];
}

v1::Event Allocated(const std::string& event_id, const std::string& payment_id,
                    const std::string& invoice_id, int64_t amount) {
  v1::Event event = Envelope(event_id);
  v1::PaymentAllocated* body = event.mutable_payment_allocated();
  body->set_payment_id(payment_id);
  body->set_invoice_id(invoice_id);
  *body->mutable_amount() = Eur(amount);
  *body->mutable_allocation_date() = D(2027, 1, 10);
  return event;
}

v1::Event Reversed(const std::string& event_id, const std::string& payment_id,
                   std::vector<std::pair<std::string, int64_t>> lines) {
  v1::Event event = Envelope(event_id);
  v1::PaymentReversed* body = event.mutable_payment_reversed();
  body->set_payment_id(payment_id);
  body->set_reason("chargeback");
  *body->mutable_reversal_date() = D(2027, 1, 12);
  for (const auto& [invoice, amount] : lines) {
    v1::PaymentAllocationLine* line = body->add_reversed_allocations();
    line->set_invoice_id(invoice);
    *line->mutable_amount() = Eur(amount);
  }
  return event;
}

v1::Event CreditNote(const std::string& event_id, const std::string& invoice_id, int64_t amount) {
  v1::Event event = Envelope(event_id);
  v1::CreditNoteIssued* body = event.mutable_credit_note_issued();
  body->set_credit_note_id("CN-" + event_id);
  body->set_invoice_id(invoice_id);
  *body->mutable_amount() = Eur(amount);
  *body->mutable_issue_date() = D(2027, 1, 5);
  return event;
}

v1::Event WrittenOff(const std::string& event_id, const std::string& invoice_id, int64_t amount) {
  v1::Event event = Envelope(event_id);
  v1::DebtWrittenOff* body = event.mutable_debt_written_off();
  body->set_invoice_id(invoice_id);
  *body->mutable_amount() = Eur(amount);
  *body->mutable_as_of() = D(2027, 3, 1);
  return event;
}

v1::Event Hold(const std::string& event_id, bool placed) {
  v1::Event event = Envelope(event_id);
  if (placed) {
    event.mutable_credit_hold_placed()->set_reason("limit");
  } else {
    event.mutable_credit_hold_released()->set_reason("paid");
  }
  return event;
}

// A record of one topic: its events and where it sits.
struct TestRecord {
  eventlog::Record record;
  std::vector<v1::Event> events;
};

using Topic = std::vector<TestRecord>;

Topic MakeTopic(const std::string& name, std::vector<std::vector<v1::Event>> records) {
  Topic topic;
  int64_t offset = 0;
  for (auto& events : records) {
    TestRecord record;
    record.record.topic = name;
    record.record.partition = 0;
    record.record.offset = offset++;
    record.events = std::move(events);
    topic.push_back(std::move(record));
  }
  return topic;
}

// Feeds records through the handler like the runner does: one batch committed every
// `commit_every` records.
class Feeder {
 public:
  Feeder() : store_(store::NewMemoryStore()), handler_(*store_) {}

  // A rejected record leaves no trace: like the runner for a handler that does not undo,
  // the handler forgets its caches and the batch's earlier records are applied again.
  absl::Status Feed(const TestRecord& record) {
    absl::Status status = FeedOnce(record);
    if (status.ok()) {
      fed_.push_back(&record);
      return status;
    }
    EXPECT_FALSE(handler_.UndoesRejectedRecords());
    handler_.Discard();
    batch_.Clear();
    for (const TestRecord* earlier : fed_) EXPECT_TRUE(FeedOnce(*earlier).ok());
    return status;
  }

  void Commit() {
    handler_.BeforeCommit(batch_);
    ASSERT_TRUE(store_->Apply(batch_).ok());
    batch_.Clear();
    fed_.clear();
    handler_.Committed();
  }

  store::Store& store() { return *store_; }

  // Everything the read model holds about the test's keys, as one comparable text.
  std::string Snapshot(const std::vector<std::string>& invoice_ids,
                       const std::vector<std::string>& accounts) {
    std::string out;
    for (const std::string& id : invoice_ids) {
      auto invoice = store_->Get(InvoiceKey("acme", id));
      auto pending = store_->Get(PendingKey("acme", id));
      absl::StrAppend(&out, "invoice ", id, ": ",
                      invoice.ok() && invoice->has_value() ? **invoice : "-", "\npending ", id,
                      ": ", pending.ok() && pending->has_value() ? "yes" : "no", "\n");
    }
    for (const std::string& account : accounts) {
      for (const std::string& key : {BalanceKey("acme", account), AccountKey("acme", account)}) {
        auto fields = store_->HGetAll(key);
        absl::StrAppend(&out, key, ":");
        for (const auto& [field, value] : *fields) absl::StrAppend(&out, " ", field, "=", value);
        absl::StrAppend(&out, "\n");
      }
      auto due = store_->ZRange(DueIndexKey("acme", account), {});
      absl::StrAppend(&out, "due:");
      for (const auto& member : *due) absl::StrAppend(&out, " ", member.member, "@", member.score);
      absl::StrAppend(&out, "\n");
    }
    return out;
  }

  std::optional<v1::Invoice> Invoice(const std::string& id) {
    auto bytes = store_->Get(InvoiceKey("acme", id));
    if (!bytes.ok() || !bytes->has_value()) return std::nullopt;
    v1::Invoice invoice;
    invoice.ParseFromString(**bytes);
    return invoice;
  }

  std::map<std::string, std::string> Balance(const std::string& account = "C-100") {
    return *store_->HGetAll(BalanceKey("acme", account));
  }

 private:
  absl::Status FeedOnce(const TestRecord& record) {
    const size_t before = batch_.size();
    for (const v1::Event& event : record.events) {
      absl::Status status = handler_.Apply(event, record.record, batch_);
      if (!status.ok()) {
        batch_.Truncate(before);
        return status;
      }
    }
    return absl::OkStatus();
  }

  std::unique_ptr<store::Store> store_;
  InvoiceProjection handler_;
  store::WriteBatch batch_;
  std::vector<const TestRecord*> fed_;  // accepted since the last commit
};

TEST(InvoiceProjectionTest, IssueWritesStateIndexBalanceAndAccountView) {
  Feeder feeder;
  Topic invoicing = MakeTopic(topics::kInvoicing, {{Issued("INV-1", 31)}, {Issued("INV-2", 15)}});
  ASSERT_TRUE(feeder.Feed(invoicing[0]).ok());
  ASSERT_TRUE(feeder.Feed(invoicing[1]).ok());
  feeder.Commit();
  auto invoice = feeder.Invoice("INV-1");
  ASSERT_TRUE(invoice.has_value());
  EXPECT_EQ(invoice->total().minor_units(), 11900);
  EXPECT_EQ(invoice->open_balance().minor_units(), 11900);
  EXPECT_EQ(invoice->status(), v1::INVOICE_STATUS_OPEN);
  EXPECT_EQ(invoice->issued_at().topic(), topics::kInvoicing);
  EXPECT_EQ(invoice->issued_at().offset(), 0);
  EXPECT_EQ(feeder.Invoice("INV-2")->issued_at().offset(), 1);
  EXPECT_EQ(feeder.Balance()["EUR"], "23800");
  // Due-date order, scores are day numbers.
  auto due = feeder.store().ZRange(DueIndexKey("acme", "C-100"), {});
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].member, "INV-2");
  EXPECT_EQ((*due)[1].member, "INV-1");
  EXPECT_EQ((*due)[1].score - (*due)[0].score, 16);
  ReadModel read_model(feeder.store());
  EXPECT_EQ(read_model.GetAccount("acme", "C-100")->name, "Customer 100");
}

TEST(InvoiceProjectionTest, PaymentForAnUnseenInvoiceIsHeldThenApplied) {
  Feeder feeder;
  Topic payments = MakeTopic(topics::kPayments, {{Allocated("pa-1", "P-1", "INV-1", 1900)}});
  ASSERT_TRUE(feeder.Feed(payments[0]).ok());
  feeder.Commit();
  EXPECT_FALSE(feeder.Invoice("INV-1").has_value());
  EXPECT_TRUE(feeder.store().Get(PendingKey("acme", "INV-1"))->has_value());

  Topic invoicing = MakeTopic(topics::kInvoicing, {{Issued("INV-1", 31)}});
  ASSERT_TRUE(feeder.Feed(invoicing[0]).ok());
  feeder.Commit();
  auto invoice = feeder.Invoice("INV-1");
  ASSERT_TRUE(invoice.has_value());
  EXPECT_EQ(invoice->allocated().minor_units(), 1900);
  EXPECT_EQ(invoice->open_balance().minor_units(), 10000);
  EXPECT_EQ(invoice->status(), v1::INVOICE_STATUS_PARTIALLY_PAID);
  ASSERT_EQ(invoice->history_size(), 2);
  EXPECT_EQ(invoice->history(1).kind(), "payment_allocated");
  EXPECT_EQ(invoice->history(1).position().topic(), topics::kPayments);
  EXPECT_FALSE(feeder.store().Get(PendingKey("acme", "INV-1"))->has_value());
  EXPECT_EQ(feeder.Balance()["EUR"], "10000");
}

TEST(InvoiceProjectionTest, PendingAndIssueInOneBatchSeeEachOther) {
  Feeder feeder;
  Topic payments = MakeTopic(topics::kPayments, {{Allocated("pa-1", "P-1", "INV-1", 1900)}});
  Topic invoicing = MakeTopic(topics::kInvoicing, {{Issued("INV-1", 31)}});
  ASSERT_TRUE(feeder.Feed(payments[0]).ok());
  ASSERT_TRUE(feeder.Feed(invoicing[0]).ok());
  feeder.Commit();
  EXPECT_EQ(feeder.Invoice("INV-1")->allocated().minor_units(), 1900);
  EXPECT_FALSE(feeder.store().Get(PendingKey("acme", "INV-1"))->has_value());
}

TEST(InvoiceProjectionTest, TheSameFactDeliveredTwiceCountsOnce) {
  Feeder feeder;
  // The payments service published the allocation twice (a producer retry): two records,
  // the same event id. Once while the invoice is unseen, once after.
  Topic payments = MakeTopic(topics::kPayments, {{Allocated("pa-1", "P-1", "INV-1", 1900)},
                                                 {Allocated("pa-1", "P-1", "INV-1", 1900)},
                                                 {Allocated("pa-1", "P-1", "INV-1", 1900)}});
  Topic invoicing = MakeTopic(topics::kInvoicing, {{Issued("INV-1", 31)}});
  ASSERT_TRUE(feeder.Feed(payments[0]).ok());
  ASSERT_TRUE(feeder.Feed(payments[1]).ok());
  feeder.Commit();
  ASSERT_TRUE(feeder.Feed(invoicing[0]).ok());
  feeder.Commit();
  ASSERT_TRUE(feeder.Feed(payments[2]).ok());
  feeder.Commit();
  EXPECT_EQ(feeder.Invoice("INV-1")->allocated().minor_units(), 1900);
  EXPECT_EQ(feeder.Invoice("INV-1")->history_size(), 2);
  EXPECT_EQ(feeder.Balance()["EUR"], "10000");
}

TEST(InvoiceProjectionTest, CreditHoldsSetTheAccountView) {
  Feeder feeder;
  Topic credit = MakeTopic(topics::kCredit, {{Hold("h-1", true)}, {Hold("h-2", false)}});
  ReadModel read_model(feeder.store());
  ASSERT_TRUE(feeder.Feed(credit[0]).ok());
  feeder.Commit();
  EXPECT_TRUE(read_model.GetAccount("acme", "C-100")->on_credit_hold);
  ASSERT_TRUE(feeder.Feed(credit[1]).ok());
  feeder.Commit();
  EXPECT_FALSE(read_model.GetAccount("acme", "C-100")->on_credit_hold);
}

TEST(InvoiceProjectionTest, CreditNotesAreIndexedForIdempotency) {
  Feeder feeder;
  Topic invoicing =
      MakeTopic(topics::kInvoicing, {{Issued("INV-1", 31)}, {CreditNote("c1", "INV-1", 900)}});
  ASSERT_TRUE(feeder.Feed(invoicing[0]).ok());
  ASSERT_TRUE(feeder.Feed(invoicing[1]).ok());
  feeder.Commit();
  ReadModel read_model(feeder.store());
  auto indexed = read_model.CreditNoteInvoice("acme", "CN-c1");
  ASSERT_TRUE(indexed.ok());
  EXPECT_EQ(indexed->value_or(""), "INV-1");
  EXPECT_EQ(feeder.Invoice("INV-1")->credited().minor_units(), 900);
  EXPECT_EQ(feeder.Balance()["EUR"], "11000");
}

TEST(InvoiceProjectionTest, MalformedEventIsRejectedAndItsRecordLeavesNoTrace) {
  Feeder feeder;
  Topic invoicing = MakeTopic(topics::kInvoicing, {{Issued("INV-1", 31)}});
  ASSERT_TRUE(feeder.Feed(invoicing[0]).ok());
  feeder.Commit();
  // One record: a good allocation, then one with no invoice id. The whole record goes.
  Topic payments =
      MakeTopic(topics::kPayments,
                {{Allocated("pa-1", "P-1", "INV-1", 1900), Allocated("pa-2", "P-2", "", 5)},
                 {Allocated("pa-3", "P-3", "INV-1", 100)}});
  absl::Status rejected = feeder.Feed(payments[0]);
  EXPECT_TRUE(absl::IsInvalidArgument(rejected)) << rejected;
  EXPECT_THAT(std::string(rejected.message()), HasSubstr("empty invoice id"));
  // The next record in the same batch must not see the rejected record's allocation.
  ASSERT_TRUE(feeder.Feed(payments[1]).ok());
  feeder.Commit();
  EXPECT_EQ(feeder.Invoice("INV-1")->allocated().minor_units(), 100);
  EXPECT_EQ(feeder.Balance()["EUR"], "11800");

  Topic bad_issue = MakeTopic(topics::kInvoicing, {{Issued("INV-9", 31)}});
  bad_issue[0].events[0].clear_tenant();
  EXPECT_TRUE(absl::IsInvalidArgument(feeder.Feed(bad_issue[0])));
}

TEST(InvoiceProjectionTest, EventsOfOtherKindsAreIgnored) {
  Feeder feeder;
  v1::Event received = Envelope("pr-1");
  received.mutable_payment_received()->set_payment_id("P-1");
  v1::Event closed = Envelope("bd-1");
  *closed.mutable_business_day_closed()->mutable_date() = D(2027, 1, 1);
  Topic other = MakeTopic(topics::kPayments, {{received, closed}});
  ASSERT_TRUE(feeder.Feed(other[0]).ok());
  feeder.Commit();
  EXPECT_EQ(feeder.Snapshot({"INV-1"}, {"C-100"}),
            "invoice INV-1: -\npending INV-1: "
            "no\ninv:balance:4:acme:C-100:\ninv:account:4:acme:C-100:\ndue:\n");
}

// The cross-topic property: the same records of four topics, consumed in many different
// interleavings (each topic in its own order) and with different commit boundaries, end
// in the identical read model.
TEST(InvoiceProjectionTest, AnyInterleavingOfTheTopicsEndsInTheSameReadModel) {
  std::vector<Topic> topics_in_play = {
      MakeTopic(topics::kInvoicing, {{Issued("INV-1", 31)},
                                     {Issued("INV-2", 15)},
                                     {CreditNote("c1", "INV-1", 900)},
                                     {Issued("INV-3", 20, "C-200", "Customer 200")}}),
      MakeTopic(topics::kPayments,
                {{Allocated("pa-1", "P-1", "INV-1", 5000), Allocated("pa-2", "P-1", "INV-2", 6000)},
                 {Allocated("pa-3", "P-2", "INV-3", 11900)},
                 {Reversed("rv-1", "P-1", {{"INV-1", 5000}, {"INV-2", 6000}})},
                 {Allocated("pa-4", "P-3", "INV-1", 11000)},
                 {Allocated("pa-4", "P-3", "INV-1", 11000)}}),  // duplicate delivery
      MakeTopic(topics::kCredit, {{Hold("h-1", true)}, {Hold("h-2", false)}, {Hold("h-3", true)}}),
      MakeTopic(topics::kCollections, {{WrittenOff("wo-1", "INV-2", 11900)}}),
  };
  const std::vector<std::string> invoices = {"INV-1", "INV-2", "INV-3"};
  const std::vector<std::string> accounts = {"C-100", "C-200"};

  std::mt19937 random(20270101);
  std::optional<std::string> expected;
  for (int run = 0; run < 300; ++run) {
    // Pick a random interleaving; the first runs are the extreme orders (each topic whole,
    // invoicing first or last).
    std::vector<size_t> next(topics_in_play.size(), 0);
    std::vector<const TestRecord*> order;
    while (true) {
      std::vector<size_t> candidates;
      for (size_t t = 0; t < topics_in_play.size(); ++t) {
        if (next[t] < topics_in_play[t].size()) candidates.push_back(t);
      }
      if (candidates.empty()) break;
      size_t pick = candidates[random() % candidates.size()];
      if (run == 0) pick = candidates.front();
      if (run == 1) pick = candidates.back();
      order.push_back(&topics_in_play[pick][next[pick]++]);
    }
    const size_t commit_every = 1 + random() % 4;
    Feeder feeder;
    for (size_t i = 0; i < order.size(); ++i) {
      ASSERT_TRUE(feeder.Feed(*order[i]).ok());
      if ((i + 1) % commit_every == 0) feeder.Commit();
    }
    feeder.Commit();
    const std::string snapshot = feeder.Snapshot(invoices, accounts);
    if (!expected) {
      expected = snapshot;
      // The figures themselves, checked once.
      auto inv1 = feeder.Invoice("INV-1");
      EXPECT_EQ(inv1->allocated().minor_units(), 11000);
      EXPECT_EQ(inv1->credited().minor_units(), 900);
      EXPECT_EQ(inv1->status(), v1::INVOICE_STATUS_PAID);
      auto inv2 = feeder.Invoice("INV-2");
      EXPECT_EQ(inv2->allocated().minor_units(), 0);
      EXPECT_EQ(inv2->status(), v1::INVOICE_STATUS_WRITTEN_OFF);
      EXPECT_EQ(feeder.Invoice("INV-3")->status(), v1::INVOICE_STATUS_PAID);
      // The balance is the sum of the invoices' open balances: all settled.
      EXPECT_EQ(feeder.Balance("C-100")["EUR"], "0");
      EXPECT_EQ(feeder.Balance("C-200")["EUR"], "0");
      ReadModel read_model(feeder.store());
      EXPECT_TRUE(read_model.GetAccount("acme", "C-100")->on_credit_hold);
      continue;
    }
    ASSERT_EQ(snapshot, *expected) << "run " << run;
  }
}

TEST(InvoiceProjectionTest, BalanceIsAlwaysTheSumOfOpenBalances) {
  Feeder feeder;
  Topic invoicing = MakeTopic(topics::kInvoicing, {{Issued("INV-1", 31)}, {Issued("INV-2", 15)}});
  Topic payments =
      MakeTopic(topics::kPayments, {{Allocated("pa-1", "P-1", "INV-1", 5000)},
                                    {Allocated("pa-2", "P-2", "INV-2", 20000)},  // overpaid
                                    {Reversed("rv-1", "P-2", {{"INV-2", 20000}})}});
  for (const TestRecord* record :
       {&invoicing[0], &payments[0], &payments[1], &invoicing[1], &payments[2]}) {
    ASSERT_TRUE(feeder.Feed(*record).ok());
    feeder.Commit();
    int64_t sum = 0;
    for (const char* id : {"INV-1", "INV-2"}) {
      if (auto invoice = feeder.Invoice(id)) sum += invoice->open_balance().minor_units();
    }
    EXPECT_EQ(feeder.Balance()["EUR"], std::to_string(sum));
  }
}

}  // namespace
}  // namespace ar::invoicing
