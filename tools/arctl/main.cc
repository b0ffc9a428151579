// arctl: the ar-suite command line. Wiring only: argv and the environment into the
// command table (tools/arctl/commands.h).

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "tools/arctl/cli.h"
#include "tools/arctl/commands.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> environment;
  for (const char* name : {"AR_SERVER", "AR_TENANT", "AR_TIMEOUT"}) {
    if (const char* value = std::getenv(name)) environment[name] = value;
  }
  const ar::arctl::Cli cli(ar::arctl::AllCommands());
  const int code =
      cli.Run(std::vector<std::string>(argv + 1, argv + argc), environment, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
