#pragma once
// A real redis-server for tests: started on a free loopback port in a temporary
// directory, stopped afterwards. No test relies on a system-wide Redis.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "libs/testing/child_process.h"
#include "libs/testing/temp_dir.h"

namespace ar::testing {

class RedisServer {
 public:
  struct Options {
    bool append_only = false;  // AOF with appendfsync always, for restart tests
  };
  RedisServer();
  explicit RedisServer(Options options);
  ~RedisServer();

  // Starts the server and waits until it answers PING.
  absl::Status Start();
  // SIGKILLs the server (simulates a crash; the port stays reserved for Start()).
  void Kill();
  // Stops it cleanly (SHUTDOWN NOSAVE via SIGTERM).
  void Stop();
  bool running() const { return child_ != nullptr; }

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  std::string address() const { return host_ + ":" + std::to_string(port_); }

 private:
  Options options_;
  TempDir dir_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

// The redis-server binary: $AR_REDIS_SERVER if set, else "redis-server" on PATH.
std::string RedisServerBinary();

}  // namespace ar::testing
