// Invoicing and payments together, driven only through their gRPC APIs (real channels to
// servers on loopback ports), over each event log (embedded; Kafka mock cluster) and each
// store (memory; Redis). A seeded random history of commands with duplicates, conflicting
// re-uses of ids, partial payments, over-payments, explicit and automatic allocations,
// payments naming invoices issued only later, credit notes, cancellations, disputes and
// reversals runs concurrently over independent accounts; every command's outcome is
// predicted and checked as it goes, and at the end every balance, invoice, payment,
// unapplied-cash view and statement must equal an independent recomputation ("the
// model") written plainly below. The model uses no project code, only the proto types.
//
// Knobs (environment): AR_ITEST_SEED, AR_ITEST_OPS (commands, default 10000),
// AR_ITEST_ACCOUNTS (default 300), AR_ITEST_WORKERS (default 24).

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ar/v1/invoicing.grpc.pb.h"
#include "ar/v1/payments.grpc.pb.h"
#include "libs/eventlog/embedded_log.h"
#include "libs/eventlog/kafka_log.h"
#include "libs/eventlog/kafka_mock_cluster.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/memory_store.h"
#include "libs/store/redis_store.h"
#include "libs/testing/redis_server.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"
#include "services/invoicing/invoicing_service.h"
#include "services/payments/payments_service.h"

namespace ar {
namespace {

constexpr char kTenant[] = "acme";
constexpr int32_t kPartitions = 8;
constexpr char kInvoicingTopic[] = "ar.invoicing.events";
const std::vector<std::string> kTopics = {
    "ar.invoicing.events", "ar.payments.events", "ar.credit.events", "ar.collections.events",
    "ar.clock.events",     "ar.deadletter",      "ar.ingest.eu"};
const std::vector<std::string> kCurrencies = {"EUR", "USD", "JPY"};
const absl::CivilDay kFirstDay(2027, 1, 1);

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

v1::Date ToDate(absl::CivilDay day) {
  v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}
absl::CivilDay FromDate(const v1::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

v1::Money M(int64_t minor, const std::string& currency) {
  v1::Money money;
  money.set_minor_units(minor);
  money.set_currency(currency);
  return money;
}

std::string Pos(const v1::LogPosition& p) {
  return absl::StrCat(p.topic(), "/", p.partition(), "@", p.offset());
}
bool SamePos(const v1::LogPosition& a, const v1::LogPosition& b) {
  return a.topic() == b.topic() && a.partition() == b.partition() && a.offset() == b.offset();
}

// ---------------------------------------------------------------------------------------
// The model: the documented rules, written plainly.
// ---------------------------------------------------------------------------------------

// round half away from zero of num / den (den > 0), as services/invoicing/README.md says.
int64_t RoundDiv(__int128 num, int64_t den) {
  const bool negative = num < 0;
  __int128 magnitude = negative ? -num : num;
  __int128 quotient = magnitude / den;
  if (2 * (magnitude % den) >= den) ++quotient;
  return static_cast<int64_t>(negative ? -quotient : quotient);
}

struct MInvoice {
  v1::IssueInvoiceRequest request;  // as sent, for exact re-sends
  v1::LogPosition issued_at;
  std::string currency;
  absl::CivilDay issue, due;
  int64_t net = 0, tax = 0, total = 0;
  int64_t credited = 0, allocated = 0, disputed = 0;
  int credit_notes = 0;
  bool cancelled = false;

  int64_t Open() const {
    return cancelled ? 0 : std::max<int64_t>(0, total - credited - allocated);
  }
  v1::InvoiceStatus Status() const {
    if (cancelled) return v1::INVOICE_STATUS_CANCELLED;
    if (disputed > 0) return v1::INVOICE_STATUS_DISPUTED;
    if (Open() == 0) return allocated > 0 ? v1::INVOICE_STATUS_PAID : v1::INVOICE_STATUS_CREDITED;
    return allocated > 0 ? v1::INVOICE_STATUS_PARTIALLY_PAID : v1::INVOICE_STATUS_OPEN;
  }
};

struct MAllocation {
  std::string invoice_id;
  int64_t amount = 0;
  bool automatic = false;
  bool held = false;
  bool reversed = false;
  auto Key() const { return std::tie(invoice_id, amount, automatic, held, reversed); }
};

struct MPayment {
  v1::RecordPaymentRequest request;
  v1::LogPosition recorded_at;
  std::string currency;
  absl::CivilDay value_date;
  int64_t amount = 0, allocated = 0, held = 0, unapplied = 0;
  bool reversed = false;
  std::vector<MAllocation> allocations;  // holds with a zero amount are dropped
  bool CarriesCash() const { return !reversed && (unapplied > 0 || held > 0); }
};

// A statement line as the model predicts it (the event id is the service's business).
struct MLine {
  std::string currency;
  absl::CivilDay day;
  std::string kind, document, reference;
  int64_t debit = 0, credit = 0;
  auto Key() const { return std::tie(day, kind, document, reference, debit, credit); }
  std::string Describe() const {
    std::ostringstream out;
    out << day << " " << kind << " " << document << " ref=" << reference << " D" << debit << " C"
        << credit;
    return out.str();
  }
};

struct SentCreditNote {
  v1::IssueCreditNoteRequest request;
  v1::LogPosition position;
};
struct SentCancel {
  v1::CancelInvoiceRequest request;
  v1::LogPosition position;
};

struct Account {
  int index = 0;
  std::string id;
  std::vector<std::string> currencies;
  std::mt19937_64 rng;
  absl::CivilDay today = kFirstDay;
  int target_ops = 0;
  int ops = 0;  // commands sent
  int seq = 0;  // id counter
  bool failed = false;

  std::map<std::string, MInvoice> invoices;
  std::vector<std::string> invoice_ids;        // in issue order
  std::map<std::string, std::string> planned;  // invoice named by a held allocation -> its currency
  std::map<std::string, MPayment> payments;
  std::vector<std::string> payment_ids;
  std::vector<SentCreditNote> credit_notes;
  std::vector<SentCancel> cancels;
  std::vector<MLine> ledger;
  std::map<std::string, int> counts;  // what the history covered

  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }
  bool Chance(int percent) { return Uniform(0, 99) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Uniform(0, static_cast<int64_t>(items.size()) - 1)];
  }
  std::string NewId(const std::string& kind) { return absl::StrCat(kind, "-", id, "-", ++seq); }

  void AddLine(const std::string& currency, absl::CivilDay day, std::string kind,
               std::string document, std::string reference, int64_t debit, int64_t credit) {
    ledger.push_back(
        {currency, day, std::move(kind), std::move(document), std::move(reference), debit, credit});
  }

