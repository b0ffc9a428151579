#include "services/payments/projection/payments_projection.h"

#include <algorithm>
#include <map>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/store/memory_store.h"
#include "services/payments/domain/payments_domain.h"
#include "services/payments/domain/test_events.h"

namespace ar::payments {
namespace {

using namespace ar::payments::testing;  // NOLINT: test builders

constexpr char kTenant[] = "t1";
constexpr char kAccount[] = "acct-1";

struct LoggedRecord {
  std::string topic;
  int64_t offset;
  std::vector<v1::Event> events;
};

// One read model: a memory store fed record by record through the handler, committing
// after each record like the runner does.
class ReadModel {
 public:
  ReadModel() : store_(store::NewMemoryStore()), handler_(*store_) {}

  void Apply(const LoggedRecord& record) {
    eventlog::Record source;
    source.topic = record.topic;
    source.offset = record.offset;
    store::WriteBatch batch;
    for (const v1::Event& event : record.events) {
      ASSERT_TRUE(handler_.Apply(event, source, batch).ok()) << event.DebugString();
    }
    handler_.BeforeCommit(batch);
    ASSERT_TRUE(store_->Commit(batch, {}).ok());
    handler_.Committed();
    // The view is stored in pieces, each written only when an event changes it: put back
    // together, they must equal the view the handler evolved in memory.
    if (const v1::PaymentsAccountView* cached = handler_.CachedAccountView(kTenant, kAccount)) {
      auto stored = LoadAccountView(*store_, kTenant, kAccount);
      ASSERT_TRUE(stored.ok()) << stored.status();
      ASSERT_EQ(stored->SerializeAsString(), cached->SerializeAsString())
          << "stored:\n"
          << stored->DebugString() << "cached:\n"
          << cached->DebugString();
    }
  }

  // Everything the read model holds for the account, in a comparable form.
  std::string Dump(const std::vector<std::string>& payment_ids) {
    std::string dump;
    auto view = LoadAccountView(*store_, kTenant, kAccount);
    EXPECT_TRUE(view.ok());
    dump += "view " + view->SerializeAsString() + "\n";
    for (const std::string& id : payment_ids) {
      auto payment = LoadPayment(*store_, kTenant, id);
      EXPECT_TRUE(payment.ok() && payment->has_value()) << id;
      dump += "payment " + (*payment)->SerializeAsString() + "\n";
    }
    for (const std::string& key :
         {Keys::Unapplied(kTenant, kAccount), Keys::Held(kTenant, kAccount)}) {
      auto cash = LoadCashByCurrency(*store_, key);
      dump += "cash " + cash->DebugString() + "\n";
    }
    auto list = store_->ZRange(Keys::PaymentsByValueDate(kTenant, kAccount), {});
    for (const auto& m : *list) dump += "listed " + m.member + "\n";
    for (const char* currency : {"EUR", "USD"}) {
      auto ledger = store_->ZRange(Keys::Ledger(kTenant, currency, kAccount), {});
      for (const auto& m : *ledger) dump += absl::StrCat("ledger ", m.score, " ", m.member, "\n");
      dump += Statement(currency).DebugString();
    }
    return dump;
  }

  v1::Statement Statement(const std::string& currency) {
    auto statement = LoadStatement(*store_, kTenant, kAccount, currency, DayNumberOf(D(2027, 1, 1)),
                                   DayNumberOf(D(2027, 12, 31)));
    EXPECT_TRUE(statement.ok()) << statement.status();
    return *statement;
  }

  store::Store& store() { return *store_; }
  PaymentsProjection& handler() { return handler_; }

 private:
  std::unique_ptr<store::Store> store_;
  PaymentsProjection handler_;
};

// The original timeline: decisions are taken the way the service takes them (on the read
// model), and every record is logged per topic.
class Timeline {
 public:
  void Invoicing(std::vector<v1::Event> events) { Log("ar.invoicing.events", std::move(events)); }
  void Collections(std::vector<v1::Event> events) {
    Log("ar.collections.events", std::move(events));
  }

