// Two replicas of invoicing and two of payments in one process, each with its own Kafka
// client (librdkafka's mock cluster), its own Redis connection to one shared redis-server
// and its own gRPC server. The same invoices and payments are sent concurrently to BOTH
// replicas of their service, several times each; then one payments replica stops while
// commands keep coming. Every invoice must be issued once, every payment received once,
// nothing allocated twice, and the balances must be what one replica would have produced.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ar/v1/invoicing.grpc.pb.h"
#include "ar/v1/payments.grpc.pb.h"
#include "libs/eventlog/kafka_log.h"
#include "libs/eventlog/kafka_mock_cluster.h"
#include "libs/servicekit/grpc_server.h"
#include "libs/store/redis_store.h"
#include "libs/testing/log_reader.h"
#include "libs/testing/ports.h"
#include "libs/testing/redis_server.h"
#include "libs/testing/wait.h"
#include "services/invoicing/invoicing_service.h"
#include "services/payments/payments_service.h"
#include "services/payments/projection/payments_projection.h"

namespace ar::payments {
namespace {

constexpr char kTenant[] = "acme";
constexpr int32_t kPartitions = 4;
constexpr int kAccounts = 8;
constexpr int kInvoicesPerAccount = 2;
constexpr int64_t kInvoiceAmount = 1000'00;
constexpr int64_t kPaymentAmount = 300'00;
constexpr int kPaymentsBeforeStop = 6;
constexpr int kPaymentsAfterStop = 3;
const std::vector<std::string> kTopics = {
    "ar.invoicing.events", "ar.payments.events", "ar.credit.events", "ar.collections.events",
    "ar.clock.events",     "ar.deadletter",      "ar.ingest.eu"};

std::string Account(int a) { return absl::StrCat("acct-", a); }
std::string PaymentId(int a, int p) { return absl::StrCat("pay-", a, "-", p); }

v1::AccountRef Ref(int a) {
  v1::AccountRef ref;
  ref.set_tenant(kTenant);
  ref.set_region("eu");
  ref.set_subsidiary("eu-1");
  ref.set_account(Account(a));
  return ref;
}

v1::Date Day(int day) {
  v1::Date date;
  date.set_year(2027);
  date.set_month(1);
  date.set_day(day);
  return date;
}

v1::RecordPaymentRequest Payment(int a, int p) {
  v1::RecordPaymentRequest request;
  *request.mutable_account() = Ref(a);
  request.set_payment_id(PaymentId(a, p));
  request.mutable_amount()->set_minor_units(kPaymentAmount);
  request.mutable_amount()->set_currency("EUR");
  request.set_method(v1::PAYMENT_METHOD_BANK_TRANSFER);
  *request.mutable_value_date() = Day(10);
  return request;
}

// Moving ownership answers UNAVAILABLE; a replica shutting down may also cancel a call.
bool Retryable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::CANCELLED ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

template <typename Call>
grpc::Status WithRetries(Call call) {
  const absl::Time give_up = absl::Now() + absl::Seconds(90);
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    grpc::Status status = call(context);
    if (!Retryable(status) || absl::Now() > give_up) return status;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

eventlog::KafkaLogOptions ClientOptions(eventlog::KafkaMockCluster& cluster) {
  eventlog::KafkaLogOptions options = cluster.ClientOptions();
  // Commands wait for their read model: new records must reach it promptly.
  options.properties["fetch.wait.max.ms"] = "10";
  options.properties["fetch.error.backoff.ms"] = "10";
  options.properties["linger.ms"] = "1";
  options.properties["partition.assignment.strategy"] = "cooperative-sticky";
  return options;
}

// One replica: its own log client, store connection, service and gRPC server.
struct Replica {
  std::unique_ptr<eventlog::EventLog> log;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<PaymentsService> service;
  std::unique_ptr<servicekit::GrpcServer> server;
  std::unique_ptr<v1::PaymentsService::Stub> stub;

  void Stop() {
    if (server) server->Shutdown(absl::Seconds(2));
    if (service) service->Stop();
  }
};

struct InvoicingReplica {
  std::unique_ptr<eventlog::EventLog> log;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<invoicing::InvoicingService> service;
  std::unique_ptr<servicekit::GrpcServer> server;
  std::unique_ptr<v1::InvoicingService::Stub> stub;

  void Stop() {
    if (server) server->Shutdown(absl::Seconds(2));
    if (service) service->Stop();
  }
};

class PaymentsReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = eventlog::KafkaMockCluster::Start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    for (const std::string& topic : kTopics) {
      ASSERT_TRUE(cluster_->CreateTopic(topic, kPartitions).ok()) << topic;
    }
    redis_ = std::make_unique<testing::RedisServer>();
    ASSERT_TRUE(redis_->Start().ok());

    // Two invoicing replicas issue the invoices the payments are allocated to.
    for (InvoicingReplica& replica : invoicing_) {
      ASSERT_NO_FATAL_FAILURE(StartInvoicingReplica(replica));
    }
    for (Replica& replica : replicas_) ASSERT_NO_FATAL_FAILURE(StartReplica(replica));
  }

