#include "commands.h"
namespace warden::cli {
void AddScanCommand(CLI::App& app, int* exit_code) { app.add_subcommand("scan", "in progress"); }
}  // namespace warden::cli
