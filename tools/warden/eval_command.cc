// Placeholder until the eval command lands.
#include <iostream>

#include "commands.h"

namespace warden::cli {

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("eval", "(not available in this build)");
  cmd->callback([exit_code] {
    std::cerr << "warden eval: not available in this build\n";
    *exit_code = kExitError;
  });
}

}  // namespace warden::cli
