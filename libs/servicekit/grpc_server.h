#pragma once
// gRPC server bootstrap shared by every service: health checking (grpc.health.v1),
// server reflection, and graceful shutdown with a deadline called from a normal thread.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ar::servicekit {

class GrpcServer {
 public:
  // `listen_address` like "127.0.0.1:50051"; port 0 picks a free port (see port()).
  explicit GrpcServer(std::string listen_address);
  ~GrpcServer();

  // Services must outlive the server. Call before Start().
  void AddService(grpc::Service* service);
  // Also listen on `address` (e.g. "unix:/path/to.sock", whose name is known before the
  // server starts, unlike a TCP port 0). Call before Start().
  void AddListeningAddress(std::string address);

  absl::Status Start();
  // The bound port (useful with port 0).
  int port() const { return port_; }
  std::string address() const;

  // Reports SERVING / NOT_SERVING on grpc.health.v1 for the whole server ("").
  void SetServing(bool serving);

  // Stops accepting calls, lets running ones finish until `deadline`, then cancels them.
  // Idempotent. Never call from a signal handler.
  void Shutdown(absl::Duration deadline);

 private:
  std::string listen_address_;
  std::vector<grpc::Service*> services_;
  std::vector<std::string> extra_addresses_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards;
// call first thing in main. WaitForTerminationSignal() then returns the signal received.
void BlockTerminationSignals();
int WaitForTerminationSignal();

}  // namespace ar::servicekit