  void Record(const v1::RecordPaymentRequest& request) {
    auto existing = LoadPayment(model_.store(), kTenant, request.payment_id());
    auto state = LoadAccountState(model_.store(), kTenant, kAccount);
    ASSERT_TRUE(existing.ok() && state.ok());
    auto outcome =
        DecideRecordPayment(request, existing->has_value() ? &**existing : nullptr, *state,
                            {RecordPaymentCommandId(request.payment_id()), 1, ""});
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    Log("ar.payments.events", outcome->events);
  }
  void Reverse(const std::string& payment_id) {
    v1::ReversePaymentRequest request;
    request.set_tenant(kTenant);
    request.set_payment_id(payment_id);
    request.set_reason("bounced");
    *request.mutable_reversal_date() = D(2027, 6, 1);
    auto payment = LoadPayment(model_.store(), kTenant, payment_id);
    ASSERT_TRUE(payment.ok() && payment->has_value());
    auto outcome =
        DecideReversePayment(request, &**payment, {ReversePaymentCommandId(payment_id), 1, ""});
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    Log("ar.payments.events", outcome->events);
  }
  // The reactor: after InvoiceIssued is applied, decide and publish (maybe twice, as after
  // a crash between publishing and committing the reactor's checkpoint).
  void React(const std::string& invoice_id, const std::string& source_event_id, int times = 1) {
    auto state = LoadAccountState(model_.store(), kTenant, kAccount);
    ASSERT_TRUE(state.ok());
    Outcome outcome = DecideInvoiceAppeared(invoice_id, *state, Settings{},
                                            {ReactionCommandId(source_event_id), 1, ""});
    for (int i = 0; i < times; ++i) {
      if (!outcome.events.empty()) Log("ar.payments.events", outcome.events);
    }
  }

  const std::map<std::string, std::vector<LoggedRecord>>& log() const { return log_; }
  ReadModel& model() { return model_; }

 private:
  void Log(const std::string& topic, std::vector<v1::Event> events) {
    std::vector<LoggedRecord>& records = log_[topic];
    records.push_back({topic, static_cast<int64_t>(records.size()), std::move(events)});
    model_.Apply(records.back());
  }