  void TearDown() override {
    for (Replica& replica : replicas_) replica.Stop();
    for (InvoicingReplica& replica : invoicing_) replica.Stop();
  }

  absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenLog() {
    return eventlog::OpenKafkaLog(ClientOptions(*cluster_));
  }
  absl::StatusOr<std::unique_ptr<store::Store>> OpenStore() {
    store::RedisStoreOptions options;
    options.host = redis_->host();
    options.port = redis_->port();
    options.key_prefix = "replicas:";
    options.max_idle_connections = 16;
    options.command_timeout = absl::Seconds(30);
    return store::OpenRedisStore(options);
  }

  void StartReplica(Replica& replica) {
    auto log = OpenLog();
    ASSERT_TRUE(log.ok()) << log.status();
    replica.log = std::move(*log);
    auto store = OpenStore();
    ASSERT_TRUE(store.ok()) << store.status();
    replica.store = std::move(*store);
    // The advertised address must be known before the service exists.
    const std::string address = absl::StrCat("127.0.0.1:", testing::FreeLoopbackPort());
    PaymentsService::Options options;
    options.backend.topic_partitions = kPartitions;
    options.advertise_address = address;
    options.command_catch_up_timeout = absl::Seconds(30);
    auto service = PaymentsService::Create(*replica.log, *replica.store, options);
    ASSERT_TRUE(service.ok()) << service.status();
    replica.service = std::move(*service);
    replica.server = std::make_unique<servicekit::GrpcServer>(address);
    replica.server->AddService(replica.service->grpc_service());
    ASSERT_TRUE(replica.server->Start().ok());
    const absl::Status started = replica.service->Start();
    ASSERT_TRUE(started.ok()) << started;
    replica.stub = v1::PaymentsService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  void StartInvoicingReplica(InvoicingReplica& replica) {
    auto log = OpenLog();
    ASSERT_TRUE(log.ok()) << log.status();
    replica.log = std::move(*log);
    auto store = OpenStore();
    ASSERT_TRUE(store.ok()) << store.status();
    replica.store = std::move(*store);
    const std::string address = absl::StrCat("127.0.0.1:", testing::FreeLoopbackPort());
    invoicing::InvoicingServiceOptions options;
    options.ingest_regions = {};
    options.topic_partitions = kPartitions;
    options.advertise_address = address;
    options.command_catch_up_timeout = absl::Seconds(30);
    auto service = invoicing::InvoicingService::Create(*replica.log, *replica.store, options);
    ASSERT_TRUE(service.ok()) << service.status();
    replica.service = std::move(*service);
    replica.server = std::make_unique<servicekit::GrpcServer>(address);
    replica.server->AddService(replica.service->grpc_service());
    ASSERT_TRUE(replica.server->Start().ok());
    const absl::Status started = replica.service->Start();
    ASSERT_TRUE(started.ok()) << started;
    replica.stub = v1::InvoicingService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  int OwnedPartitions(const Replica& replica) const {
    int owned = 0;
    for (int32_t p = 0; p < kPartitions; ++p) {
      if (replica.service->ownership()->Owns(p)) ++owned;
    }
    return owned;
  }

  // Sends each payment to `replica` until it is accepted; records failures.
  void SendPayments(Replica& replica, const std::vector<std::pair<int, int>>& payments) {
    for (const auto& [a, p] : payments) {
      const v1::RecordPaymentRequest request = Payment(a, p);
      v1::CommandResult result;
      grpc::Status status = WithRetries([&](grpc::ClientContext& context) {
        return replica.stub->RecordPayment(&context, request, &result);
      });
      if (!status.ok()) {
        failures_.fetch_add(1);
        ADD_FAILURE() << PaymentId(a, p) << ": " << status.error_message();
      }
    }
  }

  std::unique_ptr<eventlog::KafkaMockCluster> cluster_;
  std::unique_ptr<testing::RedisServer> redis_;
  InvoicingReplica invoicing_[2];
  Replica replicas_[2];
  std::atomic<int> failures_{0};
};

TEST_F(PaymentsReplicasTest, CommandsSentToBothReplicasTakeEffectOnceAndSurviveAStop) {
  // The partitions of ar.payments.events end up shared, each owned by exactly one replica.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return OwnedPartitions(replicas_[0]) > 0 && OwnedPartitions(replicas_[1]) > 0 &&
               OwnedPartitions(replicas_[0]) + OwnedPartitions(replicas_[1]) == kPartitions;
      },
      absl::Seconds(60)));

