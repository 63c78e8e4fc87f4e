// Placeholder until the train command lands.
#include <iostream>

#include "commands.h"

namespace warden::cli {

void AddTrainCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("train", "(not available in this build)");
  cmd->callback([exit_code] {
    std::cerr << "warden train: not available in this build\n";
    *exit_code = kExitError;
  });
}

}  // namespace warden::cli