  ReadModel model_;
  std::map<std::string, std::vector<LoggedRecord>> log_;
};

v1::RecordPaymentRequest Payment(const std::string& id, int64_t amount, const std::string& currency,
                                 v1::Date value_date) {
  v1::RecordPaymentRequest request;
  *request.mutable_account() = Account(kAccount);
  request.set_payment_id(id);
  *request.mutable_amount() = Amount(amount, currency);
  request.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
  *request.mutable_value_date() = value_date;
  return request;
}

// A history with every kind of event, partial payments, a held allocation, unapplied cash
// applied later, a reversal, a write-off and a reaction published twice.
Timeline History() {
  Timeline t;
  t.Invoicing({InvoiceIssued("inv-1", 1000, D(2027, 1, 5), D(2027, 2, 1))});
  t.Invoicing({InvoiceIssued("inv-2", 500, D(2027, 1, 10), D(2027, 2, 15))});
  t.Invoicing({CreditNote("cn-1", "inv-2", 100, D(2027, 1, 20))});
  t.Invoicing({InvoiceIssued("inv-3", 300, D(2027, 1, 21), D(2027, 2, 21))});
  t.Invoicing({Cancelled("inv-3", D(2027, 1, 22))});
  t.Record(Payment("p1", 1200, "EUR", D(2027, 2, 1)));  // inv-1 1000, inv-2 200
  auto p2 = Payment("p2", 300, "EUR", D(2027, 2, 3));
  v1::PaymentAllocationLine* line = p2.add_allocations();
  line->set_invoice_id("inv-5");
  *line->mutable_amount() = Eur(250);
  t.Record(p2);  // held 250, unapplied 50
  v1::Event inv5 = InvoiceIssued("inv-5", 200, D(2027, 2, 4), D(2027, 3, 4));
  t.Invoicing({inv5});
  t.React("inv-5", inv5.event_id(), /*times=*/2);  // 200 from the hold, 50 released
  t.Record(Payment("p3", 700, "USD", D(2027, 2, 5)));
  v1::Event inv4 = InvoiceIssued("inv-4", 500, D(2027, 2, 6), D(2027, 3, 6), "USD");
  t.Invoicing({inv4});
  t.React("inv-4", inv4.event_id());  // p3's unapplied cash: 500
  t.Reverse("p1");                    // inv-1 and inv-2 open again
  t.Collections({WrittenOff("inv-2", 400, D(2027, 6, 30))});
  return t;
}

// Merges the topics' records: order within a topic kept, across topics by `pick`.
std::vector<LoggedRecord> Interleave(const std::map<std::string, std::vector<LoggedRecord>>& log,
                                     const std::function<size_t(size_t)>& pick) {
  std::vector<std::pair<const std::vector<LoggedRecord>*, size_t>> cursors;
  for (const auto& [topic, records] : log) cursors.push_back({&records, 0});
  std::vector<LoggedRecord> merged;
  while (true) {
    std::vector<size_t> live;
    for (size_t i = 0; i < cursors.size(); ++i) {
      if (cursors[i].second < cursors[i].first->size()) live.push_back(i);
    }
    if (live.empty()) break;
    auto& cursor = cursors[live[pick(live.size()) % live.size()]];
    merged.push_back((*cursor.first)[cursor.second++]);
  }
  return merged;
}

TEST(PaymentsProjection, ReadModelAndStatementDoNotDependOnCrossTopicInterleaving) {
  Timeline timeline = History();
  const std::vector<std::string> payments = {"p1", "p2", "p3"};
  const std::string original = timeline.model().Dump(payments);

  std::vector<std::function<size_t(size_t)>> orders = {
      [](size_t) { return size_t{0}; },      // collections, then invoicing, then payments
      [](size_t live) { return live - 1; },  // payments first
  };
  for (unsigned seed = 1; seed <= 20; ++seed) {
    auto rng = std::make_shared<std::mt19937>(seed);
    orders.push_back([rng](size_t live) { return static_cast<size_t>((*rng)() % live); });
  }
  for (size_t i = 0; i < orders.size(); ++i) {
    ReadModel replica;
    for (const LoggedRecord& record : Interleave(timeline.log(), orders[i])) replica.Apply(record);
    EXPECT_EQ(replica.Dump(payments), original) << "interleaving " << i;
    EXPECT_EQ(replica.handler().skipped_repeats(), 1);  // the reaction published twice
  }
}

TEST(PaymentsProjection, FiguresOfTheHistory) {
  Timeline timeline = History();
  ReadModel& model = timeline.model();
  auto p2 = LoadPayment(model.store(), kTenant, "p2");
  ASSERT_TRUE(p2.ok() && p2->has_value());
  EXPECT_EQ((*p2)->allocated().minor_units(), 200);
  EXPECT_EQ((*p2)->held().minor_units(), 0);
  EXPECT_EQ((*p2)->unapplied().minor_units(), 100);
  auto p1 = LoadPayment(model.store(), kTenant, "p1");
  EXPECT_TRUE((*p1)->reversed());
  auto unapplied = LoadCashByCurrency(model.store(), Keys::Unapplied(kTenant, kAccount));
  ASSERT_TRUE(unapplied.ok());
  ASSERT_EQ(unapplied->amounts_size(), 2);
  EXPECT_EQ(unapplied->amounts(0).currency(), "EUR");
  EXPECT_EQ(unapplied->amounts(0).minor_units(), 100);
  EXPECT_EQ(unapplied->amounts(1).currency(), "USD");
  EXPECT_EQ(unapplied->amounts(1).minor_units(), 200);
  auto view = LoadAccountView(model.store(), kTenant, kAccount);
  EXPECT_EQ(OpenAmount(*FindInvoice(*view, "inv-1")), 1000);  // reopened exactly
  EXPECT_EQ(OpenAmount(*FindInvoice(*view, "inv-2")), 0);     // written off
  EXPECT_EQ(OpenAmount(*FindInvoice(*view, "inv-5")), 0);
  EXPECT_THAT(view->open_payment_ids(), ::testing::ElementsAre("p2", "p3"));

  v1::Statement eur = model.Statement("EUR");
  int64_t debits = 0, credits = 0;
  for (const v1::StatementLine& line : eur.lines()) {
    debits += line.debit_minor();
    credits += line.credit_minor();
  }
  EXPECT_EQ(eur.opening_balance_minor(), 0);
  EXPECT_EQ(eur.closing_balance_minor(), eur.opening_balance_minor() + debits - credits);
  // 1000 + 500 - 100 + 300 - 300 - 1200 - 300 + 200 + 1200 - 400 = 900: inv-1 open again
  // (1000) minus p2's unapplied cash (100).
  EXPECT_EQ(eur.closing_balance_minor(), 900);
  EXPECT_EQ(eur.unapplied_cash_minor(), 100);
}

TEST(PaymentsProjection, RejectedRecordLeavesNoCachedState) {
  ReadModel model;
  v1::Event received = Envelope("e1");
  received.set_causation_id("record-payment:p1");
  received.mutable_payment_received()->set_payment_id("p1");
  *received.mutable_payment_received()->mutable_amount() = Eur(100);
  *received.mutable_payment_received()->mutable_value_date() = D(2027, 1, 1);
  v1::Event too_much = Envelope("e2");
  too_much.set_causation_id("record-payment:p1");
  too_much.mutable_payment_allocated()->set_payment_id("p1");
  too_much.mutable_payment_allocated()->set_invoice_id("i");
  *too_much.mutable_payment_allocated()->mutable_amount() = Eur(500);
  eventlog::Record source;
  source.topic = "ar.payments.events";
  store::WriteBatch batch;
  ASSERT_TRUE(model.handler().Apply(received, source, batch).ok());
  EXPECT_FALSE(model.handler().Apply(too_much, source, batch).ok());
  batch.Clear();  // what the runner does with a rejected record's writes
  // The next record records p1 properly: the rejected one left nothing behind.
  source.offset = 1;
  ASSERT_TRUE(model.handler().Apply(received, source, batch).ok());
}

}  // namespace
}  // namespace ar::payments