  // Every invoice to both invoicing replicas, from two senders each, in opposite orders.
  std::vector<v1::IssueInvoiceRequest> invoices;
  for (int a = 0; a < kAccounts; ++a) {
    for (int i = 0; i < kInvoicesPerAccount; ++i) {
      v1::IssueInvoiceRequest& request = invoices.emplace_back();
      *request.mutable_account() = Ref(a);
      request.set_account_name(Account(a));
      request.set_invoice_id(absl::StrCat("inv-", a, "-", i));
      request.set_invoice_number(absl::StrCat("N", a, "-", i));
      *request.mutable_issue_date() = Day(1);
      *request.mutable_due_date() = Day(5 + i);
      request.set_currency("EUR");
      v1::InvoiceLineInput* line = request.add_lines();
      line->set_description("service");
      line->set_quantity_milli(1000);
      line->set_unit_price_minor(kInvoiceAmount);
    }
  }
  std::vector<v1::LogPosition> invoice_positions(invoices.size());
  {
    auto send = [&](InvoicingReplica& replica, bool reverse, bool keep_positions) {
      for (size_t n = 0; n < invoices.size(); ++n) {
        const size_t k = reverse ? invoices.size() - 1 - n : n;
        v1::CommandResult result;
        grpc::Status status = WithRetries([&](grpc::ClientContext& context) {
          return replica.stub->IssueInvoice(&context, invoices[k], &result);
        });
        EXPECT_TRUE(status.ok()) << invoices[k].invoice_id() << ": " << status.error_message();
        if (keep_positions) invoice_positions[k] = result.position();
      }
    };
    std::vector<std::thread> senders;
    senders.emplace_back([&] { send(invoicing_[0], false, true); });
    senders.emplace_back([&] { send(invoicing_[1], false, false); });
    senders.emplace_back([&] { send(invoicing_[0], true, false); });
    senders.emplace_back([&] { send(invoicing_[1], true, false); });
    for (std::thread& sender : senders) sender.join();
  }
  ASSERT_FALSE(HasFailure());
  {
    auto events = testing::ReadEvents(*invoicing_[0].log, "ar.invoicing.events");
    ASSERT_TRUE(events.ok()) << events.status();
    std::map<std::string, int> issued;
    for (const v1::Event& event : *events) {
      if (event.has_invoice_issued()) ++issued[event.invoice_issued().invoice_id()];
    }
    EXPECT_EQ(issued.size(), invoices.size());
    for (const auto& [invoice_id, count] : issued) EXPECT_EQ(count, 1) << invoice_id;
  }

