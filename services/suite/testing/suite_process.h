#pragma once
// Test helpers that treat ar-suite and arctl as the black boxes a user runs: an ar-suite
// child process on a free loopback port and a data directory, and a way to run a command
// and capture its exit code and output.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/testing/child_process.h"

namespace ar::suite::testing {

// Paths of the binaries built beside the tests.
std::string SuiteBinary();
std::string ArctlBinary();

// Whether grpc.health.v1 on `address` says SERVING (one short call).
bool IsServing(const std::string& address);

class SuiteProcess {
 public:
  // A free port is chosen once and kept across restarts.
  explicit SuiteProcess(std::string data_dir, std::vector<std::string> extra_flags = {});
  ~SuiteProcess();  // SIGKILLs a process still running

  // Starts ar-suite and waits until it reports SERVING; fails if it exits first.
  absl::Status Start(absl::Duration timeout = absl::Seconds(60));
  // Sends `signal` and waits for the process; returns its exit code (128 + signal when a
  // signal ended it).
  int Stop(int signal);
  bool running() const { return child_ != nullptr; }

  std::string address() const;
  int port() const { return port_; }

 private:
  std::string data_dir_;
  std::vector<std::string> extra_flags_;
  int port_;
  std::unique_ptr<ar::testing::ChildProcess> child_;
};

struct CommandOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is a path) with `extra_env` added to the environment, waits for it
// and returns what it printed.
CommandOutput RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env = {});

}  // namespace ar::suite::testing
