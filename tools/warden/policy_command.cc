#include "commands.h"
namespace warden::cli {
void AddPolicyCommand(CLI::App& app, int* exit_code) { app.add_subcommand("policy", "in progress"); }
}  // namespace warden::cli