  // Payments allocate to invoices their read model shows: wait until it shows all of them.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto checkpoints = replicas_[0].store->LoadCheckpoints(kPaymentsProjectionName);
        if (!checkpoints.ok()) return false;
        for (const v1::LogPosition& position : invoice_positions) {
          bool applied = false;
          for (const store::Checkpoint& c : *checkpoints) {
            applied |= c.topic == position.topic() && c.partition == position.partition() &&
                       c.next_offset > position.offset();
          }
          if (!applied) return false;
        }
        return true;
      },
      absl::Seconds(60)));

  // Phase 1: every payment to both replicas, from two senders each, in opposite orders.
  std::vector<std::pair<int, int>> before_stop;
  for (int p = 0; p < kPaymentsBeforeStop; ++p) {
    for (int a = 0; a < kAccounts; ++a) before_stop.emplace_back(a, p);
  }
  const std::vector<std::pair<int, int>> reversed(before_stop.rbegin(), before_stop.rend());
  {
    std::vector<std::thread> senders;
    senders.emplace_back([&] { SendPayments(replicas_[0], before_stop); });
    senders.emplace_back([&] { SendPayments(replicas_[1], before_stop); });
    senders.emplace_back([&] { SendPayments(replicas_[0], reversed); });
    senders.emplace_back([&] { SendPayments(replicas_[1], reversed); });
    for (std::thread& sender : senders) sender.join();
  }
  ASSERT_EQ(failures_.load(), 0);

  // Either replica answers a query that must see a command's write (min_position), also
  // for a partition the other replica projects: the read model is shared.
  for (int a = 0; a < kAccounts; ++a) {
    v1::CommandResult repeat;  // a repeat answers the original result, with its position
    grpc::Status status = WithRetries([&](grpc::ClientContext& context) {
      return replicas_[0].stub->RecordPayment(&context, Payment(a, 0), &repeat);
    });
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (Replica& replica : replicas_) {
      v1::GetPaymentRequest request;
      request.set_tenant(kTenant);
      request.set_payment_id(PaymentId(a, 0));
      *request.mutable_consistency()->mutable_min_position() = repeat.position();
      v1::Payment payment;
      grpc::ClientContext context;
      grpc::Status read = replica.stub->GetPayment(&context, request, &payment);
      EXPECT_TRUE(read.ok()) << PaymentId(a, 0) << ": " << read.error_message();
    }
  }

  // Phase 2: replica 1 stops while commands for every account keep coming to replica 0.
  std::vector<std::pair<int, int>> after_stop;
  for (int p = kPaymentsBeforeStop; p < kPaymentsBeforeStop + kPaymentsAfterStop; ++p) {
    for (int a = 0; a < kAccounts; ++a) after_stop.emplace_back(a, p);
  }
  {
    std::thread sender([&] { SendPayments(replicas_[0], after_stop); });
    std::thread retrier([&] { SendPayments(replicas_[0], before_stop); });
    replicas_[1].Stop();
    sender.join();
    retrier.join();
  }
  ASSERT_EQ(failures_.load(), 0);
  EXPECT_EQ(OwnedPartitions(replicas_[0]), kPartitions);

  // Exactly one PaymentReceived per payment id, whatever was sent how often and where.
  auto events = testing::ReadEvents(*replicas_[0].log, "ar.payments.events");
  ASSERT_TRUE(events.ok()) << events.status();
  std::map<std::string, int> received;
  for (const v1::Event& event : *events) {
    if (event.has_payment_received()) ++received[event.payment_received().payment_id()];
  }
  const int payments_per_account = kPaymentsBeforeStop + kPaymentsAfterStop;
  EXPECT_EQ(received.size(), static_cast<size_t>(kAccounts * payments_per_account));
  for (const auto& [payment_id, count] : received) EXPECT_EQ(count, 1) << payment_id;

  // What one replica would have produced: oldest due first until the invoices are paid,
  // the rest unapplied, whatever order the payments were decided in.
  const int64_t paid = payments_per_account * kPaymentAmount;
  const int64_t invoiced = kInvoicesPerAccount * kInvoiceAmount;
  for (int a = 0; a < kAccounts; ++a) {
    int64_t allocated = 0, unapplied = 0;
    for (int p = 0; p < payments_per_account; ++p) {
      v1::GetPaymentRequest request;
      request.set_tenant(kTenant);
      request.set_payment_id(PaymentId(a, p));
      v1::Payment payment;
      grpc::ClientContext context;
      ASSERT_TRUE(replicas_[0].stub->GetPayment(&context, request, &payment).ok());
      allocated += payment.allocated().minor_units();
      unapplied += payment.unapplied().minor_units();
    }
    EXPECT_EQ(allocated, std::min(paid, invoiced)) << Account(a);
    EXPECT_EQ(unapplied, paid - std::min(paid, invoiced)) << Account(a);
  }
}

}  // namespace
}  // namespace ar::payments
