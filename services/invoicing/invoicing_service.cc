#include "services/invoicing/invoicing_service.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status_macros.h"
#include "libs/core/topics.h"
#include "libs/servicekit/backends.h"
#include "services/invoicing/projection/read_model.h"

namespace ar::invoicing {

absl::StatusOr<std::unique_ptr<InvoicingService>> InvoicingService::Create(
    eventlog::EventLog& log, store::Store& store, InvoicingServiceOptions options) {
  for (const std::string& region : options.ingest_regions) {
    RETURN_IF_ERROR(ValidateId(region, "ingest region"));
  }
  if (options.topic_partitions < 1) {
    return absl::InvalidArgumentError("topic_partitions must be at least 1");
  }
  if (options.read_wait_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("read_wait_timeout must not be negative");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<eventlog::Producer> producer, log.NewProducer());
  return std::unique_ptr<InvoicingService>(
      new InvoicingService(log, store, std::move(producer), std::move(options)));
}

InvoicingService::InvoicingService(eventlog::EventLog& log, store::Store& store,
                                   std::unique_ptr<eventlog::Producer> producer,
                                   InvoicingServiceOptions options)
    : log_(log),
      store_(store),
      options_(std::move(options)),
      handler_(store),
      producer_(std::move(producer)) {
  projection::ProjectionOptions projection_options;
  projection_options.name = kInvoicingProjection;
  projection_options.topics = InvoiceProjection::Topics();
  // One replica: every partition, so the command executor finds the records it published
  // applied by this runner whichever partition they landed in. Replicas: a consumer group,
  // and this replica publishes only in the partitions of ar.invoicing.events it owns.
  projection_options.use_consumer_group = !options_.advertise_address.empty();
  if (projection_options.use_consumer_group) {
    command::OwnershipOptions ownership_options;
    ownership_options.service = "invoicing";
    ownership_options.topic = topics::kInvoicing;
    ownership_options.advertise_address = options_.advertise_address;
    ownership_ = std::make_unique<command::CommandOwnership>(log_, store_, ownership_options);
    ownership_->InstallHooks(projection_options);
  }
  projection_ = std::make_unique<projection::ProjectionRunner>(log_, store_, handler_,
                                                               std::move(projection_options));
  if (ownership_) ownership_->Bind(*projection_);
  router_ = std::make_unique<command::CommandRouter>(ownership_.get());
  command::CommandExecutor::Options executor_options;
  executor_options.topic = topics::kInvoicing;
  executor_options.catch_up_timeout = options_.command_catch_up_timeout;
  executor_options.ownership = ownership_.get();
  executor_ =
      std::make_unique<command::CommandExecutor>(*producer_, *projection_, executor_options);
  commands_ = std::make_unique<InvoicingCommands>(store_, *executor_, options_.credit_hold_policy);
  queries_ = std::make_unique<InvoicingQueries>(store_, *projection_, options_.read_wait_timeout);
  grpc_service_ = std::make_unique<InvoicingGrpcService>(*commands_, *queries_, ready_,
                                                         ownership_ ? router_.get() : nullptr);

  if (!options_.ingest_regions.empty()) {
    ingest_handler_ = std::make_unique<IngestHandler>(*commands_);
    projection::ProjectionOptions ingest_options;
    ingest_options.name = kIngestProjection;
    for (const std::string& region : options_.ingest_regions) {
      ingest_options.topics.push_back(topics::IngestTopic(region));
    }
    ingest_options.use_consumer_group = options_.ingest_uses_consumer_group;
    // Each raw record becomes a command that waits for the read model: small batches keep
    // the checkpoint close behind the commands already published.
    ingest_options.max_records_per_batch = 100;
    ingest_projection_ = std::make_unique<projection::ProjectionRunner>(
        log_, store_, *ingest_handler_, std::move(ingest_options));
  }
}

InvoicingService::~InvoicingService() { Stop(); }

std::vector<std::string> InvoicingService::Topics() const {
  std::vector<std::string> topics = InvoiceProjection::Topics();
  for (const std::string& region : options_.ingest_regions)
    topics.push_back(topics::IngestTopic(region));
  topics.push_back(topics::kDeadLetter);
  return topics;
}

absl::Status InvoicingService::Start() {
  if (started_) return absl::FailedPreconditionError("invoicing service already started");
  started_ = true;
  servicekit::BackendSettings topic_settings;
  topic_settings.topic_partitions = options_.topic_partitions;
  RETURN_IF_ERROR(servicekit::EnsureTopics(log_, topic_settings, Topics()));
  RETURN_IF_ERROR(projection_->Start());
  // Commands decide on the read model: it must hold everything already in the log.
  RETURN_IF_ERROR(
      executor_->CatchUp(log_, InvoiceProjection::Topics(), options_.start_catch_up_timeout));
  if (ownership_ && !ownership_->WaitSettled(options_.start_catch_up_timeout)) {
    return absl::DeadlineExceededError("invoicing: the owned partitions did not catch up in time");
  }
  if (ingest_projection_) RETURN_IF_ERROR(ingest_projection_->Start());
  ready_ = true;
  return absl::OkStatus();
}

void InvoicingService::Stop() {
  ready_ = false;
  // The raw feed first: its commands wait on the read-model projection.
  if (ingest_projection_) ingest_projection_->Stop();
  if (projection_) projection_->Stop();
  if (producer_) producer_->Stop(absl::Seconds(10));
}

}  // namespace ar::invoicing
