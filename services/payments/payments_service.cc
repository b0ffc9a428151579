#include "services/payments/payments_service.h"

#include "libs/core/status_macros.h"
#include "libs/core/topics.h"

namespace ar::payments {

PaymentsService::PaymentsService(eventlog::EventLog& log, store::Store& store, Options options)
    : log_(log), store_(store), options_(std::move(options)) {}

PaymentsService::~PaymentsService() { Stop(); }

absl::StatusOr<std::unique_ptr<PaymentsService>> PaymentsService::Create(eventlog::EventLog& log,
                                                                         store::Store& store,
                                                                         Options options) {
  std::unique_ptr<PaymentsService> service(new PaymentsService(log, store, std::move(options)));
  ASSIGN_OR_RETURN(service->producer_, log.NewProducer());

  service->projection_handler_ = std::make_unique<PaymentsProjection>(store);
  projection::ProjectionOptions projection_options;
  projection_options.name = kPaymentsProjectionName;
  projection_options.topics = {topics::kPayments, topics::kInvoicing, topics::kCollections};
  projection_options.use_consumer_group = service->options_.use_consumer_group;
  if (service->options_.use_consumer_group && !service->options_.advertise_address.empty()) {
    command::OwnershipOptions ownership_options;
    ownership_options.service = "payments";
    ownership_options.topic = topics::kPayments;
    ownership_options.advertise_address = service->options_.advertise_address;
    service->ownership_ =
        std::make_unique<command::CommandOwnership>(log, store, ownership_options);
    service->ownership_->InstallHooks(projection_options);
  }
  service->projection_runner_ = std::make_unique<projection::ProjectionRunner>(
      log, store, *service->projection_handler_, projection_options);
  if (service->ownership_) service->ownership_->Bind(*service->projection_runner_);
  service->router_ = std::make_unique<command::CommandRouter>(service->ownership_.get());

  command::CommandExecutor::Options executor_options;
  executor_options.topic = topics::kPayments;
  executor_options.catch_up_timeout = service->options_.command_catch_up_timeout;
  executor_options.ownership = service->ownership_.get();
  service->executor_ = std::make_unique<command::CommandExecutor>(
      *service->producer_, *service->projection_runner_, executor_options);

  service->reactor_handler_ = std::make_unique<PaymentsReactor>(
      store, *service->executor_, *service->projection_runner_, service->options_.settings);
  projection::ProjectionOptions reactor_options;
  reactor_options.name = kReactorProjectionName;
  reactor_options.topics = {topics::kInvoicing};
  reactor_options.use_consumer_group = service->options_.use_consumer_group;
  // Each reaction is a command; small batches keep the reactor's checkpoint close behind.
  reactor_options.max_records_per_batch = 100;
  service->reactor_runner_ = std::make_unique<projection::ProjectionRunner>(
      log, store, *service->reactor_handler_, reactor_options);

  service->api_ =
      std::make_unique<PaymentsApi>(store, log, *service->executor_, *service->projection_runner_,
                                    *service->reactor_runner_, service->options_.api);
  service->grpc_ = std::make_unique<PaymentsGrpcService>(
      *service->api_, service->ownership_ ? service->router_.get() : nullptr);
  return service;
}

absl::Status PaymentsService::Start() {
  const std::vector<std::string> topics = {topics::kPayments, topics::kInvoicing,
                                           topics::kCollections};
  RETURN_IF_ERROR(servicekit::EnsureTopics(log_, options_.backend, topics));
  RETURN_IF_ERROR(projection_runner_->Start());
  // The reactor decides on the read model, so it starts only once the read model holds
  // everything already in the log (including reactions published before a crash).
  RETURN_IF_ERROR(executor_->CatchUp(log_, topics, options_.catch_up_timeout));
  if (ownership_ && !ownership_->WaitSettled(options_.catch_up_timeout)) {
    return absl::DeadlineExceededError("payments: the owned partitions did not catch up in time");
  }
  RETURN_IF_ERROR(reactor_runner_->Start());
  ready_ = true;
  return absl::OkStatus();
}

void PaymentsService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ready_ = false;
  if (reactor_handler_) reactor_handler_->RequestStop();
  if (reactor_runner_) reactor_runner_->Stop();
  if (projection_runner_) projection_runner_->Stop();
  if (producer_) producer_->Stop(absl::Seconds(5));
}

}  // namespace ar::payments
