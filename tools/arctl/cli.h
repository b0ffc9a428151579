#pragma once
// arctl's command-line framework: a table of commands ("invoice issue", "balance"), each
// with its flags, an optional positional argument and a handler. The framework parses
// argv against the table, prints help for every level, and turns a handler's Status into
// a message on stderr and an exit code. Commands are added as table entries (see
// commands.h); nothing here knows about invoices or payments.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ar::arctl {

// Exit codes, documented in `arctl --help`.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // anything not covered below (internal error, unexpected code)
  kExitUsage = 2,        // bad command line: unknown command or flag, malformed value
  kExitNotFound = 3,     // NOT_FOUND from the server
  kExitRejected = 4,     // a business rule or conflict: FAILED_PRECONDITION, ALREADY_EXISTS,
                         // INVALID_ARGUMENT, OUT_OF_RANGE, ABORTED from the server
  kExitUnavailable = 5,  // server unreachable, not ready, or the deadline passed
};

// A usage error: the command line itself is wrong (exit 2), as opposed to an
// INVALID_ARGUMENT that the server returned (exit 4).
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);
int ExitCodeFor(const absl::Status& status);

struct FlagSpec {
  std::string name;        // without the dashes: "account"
  std::string value_name;  // "ID"; empty for a switch (--json)
  std::string help;
  bool required = false;
  bool repeated = false;
};

// What every command can use: the connection, the tenant, the output streams.
struct Context {
  std::string server;
  std::string tenant;
  bool json = false;
  absl::Duration timeout;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;

  std::shared_ptr<grpc::Channel> channel() const;
  // A client context carrying the per-call deadline.
  std::unique_ptr<grpc::ClientContext> NewCall() const;
};

// One parsed command line, handed to the handler.
class Invocation {
 public:
  Context& context() { return context_; }
  std::ostream& out() { return *context_.out; }
  bool json() const { return context_.json; }
  const std::string& tenant() const { return context_.tenant; }

  // The positional argument (the command's subject: an invoice id, a payment id).
  const std::string& subject() const { return subject_; }
  std::optional<std::string> Get(const std::string& flag) const;
  std::string GetOr(const std::string& flag, const std::string& fallback) const;
  std::vector<std::string> GetAll(const std::string& flag) const;
  bool Has(const std::string& flag) const { return values_.count(flag) > 0; }

 private:
  friend class Cli;
  Context context_;
  std::string subject_;
  std::map<std::string, std::vector<std::string>> values_;
};

struct CommandSpec {
  std::string path;        // words, space separated: "invoice issue", "balance"
  std::string summary;     // one line
  std::string positional;  // the subject's name ("INVOICE_ID"); empty when none
  std::vector<FlagSpec> flags;
  std::string details;  // more help text (examples), may be empty
  std::function<absl::Status(Invocation&)> run;
};

class Cli {
 public:
  explicit Cli(std::vector<CommandSpec> commands);

  // Parses and runs; returns the exit code. `environment` supplies AR_SERVER / AR_TENANT.
  int Run(const std::vector<std::string>& args,
          const std::map<std::string, std::string>& environment, std::ostream& out,
          std::ostream& err) const;

 private:
  const CommandSpec* FindCommand(const std::string& path) const;
  bool IsGroup(const std::string& path) const;
  void PrintTopHelp(std::ostream& os) const;
  void PrintGroupHelp(const std::string& group, std::ostream& os) const;
  void PrintCommandHelp(const CommandSpec& command, std::ostream& os) const;

  std::vector<CommandSpec> commands_;
};

}  // namespace ar::arctl
