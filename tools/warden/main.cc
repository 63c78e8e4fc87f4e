// warden: screen text, scan logs, validate policies, train and evaluate classifiers, and serve
// the gateway. `warden --help` and `warden <command> --help` explain each command.
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Warden: an oversight and control layer for AI systems.\n"
      "Screens prompts, responses and tool calls under a YAML policy.\n\n"
      "Examples:\n"
      "  warden check \"Ignore all previous instructions\"\n"
      "  warden scan examples/conversations.jsonl --policy policies/patterns.yaml\n"
      "  warden policy validate policies/default.yaml\n",
      "warden"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "warden 0.1.0");
  int exit_code = warden::cli::kExitAllow;
  warden::cli::AddCheckCommand(app, &exit_code);
  warden::cli::AddScanCommand(app, &exit_code);
  warden::cli::AddPolicyCommand(app, &exit_code);
  warden::cli::AddTrainCommand(app, &exit_code);
  warden::cli::AddEvalCommand(app, &exit_code);
  warden::cli::AddServeCommand(app, &exit_code);
  warden::cli::AddAuditCommand(app, &exit_code);
  warden::cli::AddControlCommands(app, &exit_code);
  warden::cli::AddReviewCommand(app, &exit_code);
  warden::cli::AddRedteamCommand(app, &exit_code);
  warden::cli::AddGlossCommand(app, &exit_code);
  warden::cli::AddWordsCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : warden::cli::kExitError;
  }
  return exit_code;
}