  // Open invoices in `currency`, oldest due date first, then issue date, then id.
  std::vector<MInvoice*> OpenOldestFirst(const std::string& currency) {
    std::vector<std::pair<std::string, MInvoice*>> open;
    for (auto& [invoice_id, invoice] : invoices) {
      if (invoice.currency == currency && invoice.Open() > 0)
        open.push_back({invoice_id, &invoice});
    }
    std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second->due, a.second->issue, a.first) <
             std::tie(b.second->due, b.second->issue, b.first);
    });
    std::vector<MInvoice*> out;
    for (auto& entry : open) out.push_back(entry.second);
    return out;
  }

  void Allocate(MPayment& payment, const std::string& invoice_id, int64_t amount, bool automatic,
                absl::CivilDay date) {
    MInvoice& invoice = invoices.at(invoice_id);
    invoice.allocated += amount;
    payment.allocated += amount;
    payment.allocations.push_back({invoice_id, amount, automatic, false, false});
    AddLine(payment.currency, date, "allocation", payment.request.payment_id(), invoice_id, 0, 0);
  }

  struct Reaction {
    bool events = false;
    bool allocations = false;
  };

  // What the payments service does when `invoice_id` appears: held allocations naming it
  // are applied (oldest payment first: value date, then id), what cannot be applied goes
  // to unapplied cash, then unapplied cash in its currency is applied (auto-apply is on by
  // default: payments::Settings and --auto_apply_unapplied_cash).
  Reaction InvoiceAppeared(const std::string& invoice_id) {
    Reaction reaction;
    MInvoice& invoice = invoices.at(invoice_id);
    std::vector<MPayment*> open;
    for (auto& [payment_id, payment] : payments) {
      if (payment.CarriesCash()) open.push_back(&payment);
    }
    std::sort(open.begin(), open.end(), [](const MPayment* a, const MPayment* b) {
      return std::make_tuple(a->value_date, a->request.payment_id()) <
             std::make_tuple(b->value_date, b->request.payment_id());
    });
    int64_t open_amount = invoice.Open();
    for (MPayment* payment : open) {
      for (size_t i = 0; i < payment->allocations.size(); ++i) {
        if (!payment->allocations[i].held || payment->allocations[i].invoice_id != invoice_id)
          continue;
        const int64_t held = payment->allocations[i].amount;
        const absl::CivilDay date = std::max(payment->value_date, invoice.issue);
        int64_t apply = 0;
        if (!invoice.cancelled && invoice.currency == payment->currency)
          apply = std::min(held, open_amount);
        payment->allocations[i].amount -= held;
        payment->held -= held;
        if (apply > 0) {
          reaction.events = reaction.allocations = true;
          Allocate(*payment, invoice_id, apply, /*automatic=*/false, date);
          open_amount -= apply;
        }
        if (held - apply > 0) {
          reaction.events = true;
          payment->unapplied += held - apply;
        }
      }
      std::erase_if(payment->allocations,
                    [](const MAllocation& a) { return a.held && a.amount == 0; });
    }
    for (MPayment* payment : open) {
      if (open_amount <= 0) break;
      if (payment->currency != invoice.currency) continue;
      const int64_t apply = std::min(payment->unapplied, open_amount);
      if (apply <= 0) continue;
      reaction.events = reaction.allocations = true;
      payment->unapplied -= apply;
      Allocate(*payment, invoice_id, apply, /*automatic=*/true,
               std::max(payment->value_date, invoice.issue));
      open_amount -= apply;
    }
    return reaction;
  }

  std::map<std::string, int64_t> OpenByCurrency() const {
    std::map<std::string, int64_t> open;
    for (const auto& [invoice_id, invoice] : invoices) {
      if (invoice.Open() != 0) open[invoice.currency] += invoice.Open();
    }
    return open;
  }
  std::map<std::string, int64_t> CashByCurrency(bool held) const {
    std::map<std::string, int64_t> cash;
    for (const auto& [payment_id, payment] : payments) {
      const int64_t amount = held ? payment.held : payment.unapplied;
      if (!payment.reversed && amount != 0) cash[payment.currency] += amount;
    }
    return cash;
  }
};

// ---------------------------------------------------------------------------------------
// The system under test.
// ---------------------------------------------------------------------------------------

struct Backends {
  std::string log;    // "Embedded" or "Kafka"
  std::string store;  // "Memory" or "Redis"
  friend void PrintTo(const Backends& b, std::ostream* os) { *os << b.log << "+" << b.store; }
};

