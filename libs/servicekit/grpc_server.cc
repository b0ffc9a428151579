#include "libs/servicekit/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ar::servicekit {
namespace {

constexpr int kMaxIdleHandlerThreads = 512;

}  // namespace

GrpcServer::GrpcServer(std::string listen_address) : listen_address_(std::move(listen_address)) {}

GrpcServer::~GrpcServer() { Shutdown(absl::Seconds(1)); }

void GrpcServer::AddService(grpc::Service* service) { services_.push_back(service); }

void GrpcServer::AddListeningAddress(std::string address) {
  extra_addresses_.push_back(std::move(address));
}

absl::Status GrpcServer::Start() {
  if (server_) return absl::FailedPreconditionError("server already started");
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second instance on a taken port would silently
  // share it instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(listen_address_, grpc::InsecureServerCredentials(), &port_);
  std::vector<int> extra_ports(extra_addresses_.size(), 0);
  for (size_t i = 0; i < extra_addresses_.size(); ++i) {
    builder.AddListeningPort(extra_addresses_[i], grpc::InsecureServerCredentials(),
                             &extra_ports[i]);
  }
  // Our handlers block (a command waits for its log append and its read model), so many
  // run at once. With gRPC's default of at most 2 idle polling threads, every handler
  // thread beyond that exits when its call ends and the next call clones a new one: under
  // 64 concurrent commands a thread was created and destroyed per call (clone3 was ~5 % of
  // the CPU). Letting finished threads go back to polling keeps the pool warm; idle ones
  // only wait on the completion queue.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              kMaxIdleHandlerThreads);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen_address_));
  }
  for (size_t i = 0; i < extra_addresses_.size(); ++i) {
    if (extra_ports[i] == 0) {
      Shutdown(absl::ZeroDuration());
      return absl::UnavailableError(absl::StrCat("cannot listen on ", extra_addresses_[i]));
    }
  }
  return absl::OkStatus();
}

std::string GrpcServer::address() const {
  std::string host = listen_address_.substr(0, listen_address_.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return absl::StrCat(host, ":", port_);
}

void GrpcServer::SetServing(bool serving) {
  if (server_ && server_->GetHealthCheckService()) {
    server_->GetHealthCheckService()->SetServingStatus(serving);
  }
}

void GrpcServer::Shutdown(absl::Duration deadline) {
  if (!server_) return;
  SetServing(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + deadline));
  server_->Wait();
  server_.reset();
}

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

}  // namespace ar::servicekit
