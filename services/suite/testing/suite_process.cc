#include "services/suite/testing/suite_process.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/testing/ports.h"
#include "libs/testing/temp_dir.h"
#include "libs/testing/wait.h"

extern char** environ;

namespace ar::suite::testing {

std::string SuiteBinary() { return AR_SUITE_BINARY; }
std::string ArctlBinary() { return AR_ARCTL_BINARY; }

bool IsServing(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  return status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

SuiteProcess::SuiteProcess(std::string data_dir, std::vector<std::string> extra_flags)
    : data_dir_(std::move(data_dir)),
      extra_flags_(std::move(extra_flags)),
      port_(ar::testing::FreeLoopbackPort()) {}

SuiteProcess::~SuiteProcess() = default;

std::string SuiteProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::Status SuiteProcess::Start(absl::Duration timeout) {
  if (child_) return absl::FailedPreconditionError("ar-suite already running");
  std::vector<std::string> argv = {SuiteBinary(), "--data_dir=" + data_dir_,
                                   "--listen=" + address()};
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  child_ = std::make_unique<ar::testing::ChildProcess>(ar::testing::ChildProcess::Exec(argv));
  bool exited = false;
  const bool serving = ar::testing::WaitFor(
      [&] {
        if (child_->HasExited()) {
          exited = true;
          return true;
        }
        return IsServing(address());
      },
      timeout);
  if (exited) {
    const int code = child_->Wait();
    child_.reset();
    return absl::InternalError(absl::StrCat("ar-suite exited with ", code, " during start"));
  }
  if (!serving) return absl::DeadlineExceededError("ar-suite did not become SERVING");
  return absl::OkStatus();
}

int SuiteProcess::Stop(int signal) {
  if (!child_) return -1;
  child_->Kill(signal);
  const int code = child_->Wait();
  child_.reset();
  return code;
}

namespace {
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}
}  // namespace

CommandOutput RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env) {
  ar::testing::TempDir dir;
  const std::string out_path = dir.Join("out");
  const std::string err_path = dir.Join("err");
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage(extra_env);
  for (char** e = environ; *e != nullptr; ++e)
    env_storage.emplace_back(*e);  // extra_env wins: first
  std::vector<char*> env;
  for (std::string& entry : env_storage) env.push_back(entry.data());
  env.push_back(nullptr);

  CommandOutput result;
  const pid_t pid = fork();
  if (pid < 0) return result;
  if (pid == 0) {
    const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out_fd < 0 || err_fd < 0) _exit(126);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return result;
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

}  // namespace ar::suite::testing
