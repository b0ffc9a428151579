#include "services/gateway/gateway_service.h"

#include "libs/core/status_macros.h"
#include "libs/core/topics.h"

namespace ar::gateway {

GatewayService::GatewayService(eventlog::EventLog& log, Options options)
    : log_(log), options_(std::move(options)) {}

GatewayService::~GatewayService() { Stop(); }

absl::StatusOr<std::unique_ptr<GatewayService>> GatewayService::Create(eventlog::EventLog& log,
                                                                       Options options) {
  std::unique_ptr<GatewayService> service(new GatewayService(log, std::move(options)));
  service->hub_ = std::make_unique<OverdueHub>(log, service->options_.hub);
  service->grpc_ = std::make_unique<GatewayGrpcService>(service->options_.channels, *service->hub_,
                                                        service->options_.api,
                                                        service->options_.account_queries);
  return service;
}

absl::Status GatewayService::Start() {
  std::vector<std::string> topics = options_.hub.topics;
  if (topics.empty()) topics = {topics::kCollections, topics::kCredit};
  RETURN_IF_ERROR(servicekit::EnsureTopics(log_, options_.backend, topics));
  RETURN_IF_ERROR(hub_->Start());
  RETURN_IF_ERROR(hub_->WaitUntilCaughtUp(options_.catch_up_timeout));
  ready_ = true;
  return absl::OkStatus();
}

void GatewayService::Stop() {
  ready_ = false;
  if (hub_) hub_->Stop();
}

}  // namespace ar::gateway
