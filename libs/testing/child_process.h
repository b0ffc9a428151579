#pragma once
// Child processes for crash tests: run a function or a program in a forked child and
// kill it with SIGKILL, so that what survives is what a real crash would leave.

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace ar::testing {

class ChildProcess {
 public:
  // Forks and runs `body` in the child; the child exits with its return value and never
  // returns into the test (no gtest teardown, no atexit handlers: _exit).
  static ChildProcess Fork(const std::function<int()>& body);
  // Forks and execs `argv[0]` with `argv` (PATH is searched).
  static ChildProcess Exec(const std::vector<std::string>& argv);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();  // SIGKILLs and reaps a child still running

  pid_t pid() const { return pid_; }
  void Kill(int signal = 9);
  // Waits for the child to end; returns its exit code, or 128 + signal if a signal ended it.
  int Wait();
  // Non-blocking: whether the child has ended (its status is then kept for Wait()).
  bool HasExited();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
};

}  // namespace ar::testing
