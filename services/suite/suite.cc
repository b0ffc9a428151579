#include "services/suite/suite.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "libs/core/status_macros.h"

namespace ar::suite {

Suite::Suite(SuiteOptions options, std::unique_ptr<eventlog::EventLog> log,
             std::unique_ptr<store::Store> store)
    : options_(std::move(options)), log_(std::move(log)), store_(std::move(store)) {}

absl::StatusOr<std::unique_ptr<Suite>> Suite::Open(SuiteOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<eventlog::EventLog> log,
                   servicekit::OpenEventLog(options.backend));
  ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, servicekit::OpenStore(options.backend));
  options.invoicing.topic_partitions = options.backend.topic_partitions;
  options.payments.backend = options.backend;
  options.credit_risk.backend = options.backend;
  options.collections.backend = options.backend;
  options.clock.topic_partitions = options.backend.topic_partitions;
  options.gateway.backend = options.backend;
  // The gateway forwards commands and queries to the services hosted here through this
  // server itself, on a unix socket in the data directory: its name is known before the
  // server starts (a TCP port 0 is not), and the gateway's code path is the one it has in
  // distributed mode. GetCustomer360's reads are the exception (in_process_queries.h).
  std::error_code mkdir_error;
  std::filesystem::create_directories(options.backend.data_dir, mkdir_error);
  if (mkdir_error) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create the data directory ",
                                                      options.backend.data_dir, ": ",
                                                      mkdir_error.message()));
  }
  const std::string internal_address = absl::StrCat(
      "unix:", std::filesystem::absolute(options.backend.data_dir).string(), "/suite.sock");
  std::shared_ptr<grpc::Channel> self =
      grpc::CreateChannel(internal_address, grpc::InsecureChannelCredentials());
  options.gateway.channels = {self, self, self, self, self};

  std::unique_ptr<Suite> suite(new Suite(std::move(options), std::move(log), std::move(store)));
  eventlog::EventLog& event_log = *suite->log_;
  store::Store& read_models = *suite->store_;
  const SuiteOptions& o = suite->options_;
  // The hosted services, in start order (stopped in reverse). One line per service.
  ASSIGN_OR_RETURN(auto* invoicing,
                   suite->Host("invoicing", invoicing::InvoicingService::Create(
                                                event_log, read_models, o.invoicing)));
  ASSIGN_OR_RETURN(auto* payments,
                   suite->Host("payments", payments::PaymentsService::Create(event_log, read_models,
                                                                             o.payments)));
  ASSIGN_OR_RETURN(auto* credit_risk,
                   suite->Host("credit-risk", credit::CreditRiskService::Create(
                                                  event_log, read_models, o.credit_risk)));
  ASSIGN_OR_RETURN(auto* collections,
                   suite->Host("collections", collections::CollectionsService::Create(
                                                  event_log, read_models, o.collections)));
  RETURN_IF_ERROR(
      suite->Host("clock", clock::ClockService::Create(event_log, read_models, o.clock)).status());
  gateway::GatewayService::Options gateway_options = o.gateway;
  if (o.gateway_queries_in_process) {
    suite->account_queries_ = std::make_shared<InProcessAccountQueries>(
        *invoicing, *payments, *credit_risk, *collections,
        InProcessAccountQueries::ReadWaitTimeouts{
            .invoicing = o.invoicing.read_wait_timeout,
            .payments = o.payments.api.read_wait_timeout,
            .credit_risk = o.credit_risk.api.read_wait_timeout,
            .collections = o.collections.api.read_wait_timeout});
    gateway_options.account_queries = suite->account_queries_;
  }
  ASSIGN_OR_RETURN(suite->gateway_, suite->Host("gateway", gateway::GatewayService::Create(
                                                               event_log, gateway_options)));

  suite->server_ = std::make_unique<servicekit::GrpcServer>(o.listen_address);
  suite->server_->AddListeningAddress(internal_address);
  for (const auto& service : suite->services_) {
    if (grpc::Service* api = service->grpc_service()) suite->server_->AddService(api);
  }
  return suite;
}

Suite::~Suite() { Shutdown(absl::Seconds(1)); }

std::vector<std::string> Suite::service_names() const {
  std::vector<std::string> names;
  for (const auto& service : services_) names.push_back(service->name());
  return names;
}

absl::Status Suite::Start() {
  if (started_services_ > 0 || shut_down_)
    return absl::FailedPreconditionError("suite already started");
  // Listening first: clients and up.sh see NOT_SERVING (not "connection refused") while
  // the read models are rebuilt from the log.
  RETURN_IF_ERROR(server_->Start());
  server_->SetServing(false);
  for (const auto& service : services_) {
    if (absl::Status started = service->Start(); !started.ok()) {
      ++started_services_;  // a half-started service is stopped too
      Shutdown(absl::ZeroDuration());
      return absl::Status(started.code(), absl::StrCat("starting the ", service->name(),
                                                       " service: ", started.message()));
    }
    ++started_services_;
  }
  server_->SetServing(true);
  return absl::OkStatus();
}

void Suite::Shutdown(absl::Duration deadline) {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_) server_->SetServing(false);
  if (gateway_ != nullptr && started_services_ > 0) gateway_->Stop();
  // Reads waiting for a position answer UNAVAILABLE now (retry elsewhere) rather than hold
  // the server's shutdown until they time out; later reads no longer wait.
  if (account_queries_) account_queries_->Stop();
  if (server_) server_->Shutdown(deadline);
  // Reverse order: a later service may issue commands that depend on an earlier one's
  // events (the payments reactor reads invoicing's topic), never the other way round.
  for (size_t i = started_services_; i > 0; --i) services_[i - 1]->Stop();
}

}  // namespace ar::suite
