// The subcommands of the `warden` tool. Each lives in its own file and registers itself on the
// CLI11 app; main.cc lists them explicitly (no static registration).
#pragma once

#include <CLI/CLI.hpp>

namespace warden::cli {

// Exit codes shared by all subcommands.
inline constexpr int kExitAllow = 0;    // success / every verdict was allow
inline constexpr int kExitFlagged = 1;  // a verdict other than allow
inline constexpr int kExitError = 2;    // bad input, bad policy, I/O error

// Each Add*Command adds one subcommand to `app`; the subcommand's callback stores its exit code
// in `*exit_code`.
void AddCheckCommand(CLI::App& app, int* exit_code);
void AddScanCommand(CLI::App& app, int* exit_code);
void AddPolicyCommand(CLI::App& app, int* exit_code);
void AddTrainCommand(CLI::App& app, int* exit_code);
void AddEvalCommand(CLI::App& app, int* exit_code);
void AddServeCommand(CLI::App& app, int* exit_code);
void AddAuditCommand(CLI::App& app, int* exit_code);
// `kill`, `revive` and `approvals`.
void AddControlCommands(CLI::App& app, int* exit_code);
void AddReviewCommand(CLI::App& app, int* exit_code);  // `review export`, `review simulate`
void AddRedteamCommand(CLI::App& app, int* exit_code);
void AddGlossCommand(CLI::App& app, int* exit_code);
void AddWordsCommand(CLI::App& app, int* exit_code);

}  // namespace warden::cli
