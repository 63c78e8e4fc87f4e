#include "commands.h"
namespace warden::cli {
void AddCheckCommand(CLI::App& app, int* exit_code) { app.add_subcommand("check", "in progress"); }
}  // namespace warden::cli
