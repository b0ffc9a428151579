#include "services/collections/collections_service.h"

#include "libs/core/status_macros.h"
#include "libs/core/topics.h"

namespace ar::collections {

CollectionsService::CollectionsService(eventlog::EventLog& log, store::Store& store,
                                       Options options)
    : log_(log), store_(store), options_(std::move(options)) {}

CollectionsService::~CollectionsService() { Stop(); }

std::vector<std::string> CollectionsService::InputTopics() {
  return {topics::kInvoicing, topics::kPayments, topics::kCredit, topics::kClock,
          topics::kCollections};
}

absl::StatusOr<std::unique_ptr<CollectionsService>> CollectionsService::Create(
    eventlog::EventLog& log, store::Store& store, Options options) {
  RETURN_IF_ERROR(ValidatePolicy(options.policy));
  std::unique_ptr<CollectionsService> service(
      new CollectionsService(log, store, std::move(options)));
  const v1::CollectionsPolicy& policy = service->options_.policy;
  ASSIGN_OR_RETURN(service->producer_, log.NewProducer());

  service->projection_handler_ = std::make_unique<CollectionsProjection>(store, policy);
  projection::ProjectionOptions projection_options;
  projection_options.name = kCollectionsProjectionName;
  projection_options.topics = InputTopics();
  projection_options.use_consumer_group = service->options_.use_consumer_group;
  service->projection_runner_ = std::make_unique<projection::ProjectionRunner>(
      log, store, *service->projection_handler_, projection_options);

  command::CommandExecutor::Options executor_options;
  executor_options.topic = topics::kCollections;
  executor_options.catch_up_timeout = service->options_.command_catch_up_timeout;
  service->executor_ = std::make_unique<command::CommandExecutor>(
      *service->producer_, *service->projection_runner_, executor_options);

  service->reactor_handler_ = std::make_unique<CollectionsReactor>(
      store, log, *service->executor_, *service->projection_runner_, InputTopics(), policy);
  projection::ProjectionOptions reactor_options;
  reactor_options.name = kReactorProjectionName;
  reactor_options.topics = {topics::kClock, topics::kInvoicing, topics::kPayments,
                            topics::kCollections};
  reactor_options.use_consumer_group = service->options_.use_consumer_group;
  // Each reaction is a command; small batches keep the reactor's checkpoint close behind.
  reactor_options.max_records_per_batch = 100;
  service->reactor_runner_ = std::make_unique<projection::ProjectionRunner>(
      log, store, *service->reactor_handler_, reactor_options);

  service->api_ = std::make_unique<CollectionsApi>(store, log, *service->executor_,
                                                   *service->projection_runner_, InputTopics(),
                                                   policy, service->options_.api);
  service->grpc_ = std::make_unique<CollectionsGrpcService>(*service->api_);
  return service;
}

absl::Status CollectionsService::Start() {
  RETURN_IF_ERROR(servicekit::EnsureTopics(log_, options_.backend, InputTopics()));
  RETURN_IF_ERROR(projection_runner_->Start());
  // The reactor decides on the read model, so it starts only once the read model holds
  // everything already in the log (including decisions published before a crash).
  RETURN_IF_ERROR(executor_->CatchUp(log_, InputTopics(), options_.catch_up_timeout));
  RETURN_IF_ERROR(reactor_runner_->Start());
  ready_ = true;
  return absl::OkStatus();
}

void CollectionsService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ready_ = false;
  if (reactor_handler_) reactor_handler_->RequestStop();
  if (reactor_runner_) reactor_runner_->Stop();
  if (projection_runner_) projection_runner_->Stop();
  if (producer_) producer_->Stop(absl::Seconds(5));
}

}  // namespace ar::collections
