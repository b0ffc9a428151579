#include "services/credit_risk/credit_risk_service.h"

#include "libs/core/money.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"

namespace ar::credit {

CreditRiskService::CreditRiskService(eventlog::EventLog& log, store::Store& store, Options options)
    : log_(log), store_(store), options_(std::move(options)) {}

CreditRiskService::~CreditRiskService() { Stop(); }

absl::StatusOr<std::unique_ptr<CreditRiskService>> CreditRiskService::Create(
    eventlog::EventLog& log, store::Store& store, Options options) {
  if (options.settings.policy.version().empty()) options.settings.policy = DefaultPolicy();
  RETURN_IF_ERROR(ValidatePolicy(options.settings.policy));
  if (absl::Status known = core::LookupCurrency(options.settings.base_currency).status();
      !known.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("base currency: ", known.message()));
  }
  std::unique_ptr<CreditRiskService> service(new CreditRiskService(log, store, std::move(options)));
  ASSIGN_OR_RETURN(service->producer_, log.NewProducer());

  service->projection_handler_ = std::make_unique<CreditProjection>(store);
  projection::ProjectionOptions projection_options;
  projection_options.name = kCreditProjectionName;
  projection_options.topics = CreditProjection::Topics();
  projection_options.use_consumer_group = service->options_.use_consumer_group;
  service->projection_runner_ = std::make_unique<projection::ProjectionRunner>(
      log, store, *service->projection_handler_, projection_options);

  command::CommandExecutor::Options executor_options;
  executor_options.topic = topics::kCredit;
  executor_options.catch_up_timeout = service->options_.command_catch_up_timeout;
  service->executor_ = std::make_unique<command::CommandExecutor>(
      *service->producer_, *service->projection_runner_, executor_options);

  service->reactor_handler_ = std::make_unique<CreditReactor>(
      store, *service->executor_, *service->projection_runner_, service->options_.settings);
  projection::ProjectionOptions reactor_options;
  reactor_options.name = kReactorProjectionName;
  reactor_options.topics = CreditProjection::Topics();
  reactor_options.use_consumer_group = service->options_.use_consumer_group;
  // Each review is a command; small batches keep the reactor's checkpoint close behind.
  reactor_options.max_records_per_batch = 100;
  service->reactor_runner_ = std::make_unique<projection::ProjectionRunner>(
      log, store, *service->reactor_handler_, reactor_options);

  service->api_ =
      std::make_unique<CreditRiskApi>(store, *service->executor_, *service->projection_runner_,
                                      service->options_.settings, service->options_.api);
  service->grpc_ = std::make_unique<CreditRiskGrpcService>(*service->api_);
  return service;
}

absl::Status CreditRiskService::Start() {
  const std::vector<std::string> topics = CreditProjection::Topics();
  RETURN_IF_ERROR(servicekit::EnsureTopics(log_, options_.backend, topics));
  RETURN_IF_ERROR(projection_runner_->Start());
  // The reactor decides on the read model, so it starts only once the read model holds
  // everything already in the log (including decisions published before a crash).
  RETURN_IF_ERROR(executor_->CatchUp(log_, topics, options_.catch_up_timeout));
  RETURN_IF_ERROR(reactor_runner_->Start());
  ready_ = true;
  return absl::OkStatus();
}

void CreditRiskService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ready_ = false;
  if (reactor_handler_) reactor_handler_->RequestStop();
  if (reactor_runner_) reactor_runner_->Stop();
  if (projection_runner_) projection_runner_->Stop();
  if (producer_) producer_->Stop(absl::Seconds(5));
}

}  // namespace ar::credit