class InvoicingPaymentsTest : public ::testing::TestWithParam<Backends> {
 protected:
  void SetUp() override {
    if (GetParam().log == "Kafka") {
      auto cluster = eventlog::KafkaMockCluster::Start(3);
      ASSERT_TRUE(cluster.ok()) << cluster.status();
      cluster_ = std::move(*cluster);
      // The mock has no CreateTopics API and auto-creates any topic a metadata request
      // names (with 4 partitions): every topic the services touch is created first.
      for (const std::string& topic : kTopics) {
        ASSERT_TRUE(cluster_->CreateTopic(topic, kPartitions).ok()) << topic;
      }
      eventlog::KafkaLogOptions options;
      options.bootstrap_servers = cluster_->bootstraps();
      options.properties = {
          {"session.timeout.ms", "6000"},
          {"heartbeat.interval.ms", "500"},
          // The mock broker holds an empty fetch for the full wait: keep it short.
          {"fetch.wait.max.ms", "10"},
          {"fetch.error.backoff.ms", "10"},
          {"topic.metadata.refresh.interval.ms", "1000"},
          {"reconnect.backoff.ms", "50"},
          {"reconnect.backoff.max.ms", "500"},
          {"retry.backoff.ms", "50"},
          {"linger.ms", "1"},
          {"partition.assignment.strategy", "cooperative-sticky"},
          // The mock keeps only the last 5 MiB of each partition.
          {"compression.type", "zstd"},
      };
      options.request_timeout = absl::Seconds(10);
      options.delivery_timeout = absl::Seconds(60);
      eventlog::KafkaMockCluster* cluster_ptr = cluster_.get();
      options.create_topic_override = [cluster_ptr](const eventlog::TopicSpec& spec) {
        return cluster_ptr->CreateTopic(spec.name, spec.partitions);
      };
      auto log = eventlog::OpenKafkaLog(options);
      ASSERT_TRUE(log.ok()) << log.status();
      log_ = std::move(*log);
    } else {
      eventlog::EmbeddedLogOptions options;
      options.data_dir = dir_.Join("log");
      options.create_if_missing = true;
      auto log = eventlog::OpenEmbeddedLog(options);
      ASSERT_TRUE(log.ok()) << log.status();
      log_ = std::move(*log);
    }
    if (GetParam().store == "Redis") {
      redis_ = std::make_unique<testing::RedisServer>();
      ASSERT_TRUE(redis_->Start().ok());
      store::RedisStoreOptions options;
      options.host = redis_->host();
      options.port = redis_->port();
      options.key_prefix = "itest:";
      options.max_idle_connections = 48;
      options.command_timeout = absl::Seconds(30);
      auto store = store::OpenRedisStore(options);
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = std::move(*store);
    } else {
      store_ = store::NewMemoryStore();
    }

    invoicing::InvoicingServiceOptions invoicing_options;
    invoicing_options.ingest_regions = {"eu"};
    invoicing_options.topic_partitions = kPartitions;
    invoicing_options.read_wait_timeout = absl::Seconds(30);
    invoicing_options.command_catch_up_timeout = absl::Seconds(60);
    auto invoicing = invoicing::InvoicingService::Create(*log_, *store_, invoicing_options);
    ASSERT_TRUE(invoicing.ok()) << invoicing.status();
    invoicing_ = std::move(*invoicing);

    payments::PaymentsService::Options
        payments_options;  // auto-apply of unapplied cash: default (on)
    payments_options.backend.topic_partitions = kPartitions;
    payments_options.api.read_wait_timeout = absl::Seconds(30);
    payments_options.command_catch_up_timeout = absl::Seconds(60);
    auto payments = payments::PaymentsService::Create(*log_, *store_, payments_options);
    ASSERT_TRUE(payments.ok()) << payments.status();
    payments_ = std::move(*payments);

    invoicing_server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    invoicing_server_->AddService(invoicing_->grpc_service());
    ASSERT_TRUE(invoicing_server_->Start().ok());
    payments_server_ = std::make_unique<servicekit::GrpcServer>("127.0.0.1:0");
    payments_server_->AddService(payments_->grpc_service());
    ASSERT_TRUE(payments_server_->Start().ok());

    const absl::Status invoicing_started = invoicing_->Start();
    ASSERT_TRUE(invoicing_started.ok()) << invoicing_started;
    const absl::Status payments_started = payments_->Start();
    ASSERT_TRUE(payments_started.ok()) << payments_started;

    invoicing_stub_ = v1::InvoicingService::NewStub(
        grpc::CreateChannel(invoicing_server_->address(), grpc::InsecureChannelCredentials()));
    payments_stub_ = v1::PaymentsService::NewStub(
        grpc::CreateChannel(payments_server_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (invoicing_server_) invoicing_server_->Shutdown(absl::Seconds(2));
    if (payments_server_) payments_server_->Shutdown(absl::Seconds(2));
    if (payments_) payments_->Stop();
    if (invoicing_) invoicing_->Stop();
    payments_.reset();
    invoicing_.reset();
    store_.reset();
    log_.reset();
    redis_.reset();
    cluster_.reset();
  }

  // ---- calls ----

  template <typename Stub, typename Request, typename Response>
  grpc::Status Call(Stub* stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    return (stub->*method)(&context, request, response);
  }
  template <typename Request, typename Response>
  grpc::Status Inv(grpc::Status (v1::InvoicingService::Stub::*method)(grpc::ClientContext*,
                                                                      const Request&, Response*),
                   const Request& request, Response* response) {
    return Call(invoicing_stub_.get(), method, request, response);
  }
  template <typename Request, typename Response>
  grpc::Status Pay(grpc::Status (v1::PaymentsService::Stub::*method)(grpc::ClientContext*,
                                                                     const Request&, Response*),
                   const Request& request, Response* response) {
    return Call(payments_stub_.get(), method, request, response);
  }

  // A query retried while the read model reports UNAVAILABLE (lagging past the wait).
  template <typename Fn>
  grpc::Status Retrying(Fn fn) {
    const absl::Time deadline = absl::Now() + absl::Seconds(180);
    while (true) {
      grpc::Status status = fn();
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() > deadline)
        return status;
    }
  }

  // ---- checks ----

  bool Fail(Account& a, const std::string& what) {
    if (!a.failed) {
      ADD_FAILURE() << "seed " << seed_ << ", account " << a.id << ", command #" << a.ops << ": "
                    << what;
    }
    a.failed = true;
    return false;
  }
  bool Expect(Account& a, bool condition, const std::string& what) {
    return condition || Fail(a, what);
  }

  bool ExpectCode(Account& a, const grpc::Status& status, grpc::StatusCode code,
                  const std::string& what, const std::string& message_part = "") {
    if (status.error_code() != code) {
      return Fail(a, absl::StrCat(what, ": expected code ", code, ", got ", status.error_code(),
                                  " (", status.error_message(), ")"));
    }
    if (!message_part.empty() && status.error_message().find(message_part) == std::string::npos) {
      return Fail(a, absl::StrCat(what, ": message '", status.error_message(), "' does not name '",
                                  message_part, "'"));
    }
    return true;
  }
  bool ExpectNew(Account& a, const grpc::Status& status, const v1::CommandResult& result,
                 const std::string& what) {
    if (!ExpectCode(a, status, grpc::StatusCode::OK, what)) return false;
    return Expect(
        a, !result.duplicate() && !result.position().topic().empty() && result.event_ids_size() > 0,
        what + ": not a fresh result: " + result.ShortDebugString());
  }
  bool ExpectDuplicate(Account& a, const grpc::Status& status, const v1::CommandResult& result,
                       const v1::LogPosition& original, const std::string& what) {
    if (!ExpectCode(a, status, grpc::StatusCode::OK, what)) return false;
    return Expect(a, result.duplicate() && SamePos(result.position(), original),
                  absl::StrCat(what, ": expected duplicate of ", Pos(original), ", got ",
                               result.ShortDebugString()));
  }

  // ---- read-your-writes across the services ----

  // The payments read model has applied an invoicing record.
  bool SyncPayments(Account& a, const v1::LogPosition& position) {
    v1::GetUnappliedCashRequest request;
    request.set_tenant(kTenant);
    request.set_account(a.id);
    *request.mutable_consistency()->mutable_min_position() = position;
    v1::UnappliedCash cash;
    grpc::Status status =
        Retrying([&] { return Pay(&v1::PaymentsService::Stub::GetUnappliedCash, request, &cash); });
    return ExpectCode(a, status, grpc::StatusCode::OK,
                      "payments catching up with " + Pos(position));
  }
  // The invoicing read model has applied a payments record.
  bool SyncInvoicing(Account& a, const v1::LogPosition& position) {
    v1::GetOpenBalanceRequest request;
    request.set_tenant(kTenant);
    request.set_account(a.id);
    *request.mutable_consistency()->mutable_min_position() = position;
    v1::OpenBalance balance;
    grpc::Status status = Retrying(
        [&] { return Inv(&v1::InvoicingService::Stub::GetOpenBalance, request, &balance); });
    return ExpectCode(a, status, grpc::StatusCode::OK,
                      "invoicing catching up with " + Pos(position));
  }
  bool WaitForCash(Account& a) {
    const auto unapplied = a.CashByCurrency(false);
    const auto held = a.CashByCurrency(true);
    std::string last;
    const bool matched = testing::WaitFor(
        [&] {
          v1::GetUnappliedCashRequest request;
          request.set_tenant(kTenant);
          request.set_account(a.id);
          v1::UnappliedCash cash;
          if (!Pay(&v1::PaymentsService::Stub::GetUnappliedCash, request, &cash).ok()) return false;
          last = cash.ShortDebugString();
          return ToMap(cash.unapplied()) == unapplied && ToMap(cash.held()) == held;
        },
        absl::Seconds(120));
    return Expect(a, matched, "the reaction's cash never showed: " + last);
  }

  bool WaitForInvoiceAllocated(Account& a, const std::string& invoice_id) {
    const int64_t expected = a.invoices.at(invoice_id).allocated;
    int64_t last = -1;
    const bool matched = testing::WaitFor(
        [&] {
          v1::GetInvoiceRequest request;
          request.set_tenant(kTenant);
          request.set_invoice_id(invoice_id);
          v1::Invoice invoice;
          if (!Inv(&v1::InvoicingService::Stub::GetInvoice, request, &invoice).ok()) return false;
          last = invoice.allocated().minor_units();
          return last == expected;
        },
        absl::Seconds(120));
    return Expect(a, matched,
                  absl::StrCat("invoicing never saw ", expected, " allocated to ", invoice_id,
                               " (last ", last, ")"));
  }

  // Sends the same new command twice at once (two clients racing): exactly one result is
  // fresh and the other is its duplicate, with the same position. Returns the fresh one.
  template <typename Send>
  grpc::Status SendTwiceAtOnce(Account& a, Send send, v1::CommandResult* result,
                               const std::string& what) {
    v1::CommandResult other;
    grpc::Status other_status;
    std::thread racer([&] { other_status = send(&other); });
    grpc::Status status = send(result);
    racer.join();
    ++a.ops;
    if (!status.ok()) return status;
    if (!other_status.ok()) return other_status;
    if (result->duplicate() == other.duplicate() ||
        !SamePos(result->position(), other.position())) {
      Fail(a, absl::StrCat(what, " sent twice at once: ", result->ShortDebugString(), " and ",
                           other.ShortDebugString()));
      return grpc::Status(grpc::StatusCode::INTERNAL, "not exactly one fresh result");
    }
    if (result->duplicate()) std::swap(*result, other);
    return status;
  }

  static std::map<std::string, int64_t> ToMap(const v1::MoneyByCurrency& amounts) {
    std::map<std::string, int64_t> out;
    for (const v1::Money& m : amounts.amounts()) out[m.currency()] += m.minor_units();
    return out;
  }

  // ---- the history ----

  void RunAccount(Account& a) {
    while (a.ops < a.target_ops && !a.failed) {
      a.today += a.Uniform(0, 2);
      const int r = static_cast<int>(a.Uniform(0, 99));
      if (a.invoices.empty() || r < 27) {
        IssueNewInvoice(a);
      } else if (r < 52) {
        RecordPayment(a);
      } else if (r < 61) {
        CreditNote(a);
      } else if (r < 65) {
        Cancel(a);
      } else if (r < 70) {
        DisputeOrResolve(a);
      } else if (r < 76) {
        Reverse(a);
      } else if (r < 90) {
        Duplicate(a);
      } else {
        Conflict(a);
      }
    }
  }

  v1::AccountRef Ref(const Account& a) {
    v1::AccountRef ref;
    ref.set_tenant(kTenant);
    ref.set_region("eu");
    ref.set_subsidiary("acme-de");
    ref.set_account(a.id);
    return ref;
  }

  std::string PickCurrency(Account& a) { return a.Pick(a.currencies); }

  bool IssueNewInvoice(Account& a) {
    std::string invoice_id, currency;
    if (!a.planned.empty() && a.Chance(50)) {
      auto it = a.planned.begin();
      std::advance(it, a.Uniform(0, static_cast<int64_t>(a.planned.size()) - 1));
      invoice_id = it->first;
      currency = it->second;
      a.planned.erase(it);
      ++a.counts["invoice issued after a payment named it"];
    } else {
      invoice_id = a.NewId("INV");
      currency = PickCurrency(a);
    }
    v1::IssueInvoiceRequest request;
    *request.mutable_account() = Ref(a);
    request.set_account_name("Customer " + a.id);
    request.set_invoice_id(invoice_id);
    request.set_invoice_number("N-" + invoice_id);
    *request.mutable_issue_date() = ToDate(a.today);
    request.set_currency(currency);

    MInvoice invoice;
    invoice.currency = currency;
    invoice.issue = a.today;
    const int terms = static_cast<int>(a.Uniform(0, 2));
    if (terms == 0) {
      invoice.due = a.today + a.Pick(std::vector<int>{0, 7, 14, 30, 45});
      *request.mutable_due_date() = ToDate(invoice.due);
    } else if (terms == 1) {
      const int days = a.Pick(std::vector<int>{0, 10, 30, 60});
      request.mutable_payment_terms()->set_kind(v1::PaymentTerms::KIND_NET_DAYS);
      request.mutable_payment_terms()->set_days(days);
      invoice.due = a.today + days;
    } else {
      const int days = a.Pick(std::vector<int>{0, 15, 30});
      request.mutable_payment_terms()->set_kind(v1::PaymentTerms::KIND_END_OF_MONTH_PLUS_DAYS);
      request.mutable_payment_terms()->set_days(days);
      invoice.due = absl::CivilDay(absl::CivilMonth(a.today) + 1) - 1 + days;
    }
    const bool jpy = currency == "JPY";
    const int line_count = static_cast<int>(a.Uniform(1, 4));
    for (int i = 0; i < line_count; ++i) {
      v1::InvoiceLineInput* line = request.add_lines();
      line->set_description(absl::StrCat("item ", i));
      line->set_quantity_milli(
          a.Chance(70) ? a.Pick(std::vector<int64_t>{1000, 2000, 500, 1500, 3333, 250, 12000})
                       : a.Uniform(1, 20000));
      line->set_unit_price_minor(jpy ? a.Uniform(1, 30000) : a.Uniform(1, 250000));
      line->set_tax_rate_bp(a.Pick(std::vector<int>{0, 500, 700, 825, 1000, 1900, 2000}));
    }
    if (a.Chance(10)) {  // a discount line
      v1::InvoiceLineInput* line = request.add_lines();
      line->set_description("discount");
      line->set_quantity_milli(1000);
      line->set_unit_price_minor(-a.Uniform(1, jpy ? 500 : 5000));
      line->set_tax_rate_bp(request.lines(0).tax_rate_bp());
    }
    const auto compute = [&] {
      invoice.net = invoice.tax = 0;
      for (const v1::InvoiceLineInput& line : request.lines()) {
        const int64_t net =
            RoundDiv(static_cast<__int128>(line.quantity_milli()) * line.unit_price_minor(), 1000);
        const int64_t tax = RoundDiv(static_cast<__int128>(net) * line.tax_rate_bp(), 10000);
        invoice.net += net;
        invoice.tax += tax;
      }
      invoice.total = invoice.net + invoice.tax;
    };
    compute();
    if (invoice.total <= 0) {
      request.mutable_lines()->RemoveLast();
      compute();
    }
    if (invoice.total <= 0)
      return true;  // cannot happen (first line is positive); keeps the model honest
    invoice.request = request;

    v1::CommandResult result;
    ++a.ops;
    grpc::Status status;
    if (a.Chance(5)) {
      ++a.counts["invoice sent twice at once"];
      status = SendTwiceAtOnce(
          a,
          [&](v1::CommandResult* r) {
            return Inv(&v1::InvoicingService::Stub::IssueInvoice, request, r);
          },
          &result, "IssueInvoice " + invoice_id);
    } else {
      status = Inv(&v1::InvoicingService::Stub::IssueInvoice, request, &result);
    }
    if (!ExpectNew(a, status, result, "IssueInvoice " + invoice_id)) return false;
    ++a.counts["invoice"];
    if (request.lines_size() > 1) ++a.counts["invoice with several lines"];
    invoice.issued_at = result.position();
    a.invoices[invoice_id] = invoice;
    a.invoice_ids.push_back(invoice_id);
    a.AddLine(currency, invoice.issue, "invoice", invoice_id, request.invoice_number(),
              invoice.total, 0);

    if (!SyncPayments(a, result.position())) return false;
    // No wait for the reactor itself: the payments service runs a command for an account
    // only after the reactions to the invoices it already shows (so the next payment or
    // reversal cannot overtake the reaction). Queries are not ordered that way, so a
    // reaction that moves cash is waited for through the queries below.
    const Account::Reaction reaction = a.InvoiceAppeared(invoice_id);
    if (reaction.events) {
      ++a.counts["reaction (held or unapplied cash applied/released)"];
      if (!WaitForCash(a)) return false;
    }
    if (reaction.allocations && !WaitForInvoiceAllocated(a, invoice_id)) return false;
    return true;
  }

  bool RecordPayment(Account& a) {
    std::string currency = PickCurrency(a);
    if (a.Chance(80)) {
      std::vector<std::string> open_currencies;
      for (const auto& [c, amount] : a.OpenByCurrency()) open_currencies.push_back(c);
      if (!open_currencies.empty()) currency = a.Pick(open_currencies);
    }
    const std::vector<MInvoice*> open = a.OpenOldestFirst(currency);
    int64_t open_total = 0;
    for (const MInvoice* invoice : open) open_total += invoice->Open();
    const bool jpy = currency == "JPY";

    v1::RecordPaymentRequest request;
    *request.mutable_account() = Ref(a);
    const std::string payment_id = a.NewId("PAY");
    request.set_payment_id(payment_id);
    request.set_method(static_cast<v1::PaymentMethod>(a.Uniform(1, 6)));
    *request.mutable_value_date() = ToDate(a.today);
    request.set_reference("ref " + payment_id);

    grpc::StatusCode expected = grpc::StatusCode::OK;
    std::string kind;
    std::vector<std::pair<std::string, int64_t>> lines;  // explicit allocations
    int64_t amount = 0;
    const int r = static_cast<int>(a.Uniform(0, 99));
    const auto future_invoice = [&](const std::string& payment_currency) {
      // An invoice the payer names before it is issued (planned, or a new id).
      if (!a.planned.empty() && a.Chance(30)) {
        for (const auto& [id, c] : a.planned) {
          if (c == payment_currency) return id;
        }
      }
      const std::string id = a.NewId("INV");
      std::string planned_currency = payment_currency;
      if (a.Chance(15)) planned_currency = a.Pick(kCurrencies);  // issued later in another currency
      a.planned[id] = planned_currency;
      return id;
    };
    if (r < 45 || (r < 85 && open.empty() && r < 75)) {
      kind = "automatic";
      if (open_total > 0) {
        const int how = static_cast<int>(a.Uniform(0, 99));
        if (how < 30) {
          amount = open_total;
          kind = "automatic, exact";
        } else if (how < 70) {
          amount = a.Uniform(1, std::max<int64_t>(1, open_total - 1));
          kind = "automatic, partial";
        } else {
          amount = open_total + a.Uniform(1, jpy ? 20000 : 200000);
          kind = "automatic, over-payment";
        }
      } else {
        amount = a.Uniform(100, jpy ? 50000 : 500000);
        kind = "automatic, nothing open";
      }
    } else if (r < 75) {
      kind = "explicit";
      std::vector<MInvoice*> chosen = open;
      std::shuffle(chosen.begin(), chosen.end(), a.rng);
      chosen.resize(std::min<size_t>(chosen.size(), a.Uniform(1, 3)));
      for (MInvoice* invoice : chosen) {
        const int64_t line = a.Chance(50) ? invoice->Open() : a.Uniform(1, invoice->Open());
        lines.push_back({invoice->request.invoice_id(), line});
        amount += line;
      }
      if (a.Chance(20)) {
        const int64_t held = a.Uniform(1, jpy ? 30000 : 300000);
        lines.push_back({future_invoice(currency), held});
        amount += held;
        kind = "explicit with an invoice issued later";
      }
      if (a.Chance(40)) {
        amount += a.Uniform(1, jpy ? 5000 : 50000);
        kind += ", leaving unapplied cash";
      }
    } else if (r < 85) {
      kind = "naming only invoices issued later";
      const int n = static_cast<int>(a.Uniform(1, 2));
      for (int i = 0; i < n; ++i) {
        const std::string id = future_invoice(currency);
        if (std::any_of(lines.begin(), lines.end(), [&](const auto& l) { return l.first == id; }))
          continue;
        const int64_t held = a.Uniform(1, jpy ? 30000 : 300000);
        lines.push_back({id, held});
        amount += held;
      }
      if (a.Chance(30)) amount += a.Uniform(1, 10000);
    } else {
      // Rejected: over-allocation, a cancelled invoice, an invoice in another currency.
      expected = grpc::StatusCode::FAILED_PRECONDITION;
      std::vector<const MInvoice*> cancelled, other_currency;
      for (const auto& [id, invoice] : a.invoices) {
        if (invoice.cancelled) cancelled.push_back(&invoice);
        if (!invoice.cancelled && invoice.currency != currency) other_currency.push_back(&invoice);
      }
      const int which = static_cast<int>(a.Uniform(0, 2));
      if (which == 0 && !open.empty()) {
        const MInvoice* invoice = a.Pick(open);
        const int64_t line = invoice->Open() + a.Uniform(1, 1000);
        lines.push_back({invoice->request.invoice_id(), line});
        amount = line + a.Uniform(0, 1000);
        kind = "rejected: over-allocation";
      } else if (which == 1 && !cancelled.empty()) {
        const MInvoice* invoice = a.Pick(cancelled);
        currency = invoice->currency;
        amount = a.Uniform(1, 10000);
        lines.push_back({invoice->request.invoice_id(), amount});
        kind = "rejected: cancelled invoice";
      } else if (!other_currency.empty()) {
        const MInvoice* invoice = a.Pick(other_currency);
        amount = a.Uniform(1, 10000);
        lines.push_back({invoice->request.invoice_id(), amount});
        kind = "rejected: invoice in another currency";
      } else {
        expected = grpc::StatusCode::INVALID_ARGUMENT;
        amount = a.Uniform(2, 10000);
        lines.push_back({a.NewId("INV"), amount + 1});
        kind = "rejected: allocation above the payment";
      }
    }
    if (amount <= 0) amount = 1;
    *request.mutable_amount() = M(amount, currency);
    for (const auto& [invoice_id, line] : lines) {
      v1::PaymentAllocationLine* allocation = request.add_allocations();
      allocation->set_invoice_id(invoice_id);
      *allocation->mutable_amount() = M(line, currency);
    }

    v1::CommandResult result;
    ++a.ops;
    grpc::Status status;
    if (expected == grpc::StatusCode::OK && a.Chance(5)) {
      ++a.counts["payment sent twice at once"];
      status = SendTwiceAtOnce(
          a,
          [&](v1::CommandResult* r) {
            return Pay(&v1::PaymentsService::Stub::RecordPayment, request, r);
          },
          &result, "RecordPayment " + payment_id);
    } else {
      status = Pay(&v1::PaymentsService::Stub::RecordPayment, request, &result);
    }
    ++a.counts["payment " + kind];
    if (expected != grpc::StatusCode::OK) {
      return ExpectCode(a, status, expected, "RecordPayment " + payment_id + " (" + kind + ")");
    }
    if (!ExpectNew(a, status, result, "RecordPayment " + payment_id + " (" + kind + ")"))
      return false;

    MPayment& payment = a.payments[payment_id];
    a.payment_ids.push_back(payment_id);
    payment.request = request;
    payment.recorded_at = result.position();
    payment.currency = currency;
    payment.value_date = a.today;
    payment.amount = amount;
    payment.unapplied = amount;
    a.AddLine(currency, a.today, "payment", payment_id, request.reference(), 0, amount);
    bool touched_invoicing = false;
    if (!lines.empty()) {
      for (const auto& [invoice_id, line] : lines) {
        payment.unapplied -= line;
        if (a.invoices.contains(invoice_id)) {
          a.Allocate(payment, invoice_id, line, /*automatic=*/false, a.today);
          touched_invoicing = true;
        } else {
          payment.held += line;
          payment.allocations.push_back({invoice_id, line, false, true, false});
        }
      }
    } else {
      for (MInvoice* invoice : open) {
        if (payment.unapplied == 0) break;
        const int64_t line = std::min(payment.unapplied, invoice->Open());
        payment.unapplied -= line;
        a.Allocate(payment, invoice->request.invoice_id(), line, /*automatic=*/true, a.today);
        touched_invoicing = true;
      }
    }
    return !touched_invoicing || SyncInvoicing(a, result.position());
  }

  bool CreditNote(Account& a) {
    std::vector<MInvoice*> open, cancelled, settled;
    for (auto& [id, invoice] : a.invoices) {
      if (invoice.cancelled) {
        cancelled.push_back(&invoice);
      } else if (invoice.Open() > 0) {
        open.push_back(&invoice);
      } else {
        settled.push_back(&invoice);
      }
    }
    v1::IssueCreditNoteRequest request;
    request.set_tenant(kTenant);
    request.set_credit_note_id(a.NewId("CN"));
    *request.mutable_issue_date() = ToDate(a.today);
    request.set_reason(a.Chance(50) ? "returned goods" : "price correction");
    MInvoice* invoice = nullptr;
    grpc::StatusCode expected = grpc::StatusCode::OK;
    std::string kind;
    const int r = static_cast<int>(a.Uniform(0, 99));
    if (r < 80 && !open.empty()) {
      invoice = a.Pick(open);
      const int64_t amount =
          a.Chance(20) ? invoice->Open() : a.Uniform(1, std::max<int64_t>(1, invoice->Open() / 2));
      *request.mutable_amount() = M(amount, invoice->currency);
      kind = amount == invoice->Open() ? "whole open balance" : "partial";
    } else if (r < 90 && (!open.empty() || !settled.empty())) {
      invoice = !settled.empty() && (open.empty() || a.Chance(50)) ? a.Pick(settled) : a.Pick(open);
      *request.mutable_amount() = M(invoice->Open() + a.Uniform(1, 500), invoice->currency);
      expected = grpc::StatusCode::FAILED_PRECONDITION;
      kind = "rejected: below zero";
    } else if (!cancelled.empty()) {
      invoice = a.Pick(cancelled);
      *request.mutable_amount() = M(1, invoice->currency);
      expected = grpc::StatusCode::FAILED_PRECONDITION;
      kind = "rejected: cancelled invoice";
    } else {
      request.set_invoice_id(a.NewId("INV-UNKNOWN"));
      *request.mutable_amount() = M(1, PickCurrency(a));
      expected = grpc::StatusCode::NOT_FOUND;
      kind = "rejected: unknown invoice";
    }
    if (invoice != nullptr) request.set_invoice_id(invoice->request.invoice_id());
    v1::CommandResult result;
    ++a.ops;
    grpc::Status status = Inv(&v1::InvoicingService::Stub::IssueCreditNote, request, &result);
    ++a.counts["credit note " + kind];
    const std::string what = "IssueCreditNote " + request.credit_note_id() + " (" + kind + ")";
    if (expected != grpc::StatusCode::OK) return ExpectCode(a, status, expected, what);
    if (!ExpectNew(a, status, result, what)) return false;
    invoice->credited += request.amount().minor_units();
    ++invoice->credit_notes;
    a.credit_notes.push_back({request, result.position()});
    a.AddLine(invoice->currency, a.today, "credit_note", request.credit_note_id(),
              request.invoice_id(), 0, request.amount().minor_units());
    return SyncPayments(a, result.position());
  }

  bool Cancel(Account& a) {
    std::vector<MInvoice*> unpaid, paid;
    for (auto& [id, invoice] : a.invoices) {
      if (invoice.cancelled) continue;
      (invoice.allocated == 0 ? unpaid : paid).push_back(&invoice);
    }
    if (unpaid.empty() && paid.empty()) return IssueNewInvoice(a);
    MInvoice* invoice =
        !unpaid.empty() && (paid.empty() || a.Chance(75)) ? a.Pick(unpaid) : a.Pick(paid);
    v1::CancelInvoiceRequest request;
    request.set_tenant(kTenant);
    request.set_invoice_id(invoice->request.invoice_id());
    request.set_reason(a.Chance(50) ? "issued in error" : "order cancelled");
    *request.mutable_cancel_date() = ToDate(a.today);
    const bool accept = invoice->allocated == 0;
    v1::CommandResult result;
    ++a.ops;
    grpc::Status status = Inv(&v1::InvoicingService::Stub::CancelInvoice, request, &result);
    ++a.counts[accept ? "cancellation" : "cancellation rejected: payments allocated"];
    const std::string what = "CancelInvoice " + request.invoice_id();
    if (!accept) return ExpectCode(a, status, grpc::StatusCode::FAILED_PRECONDITION, what);
    if (!ExpectNew(a, status, result, what)) return false;
    a.AddLine(invoice->currency, a.today, "cancellation", request.invoice_id(), request.reason(), 0,
              std::max<int64_t>(0, invoice->total - invoice->credited));
    invoice->cancelled = true;
    a.cancels.push_back({request, result.position()});
    return SyncPayments(a, result.position());
  }

  bool DisputeOrResolve(Account& a) {
    std::vector<MInvoice*> candidates;
    for (auto& [id, invoice] : a.invoices) {
      if (!invoice.cancelled || a.Chance(10)) candidates.push_back(&invoice);
    }
    if (candidates.empty()) return IssueNewInvoice(a);
    MInvoice* invoice = a.Pick(candidates);
    const std::string& invoice_id = invoice->request.invoice_id();
    v1::CommandResult result;
    grpc::Status status;
    grpc::StatusCode expected = grpc::StatusCode::OK;
    std::string kind;
    ++a.ops;
    if (invoice->disputed > 0 ? a.Chance(75) : a.Chance(10)) {
      v1::ResolveDisputeRequest request;
      request.set_tenant(kTenant);
      request.set_invoice_id(invoice_id);
      request.set_resolution("agreed");
      *request.mutable_resolution_date() = ToDate(a.today);
      status = Inv(&v1::InvoicingService::Stub::ResolveDispute, request, &result);
      if (invoice->disputed > 0) {
        kind = "dispute resolved";
        invoice->disputed = 0;
      } else {
        kind = "resolve rejected: no dispute";
        expected = grpc::StatusCode::FAILED_PRECONDITION;
      }
    } else {
      v1::DisputeInvoiceRequest request;
      request.set_tenant(kTenant);
      request.set_invoice_id(invoice_id);
      request.set_reason("quality");
      *request.mutable_dispute_date() = ToDate(a.today);
      const int64_t open = invoice->Open();
      int64_t amount = open;
      const int how = static_cast<int>(a.Uniform(0, 99));
      if (how < 40) {
        kind = "dispute of the whole balance";
      } else if (how < 90) {
        amount = a.Uniform(1, std::max<int64_t>(1, open));
        *request.mutable_disputed_amount() = M(amount, invoice->currency);
        kind = "dispute of a part";
      } else {
        amount = open + 1;
        *request.mutable_disputed_amount() = M(amount, invoice->currency);
        kind = "dispute above the open balance";
      }
      status = Inv(&v1::InvoicingService::Stub::DisputeInvoice, request, &result);
      if (invoice->cancelled || invoice->disputed > 0 || open == 0 || amount > open) {
        expected = grpc::StatusCode::FAILED_PRECONDITION;
        kind = "rejected " + kind;
      } else {
        invoice->disputed = amount;
      }
    }
    ++a.counts[kind];
    if (expected != grpc::StatusCode::OK)
      return ExpectCode(a, status, expected, kind + " " + invoice_id);
    return ExpectNew(a, status, result, kind + " " + invoice_id);
  }

  bool Reverse(Account& a) {
    if (a.payment_ids.empty()) return RecordPayment(a);
    std::vector<std::string> live;
    for (const std::string& id : a.payment_ids) {
      if (!a.payments.at(id).reversed) live.push_back(id);
    }
    const std::string payment_id =
        !live.empty() && a.Chance(85) ? a.Pick(live) : a.Pick(a.payment_ids);
    MPayment& payment = a.payments.at(payment_id);
    v1::ReversePaymentRequest request;
    request.set_tenant(kTenant);
    request.set_payment_id(payment_id);
    request.set_reason(a.Chance(70) ? "bounced" : "chargeback");
    *request.mutable_reversal_date() = ToDate(a.today);
    v1::CommandResult result;
    ++a.ops;
    grpc::Status status = Pay(&v1::PaymentsService::Stub::ReversePayment, request, &result);
    const std::string what = "ReversePayment " + payment_id;
    if (payment.reversed) {
      ++a.counts["reversal rejected: already reversed"];
      return ExpectCode(a, status, grpc::StatusCode::FAILED_PRECONDITION, what);
    }
    if (!ExpectNew(a, status, result, what)) return false;
    ++a.counts[payment.allocated > 0 ? "reversal re-opening invoices"
                                     : "reversal of unapplied/held cash"];
    bool touched_invoicing = false;
    for (MAllocation& allocation : payment.allocations) {
      if (allocation.held) continue;
      allocation.reversed = true;
      a.invoices.at(allocation.invoice_id).allocated -= allocation.amount;
      touched_invoicing = true;
    }
    std::erase_if(payment.allocations, [](const MAllocation& x) { return x.held; });
    payment.reversed = true;
    payment.allocated = payment.held = payment.unapplied = 0;
    a.AddLine(payment.currency, a.today, "reversal", payment_id, request.reason(), payment.amount,
              0);
    return !touched_invoicing || SyncInvoicing(a, result.position());
  }

  // An exact re-send of an earlier command: the original result, nothing published.
  bool Duplicate(Account& a) {
    const int r = static_cast<int>(a.Uniform(0, 99));
    v1::CommandResult result;
    if (r < 35 || (a.payment_ids.empty() && a.credit_notes.empty() && a.cancels.empty())) {
      const MInvoice& invoice = a.invoices.at(a.Pick(a.invoice_ids));
      ++a.ops;
      grpc::Status status =
          Inv(&v1::InvoicingService::Stub::IssueInvoice, invoice.request, &result);
      ++a.counts["duplicate invoice"];
      return ExpectDuplicate(a, status, result, invoice.issued_at,
                             "re-sent IssueInvoice " + invoice.request.invoice_id());
    }
    if (r < 75 && !a.payment_ids.empty()) {
      const MPayment& payment = a.payments.at(a.Pick(a.payment_ids));
      ++a.ops;
      grpc::Status status =
          Pay(&v1::PaymentsService::Stub::RecordPayment, payment.request, &result);
      ++a.counts["duplicate payment"];
      return ExpectDuplicate(a, status, result, payment.recorded_at,
                             "re-sent RecordPayment " + payment.request.payment_id());
    }
    if (r < 90 && !a.credit_notes.empty()) {
      const SentCreditNote& note = a.Pick(a.credit_notes);
      ++a.ops;
      grpc::Status status =
          Inv(&v1::InvoicingService::Stub::IssueCreditNote, note.request, &result);
      ++a.counts["duplicate credit note"];
      return ExpectDuplicate(a, status, result, note.position,
                             "re-sent IssueCreditNote " + note.request.credit_note_id());
    }
    if (!a.cancels.empty()) {
      const SentCancel& cancel = a.Pick(a.cancels);
      ++a.ops;
      grpc::Status status =
          Inv(&v1::InvoicingService::Stub::CancelInvoice, cancel.request, &result);
      ++a.counts["duplicate cancellation"];
      return ExpectDuplicate(a, status, result, cancel.position,
                             "re-sent CancelInvoice " + cancel.request.invoice_id());
    }
    return RecordPayment(a);
  }

  // An id re-used with different content: ALREADY_EXISTS naming the field; nothing changes.
  bool Conflict(Account& a) {
    const int r = static_cast<int>(a.Uniform(0, 99));
    v1::CommandResult result;
    if (r < 40 || a.payment_ids.empty()) {
      v1::IssueInvoiceRequest request = a.invoices.at(a.Pick(a.invoice_ids)).request;
      std::string field;
      const int how = static_cast<int>(a.Uniform(0, 2));
      if (how == 0) {
        request.mutable_lines(0)->set_quantity_milli(request.lines(0).quantity_milli() + 1000);
        field = "lines[0].quantity_milli";
      } else if (how == 1) {
        request.set_invoice_number(request.invoice_number() + "-B");
        field = "invoice_number";
      } else {
        request.mutable_account()->set_account("ghost-" + a.id);
        field = "account";
      }
      ++a.ops;
      grpc::Status status = Inv(&v1::InvoicingService::Stub::IssueInvoice, request, &result);
      ++a.counts["invoice id re-used with a different " + field];
      return ExpectCode(a, status, grpc::StatusCode::ALREADY_EXISTS,
                        "conflicting IssueInvoice " + request.invoice_id(), field);
    }
    if (r < 80 || a.credit_notes.empty()) {
      v1::RecordPaymentRequest request = a.payments.at(a.Pick(a.payment_ids)).request;
      std::string field;
      const int how = static_cast<int>(a.Uniform(0, 2));
      if (how == 0) {
        request.mutable_amount()->set_minor_units(request.amount().minor_units() + 1);
        field = "amount";
      } else if (how == 1) {
        request.set_reference(request.reference() + " (again)");
        field = "reference";
      } else {
        request.mutable_account()->set_account("ghost-" + a.id);
        field = "account";
      }
      ++a.ops;
      grpc::Status status = Pay(&v1::PaymentsService::Stub::RecordPayment, request, &result);
      ++a.counts["payment id re-used with a different " + field];
      return ExpectCode(a, status, grpc::StatusCode::ALREADY_EXISTS,
                        "conflicting RecordPayment " + request.payment_id(), field);
    }
    v1::IssueCreditNoteRequest request = a.Pick(a.credit_notes).request;
    request.mutable_amount()->set_minor_units(request.amount().minor_units() + 1);
    ++a.ops;
    grpc::Status status = Inv(&v1::InvoicingService::Stub::IssueCreditNote, request, &result);
    ++a.counts["credit note id re-used with a different amount"];
    return ExpectCode(a, status, grpc::StatusCode::ALREADY_EXISTS,
                      "conflicting IssueCreditNote " + request.credit_note_id(), "amount");
  }

  // ---- the final comparison ----

  void Verify(Account& a) {
    if (a.failed) return;
    const std::string at = absl::StrCat("seed ", seed_, ", account ", a.id, ": ");
    // Open balance per currency (invoicing).
    {
      v1::GetOpenBalanceRequest request;
      request.set_tenant(kTenant);
      request.set_account(a.id);
      v1::OpenBalance balance;
      grpc::Status status = Inv(&v1::InvoicingService::Stub::GetOpenBalance, request, &balance);
      ASSERT_TRUE(status.ok()) << at << status.error_message();
      EXPECT_EQ(ToMap(balance.open()), a.OpenByCurrency())
          << at << "open balance " << balance.ShortDebugString();
    }
    // Every invoice.
    for (const auto& [invoice_id, model] : a.invoices) {
      v1::GetInvoiceRequest request;
      request.set_tenant(kTenant);
      request.set_invoice_id(invoice_id);
      v1::Invoice invoice;
      grpc::Status status = Inv(&v1::InvoicingService::Stub::GetInvoice, request, &invoice);
      ASSERT_TRUE(status.ok()) << at << invoice_id << ": " << status.error_message();
      const std::string what = at + "invoice " + invoice_id;
      EXPECT_EQ(invoice.status(), model.Status())
          << what << ": " << v1::InvoiceStatus_Name(invoice.status()) << " vs "
          << v1::InvoiceStatus_Name(model.Status());
      EXPECT_EQ(invoice.net_total().minor_units(), model.net) << what;
      EXPECT_EQ(invoice.tax_total().minor_units(), model.tax) << what;
      EXPECT_EQ(invoice.total().minor_units(), model.total) << what;
      EXPECT_EQ(invoice.total().currency(), model.currency) << what;
      EXPECT_EQ(invoice.open_balance().minor_units(), model.Open()) << what;
      EXPECT_EQ(invoice.credited().minor_units(), model.credited) << what;
      EXPECT_EQ(invoice.allocated().minor_units(), model.allocated) << what;
      EXPECT_EQ(invoice.disputed().minor_units(), model.disputed) << what;
      EXPECT_EQ(invoice.cancelled(), model.cancelled) << what;
      EXPECT_EQ(FromDate(invoice.due_date()), model.due) << what;
      EXPECT_EQ(invoice.credit_notes_size(), model.credit_notes) << what;
      EXPECT_EQ(invoice.lines_size(), model.request.lines_size()) << what;
    }
    // Invoices named by payments but never issued stay unknown to invoicing.
    for (const auto& [invoice_id, currency] : a.planned) {
      v1::GetInvoiceRequest request;
      request.set_tenant(kTenant);
      request.set_invoice_id(invoice_id);
      v1::Invoice invoice;
      EXPECT_EQ(Inv(&v1::InvoicingService::Stub::GetInvoice, request, &invoice).error_code(),
                grpc::StatusCode::NOT_FOUND)
          << at << invoice_id;
    }
    // The account's invoice list (paged).
    {
      int listed = 0;
      v1::ListInvoicesRequest request;
      request.set_tenant(kTenant);
      request.set_account(a.id);
      request.set_page_size(7);
      while (true) {
        v1::ListInvoicesResponse page;
        grpc::Status status = Inv(&v1::InvoicingService::Stub::ListInvoices, request, &page);
        ASSERT_TRUE(status.ok()) << at << status.error_message();
        listed += page.invoices_size();
        if (page.next_page_token().empty()) break;
        request.set_page_token(page.next_page_token());
      }
      EXPECT_EQ(listed, static_cast<int>(a.invoices.size())) << at << "ListInvoices";
    }
    // Every payment.
    for (const auto& [payment_id, model] : a.payments) {
      v1::GetPaymentRequest request;
      request.set_tenant(kTenant);
      request.set_payment_id(payment_id);
      v1::Payment payment;
      grpc::Status status = Pay(&v1::PaymentsService::Stub::GetPayment, request, &payment);
      ASSERT_TRUE(status.ok()) << at << payment_id << ": " << status.error_message();
      const std::string what = at + "payment " + payment_id;
      EXPECT_EQ(payment.amount().minor_units(), model.amount) << what;
      EXPECT_EQ(payment.allocated().minor_units(), model.allocated) << what;
      EXPECT_EQ(payment.held().minor_units(), model.held) << what;
      EXPECT_EQ(payment.unapplied().minor_units(), model.unapplied) << what;
      EXPECT_EQ(payment.reversed(), model.reversed) << what;
      std::vector<MAllocation> actual;
      for (const v1::Allocation& x : payment.allocations()) {
        actual.push_back(
            {x.invoice_id(), x.amount().minor_units(), x.automatic(), x.held(), x.reversed()});
      }
      std::vector<MAllocation> expected = model.allocations;
      const auto by_key = [](const MAllocation& l, const MAllocation& r) {
        return l.Key() < r.Key();
      };
      std::sort(actual.begin(), actual.end(), by_key);
      std::sort(expected.begin(), expected.end(), by_key);
      EXPECT_TRUE(
          std::equal(actual.begin(), actual.end(), expected.begin(), expected.end(),
                     [](const MAllocation& l, const MAllocation& r) { return l.Key() == r.Key(); }))
          << what << ": allocations " << payment.ShortDebugString();
    }
    // The account's payment list (paged).
    {
      int listed = 0;
      v1::ListPaymentsRequest request;
      request.set_tenant(kTenant);
      request.set_account(a.id);
      request.set_page_size(5);
      while (true) {
        v1::ListPaymentsResponse page;
        grpc::Status status = Pay(&v1::PaymentsService::Stub::ListPayments, request, &page);
        ASSERT_TRUE(status.ok()) << at << status.error_message();
        listed += page.payments_size();
        if (page.next_page_token().empty()) break;
        request.set_page_token(page.next_page_token());
      }
      EXPECT_EQ(listed, static_cast<int>(a.payments.size())) << at << "ListPayments";
    }
    // Unapplied and held cash (payments).
    {
      v1::GetUnappliedCashRequest request;
      request.set_tenant(kTenant);
      request.set_account(a.id);
      v1::UnappliedCash cash;
      grpc::Status status = Pay(&v1::PaymentsService::Stub::GetUnappliedCash, request, &cash);
      ASSERT_TRUE(status.ok()) << at << status.error_message();
      EXPECT_EQ(ToMap(cash.unapplied()), a.CashByCurrency(false)) << at << "unapplied";
      EXPECT_EQ(ToMap(cash.held()), a.CashByCurrency(true)) << at << "held";
      std::set<std::string> open_ids, expected_ids;
      for (const v1::Payment& p : cash.payments()) open_ids.insert(p.payment_id());
      for (const auto& [id, p] : a.payments) {
        if (p.CarriesCash()) expected_ids.insert(id);
      }
      EXPECT_EQ(open_ids, expected_ids) << at << "payments carrying cash";
    }
    // Statements, one per currency, over the whole period.
    for (const std::string& currency : kCurrencies) {
      v1::GetStatementRequest request;
      request.set_tenant(kTenant);
      request.set_account(a.id);
      request.set_currency(currency);
      *request.mutable_from() = ToDate(kFirstDay);
      *request.mutable_to() = ToDate(absl::CivilDay(2030, 12, 31));
      v1::Statement statement;
      grpc::Status status = Pay(&v1::PaymentsService::Stub::GetStatement, request, &statement);
      ASSERT_TRUE(status.ok()) << at << status.error_message();
      const std::string what = at + "statement in " + currency;
      std::vector<MLine> expected;
      int64_t debits = 0, credits = 0;
      for (const MLine& line : a.ledger) {
        if (line.currency != currency) continue;
        expected.push_back(line);
        debits += line.debit;
        credits += line.credit;
      }
      int64_t unapplied = 0;
      for (const auto& [id, p] : a.payments) {
        if (p.currency == currency && !p.reversed) unapplied += p.unapplied + p.held;
      }
      std::vector<MLine> actual;
      int64_t actual_debits = 0, actual_credits = 0, running = statement.opening_balance_minor();
      bool running_ok = true;
      absl::CivilDay previous = kFirstDay;
      bool ordered = true;
      for (const v1::StatementLine& line : statement.lines()) {
        actual.push_back({currency, FromDate(line.date()), line.kind(), line.document(),
                          line.reference(), line.debit_minor(), line.credit_minor()});
        actual_debits += line.debit_minor();
        actual_credits += line.credit_minor();
        running += line.debit_minor() - line.credit_minor();
        running_ok = running_ok && running == line.balance_minor();
        ordered = ordered && !(FromDate(line.date()) < previous);
        previous = FromDate(line.date());
      }
      EXPECT_EQ(statement.opening_balance_minor(), 0) << what;
      EXPECT_EQ(statement.closing_balance_minor(), debits - credits) << what;
      EXPECT_EQ(statement.lines_size(), static_cast<int>(expected.size())) << what;
      EXPECT_EQ(actual_debits, debits) << what;
      EXPECT_EQ(actual_credits, credits) << what;
      EXPECT_EQ(statement.unapplied_cash_minor(), unapplied) << what;
      EXPECT_TRUE(running_ok) << what << ": running balances do not add up";
      EXPECT_TRUE(ordered) << what << ": lines not in date order";
      const auto by_key = [](const MLine& l, const MLine& r) { return l.Key() < r.Key(); };
      std::sort(actual.begin(), actual.end(), by_key);
      std::sort(expected.begin(), expected.end(), by_key);
      for (size_t i = 0; i < std::max(actual.size(), expected.size()); ++i) {
        const std::string got = i < actual.size() ? actual[i].Describe() : "(none)";
        const std::string want = i < expected.size() ? expected[i].Describe() : "(none)";
        if (got != want) {
          ADD_FAILURE() << what << ": first differing line (sorted) #" << i << ": got " << got
                        << ", expected " << want;
          break;
        }
      }
      // A later period opens with what the lines before it add up to.
      const absl::CivilDay from = kFirstDay + 30;
      *request.mutable_from() = ToDate(from);
      v1::Statement later;
      status = Pay(&v1::PaymentsService::Stub::GetStatement, request, &later);
      ASSERT_TRUE(status.ok()) << at << status.error_message();
      int64_t opening = 0;
      int later_lines = 0;
      for (const MLine& line : expected) {
        if (line.day < from) {
          opening += line.debit - line.credit;
        } else {
          ++later_lines;
        }
      }
      EXPECT_EQ(later.opening_balance_minor(), opening) << what << " from " << from;
      EXPECT_EQ(later.closing_balance_minor(), debits - credits) << what << " from " << from;
      EXPECT_EQ(later.lines_size(), later_lines) << what << " from " << from;
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<eventlog::KafkaMockCluster> cluster_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<invoicing::InvoicingService> invoicing_;
  std::unique_ptr<payments::PaymentsService> payments_;
  std::unique_ptr<servicekit::GrpcServer> invoicing_server_;
  std::unique_ptr<servicekit::GrpcServer> payments_server_;
  std::unique_ptr<v1::InvoicingService::Stub> invoicing_stub_;
  std::unique_ptr<v1::PaymentsService::Stub> payments_stub_;
  uint64_t seed_ = 0;
};

TEST_P(InvoicingPaymentsTest, RandomHistoryEndsEqualToTheModel) {
  seed_ = static_cast<uint64_t>(EnvInt("AR_ITEST_SEED", 20270101));
  const int total_ops = EnvInt("AR_ITEST_OPS", 10000);
  const int account_count = EnvInt("AR_ITEST_ACCOUNTS", 300);
  const int worker_count = std::min(EnvInt("AR_ITEST_WORKERS", 24), account_count);
  std::cout << "seed " << seed_ << " (AR_ITEST_SEED), " << total_ops << " commands over "
            << account_count << " accounts, " << worker_count << " workers" << std::endl;
  SCOPED_TRACE(absl::StrCat("seed ", seed_));

  std::vector<Account> accounts(account_count);
  for (int i = 0; i < account_count; ++i) {
    Account& a = accounts[i];
    a.index = i;
    a.id = absl::StrCat("C", i);
    a.rng.seed(seed_ * 1'000'003 + static_cast<uint64_t>(i));
    a.target_ops = total_ops / account_count + (i < total_ops % account_count ? 1 : 0);
    std::vector<std::string> currencies = kCurrencies;
    std::shuffle(currencies.begin(), currencies.end(), a.rng);
    const int r = static_cast<int>(a.Uniform(0, 99));
    currencies.resize(r < 50 ? 1 : r < 85 ? 2 : 3);
    a.currencies = currencies;
  }

  const absl::Time start = absl::Now();
  const auto run_workers = [&](auto body) {
    std::vector<std::thread> workers;
    for (int w = 0; w < worker_count; ++w) {
      workers.emplace_back([&, w] {
        for (int i = w; i < account_count; i += worker_count) body(accounts[i]);
      });
    }
    for (std::thread& t : workers) t.join();
  };
  run_workers([&](Account& a) { RunAccount(a); });
  const absl::Duration history_time = absl::Now() - start;
  run_workers([&](Account& a) { Verify(a); });
  const absl::Duration total_time = absl::Now() - start;

  int commands = 0;
  std::map<std::string, int> counts;
  for (const Account& a : accounts) {
    commands += a.ops;
    for (const auto& [kind, n] : a.counts) counts[kind] += n;
  }
  std::cout << commands << " commands in " << absl::FormatDuration(history_time) << " ("
            << static_cast<int>(commands / absl::ToDoubleSeconds(history_time))
            << "/s), verified after " << absl::FormatDuration(total_time) << std::endl;
  for (const auto& [kind, n] : counts) std::cout << "  " << n << "  " << kind << std::endl;
  EXPECT_GE(commands, total_ops);
  if (HasFailure())
    std::cout << "FAILED with seed " << seed_ << " (AR_ITEST_SEED=" << seed_ << ")" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Backends, InvoicingPaymentsTest,
                         ::testing::Values(Backends{"Embedded", "Memory"},
                                           Backends{"Embedded", "Redis"},
                                           Backends{"Kafka", "Memory"}, Backends{"Kafka", "Redis"}),
                         [](const ::testing::TestParamInfo<Backends>& info) {
                           return info.param.log + "_" + info.param.store;
                         });

}  // namespace
}  // namespace ar
