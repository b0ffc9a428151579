#include "tools/arctl/cli.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ar::arctl {
namespace {

constexpr char kUsagePayload[] = "ar.arctl/usage";
constexpr char kDefaultServer[] = "127.0.0.1:50051";
constexpr char kDefaultTenant[] = "demo";

// Flags every command accepts, anywhere on the line.
const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"server", "HOST:PORT", "ar-suite gRPC address (env AR_SERVER; default 127.0.0.1:50051)"},
      {"tenant", "ID", "tenant (env AR_TENANT; default demo)"},
      {"json", "", "print the server's answer as JSON instead of a table"},
      {"timeout", "DURATION", "deadline of each call, e.g. 10s, 500ms (default 10s)"},
      {"help", "", "show help for arctl, a command group or a command"},
  };
  return *flags;
}

const FlagSpec* FindFlag(const std::vector<FlagSpec>& flags, const std::string& name) {
  for (const FlagSpec& flag : flags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

void PrintFlags(const std::vector<FlagSpec>& flags, std::ostream& os) {
  size_t width = 0;
  std::vector<std::string> heads;
  for (const FlagSpec& flag : flags) {
    heads.push_back(
        absl::StrCat("--", flag.name, flag.value_name.empty() ? "" : " ", flag.value_name));
    width = std::max(width, heads.back().size());
  }
  for (size_t i = 0; i < flags.size(); ++i) {
    std::string notes;
    if (flags[i].required) notes += "(required) ";
    if (flags[i].repeated) notes += "(repeatable) ";
    os << "  " << heads[i] << std::string(width - heads[i].size() + 2, ' ') << notes
       << flags[i].help << "\n";
  }
}

void PrintExitCodes(std::ostream& os) {
  os << "exit codes: 0 ok, 2 usage error, 3 not found, 4 rejected by a business rule or\n"
        "conflict, 5 server unavailable or deadline exceeded, 1 anything else\n";
}

// "--name=value" -> {"name", "value"}; "--name" -> {"name", nullopt}; "-h" -> {"h", nullopt}.
std::pair<std::string, std::optional<std::string>> SplitFlag(const std::string& token) {
  std::string body = token.substr(token.find_first_not_of('-'));
  const size_t equals = body.find('=');
  if (equals == std::string::npos) return {body, std::nullopt};
  return {body.substr(0, equals), body.substr(equals + 1)};
}

std::string CodeLabel(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kNotFound:
      return "not found";
    case absl::StatusCode::kFailedPrecondition:
      return "rejected";
    case absl::StatusCode::kAlreadyExists:
      return "conflict";
    case absl::StatusCode::kInvalidArgument:
      return "rejected as invalid";
    case absl::StatusCode::kOutOfRange:
      return "out of range";
    case absl::StatusCode::kAborted:
      return "aborted, retry";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline exceeded";
    default:
      return absl::AsciiStrToLower(absl::StatusCodeToString(code));
  }
}

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (IsUsageError(status)) return kExitUsage;
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAborted:
      return kExitRejected;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    default:
      return kExitFailure;
  }
}

std::shared_ptr<grpc::Channel> Context::channel() const {
  static std::map<std::string, std::shared_ptr<grpc::Channel>>* channels =
      new std::map<std::string, std::shared_ptr<grpc::Channel>>();
  auto& channel = (*channels)[server];
  if (!channel) channel = grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  return channel;
}

std::unique_ptr<grpc::ClientContext> Context::NewCall() const {
  auto call = std::make_unique<grpc::ClientContext>();
  call->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return call;
}

std::optional<std::string> Invocation::Get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string Invocation::GetOr(const std::string& flag, const std::string& fallback) const {
  return Get(flag).value_or(fallback);
}

