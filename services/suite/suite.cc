#include "services/suite/suite.h"

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
  options.clock.topic_partitions = options.backend.topic_partitions;

  std::unique_ptr<Suite> suite(new Suite(std::move(options), std::move(log), std::move(store)));
  eventlog::EventLog& event_log = *suite->log_;
  store::Store& read_models = *suite->store_;
  const SuiteOptions& o = suite->options_;
  // The hosted services, in start order (stopped in reverse). One line per service.
  RETURN_IF_ERROR(suite->Host(
      "invoicing", invoicing::InvoicingService::Create(event_log, read_models, o.invoicing)));
  RETURN_IF_ERROR(suite->Host(
      "payments", payments::PaymentsService::Create(event_log, read_models, o.payments)));
  RETURN_IF_ERROR(
      suite->Host("clock", clock::ClockService::Create(event_log, read_models, o.clock)));

  suite->server_ = std::make_unique<servicekit::GrpcServer>(o.listen_address);
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
  if (server_) {
    server_->SetServing(false);
    server_->Shutdown(deadline);
  }
  // Reverse order: a later service may issue commands that depend on an earlier one's
  // events (the payments reactor reads invoicing's topic), never the other way round.
  for (size_t i = started_services_; i > 0; --i) services_[i - 1]->Stop();
}

}  // namespace ar::suite
