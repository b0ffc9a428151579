#pragma once
// Settings come from flags and from environment variables: every flag --some_name can be
// given as AR_SOME_NAME; a flag on the command line wins over the environment.

#include <string>
#include <vector>

namespace ar::servicekit {

// Applies AR_* environment variables to the registered absl flags, then parses argv.
// Exits with a usage message on bad flags, like absl::ParseCommandLine (this runs once,
// in main, before anything is started).
std::vector<char*> ParseFlagsAndEnvironment(int argc, char** argv);

// The environment variable that sets a flag: "log_backend" -> "AR_LOG_BACKEND".
std::string EnvironmentVariableForFlag(const std::string& flag_name);

}  // namespace ar::servicekit