std::vector<std::string> Invocation::GetAll(const std::string& flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

Cli::Cli(std::vector<CommandSpec> commands) : commands_(std::move(commands)) {}

const CommandSpec* Cli::FindCommand(const std::string& path) const {
  for (const CommandSpec& command : commands_) {
    if (command.path == path) return &command;
  }
  return nullptr;
}

bool Cli::IsGroup(const std::string& path) const {
  for (const CommandSpec& command : commands_) {
    if (absl::StartsWith(command.path, path + " ")) return true;
  }
  return false;
}

void Cli::PrintTopHelp(std::ostream& os) const {
  os << "arctl: the ar-suite command line (gRPC to ar-suite at --server)\n\n"
        "usage: arctl <command> [ARG] [flags]      arctl <command> --help\n\ncommands:\n";
  size_t width = 0;
  for (const CommandSpec& command : commands_) width = std::max(width, command.path.size());
  for (const CommandSpec& command : commands_) {
    os << "  " << command.path << std::string(width - command.path.size() + 2, ' ')
       << command.summary << "\n";
  }
  os << "\nglobal flags (anywhere on the line):\n";
  PrintFlags(GlobalFlags(), os);
  os << "\nAmounts are decimals in the currency's unit (12.50 EUR, 1200 JPY); dates are\n"
        "YYYY-MM-DD. Commands print the log position of their events; queries take\n"
        "--min-position TOPIC/PARTITION/OFFSET to read their own writes.\n\n";
  PrintExitCodes(os);
}

void Cli::PrintGroupHelp(const std::string& group, std::ostream& os) const {
  os << "usage: arctl " << group << " <subcommand> [ARG] [flags]\n\nsubcommands:\n";
  size_t width = 0;
  for (const CommandSpec& command : commands_) {
    if (absl::StartsWith(command.path, group + " ")) width = std::max(width, command.path.size());
  }
  for (const CommandSpec& command : commands_) {
    if (!absl::StartsWith(command.path, group + " ")) continue;
    os << "  " << command.path << std::string(width - command.path.size() + 2, ' ')
       << command.summary << "\n";
  }
  os << "\nrun 'arctl " << group << " <subcommand> --help' for its flags\n";
}

void Cli::PrintCommandHelp(const CommandSpec& command, std::ostream& os) const {
  os << "usage: arctl " << command.path;
  if (!command.positional.empty()) os << " " << command.positional;
  for (const FlagSpec& flag : command.flags) {
    if (flag.required) os << " --" << flag.name << " " << flag.value_name;
  }
  os << " [flags]\n\n" << command.summary << "\n";
  if (!command.flags.empty()) {
    os << "\nflags:\n";
    PrintFlags(command.flags, os);
  }
  os << "\nglobal flags:\n";
  PrintFlags(GlobalFlags(), os);
  if (!command.details.empty()) os << "\n" << command.details << "\n";
  os << "\n";
  PrintExitCodes(os);
}

int Cli::Run(const std::vector<std::string>& args,
             const std::map<std::string, std::string>& environment, std::ostream& out,
             std::ostream& err) const {
  std::string path;
  const CommandSpec* command = nullptr;
  bool help = false;
  absl::Status usage;  // the first problem found; reported unless --help was asked
  std::vector<std::string> positionals;
  std::map<std::string, std::vector<std::string>> values;
  std::map<std::string, std::string> globals;

  auto note = [&usage](absl::Status problem) {
    if (usage.ok()) usage = std::move(problem);
  };
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& token = args[i];
    if (!only_positionals && token == "--") {
      only_positionals = true;
      continue;
    }
    if (!only_positionals && token.size() > 1 && token[0] == '-') {
      auto [name, inline_value] = SplitFlag(token);
      if (name == "help" || name == "h") {
        help = true;
        continue;
      }
      const FlagSpec* spec = FindFlag(GlobalFlags(), name);
      const bool global = spec != nullptr;
      if (!global && command != nullptr) spec = FindFlag(command->flags, name);
      if (spec == nullptr) {
        note(UsageError(
            command != nullptr
                ? absl::StrCat("unknown flag --", name, " for 'arctl ", command->path, "'")
                : absl::StrCat("unknown flag --", name, " (command flags go after the command)")));
        continue;
      }
      std::string value;
      if (spec->value_name.empty()) {
        if (inline_value && *inline_value != "true" && *inline_value != "false") {
          note(UsageError(absl::StrCat("--", name, " takes no value (or true/false)")));
          continue;
        }
        value = inline_value.value_or("true");
      } else if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        note(UsageError(absl::StrCat("--", name, " needs a value (", spec->value_name, ")")));
        continue;
      }
      if (global) {
        globals[name] = value;
      } else {
        if (!spec->repeated && values.count(name) > 0) {
          note(UsageError(absl::StrCat("--", name, " given twice")));
        }
        values[name].push_back(value);
      }
      continue;
    }
    if (command == nullptr && !only_positionals) {
      const std::string candidate = path.empty() ? token : absl::StrCat(path, " ", token);
      if (const CommandSpec* found = FindCommand(candidate)) {
        command = found;
        path = candidate;
        continue;
      }
      if (IsGroup(candidate)) {
        path = candidate;
        continue;
      }
      if (path.empty() && token == "help") {
        help = true;
        continue;
      }
      note(UsageError(
          path.empty() ? absl::StrCat("unknown command '", token, "'")
                       : absl::StrCat("unknown subcommand '", token, "' of 'arctl ", path, "'")));
      continue;
    }
    positionals.push_back(token);
  }

  if (help) {
    if (command != nullptr) {
      PrintCommandHelp(*command, out);
    } else if (!path.empty()) {
      PrintGroupHelp(path, out);
    } else {
      PrintTopHelp(out);
    }
    return kExitOk;
  }
  const std::string help_hint =
      path.empty() ? "arctl --help" : absl::StrCat("arctl ", path, " --help");
  if (usage.ok() && command == nullptr) {
    usage = UsageError(path.empty() ? "no command given"
                                    : absl::StrCat("'arctl ", path, "' needs a subcommand"));
  }
  if (usage.ok()) {
    if (!command->positional.empty() && positionals.empty()) {
      usage = UsageError(absl::StrCat("missing ", command->positional));
    } else if (positionals.size() > (command->positional.empty() ? 0u : 1u)) {
      usage = UsageError(absl::StrCat("unexpected argument '", positionals.back(), "'"));
    }
  }
  if (usage.ok()) {
    for (const FlagSpec& flag : command->flags) {
      if (flag.required && values.count(flag.name) == 0) {
        usage = UsageError(absl::StrCat("missing --", flag.name, " ", flag.value_name));
        break;
      }
    }
  }

  Invocation invocation;
  Context& context = invocation.context_;
  auto setting = [&](const std::string& name, const std::string& variable,
                     const std::string& fallback) {
    if (auto it = globals.find(name); it != globals.end()) return it->second;
    if (auto it = environment.find(variable); it != environment.end() && !it->second.empty())
      return it->second;
    return fallback;
  };
  context.server = setting("server", "AR_SERVER", kDefaultServer);
  context.tenant = setting("tenant", "AR_TENANT", kDefaultTenant);
  context.json = globals.count("json") > 0 && globals["json"] == "true";
  context.out = &out;
  context.err = &err;
  if (usage.ok() &&
      !absl::ParseDuration(setting("timeout", "AR_TIMEOUT", "10s"), &context.timeout)) {
    usage = UsageError("--timeout wants a duration such as 10s or 500ms");
  }
  if (usage.ok() && context.timeout <= absl::ZeroDuration())
    usage = UsageError("--timeout must be positive");
  if (!usage.ok()) {
    err << "arctl: " << usage.message() << "\nrun '" << help_hint << "' for usage\n";
    return kExitUsage;
  }

  invocation.subject_ = positionals.empty() ? "" : positionals.front();
  invocation.values_ = std::move(values);
  absl::Status status = command->run(invocation);
  if (status.ok()) return kExitOk;
  if (IsUsageError(status)) {
    err << "arctl: " << status.message() << "\nrun '" << help_hint << "' for usage\n";
  } else if (status.code() == absl::StatusCode::kUnavailable ||
             status.code() == absl::StatusCode::kDeadlineExceeded) {
    err << "arctl: " << CodeLabel(status.code()) << " (server " << context.server
        << "): " << status.message() << "\n";
  } else {
    err << "arctl: " << CodeLabel(status.code()) << ": " << status.message() << "\n";
  }
  return ExitCodeFor(status);
}

}  // namespace ar::arctl
