#include "libs/servicekit/flags.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"

namespace ar::servicekit {

std::string EnvironmentVariableForFlag(const std::string& flag_name) {
  return "AR_" + absl::AsciiStrToUpper(flag_name);
}

std::vector<char*> ParseFlagsAndEnvironment(int argc, char** argv) {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string variable = EnvironmentVariableForFlag(std::string(name));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "%s: bad value in %s: %s\n", argv[0], variable.c_str(), error.c_str());
      std::exit(2);
    }
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace ar::servicekit
