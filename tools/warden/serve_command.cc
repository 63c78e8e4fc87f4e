// Placeholder until the serve command lands.
#include <iostream>

#include "commands.h"

namespace warden::cli {

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "(not available in this build)");
  cmd->callback([exit_code] {
    std::cerr << "warden serve: not available in this build\n";
    *exit_code = kExitError;
  });
}

}  // namespace warden::cli
