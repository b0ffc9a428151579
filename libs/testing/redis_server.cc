#include "libs/testing/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "libs/testing/ports.h"
#include "libs/testing/wait.h"

namespace ar::testing {
namespace {

// A raw PING over a socket, so the fixture needs no Redis client library.
bool AnswersPing(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char ping[] = "PING\r\n";
    if (write(fd, ping, sizeof(ping) - 1) == static_cast<ssize_t>(sizeof(ping) - 1)) {
      char buf[16] = {};
      ssize_t n = read(fd, buf, sizeof(buf) - 1);
      ok = n > 0 && std::strncmp(buf, "+PONG", 5) == 0;
    }
  }
  close(fd);
  return ok;
}

}  // namespace

std::string RedisServerBinary() {
  const char* env = std::getenv("AR_REDIS_SERVER");
  return env && *env ? env : "redis-server";
}

RedisServer::RedisServer() : RedisServer(Options{}) {}
RedisServer::RedisServer(Options options) : options_(options) {}

RedisServer::~RedisServer() { Kill(); }

absl::Status RedisServer::Start() {
  if (child_) return absl::FailedPreconditionError("redis-server already running");
  if (port_ == 0) port_ = FreeLoopbackPort();
  std::vector<std::string> argv = {RedisServerBinary(),
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   host_,
                                   "--dir",
                                   dir_.path(),
                                   "--save",
                                   "",
                                   "--daemonize",
                                   "no",
                                   "--protected-mode",
                                   "yes",
                                   "--logfile",
                                   dir_.Join("redis.log")};
  if (options_.append_only) {
    for (const char* a : {"--appendonly", "yes", "--appendfsync", "always"}) argv.push_back(a);
  } else {
    for (const char* a : {"--appendonly", "no"}) argv.push_back(a);
  }
  child_ = std::make_unique<ChildProcess>(ChildProcess::Exec(argv));
  bool up =
      WaitFor([&] { return child_->HasExited() || AnswersPing(host_, port_); }, absl::Seconds(20));
  if (!up || child_->HasExited()) {
    child_.reset();
    return absl::UnavailableError(absl::StrCat("redis-server did not start on port ", port_,
                                               "; see ", dir_.Join("redis.log")));
  }
  return absl::OkStatus();
}

void RedisServer::Kill() {
  if (!child_) return;
  child_->Kill(SIGKILL);
  child_->Wait();
  child_.reset();
}

void RedisServer::Stop() {
  if (!child_) return;
  child_->Kill(SIGTERM);
  child_->Wait();
  child_.reset();
}

}  // namespace ar::testing
